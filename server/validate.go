package server

import (
	"fmt"
	"strings"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/policy"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Page sizes (AIP-158). Pages above AWS's 100 are filled with several
// upstream calls.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	awsMaxResults   = awsrules.MaxResultsMax
)

// ruleText formats a rule violation the same way for every field:
// "<message> (rule: <rule>)", so clients can see which rule without parsing.
func ruleText(v *awsrules.Violation) string {
	return fmt.Sprintf("%s (rule: %s)", v.Message, v.Rule)
}

// violations collects every broken rule of a request, so a client fixes its
// request in one go. Field names are proto field paths in snake_case.
type violations struct {
	s  *ForecastJobServer
	vs []apierr.FieldViolation

	// What a create names that the policy file rules on (IAM roles, S3
	// paths, KMS keys), with the request field of each, and its tags.
	uses    []policy.Use
	tagList []*gatewayv1.Tag
}

func (s *ForecastJobServer) newViolations() *violations { return &violations{s: s} }

func (v *violations) add(field, description string) {
	v.vs = append(v.vs, apierr.FieldViolation{Field: field, Description: description})
}

func (v *violations) rule(field string, viol *awsrules.Violation) {
	if viol != nil {
		v.add(field, ruleText(viol))
	}
}

// err is the INVALID_ARGUMENT status naming every violation, or nil.
func (v *violations) err() error {
	if len(v.vs) == 0 {
		return nil
	}
	return apierr.InvalidArgument(apierr.ReasonInvalidArgument, v.vs...)
}

// name checks a job name.
func (v *violations) name(field, value string) { v.rule(field, awsrules.CheckName(value)) }

// arn checks that value is a Forecast ARN of arnType in the gateway's region.
func (v *violations) arn(field, value, arnType string) {
	v.arnOf(field, value, arnType, false)
}

// arnOf is arn for ARNs that AWS models as LongArn (up to 300 characters)
// when long is set.
func (v *violations) arnOf(field, value, arnType string, long bool) {
	if msg, rule := v.s.arnCheck(value, arnType, long); rule != "" {
		v.add(field, fmt.Sprintf("%s (rule: %s)", msg, rule))
	}
}

// arnCheck says what is wrong with value as the ARN of an arnType and which
// rule it breaks, or ("", ""). It checks the ARN's shape, its resource type
// and its region.
func (s *ForecastJobServer) arnCheck(value, arnType string, long bool) (msg, rule string) {
	check := awsrules.CheckForecastArn
	if long {
		check = awsrules.CheckLongArn
	}
	if viol := check(value); viol != nil {
		return viol.Message, viol.Rule
	}
	if got := awsrules.ArnResourceType(value); got != arnType {
		return fmt.Sprintf("must be the ARN of a %s, got the ARN of a %q", arnType, got), ruleResourceType
	}
	return s.regionCheck(value)
}

// Rules of the gateway's own, beside awsrules'.
const (
	ruleResourceType = "resource_type"
	ruleRegion       = "region"
)

// regionCheck refuses a Forecast ARN of another region than the
// upstream's: AWS could only answer that it does not exist.
func (s *ForecastJobServer) regionCheck(arn string) (msg, rule string) {
	if got := awsrules.ArnRegion(arn); s.region != "" && got != s.region {
		return fmt.Sprintf("must be an ARN in %s, the region this gateway serves, got %q", s.region, got), ruleRegion
	}
	return "", ""
}

// s3Config checks a required S3Config under parent (destination or
// data_source); nil parents and configs are named.
func (v *violations) s3Config(parent string, set bool, c *gatewayv1.S3Config) {
	switch {
	case !set:
		v.add(parent, "is required (rule: required)")
	case c == nil:
		v.add(parent+".s3_config", "is required (rule: required)")
	default:
		p := parent + ".s3_config."
		v.rule(p+"path", awsrules.CheckS3Path(c.GetPath()))
		v.rule(p+"role_arn", awsrules.CheckRoleArn(c.GetRoleArn()))
		v.rule(p+"kms_key_arn", awsrules.CheckKMSKeyArn(c.GetKmsKeyArn()))
		v.uses = append(v.uses,
			policy.Use{Field: p + "path", Kind: policy.KindS3Path, Value: c.GetPath()},
			policy.Use{Field: p + "role_arn", Kind: policy.KindRole, Value: c.GetRoleArn()})
		if c.GetKmsKeyArn() != "" {
			v.uses = append(v.uses, policy.Use{Field: p + "kms_key_arn", Kind: policy.KindKMSKey, Value: c.GetKmsKeyArn()})
		}
	}
}

// destination checks an export's required DataDestination.
func (v *violations) destination(d *gatewayv1.DataDestination) {
	v.s3Config("destination", d != nil, d.GetS3Config())
}

// enum checks that an enum field holds a value the API defines (proto3
// enums are open: a client may send any number).
func (v *violations) enum(field string, n int32, names map[int32]string) {
	if _, ok := names[n]; ok {
		return
	}
	allowed := make([]string, 0, len(names))
	for i := int32(0); int(i) < len(names); i++ {
		if name, ok := names[i]; ok {
			allowed = append(allowed, name)
		}
	}
	v.add(field, fmt.Sprintf("must be one of %s, got %d (rule: enum)", strings.Join(allowed, ", "), n))
}

// tags checks a list of tags (field "tags"). Keys with the gateway's
// prefix (OwnerTagKey) are refused: a client must not be able to make
// itself, or someone else, a job's owner.
func (v *violations) tags(field string, tags []*gatewayv1.Tag) {
	v.tagList = tags
	plain := make([]awsrules.Tag, len(tags))
	for i, t := range tags {
		plain[i] = awsrules.Tag{Key: t.GetKey(), Value: t.GetValue()}
		if reservedKey(t.GetKey()) {
			v.add(fmt.Sprintf("%s[%d].key", field, i), fmt.Sprintf("keys starting with %q are reserved for the gateway (rule: %s)", ReservedTagPrefix, ruleReserved))
		}
	}
	for _, tv := range awsrules.CheckTags(plain) {
		f := field
		if tv.Index >= 0 {
			f = fmt.Sprintf("%s[%d].%s", field, tv.Index, tv.Part)
		}
		v.add(f, ruleText(tv.Violation))
	}
}

// effectivePageSize applies AIP-158: 0 is the default, above the maximum is
// lowered to it, negative is an error.
func effectivePageSize(n int32) (int, []apierr.FieldViolation) {
	switch {
	case n < 0:
		return 0, []apierr.FieldViolation{{Field: "page_size", Description: fmt.Sprintf("must not be negative, got %d (rule: range)", n)}}
	case n == 0:
		return DefaultPageSize, nil
	case n > MaxPageSize:
		return MaxPageSize, nil
	}
	return int(n), nil
}

// exportJob checks what every export job's Create shares: the name, the
// parent ARN (none for what-if forecast exports), the destination, the
// format and the tags.
func (v *violations) exportJob(t *jobtype.Type, name, parentArn string, d *gatewayv1.DataDestination, f gatewayv1.ExportFormat, tags []*gatewayv1.Tag) {
	v.name(t.NameField, name)
	if t.Parent.Field != "" {
		v.arn(t.Parent.Field, parentArn, t.Parent.ArnType)
	}
	v.destination(d)
	v.enum("format", int32(f), gatewayv1.ExportFormat_name)
	v.tags("tags", tags)
}
