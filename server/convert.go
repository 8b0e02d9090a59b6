package server

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Enum tables: AWS strings to proto enums and back. Built from the generated
// enum value names (the AWS string is the name without its prefix), so
// adding a value to the proto is the only change needed.
var (
	jobStatusFromAWS    = enumFromAWS(gatewayv1.JobStatus_value, "JOB_STATUS_")
	exportFormatFromAWS = enumFromAWS(gatewayv1.ExportFormat_value, "EXPORT_FORMAT_")
	importFormatFromAWS = enumFromAWS(gatewayv1.ImportFormat_value, "IMPORT_FORMAT_")
	importModeFromAWS   = enumFromAWS(gatewayv1.ImportMode_value, "IMPORT_MODE_")
	geoFormatFromAWS    = enumFromAWS(gatewayv1.GeolocationFormat_value, "GEOLOCATION_FORMAT_")

	exportFormatToAWS = enumToAWS(gatewayv1.ExportFormat_name, "EXPORT_FORMAT_")
	importFormatToAWS = enumToAWS(gatewayv1.ImportFormat_name, "IMPORT_FORMAT_")
	importModeToAWS   = enumToAWS(gatewayv1.ImportMode_name, "IMPORT_MODE_")
	geoFormatToAWS    = enumToAWS(gatewayv1.GeolocationFormat_name, "GEOLOCATION_FORMAT_")
)

func enumFromAWS(values map[string]int32, prefix string) map[string]int32 {
	m := make(map[string]int32, len(values))
	for name, n := range values {
		if n != 0 {
			m[name[len(prefix):]] = n
		}
	}
	return m
}

// enumToAWS maps every non-zero value to its AWS string; UNSPECIFIED (0)
// has none, meaning "send nothing, AWS's default applies".
func enumToAWS(names map[int32]string, prefix string) map[int32]string {
	m := make(map[int32]string, len(names))
	for n, name := range names {
		if n != 0 {
			m[n] = name[len(prefix):]
		}
	}
	return m
}

// UnknownEnumFunc is told about every enum string AWS sends that the proto
// does not know yet, so operators notice (a log line, a metric) while the
// call still succeeds and the raw value reaches the client in aws_*.
type UnknownEnumFunc func(field, value string)

type converter struct {
	unknown UnknownEnumFunc
}

// enum maps an AWS string through table, reporting values it lacks; it
// returns the enum number and the raw string for the aws_* companion.
func (c converter) enum(field, v string, table map[string]int32) (int32, string) {
	if v == "" {
		return 0, ""
	}
	n, ok := table[v]
	if !ok && c.unknown != nil {
		c.unknown(field, v)
	}
	return n, v
}

func (c converter) status(s *string) (gatewayv1.JobStatus, string) {
	n, raw := c.enum("status", aws.ToString(s), jobStatusFromAWS)
	return gatewayv1.JobStatus(n), raw
}

func (c converter) exportFormat(s *string) (gatewayv1.ExportFormat, string) {
	n, raw := c.enum("format", aws.ToString(s), exportFormatFromAWS)
	return gatewayv1.ExportFormat(n), raw
}

func (c converter) importFormat(s *string) (gatewayv1.ImportFormat, string) {
	n, raw := c.enum("format", aws.ToString(s), importFormatFromAWS)
	return gatewayv1.ImportFormat(n), raw
}

func (c converter) importMode(m types.ImportMode) (gatewayv1.ImportMode, string) {
	n, raw := c.enum("import_mode", string(m), importModeFromAWS)
	return gatewayv1.ImportMode(n), raw
}

func (c converter) geolocationFormat(s *string) (gatewayv1.GeolocationFormat, string) {
	n, raw := c.enum("geolocation_format", aws.ToString(s), geoFormatFromAWS)
	return gatewayv1.GeolocationFormat(n), raw
}

func timestamp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func s3ConfigFromAWS(c *types.S3Config) *gatewayv1.S3Config {
	if c == nil {
		return nil
	}
	return &gatewayv1.S3Config{
		Path:      aws.ToString(c.Path),
		RoleArn:   aws.ToString(c.RoleArn),
		KmsKeyArn: aws.ToString(c.KMSKeyArn),
	}
}

func destinationFromAWS(d *types.DataDestination) *gatewayv1.DataDestination {
	if d == nil {
		return nil
	}
	return &gatewayv1.DataDestination{S3Config: s3ConfigFromAWS(d.S3Config)}
}

func dataSourceFromAWS(d *types.DataSource) *gatewayv1.DataSource {
	if d == nil {
		return nil
	}
	return &gatewayv1.DataSource{S3Config: s3ConfigFromAWS(d.S3Config)}
}

// s3ConfigToAWS translates a validated S3Config; an empty KMS key is not
// sent.
func s3ConfigToAWS(c *gatewayv1.S3Config) *types.S3Config {
	out := &types.S3Config{Path: aws.String(c.GetPath()), RoleArn: aws.String(c.GetRoleArn())}
	if k := c.GetKmsKeyArn(); k != "" {
		out.KMSKeyArn = aws.String(k)
	}
	return out
}

func destinationToAWS(d *gatewayv1.DataDestination) *types.DataDestination {
	return &types.DataDestination{S3Config: s3ConfigToAWS(d.GetS3Config())}
}

// optionalString is nil for "", so AWS applies its default.
func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// exportFormatToAWSPtr is the AWS format of a validated export format; nil
// for UNSPECIFIED, so AWS applies its default.
func exportFormatToAWSPtr(f gatewayv1.ExportFormat) *string {
	return optionalString(exportFormatToAWS[int32(f)])
}

func tagsToAWS(tags []*gatewayv1.Tag) []types.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]types.Tag, len(tags))
	for i, t := range tags {
		out[i] = types.Tag{Key: aws.String(t.GetKey()), Value: aws.String(t.GetValue())}
	}
	return out
}

func tagsFromAWS(tags []types.Tag) []*gatewayv1.Tag {
	out := make([]*gatewayv1.Tag, len(tags))
	for i, t := range tags {
		out[i] = &gatewayv1.Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)}
	}
	return out
}

// convertAll converts a page of AWS summaries.
func convertAll[In, Out any](items []In, f func(In) Out) []Out {
	out := make([]Out, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}
