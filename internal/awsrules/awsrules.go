// Package awsrules holds the Amazon Forecast (2018-06-26) input constraints
// that both the emulator (which enforces them the way AWS does) and the
// gateway (which enforces them before any upstream call) need. Keeping one
// copy means the two can never disagree about what AWS accepts.
//
// Sources: the API reference pages in shared/seeds and the Forecast data type
// pages (CreatePredictorBacktestExportJob, S3Config, Tag, Filter). Where the
// published pattern cannot be what AWS enforces (S3Config.RoleArn documents
// the Forecast ARN pattern, which no IAM role ARN matches, and Filter.Value
// documents an ARN pattern although Status filters are documented usage), we
// follow the observable behaviour and say so beside the rule.
package awsrules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits from the Forecast API reference.
const (
	NameMinLen      = 1
	NameMaxLen      = 63
	ArnMaxLen       = 256
	S3PathMinLen    = 7
	S3PathMaxLen    = 4096
	KMSKeyArnMaxLen = 256
	TagKeyMinLen    = 1
	TagKeyMaxLen    = 128
	TagValueMaxLen  = 256
	MaxTags         = 50
	FilterKeyMaxLen = 256
	FilterValMaxLen = 256
	MaxResultsMin   = 1
	MaxResultsMax   = 100
	NextTokenMaxLen = 3000
	LongArnMaxLen   = 300 // LongArn: the what-if forecast ARNs of an export
	MinLongArns     = 1   // LongArnList
	MaxLongArns     = 50
	MaxTagKeys      = 200 // UntagResource TagKeys
	StringMaxLen    = 256 // TimeZone, TimestampFormat, GeolocationFormat
)

var (
	namePattern      = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
	forecastArn      = regexp.MustCompile(`^arn:([a-z\d-]+):forecast:.*:.*:.+$`)
	s3PathPattern    = regexp.MustCompile(`^s3://[a-z0-9].+$`)
	roleArnPattern   = regexp.MustCompile(`^arn:([a-z\d-]+):iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	kmsKeyArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:kms:.*:key/.*$`)
	tagPattern       = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	filterKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9\_]+$`)
	timeZonePattern  = regexp.MustCompile(`^[a-zA-Z0-9\/\+\-\_]+$`)
	timestampPattern = regexp.MustCompile(`^[a-zA-Z0-9\-\:\.\,\'\s]+$`)
	geoFormatPattern = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
)

// Rule names are stable identifiers of each violated constraint; the gateway
// surfaces them in google.rpc.BadRequest descriptions so clients can tell a
// length problem from a pattern problem without parsing prose.
const (
	RuleRequired = "required"
	RuleLength   = "length"
	RulePattern  = "pattern"
	RuleEnum     = "enum"
	RuleRange    = "range"
	RuleUnique   = "unique"
	RuleReserved = "reserved"
	RuleCount    = "count"
)

// Violation is one broken constraint. Field is left to the caller: the
// emulator names AWS members (PredictorArn), the gateway proto fields
// (predictor_arn).
type Violation struct {
	Rule    string
	Message string
}

func (v *Violation) Error() string { return v.Message }

func violation(rule, format string, args ...any) *Violation {
	return &Violation{Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// CheckName validates a job name (PredictorBacktestExportJobName and friends).
func CheckName(s string) *Violation {
	if s == "" {
		return violation(RuleRequired, "is required")
	}
	if n := utf8.RuneCountInString(s); n < NameMinLen || n > NameMaxLen {
		return violation(RuleLength, "must be %d to %d characters long, got %d", NameMinLen, NameMaxLen, n)
	}
	if !namePattern.MatchString(s) {
		return violation(RulePattern, "must start with a letter and contain only letters, digits and underscores (pattern %s)", namePattern)
	}
	return nil
}

// CheckForecastArn validates an ARN of a Forecast resource (predictor,
// forecast, dataset or job).
func CheckForecastArn(s string) *Violation {
	if s == "" {
		return violation(RuleRequired, "is required")
	}
	if n := len(s); n > ArnMaxLen {
		return violation(RuleLength, "must be at most %d characters long, got %d", ArnMaxLen, n)
	}
	if !forecastArn.MatchString(s) {
		return violation(RulePattern, "must be a Forecast ARN (pattern %s)", forecastArn)
	}
	return nil
}

// ArnResourceType returns the resource-type segment of a Forecast ARN
// ("predictor" for arn:aws:forecast:us-east-1:123456789012:predictor/p1),
// or "" when s is not of that shape.
func ArnResourceType(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	typ, _, _ := strings.Cut(parts[5], "/")
	return typ
}

// CheckS3Path validates S3Config.Path.
func CheckS3Path(s string) *Violation {
	if s == "" {
		return violation(RuleRequired, "is required")
	}
	if n := len(s); n < S3PathMinLen || n > S3PathMaxLen {
		return violation(RuleLength, "must be %d to %d characters long, got %d", S3PathMinLen, S3PathMaxLen, n)
	}
	if !s3PathPattern.MatchString(s) {
		return violation(RulePattern, "must be an S3 URI such as s3://bucket/prefix (pattern %s)", s3PathPattern)
	}
	return nil
}

// CheckRoleArn validates S3Config.RoleArn as an IAM role ARN. The reference
// page shows the generic Forecast ARN pattern here, but the value is an IAM
// role; AWS accepts arn:aws:iam::<account>:role/<name>.
func CheckRoleArn(s string) *Violation {
	if s == "" {
		return violation(RuleRequired, "is required")
	}
	if n := len(s); n > ArnMaxLen {
		return violation(RuleLength, "must be at most %d characters long, got %d", ArnMaxLen, n)
	}
	if !roleArnPattern.MatchString(s) {
		return violation(RulePattern, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/ForecastRole (pattern %s)", roleArnPattern)
	}
	return nil
}

// CheckKMSKeyArn validates the optional S3Config.KMSKeyArn; empty is allowed.
func CheckKMSKeyArn(s string) *Violation {
	if s == "" {
		return nil
	}
	if n := len(s); n > KMSKeyArnMaxLen {
		return violation(RuleLength, "must be at most %d characters long, got %d", KMSKeyArnMaxLen, n)
	}
	if !kmsKeyArnPattern.MatchString(s) {
		return violation(RulePattern, "must be a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd (pattern %s)", kmsKeyArnPattern)
	}
	return nil
}

// Formats are the export formats AWS accepts; the first is AWS's default.
var Formats = []string{"CSV", "PARQUET"}

// CheckFormat validates Format; empty means the default (CSV).
func CheckFormat(s string) *Violation {
	if s == "" || slices.Contains(Formats, s) {
		return nil
	}
	return violation(RuleEnum, "must be one of CSV, PARQUET, got %q", s)
}

// ImportModes are the dataset import modes AWS accepts; the first is AWS's
// default.
var ImportModes = []string{"FULL", "INCREMENTAL"}

// CheckImportMode validates ImportMode; empty means the default (FULL).
func CheckImportMode(s string) *Violation {
	if s == "" || slices.Contains(ImportModes, s) {
		return nil
	}
	return violation(RuleEnum, "must be one of FULL, INCREMENTAL, got %q", s)
}

// GeolocationFormats are the geolocation formats the reference documents.
var GeolocationFormats = []string{"LAT_LONG", "CC_POSTALCODE"}

// CheckGeolocationFormat validates the optional GeolocationFormat: the
// model's pattern and length, then the two documented values.
func CheckGeolocationFormat(s string) *Violation {
	if s == "" {
		return nil
	}
	if v := checkString(s, geoFormatPattern, "letters, digits and underscores"); v != nil {
		return v
	}
	if !slices.Contains(GeolocationFormats, s) {
		return violation(RuleEnum, "must be one of LAT_LONG, CC_POSTALCODE, got %q", s)
	}
	return nil
}

// CheckTimeZone validates the optional TimeZone (a Joda-Time zone name such
// as America/Los_Angeles).
func CheckTimeZone(s string) *Violation {
	if s == "" {
		return nil
	}
	return checkString(s, timeZonePattern, "letters, digits and / + - _ (a time zone name such as America/Los_Angeles)")
}

// CheckTimestampFormat validates the optional TimestampFormat (for example
// "yyyy-MM-dd HH:mm:ss").
func CheckTimestampFormat(s string) *Violation {
	if s == "" {
		return nil
	}
	return checkString(s, timestampPattern, "letters, digits, spaces and - : . , ' (a format such as yyyy-MM-dd HH:mm:ss)")
}

func checkString(s string, pattern *regexp.Regexp, allowed string) *Violation {
	if n := utf8.RuneCountInString(s); n > StringMaxLen {
		return violation(RuleLength, "must be at most %d characters long, got %d", StringMaxLen, n)
	}
	if !pattern.MatchString(s) {
		return violation(RulePattern, "may contain only %s (pattern %s)", allowed, pattern)
	}
	return nil
}

// CheckLongArn validates one ARN of a LongArnList (the what-if forecasts of
// an export): a Forecast ARN of at most 300 characters.
func CheckLongArn(s string) *Violation {
	if s == "" {
		return violation(RuleRequired, "is required")
	}
	if n := len(s); n > LongArnMaxLen {
		return violation(RuleLength, "must be at most %d characters long, got %d", LongArnMaxLen, n)
	}
	if !forecastArn.MatchString(s) {
		return violation(RulePattern, "must be a Forecast ARN (pattern %s)", forecastArn)
	}
	return nil
}

// CheckLongArnCount validates the length of a LongArnList.
func CheckLongArnCount(n int) *Violation {
	if n < MinLongArns || n > MaxLongArns {
		return violation(RuleCount, "must have %d to %d ARNs, got %d", MinLongArns, MaxLongArns, n)
	}
	return nil
}

// ArnRegion returns the region segment of an ARN ("us-east-1"), or "".
func ArnRegion(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[3]
}

// ArnAccount returns the account segment of an ARN, or "".
func ArnAccount(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}

// Tag is a key/value pair as both sides model it.
type Tag struct{ Key, Value string }

// TagViolation says which tag (by index) and which part broke a rule.
type TagViolation struct {
	Index int
	Part  string // "key" or "value"; "" for the list as a whole
	*Violation
}

// CheckTags applies every tag rule of the reference page: at most 50 tags,
// key 1-128 and value 0-256 characters of the allowed set, unique keys, and
// no key starting with aws: in any letter case.
func CheckTags(tags []Tag) []TagViolation {
	var out []TagViolation
	if len(tags) > MaxTags {
		out = append(out, TagViolation{Index: -1, Violation: violation(RuleCount, "must have at most %d tags, got %d", MaxTags, len(tags))})
	}
	seen := make(map[string]int, len(tags))
	for i, t := range tags {
		if v := checkTagKey(t.Key); v != nil {
			out = append(out, TagViolation{Index: i, Part: "key", Violation: v})
		} else if j, dup := seen[t.Key]; dup {
			out = append(out, TagViolation{Index: i, Part: "key", Violation: violation(RuleUnique, "duplicates the key of tag %d; tag keys must be unique", j)})
		} else {
			seen[t.Key] = i
		}
		if n := utf8.RuneCountInString(t.Value); n > TagValueMaxLen {
			out = append(out, TagViolation{Index: i, Part: "value", Violation: violation(RuleLength, "must be at most %d characters long, got %d", TagValueMaxLen, n)})
		} else if !tagPattern.MatchString(t.Value) {
			out = append(out, TagViolation{Index: i, Part: "value", Violation: violation(RulePattern, "may contain only letters, digits, spaces and _ . : / = + - @ (pattern %s)", tagPattern)})
		}
	}
	return out
}

// TagKeyViolation says which key of an UntagResource request broke a rule
// (Index -1 for the list as a whole).
type TagKeyViolation struct {
	Index int
	*Violation
}

// CheckTagKeys applies the rules of UntagResource's TagKeys: 1 to 200 keys,
// each 1-128 characters of the tag set, and no reserved aws: key (AWS does
// not let those be edited or deleted).
func CheckTagKeys(keys []string) []TagKeyViolation {
	var out []TagKeyViolation
	if len(keys) == 0 {
		out = append(out, TagKeyViolation{Index: -1, Violation: violation(RuleRequired, "must name at least one tag key")})
	} else if len(keys) > MaxTagKeys {
		out = append(out, TagKeyViolation{Index: -1, Violation: violation(RuleCount, "must have at most %d keys, got %d", MaxTagKeys, len(keys))})
	}
	for i, k := range keys {
		if v := checkTagKey(k); v != nil {
			out = append(out, TagKeyViolation{Index: i, Violation: v})
		}
	}
	return out
}

func checkTagKey(k string) *Violation {
	if n := utf8.RuneCountInString(k); n < TagKeyMinLen || n > TagKeyMaxLen {
		return violation(RuleLength, "must be %d to %d characters long, got %d", TagKeyMinLen, TagKeyMaxLen, n)
	}
	if !tagPattern.MatchString(k) {
		return violation(RulePattern, "may contain only letters, digits, spaces and _ . : / = + - @ (pattern %s)", tagPattern)
	}
	if strings.HasPrefix(strings.ToLower(k), "aws:") {
		return violation(RuleReserved, "must not start with the reserved prefix aws: (in any letter case)")
	}
	return nil
}

// CheckFilterKey validates the syntax of Filter.Key (which keys an operation
// allows is the operation's business).
func CheckFilterKey(s string) *Violation {
	if s == "" {
		return violation(RuleRequired, "is required")
	}
	if len(s) > FilterKeyMaxLen {
		return violation(RuleLength, "must be at most %d characters long, got %d", FilterKeyMaxLen, len(s))
	}
	if !filterKeyPattern.MatchString(s) {
		return violation(RulePattern, "must match %s", filterKeyPattern)
	}
	return nil
}

// CheckFilterValue validates Filter.Value. AWS documents the Forecast ARN
// pattern for it, yet Status filters (Value "ACTIVE") are documented usage,
// so only the length and presence are universal; ARN-valued keys are checked
// with CheckForecastArn by the caller.
func CheckFilterValue(s string) *Violation {
	if s == "" {
		return violation(RuleRequired, "is required")
	}
	if len(s) > FilterValMaxLen {
		return violation(RuleLength, "must be at most %d characters long, got %d", FilterValMaxLen, len(s))
	}
	return nil
}

// Statuses are every job status the Forecast reference pages list.
var Statuses = []string{
	"ACTIVE",
	"CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED",
	"CREATE_STOPPING", "CREATE_STOPPED",
	"DELETE_PENDING", "DELETE_IN_PROGRESS", "DELETE_FAILED",
}

// IsKnownStatus reports whether s is one of Statuses.
func IsKnownStatus(s string) bool { return slices.Contains(Statuses, s) }
