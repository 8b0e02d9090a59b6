package awsrules

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const (
	testPredictorArn = "arn:aws:forecast:us-east-1:123456789012:predictor/p1"
	testRoleArn      = "arn:aws:iam::123456789012:role/ForecastRole"
	testKMSArn       = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
)

// padTo returns prefix followed by enough copies of fill to make exactly n
// bytes (fill must be one byte).
func padTo(prefix string, n int, fill string) string {
	if len(fill) != 1 {
		panic("padTo: fill must be one byte")
	}
	return prefix + strings.Repeat(fill, n-len(prefix))
}

// checkRule asserts a single-value checker's outcome: wantRule "" means
// valid (nil violation).
func checkRule(t *testing.T, fn string, in string, got *Violation, wantRule string) {
	t.Helper()
	show := in
	if len(show) > 80 {
		show = fmt.Sprintf("%.60s...(%d bytes, %d runes)", show, len(in), utf8.RuneCountInString(in))
	}
	switch {
	case wantRule == "" && got != nil:
		t.Errorf("%s(%q) = {%s: %s}, want nil", fn, show, got.Rule, got.Message)
	case wantRule != "" && got == nil:
		t.Errorf("%s(%q) = nil, want rule %q", fn, show, wantRule)
	case wantRule != "" && got.Rule != wantRule:
		t.Errorf("%s(%q).Rule = %q (%s), want %q", fn, show, got.Rule, got.Message, wantRule)
	case got != nil && got.Message == "":
		t.Errorf("%s(%q) has an empty Message", fn, show)
	case got != nil && got.Error() != got.Message:
		t.Errorf("%s(%q).Error() = %q, want Message %q", fn, show, got.Error(), got.Message)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name, in, want string
		msgHas         string
	}{
		{name: "empty", in: "", want: RuleRequired},
		{name: "min length 1", in: "a", want: ""},
		{name: "upper single", in: "Z", want: ""},
		{name: "max length 63", in: padTo("a", 63, "b"), want: ""},
		{name: "length 64", in: padTo("a", 64, "b"), want: RuleLength, msgHas: "got 64"},
		{name: "length 200", in: padTo("a", 200, "1"), want: RuleLength, msgHas: "got 200"},
		{name: "letters digits underscores", in: "Job_2024_v1", want: ""},
		{name: "trailing underscore", in: "job_", want: ""},
		{name: "leading digit", in: "1job", want: RulePattern},
		{name: "leading underscore", in: "_job", want: RulePattern},
		{name: "hyphen", in: "my-job", want: RulePattern},
		{name: "space", in: "my job", want: RulePattern},
		{name: "dot", in: "my.job", want: RulePattern},
		{name: "non-ascii letter", in: "jöb", want: RulePattern},
		// 63 two-byte runes: 126 bytes. Length is counted in runes, so this
		// is a pattern problem, not a length one.
		{name: "63 multibyte runes counted as runes", in: strings.Repeat("é", 63), want: RulePattern},
		{name: "64 multibyte runes", in: strings.Repeat("é", 64), want: RuleLength, msgHas: "got 64"},
		{name: "newline", in: "job\n", want: RulePattern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckName(tt.in)
			checkRule(t, "CheckName", tt.in, got, tt.want)
			if got != nil && tt.msgHas != "" && !strings.Contains(got.Message, tt.msgHas) {
				t.Errorf("CheckName message %q does not contain %q", got.Message, tt.msgHas)
			}
		})
	}
}

func TestCheckForecastArn(t *testing.T) {
	const prefix = "arn:aws:forecast:us-east-1:123456789012:predictor/"
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: RuleRequired},
		{name: "predictor", in: testPredictorArn, want: ""},
		{name: "backtest job", in: "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p1/j1", want: ""},
		{name: "other partition", in: "arn:aws-cn:forecast:cn-north-1:123456789012:dataset/d1", want: ""},
		{name: "no slash in resource", in: "arn:aws:forecast:us-east-1:123456789012:predictor", want: ""},
		{name: "length 256", in: padTo(prefix, 256, "x"), want: ""},
		{name: "length 257", in: padTo(prefix, 257, "x"), want: RuleLength},
		{name: "length 3000", in: padTo(prefix, 3000, "x"), want: RuleLength},
		{name: "s3 arn", in: "arn:aws:s3:::bucket/key", want: RulePattern},
		{name: "iam arn", in: testRoleArn, want: RulePattern},
		{name: "upper-case partition", in: "arn:AWS:forecast:us-east-1:123456789012:predictor/p1", want: RulePattern},
		{name: "missing resource", in: "arn:aws:forecast:us-east-1:123456789012:", want: RulePattern},
		{name: "too few segments", in: "arn:aws:forecast:us-east-1", want: RulePattern},
		{name: "no arn prefix", in: "aws:forecast:us-east-1:123456789012:predictor/p1", want: RulePattern},
		{name: "plain name", in: "p1", want: RulePattern},
		{name: "leading space", in: " " + testPredictorArn, want: RulePattern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, "CheckForecastArn", tt.in, CheckForecastArn(tt.in), tt.want)
		})
	}
}

func TestArnResourceType(t *testing.T) {
	tests := []struct{ in, want string }{
		{testPredictorArn, "predictor"},
		{"arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p1/j1", "predictor-backtest-export-job"},
		{"arn:aws:forecast:us-east-1:123456789012:dataset/d1", "dataset"},
		{"arn:aws:forecast:us-east-1:123456789012:forecast/f1", "forecast"},
		{"arn:aws:forecast:us-east-1:123456789012:predictor", "predictor"},
		{"arn:aws:forecast:us-east-1:123456789012:dataset/d:with:colons", "dataset"},
		{"arn:aws:forecast:us-east-1:123456789012:", ""},
		{"arn:aws:forecast:us-east-1", ""},
		{"not-an-arn", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ArnResourceType(tt.in); got != tt.want {
			t.Errorf("ArnResourceType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckS3Path(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: RuleRequired},
		{name: "6 chars", in: "s3://a", want: RuleLength},
		{name: "scheme only", in: "s3://", want: RuleLength},
		{name: "7 chars", in: "s3://ab", want: ""},
		{name: "bucket and prefix", in: "s3://my-bucket/exports/", want: ""},
		{name: "digit first", in: "s3://1bucket/x", want: ""},
		{name: "4096 chars", in: padTo("s3://bucket/", 4096, "k"), want: ""},
		{name: "4097 chars", in: padTo("s3://bucket/", 4097, "k"), want: RuleLength},
		{name: "https", in: "https://bucket/key", want: RulePattern},
		{name: "upper-case scheme", in: "S3://bucket/key", want: RulePattern},
		{name: "upper-case bucket start", in: "s3://Bucket/key", want: RulePattern},
		{name: "hyphen bucket start", in: "s3://-bucket/key", want: RulePattern},
		{name: "missing slashes", in: "s3:bucket/key", want: RulePattern},
		{name: "no scheme", in: "bucket/key", want: RulePattern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, "CheckS3Path", tt.in, CheckS3Path(tt.in), tt.want)
		})
	}
}

func TestCheckRoleArn(t *testing.T) {
	const prefix = "arn:aws:iam::123456789012:role/"
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: RuleRequired},
		{name: "role", in: testRoleArn, want: ""},
		{name: "role with path", in: "arn:aws:iam::123456789012:role/service-role/Forecast_Role+x=y,z.w@v", want: ""},
		{name: "gov partition", in: "arn:aws-us-gov:iam::123456789012:role/r", want: ""},
		{name: "length 256", in: padTo(prefix, 256, "r"), want: ""},
		{name: "length 257", in: padTo(prefix, 257, "r"), want: RuleLength},
		{name: "11-digit account", in: "arn:aws:iam::12345678901:role/r", want: RulePattern},
		{name: "13-digit account", in: "arn:aws:iam::1234567890123:role/r", want: RulePattern},
		{name: "region present", in: "arn:aws:iam:us-east-1:123456789012:role/r", want: RulePattern},
		{name: "user not role", in: "arn:aws:iam::123456789012:user/u", want: RulePattern},
		{name: "group not role", in: "arn:aws:iam::123456789012:group/g", want: RulePattern},
		{name: "space in name", in: "arn:aws:iam::123456789012:role/bad name", want: RulePattern},
		{name: "forecast arn", in: testPredictorArn, want: RulePattern},
		{name: "bare role name", in: "ForecastRole", want: RulePattern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, "CheckRoleArn", tt.in, CheckRoleArn(tt.in), tt.want)
		})
	}
}

func TestCheckKMSKeyArn(t *testing.T) {
	const prefix = "arn:aws:kms:us-east-1:123456789012:key/"
	tests := []struct {
		name, in, want string
	}{
		{name: "empty is allowed", in: "", want: ""},
		{name: "key", in: testKMSArn, want: ""},
		{name: "cn partition", in: "arn:aws-cn:kms:cn-north-1:123456789012:key/k", want: ""},
		{name: "length 256", in: padTo(prefix, 256, "a"), want: ""},
		{name: "length 257", in: padTo(prefix, 257, "a"), want: RuleLength},
		{name: "alias", in: "arn:aws:kms:us-east-1:123456789012:alias/my-key", want: RulePattern},
		{name: "bare key id", in: "1234abcd-12ab-34cd-56ef-1234567890ab", want: RulePattern},
		{name: "other service", in: "arn:aws:s3:us-east-1:123456789012:key/k", want: RulePattern},
		{name: "role arn", in: testRoleArn, want: RulePattern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, "CheckKMSKeyArn", tt.in, CheckKMSKeyArn(tt.in), tt.want)
		})
	}
}

func TestCheckFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"CSV", ""},
		{"PARQUET", ""},
		{"csv", RuleEnum},
		{"Parquet", RuleEnum},
		{"JSON", RuleEnum},
		{" CSV", RuleEnum},
	}
	for _, tt := range tests {
		checkRule(t, "CheckFormat", tt.in, CheckFormat(tt.in), tt.want)
	}
	if !slices.Equal(Formats, []string{"CSV", "PARQUET"}) {
		t.Errorf("Formats = %q, want [CSV PARQUET] (CSV first: AWS's default)", Formats)
	}
}

// tagWant is one expected TagViolation.
type tagWant struct {
	index  int
	part   string
	rule   string
	msgHas string
}

func TestCheckTags(t *testing.T) {
	nTags := func(n int) []Tag {
		out := make([]Tag, n)
		for i := range out {
			out[i] = Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
		}
		return out
	}
	// 日 is a three-byte letter and 𝔸 a four-byte one: limits must count
	// runes, not bytes.
	tests := []struct {
		name string
		tags []Tag
		want []tagWant
	}{
		{name: "nil", tags: nil},
		{name: "one", tags: []Tag{{"env", "prod"}}},
		{name: "50 tags", tags: nTags(50)},
		{name: "51 tags", tags: nTags(51), want: []tagWant{{-1, "", RuleCount, "got 51"}}},
		{name: "empty key", tags: []Tag{{"", "v"}}, want: []tagWant{{0, "key", RuleLength, "got 0"}}},
		{name: "key 1 multibyte rune", tags: []Tag{{"日", "v"}}},
		{name: "key 128 three-byte runes", tags: []Tag{{strings.Repeat("日", 128), "v"}}},
		{name: "key 128 four-byte runes", tags: []Tag{{strings.Repeat("𝔸", 128), "v"}}},
		{name: "key 129 runes", tags: []Tag{{strings.Repeat("日", 129), "v"}}, want: []tagWant{{0, "key", RuleLength, "got 129"}}},
		{name: "key 129 ascii", tags: []Tag{{strings.Repeat("k", 129), "v"}}, want: []tagWant{{0, "key", RuleLength, "got 129"}}},
		{name: "empty value", tags: []Tag{{"k", ""}}},
		{name: "value 256 runes", tags: []Tag{{"k", strings.Repeat("日", 256)}}},
		{name: "value 257 runes", tags: []Tag{{"k", strings.Repeat("日", 257)}}, want: []tagWant{{0, "value", RuleLength, "got 257"}}},
		{name: "value 257 ascii", tags: []Tag{{"k", strings.Repeat("v", 257)}}, want: []tagWant{{0, "value", RuleLength, "got 257"}}},
		{name: "allowed characters", tags: []Tag{{"a b_c.d:e/f=g+h-i@j 1 Ü", "x y_z.:/=+-@ 9 ß"}}},
		{name: "key star", tags: []Tag{{"a*b", "v"}}, want: []tagWant{{0, "key", RulePattern, ""}}},
		{name: "key hash", tags: []Tag{{"a#b", "v"}}, want: []tagWant{{0, "key", RulePattern, ""}}},
		{name: "key tab", tags: []Tag{{"a\tb", "v"}}, want: []tagWant{{0, "key", RulePattern, ""}}},
		{name: "value bang", tags: []Tag{{"k", "x!y"}}, want: []tagWant{{0, "value", RulePattern, ""}}},
		{name: "value newline", tags: []Tag{{"k", "x\ny"}}, want: []tagWant{{0, "value", RulePattern, ""}}},
		{name: "aws: prefix", tags: []Tag{{"aws:cost", "v"}}, want: []tagWant{{0, "key", RuleReserved, ""}}},
		{name: "AWS: prefix", tags: []Tag{{"AWS:cost", "v"}}, want: []tagWant{{0, "key", RuleReserved, ""}}},
		{name: "Aws: prefix", tags: []Tag{{"Aws:cost", "v"}}, want: []tagWant{{0, "key", RuleReserved, ""}}},
		{name: "aWs: prefix", tags: []Tag{{"aWs:", "v"}}, want: []tagWant{{0, "key", RuleReserved, ""}}},
		{name: "aws without colon", tags: []Tag{{"aws", "v"}, {"awsx", "v"}, {"aws-cost", "v"}}},
		{name: "aws: inside key", tags: []Tag{{"my:aws:x", "v"}}},
		{name: "aws: in value is allowed", tags: []Tag{{"k", "aws:v"}}},
		{name: "duplicate key reports first index", tags: []Tag{{"a", "1"}, {"b", "2"}, {"a", "3"}},
			want: []tagWant{{2, "key", RuleUnique, "tag 0"}}},
		{name: "triplicate", tags: []Tag{{"x", "1"}, {"x", "2"}, {"x", "3"}},
			want: []tagWant{{1, "key", RuleUnique, "tag 0"}, {2, "key", RuleUnique, "tag 0"}}},
		{name: "keys are case sensitive", tags: []Tag{{"env", "1"}, {"Env", "2"}, {"ENV", "3"}}},
		{name: "key and value bad at once", tags: []Tag{{"ok", "v"}, {"aws:k", strings.Repeat("v", 257)}},
			want: []tagWant{{1, "key", RuleReserved, ""}, {1, "value", RuleLength, ""}}},
		{name: "count and element together", tags: append(nTags(50), Tag{"", "v"}),
			want: []tagWant{{-1, "", RuleCount, ""}, {50, "key", RuleLength, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckTags(tt.tags)
			if len(got) != len(tt.want) {
				for _, g := range got {
					t.Logf("got: index %d part %q rule %q: %s", g.Index, g.Part, g.Rule, g.Message)
				}
				t.Fatalf("CheckTags gave %d violations, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Violation == nil {
					t.Fatalf("violation %d has nil *Violation", i)
				}
				if g.Index != w.index || g.Part != w.part || g.Rule != w.rule {
					t.Errorf("violation %d = {index %d, part %q, rule %q}, want {index %d, part %q, rule %q} (%s)",
						i, g.Index, g.Part, g.Rule, w.index, w.part, w.rule, g.Message)
				}
				if w.msgHas != "" && !strings.Contains(g.Message, w.msgHas) {
					t.Errorf("violation %d message %q does not contain %q", i, g.Message, w.msgHas)
				}
			}
		})
	}
}

func TestCheckFilterKey(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: RuleRequired},
		{name: "Status", in: "Status", want: ""},
		{name: "with digit and underscore", in: "Predictor_Arn1", want: ""},
		{name: "length 256", in: strings.Repeat("k", 256), want: ""},
		{name: "length 257", in: strings.Repeat("k", 257), want: RuleLength},
		{name: "hyphen", in: "a-b", want: RulePattern},
		{name: "space", in: "a b", want: RulePattern},
		{name: "non-ascii", in: "Stätus", want: RulePattern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, "CheckFilterKey", tt.in, CheckFilterKey(tt.in), tt.want)
		})
	}
}

func TestCheckFilterValue(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: RuleRequired},
		{name: "status", in: "ACTIVE", want: ""},
		{name: "arn", in: testPredictorArn, want: ""},
		{name: "any characters", in: "x y!*#", want: ""},
		{name: "length 256", in: strings.Repeat("v", 256), want: ""},
		{name: "length 257", in: strings.Repeat("v", 257), want: RuleLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRule(t, "CheckFilterValue", tt.in, CheckFilterValue(tt.in), tt.want)
		})
	}
}

func TestStatuses(t *testing.T) {
	want := []string{
		"ACTIVE",
		"CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED",
		"CREATE_STOPPING", "CREATE_STOPPED",
		"DELETE_PENDING", "DELETE_IN_PROGRESS", "DELETE_FAILED",
	}
	if !slices.Equal(Statuses, want) {
		t.Errorf("Statuses = %q, want %q", Statuses, want)
	}
	for _, s := range want {
		if !IsKnownStatus(s) {
			t.Errorf("IsKnownStatus(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "active", "Active", "ACTIVE ", "UPDATE_IN_PROGRESS", "CREATE", "FAILED"} {
		if IsKnownStatus(s) {
			t.Errorf("IsKnownStatus(%q) = true, want false", s)
		}
	}
}
