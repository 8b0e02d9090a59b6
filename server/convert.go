package server

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Enum tables: AWS strings to proto enums and back. Built from the generated
// enum value names so adding a value to the proto is the only change needed.
var (
	jobStatusFromAWS  = enumFromAWS(gatewayv1.JobStatus_value, "JOB_STATUS_")
	formatFromAWS     = enumFromAWS(gatewayv1.ExportFormat_value, "EXPORT_FORMAT_")
	importModeFromAWS = enumFromAWS(gatewayv1.ImportMode_value, "IMPORT_MODE_")
	formatToAWS       = map[gatewayv1.ExportFormat]string{
		gatewayv1.ExportFormat_EXPORT_FORMAT_CSV:     "CSV",
		gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET: "PARQUET",
	}
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

// UnknownEnumFunc is told about every enum string AWS sends that the proto
// does not know yet, so operators notice (a log line, a metric) while the
// call still succeeds and the raw value reaches the client in aws_*.
type UnknownEnumFunc func(field, value string)

type converter struct {
	unknown UnknownEnumFunc
}

func (c converter) status(s *string) (gatewayv1.JobStatus, string) {
	v := aws.ToString(s)
	if v == "" {
		return gatewayv1.JobStatus_JOB_STATUS_UNSPECIFIED, ""
	}
	n, ok := jobStatusFromAWS[v]
	if !ok && c.unknown != nil {
		c.unknown("status", v)
	}
	return gatewayv1.JobStatus(n), v
}

func (c converter) format(s *string) (gatewayv1.ExportFormat, string) {
	v := aws.ToString(s)
	if v == "" {
		return gatewayv1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED, ""
	}
	n, ok := formatFromAWS[v]
	if !ok && c.unknown != nil {
		c.unknown("format", v)
	}
	return gatewayv1.ExportFormat(n), v
}

func (c converter) importMode(m types.ImportMode) (gatewayv1.ImportMode, string) {
	v := string(m)
	if v == "" {
		return gatewayv1.ImportMode_IMPORT_MODE_UNSPECIFIED, ""
	}
	n, ok := importModeFromAWS[v]
	if !ok && c.unknown != nil {
		c.unknown("import_mode", v)
	}
	return gatewayv1.ImportMode(n), v
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

func (c converter) backtestSummary(s types.PredictorBacktestExportJobSummary) *gatewayv1.PredictorBacktestExportJobSummary {
	st, raw := c.status(s.Status)
	return &gatewayv1.PredictorBacktestExportJobSummary{
		PredictorBacktestExportJobArn:  aws.ToString(s.PredictorBacktestExportJobArn),
		PredictorBacktestExportJobName: aws.ToString(s.PredictorBacktestExportJobName),
		Destination:                    destinationFromAWS(s.Destination),
		Status:                         st,
		AwsStatus:                      raw,
		Message:                        aws.ToString(s.Message),
		CreationTime:                   timestamp(s.CreationTime),
		LastModificationTime:           timestamp(s.LastModificationTime),
	}
}

func (c converter) forecastExportSummary(s types.ForecastExportJobSummary) *gatewayv1.ForecastExportJobSummary {
	st, raw := c.status(s.Status)
	return &gatewayv1.ForecastExportJobSummary{
		ForecastExportJobArn:  aws.ToString(s.ForecastExportJobArn),
		ForecastExportJobName: aws.ToString(s.ForecastExportJobName),
		Destination:           destinationFromAWS(s.Destination),
		Status:                st,
		AwsStatus:             raw,
		Message:               aws.ToString(s.Message),
		CreationTime:          timestamp(s.CreationTime),
		LastModificationTime:  timestamp(s.LastModificationTime),
	}
}

func (c converter) datasetImportSummary(s types.DatasetImportJobSummary) *gatewayv1.DatasetImportJobSummary {
	st, raw := c.status(s.Status)
	mode, rawMode := c.importMode(s.ImportMode)
	return &gatewayv1.DatasetImportJobSummary{
		DatasetImportJobArn:  aws.ToString(s.DatasetImportJobArn),
		DatasetImportJobName: aws.ToString(s.DatasetImportJobName),
		DataSource:           dataSourceFromAWS(s.DataSource),
		Status:               st,
		AwsStatus:            raw,
		Message:              aws.ToString(s.Message),
		CreationTime:         timestamp(s.CreationTime),
		LastModificationTime: timestamp(s.LastModificationTime),
		ImportMode:           mode,
		AwsImportMode:        rawMode,
	}
}

func (c converter) describeResponse(o *forecast.DescribePredictorBacktestExportJobOutput) *gatewayv1.DescribePredictorBacktestExportJobResponse {
	st, raw := c.status(o.Status)
	f, rawF := c.format(o.Format)
	return &gatewayv1.DescribePredictorBacktestExportJobResponse{
		PredictorBacktestExportJobArn:  aws.ToString(o.PredictorBacktestExportJobArn),
		PredictorBacktestExportJobName: aws.ToString(o.PredictorBacktestExportJobName),
		PredictorArn:                   aws.ToString(o.PredictorArn),
		Destination:                    destinationFromAWS(o.Destination),
		Format:                         f,
		AwsFormat:                      rawF,
		Status:                         st,
		AwsStatus:                      raw,
		Message:                        aws.ToString(o.Message),
		CreationTime:                   timestamp(o.CreationTime),
		LastModificationTime:           timestamp(o.LastModificationTime),
	}
}

// createInput translates a request that validateCreate already accepted.
func createInput(r *gatewayv1.CreatePredictorBacktestExportJobRequest) *forecast.CreatePredictorBacktestExportJobInput {
	s3 := r.GetDestination().GetS3Config()
	in := &forecast.CreatePredictorBacktestExportJobInput{
		PredictorBacktestExportJobName: aws.String(r.GetPredictorBacktestExportJobName()),
		PredictorArn:                   aws.String(r.GetPredictorArn()),
		Destination: &types.DataDestination{S3Config: &types.S3Config{
			Path:    aws.String(s3.GetPath()),
			RoleArn: aws.String(s3.GetRoleArn()),
		}},
	}
	if k := s3.GetKmsKeyArn(); k != "" {
		in.Destination.S3Config.KMSKeyArn = aws.String(k)
	}
	if f, ok := formatToAWS[r.GetFormat()]; ok {
		in.Format = aws.String(f)
	}
	if len(r.GetTags()) > 0 {
		in.Tags = make([]types.Tag, len(r.GetTags()))
		for i, t := range r.GetTags() {
			in.Tags[i] = types.Tag{Key: aws.String(t.GetKey()), Value: aws.String(t.GetValue())}
		}
	}
	return in
}
