package server

import (
	"fmt"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Page sizes (AIP-158). Pages above AWS's 100 are filled with several
// upstream calls.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	awsMaxResults   = awsrules.MaxResultsMax
)

// describe formats a rule violation the same way for every field:
// "<message> (rule: <rule>)", so clients can see which rule without parsing.
func describe(v *awsrules.Violation) string {
	return fmt.Sprintf("%s (rule: %s)", v.Message, v.Rule)
}

func checkArnOfType(field, value, wantType string) []fieldViolation {
	if v := awsrules.CheckForecastArn(value); v != nil {
		return []fieldViolation{{field, describe(v)}}
	}
	if got := awsrules.ArnResourceType(value); got != wantType {
		return []fieldViolation{{field, fmt.Sprintf("must be the ARN of a %s, got the ARN of a %q (rule: resource_type)", wantType, got)}}
	}
	return nil
}

// validateCreate applies every rule of CreatePredictorBacktestExportJob and
// reports all violations at once, so a client fixes its request in one go.
func validateCreate(r *gatewayv1.CreatePredictorBacktestExportJobRequest) []fieldViolation {
	var vs []fieldViolation
	if v := awsrules.CheckName(r.GetPredictorBacktestExportJobName()); v != nil {
		vs = append(vs, fieldViolation{"predictor_backtest_export_job_name", describe(v)})
	}
	vs = append(vs, checkArnOfType("predictor_arn", r.GetPredictorArn(), "predictor")...)
	s3 := r.GetDestination().GetS3Config()
	switch {
	case r.GetDestination() == nil:
		vs = append(vs, fieldViolation{"destination", "is required (rule: required)"})
	case s3 == nil:
		vs = append(vs, fieldViolation{"destination.s3_config", "is required (rule: required)"})
	default:
		if v := awsrules.CheckS3Path(s3.GetPath()); v != nil {
			vs = append(vs, fieldViolation{"destination.s3_config.path", describe(v)})
		}
		if v := awsrules.CheckRoleArn(s3.GetRoleArn()); v != nil {
			vs = append(vs, fieldViolation{"destination.s3_config.role_arn", describe(v)})
		}
		if v := awsrules.CheckKMSKeyArn(s3.GetKmsKeyArn()); v != nil {
			vs = append(vs, fieldViolation{"destination.s3_config.kms_key_arn", describe(v)})
		}
	}
	if f := r.GetFormat(); f != gatewayv1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED {
		if _, ok := formatToAWS[f]; !ok {
			vs = append(vs, fieldViolation{"format", fmt.Sprintf("must be EXPORT_FORMAT_CSV or EXPORT_FORMAT_PARQUET, got %d (rule: enum)", int32(f))})
		}
	}
	tags := make([]awsrules.Tag, len(r.GetTags()))
	for i, t := range r.GetTags() {
		tags[i] = awsrules.Tag{Key: t.GetKey(), Value: t.GetValue()}
	}
	for _, tv := range awsrules.CheckTags(tags) {
		field := "tags"
		if tv.Index >= 0 {
			field = fmt.Sprintf("tags[%d].%s", tv.Index, tv.Part)
		}
		vs = append(vs, fieldViolation{field, describe(tv.Violation)})
	}
	return vs
}

func validateDescribe(r *gatewayv1.DescribePredictorBacktestExportJobRequest) []fieldViolation {
	return checkArnOfType("predictor_backtest_export_job_arn", r.GetPredictorBacktestExportJobArn(), "predictor-backtest-export-job")
}

// effectivePageSize applies AIP-158: 0 is the default, above the maximum is
// lowered to it, negative is an error.
func effectivePageSize(n int32) (int, []fieldViolation) {
	switch {
	case n < 0:
		return 0, []fieldViolation{{"page_size", fmt.Sprintf("must not be negative, got %d (rule: range)", n)}}
	case n == 0:
		return DefaultPageSize, nil
	case n > MaxPageSize:
		return MaxPageSize, nil
	}
	return int(n), nil
}
