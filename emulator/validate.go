package emulator

import (
	"fmt"
	"strings"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// validation collects constraint violations and renders them the way AWS
// (Coral) does: "N validation error(s) detected: Value 'x' at 'member'
// failed to satisfy constraint: Member must ...; ...". Member paths are
// lowerCamel with 1-based ".N.member." list steps, as AWS prints them.
type validation []string

// lowerCamel turns an AWS member name into AWS's path form: only the first
// letter is lowered ("KMSKeyArn" -> "kMSKeyArn", as AWS prints it).
func lowerCamel(member string) string {
	if member == "" || member[0] < 'A' || member[0] > 'Z' {
		return member
	}
	return string(member[0]+'a'-'A') + member[1:]
}

func quoteValue(v string) string {
	const max = 256
	if len(v) > max {
		v = v[:max] + "..."
	}
	return "'" + v + "'"
}

func (v *validation) null(path string) {
	*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", path))
}

func (v *validation) fail(path, value, constraint string) {
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member %s", quoteValue(value), path, constraint))
}

// rule applies an awsrules check to an optional string member. A nil
// pointer is "null" when required and skipped otherwise; an empty string
// that awsrules reports as missing becomes AWS's minimum-length message.
func (v *validation) rule(path string, p *string, required bool, check func(string) *awsrules.Violation) {
	if p == nil {
		if required {
			v.null(path)
		}
		return
	}
	if viol := check(*p); viol != nil {
		v.violation(path, *p, viol)
	}
}

func (v *validation) violation(path, value string, viol *awsrules.Violation) {
	msg := viol.Message
	if viol.Rule == awsrules.RuleRequired {
		msg = "must have length greater than or equal to 1"
	}
	v.fail(path, value, msg)
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

// tags validates a Tags member (Create's and TagResource's) with
// awsrules.CheckTags and returns the tags when they are valid.
func (v *validation) tags(path string, tags []*tagIn) []tagPair {
	n := len(*v)
	plain := make([]awsrules.Tag, len(tags))
	nullKey := make(map[int]bool)
	nullVal := make(map[int]bool)
	for i, t := range tags {
		m := fmt.Sprintf("%s.%d.member", path, i+1)
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
			v.fail(path, fmt.Sprintf("[%d tags]", len(tags)), fmt.Sprintf("must have length less than or equal to %d", awsrules.MaxTags))
		case tv.Part == "key" && !nullKey[tv.Index]:
			v.violation(fmt.Sprintf("%s.%d.member.key", path, tv.Index+1), plain[tv.Index].Key, tv.Violation)
		case tv.Part == "value" && !nullVal[tv.Index]:
			v.violation(fmt.Sprintf("%s.%d.member.value", path, tv.Index+1), plain[tv.Index].Value, tv.Violation)
		}
	}
	if len(*v) != n {
		return nil
	}
	out := make([]tagPair, len(plain))
	for i, t := range plain {
		out[i] = tagPair(t)
	}
	return out
}

// tagKeys validates UntagResource's TagKeys with awsrules.CheckTagKeys.
func (v *validation) tagKeys(path string, keys []*string, present bool) []string {
	if !present {
		v.null(path)
		return nil
	}
	plain := make([]string, len(keys))
	nulls := map[int]bool{}
	for i, k := range keys {
		if k == nil {
			v.null(fmt.Sprintf("%s.%d.member", path, i+1))
			nulls[i] = true
			continue
		}
		plain[i] = *k
	}
	for _, kv := range awsrules.CheckTagKeys(plain) {
		switch {
		case kv.Index < 0 && kv.Rule == awsrules.RuleRequired:
			v.fail(path, "[]", "must have length greater than or equal to 1")
		case kv.Index < 0:
			v.fail(path, fmt.Sprintf("[%d keys]", len(keys)), fmt.Sprintf("must have length less than or equal to %d", awsrules.MaxTagKeys))
		case !nulls[kv.Index]:
			v.violation(fmt.Sprintf("%s.%d.member", path, kv.Index+1), plain[kv.Index], kv.Violation)
		}
	}
	return plain
}

// s3Config validates a DataSource or Destination member (path is its
// lowerCamel name) and returns its S3Config.
func (v *validation) s3Config(path string, loc members) (c s3Config, err *apiError) {
	if loc == nil {
		v.null(path)
		return c, nil
	}
	cfg, e := loc.object("S3Config")
	if e != nil {
		return c, e
	}
	if cfg == nil {
		v.null(path + ".s3Config")
		return c, nil
	}
	var p, role, kms *string
	if p, e = cfg.str("Path"); e != nil {
		return c, e
	}
	if role, e = cfg.str("RoleArn"); e != nil {
		return c, e
	}
	if kms, e = cfg.str("KMSKeyArn"); e != nil {
		return c, e
	}
	v.rule(path+".s3Config.path", p, true, awsrules.CheckS3Path)
	v.rule(path+".s3Config.roleArn", role, true, awsrules.CheckRoleArn)
	v.rule(path+".s3Config.kMSKeyArn", kms, false, awsrules.CheckKMSKeyArn)
	c.path, c.role, c.kms = deref(p), deref(role), deref(kms)
	return c, nil
}

type s3Config struct{ path, role, kms string }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// validateList checks a List request of type t and returns its filters.
// The keys are Status and t.Filter.AWSKey (case-sensitive); the value of
// the ARN-valued key must look like a Forecast ARN.
func validateList(t *jobtype.Type, in *listIn) ([]filter, *apiError) {
	var v validation
	akey := t.Filter.AWSKey
	keyEnum := checkEnum(akey, jobtype.StatusKey)
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
		if f.Key != nil && *f.Key == akey {
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
			fs = append(fs, filter{status: *f.Key == jobtype.StatusKey, key: *f.Key, value: *f.Value, not: *f.Condition == "IS_NOT"})
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
