package emulator

import (
	"fmt"
	"strings"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
)

// validation collects constraint violations and renders them the way AWS
// (Coral) does: "N validation error(s) detected: Value 'x' at 'member'
// failed to satisfy constraint: Member must ...; ...". Member paths are
// lowerCamel with 1-based ".N.member." list steps, as AWS prints them.
type validation []string

func quoteValue(v string) string {
	const max = 256
	if len(v) > max {
		v = v[:max] + "..."
	}
	return "'" + v + "'"
}

func (v *validation) null(member string) {
	*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
}

func (v *validation) fail(member, value, constraint string) {
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member %s", quoteValue(value), member, constraint))
}

// rule applies an awsrules check to an optional string member. A nil
// pointer is "null" when required and skipped otherwise; an empty string
// that awsrules reports as missing becomes AWS's minimum-length message.
func (v *validation) rule(member string, p *string, required bool, check func(string) *awsrules.Violation) {
	if p == nil {
		if required {
			v.null(member)
		}
		return
	}
	if viol := check(*p); viol != nil {
		v.violation(member, *p, viol)
	}
}

func (v *validation) violation(member, value string, viol *awsrules.Violation) {
	msg := viol.Message
	if viol.Rule == awsrules.RuleRequired {
		msg = "must have length greater than or equal to 1"
	}
	v.fail(member, value, msg)
}

func (v validation) err() *apiError {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return newErr(ErrInvalidInput, "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}

func checkEnum(values ...string) func(string) *awsrules.Violation {
	return func(s string) *awsrules.Violation {
		for _, x := range values {
			if s == x {
				return nil
			}
		}
		return &awsrules.Violation{Rule: awsrules.RuleEnum, Message: "must satisfy enum value set: [" + strings.Join(values, ", ") + "]"}
	}
}

func (v *validation) tags(tags []*tagIn) {
	if tags == nil {
		return
	}
	plain := make([]awsrules.Tag, len(tags))
	nullKey := make(map[int]bool)
	nullVal := make(map[int]bool)
	for i, t := range tags {
		m := fmt.Sprintf("tags.%d.member", i+1)
		if t == nil {
			v.null(m)
			nullKey[i], nullVal[i] = true, true
			continue
		}
		if t.Key == nil {
			v.null(m + ".key")
			nullKey[i] = true
		} else {
			plain[i].Key = *t.Key
		}
		if t.Value == nil {
			v.null(m + ".value")
			nullVal[i] = true
		} else {
			plain[i].Value = *t.Value
		}
	}
	for _, tv := range awsrules.CheckTags(plain) {
		switch {
		case tv.Index < 0:
			v.fail("tags", fmt.Sprintf("[%d tags]", len(tags)), "must have length less than or equal to 50")
		case tv.Part == "key" && !nullKey[tv.Index]:
			v.violation(fmt.Sprintf("tags.%d.member.key", tv.Index+1), plain[tv.Index].Key, tv.Violation)
		case tv.Part == "value" && !nullVal[tv.Index]:
			v.violation(fmt.Sprintf("tags.%d.member.value", tv.Index+1), plain[tv.Index].Value, tv.Violation)
		}
	}
}

func validateCreate(in *createIn) *apiError {
	var v validation
	v.rule("predictorBacktestExportJobName", in.PredictorBacktestExportJobName, true, awsrules.CheckName)
	v.rule("predictorArn", in.PredictorArn, true, awsrules.CheckForecastArn)
	switch {
	case in.Destination == nil:
		v.null("destination")
	case in.Destination.S3Config == nil:
		v.null("destination.s3Config")
	default:
		c := in.Destination.S3Config
		v.rule("destination.s3Config.path", c.Path, true, awsrules.CheckS3Path)
		v.rule("destination.s3Config.roleArn", c.RoleArn, true, awsrules.CheckRoleArn)
		v.rule("destination.s3Config.kMSKeyArn", c.KMSKeyArn, false, awsrules.CheckKMSKeyArn)
	}
	v.rule("format", in.Format, false, awsrules.CheckFormat)
	v.tags(in.Tags)
	return v.err()
}

func validateDescribe(in *describeIn) *apiError {
	var v validation
	v.rule("predictorBacktestExportJobArn", in.PredictorBacktestExportJobArn, true, awsrules.CheckForecastArn)
	return v.err()
}

// validateList checks a List request for kind k and returns its filters.
func validateList(k JobKind, in *listIn) ([]filter, *apiError) {
	var v validation
	pkey := kinds[k].parentKey
	keyEnum := checkEnum(pkey, "Status")
	fs := make([]filter, 0, len(in.Filters))
	for i, f := range in.Filters {
		m := fmt.Sprintf("filters.%d.member", i+1)
		if f == nil {
			v.null(m)
			continue
		}
		n := len(v)
		v.rule(m+".key", f.Key, true, awsrules.CheckFilterKey)
		if len(v) == n && f.Key != nil {
			v.rule(m+".key", f.Key, true, keyEnum)
		}
		valueCheck := awsrules.CheckFilterValue
		if f.Key != nil && *f.Key == pkey {
			valueCheck = func(s string) *awsrules.Violation {
				if viol := awsrules.CheckFilterValue(s); viol != nil {
					return viol
				}
				return awsrules.CheckForecastArn(s)
			}
		}
		v.rule(m+".value", f.Value, true, valueCheck)
		v.rule(m+".condition", f.Condition, true, checkEnum("IS", "IS_NOT"))
		if len(v) == n {
			fs = append(fs, filter{key: *f.Key, value: *f.Value, not: *f.Condition == "IS_NOT"})
		}
	}
	if m := in.MaxResults; m != nil {
		switch {
		case *m < awsrules.MaxResultsMin:
			v.fail("maxResults", fmt.Sprint(*m), fmt.Sprintf("must have value greater than or equal to %d", awsrules.MaxResultsMin))
		case *m > awsrules.MaxResultsMax:
			v.fail("maxResults", fmt.Sprint(*m), fmt.Sprintf("must have value less than or equal to %d", awsrules.MaxResultsMax))
		}
	}
	if t := in.NextToken; t != nil {
		switch {
		case len(*t) == 0:
			v.fail("nextToken", *t, "must have length greater than or equal to 1")
		case len(*t) > awsrules.NextTokenMaxLen:
			v.fail("nextToken", *t, fmt.Sprintf("must have length less than or equal to %d", awsrules.NextTokenMaxLen))
		}
	}
	return fs, v.err()
}
