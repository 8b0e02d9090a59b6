package emulator_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// wantInvalid asserts err is the SDK's typed InvalidInputException naming
// member.
func wantInvalid(t *testing.T, err error, member string) {
	t.Helper()
	var ie *types.InvalidInputException
	if !errors.As(err, &ie) {
		t.Fatalf("got %v (%T), want InvalidInputException", err, err)
	}
	if msg := aws.ToString(ie.Message); !strings.Contains(msg, "'"+member+"'") {
		t.Fatalf("message %q does not name member %q", msg, member)
	}
}

func lower(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// TestCreateValidation runs every constraint of the members all Create
// operations share, for each type (member paths follow the type's names),
// then each type's own members.
func TestCreateValidation(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv, noClientValidation)
	for _, typ := range jobtype.All {
		loc := "destination"
		if typ == jobtype.DatasetImportJob {
			loc = "dataSource"
		}
		nameM := lower(typ.NameMember)
		refM := "whatIfForecastArns.1.member"
		if typ.Parent.Member != "" {
			refM = lower(typ.Parent.Member)
		}
		setRef := func(a *createArgs, v string) {
			if typ.Parent.Member == "" {
				a.whatIf = []string{v}
			} else {
				a.parent = v
			}
		}
		tests := []struct {
			name   string
			mod    func(a *createArgs)
			member string // "" = must succeed
		}{
			{"valid", func(*createArgs) {}, ""},
			{"name empty", func(a *createArgs) { a.name = "" }, nameM}, // absent member: null
			{"name 63", func(a *createArgs) { a.name = "a" + strings.Repeat("b", 62) }, ""},
			{"name 64", func(a *createArgs) { a.name = strings.Repeat("a", 64) }, nameM},
			{"name starts with digit", func(a *createArgs) { a.name = "1abc" }, nameM},
			{"name with dash", func(a *createArgs) { a.name = "ab-c" }, nameM},
			{"parent not an arn", func(a *createArgs) { setRef(a, "parent/x") }, refM},
			{"parent arn too long", func(a *createArgs) {
				setRef(a, "arn:aws:forecast:us-east-1:123456789012:x/"+strings.Repeat("x", 300))
			}, refM},
			{"path missing", func(a *createArgs) { a.path = "" }, loc + ".s3Config.path"},
			{"path not s3", func(a *createArgs) { a.path = "https://bucket/x" }, loc + ".s3Config.path"},
			{"path too short", func(a *createArgs) { a.path = "s3://a" }, loc + ".s3Config.path"},
			{"path too long", func(a *createArgs) { a.path = "s3://b/" + strings.Repeat("x", 4090) }, loc + ".s3Config.path"},
			{"role missing", func(a *createArgs) { a.role = "" }, loc + ".s3Config.roleArn"},
			{"role not iam", func(a *createArgs) { a.role = "arn:aws:forecast:us-east-1:123456789012:predictor/x" }, loc + ".s3Config.roleArn"},
			{"kms bad", func(a *createArgs) { a.kms = "alias/x" }, loc + ".s3Config.kMSKeyArn"},
			{"kms too long", func(a *createArgs) { a.kms = kmsArn + strings.Repeat("x", 200) }, loc + ".s3Config.kMSKeyArn"},
			{"format csv", func(a *createArgs) { a.format = "CSV" }, ""},
			{"format json", func(a *createArgs) { a.format = "JSON" }, "format"},
			{"format lowercase", func(a *createArgs) { a.format = "csv" }, "format"},
			{"50 tags", func(a *createArgs) { a.tags = manyTags(50, "k") }, ""},
			{"51 tags", func(a *createArgs) { a.tags = manyTags(51, "k") }, "tags"},
			{"tag key empty", func(a *createArgs) { a.tags = map[string]string{"": "v"} }, "tags.1.member.key"},
			{"tag key 129", func(a *createArgs) { a.tags = map[string]string{strings.Repeat("k", 129): "v"} }, "tags.1.member.key"},
			{"tag key aws:", func(a *createArgs) { a.tags = map[string]string{"aws:cost": "v"} }, "tags.1.member.key"},
			{"tag key AwS:", func(a *createArgs) { a.tags = map[string]string{"AwS:cost": "v"} }, "tags.1.member.key"},
			{"tag value aws: ok", func(a *createArgs) { a.tags = map[string]string{"k": "aws:ok"} }, ""},
			{"tag key bad char", func(a *createArgs) { a.tags = map[string]string{"a*b": "v"} }, "tags.1.member.key"},
			{"tag value empty ok", func(a *createArgs) { a.tags = map[string]string{"k": ""} }, ""},
			{"tag value 257", func(a *createArgs) { a.tags = map[string]string{"k": strings.Repeat("v", 257)} }, "tags.1.member.value"},
		}
		if typ == jobtype.DatasetImportJob {
			tests = append(tests, []struct {
				name   string
				mod    func(a *createArgs)
				member string
			}{
				{"import mode bad", func(a *createArgs) { a.importMode = "PARTIAL" }, "importMode"},
				{"import mode incremental", func(a *createArgs) { a.importMode = "INCREMENTAL" }, ""},
				{"time zone bad chars", func(a *createArgs) { a.timeZone = "Europe Berlin" }, "timeZone"},
				{"time zone 257", func(a *createArgs) { a.timeZone = strings.Repeat("Z", 257) }, "timeZone"},
				{"timestamp format bad chars", func(a *createArgs) { a.timestampFormat = "yyyy/MM/dd" }, "timestampFormat"},
				{"timestamp format with quote ok", func(a *createArgs) { a.timestampFormat = "yyyy-MM-dd'T'HH:mm:ss" }, ""},
				{"geolocation format unknown", func(a *createArgs) { a.geo = "ZIP" }, "geolocationFormat"},
				{"geolocation format bad chars", func(a *createArgs) { a.geo = "LAT-LONG" }, "geolocationFormat"},
			}...)
		}
		if typ == jobtype.WhatIfForecastExport {
			tests = append(tests, []struct {
				name   string
				mod    func(a *createArgs)
				member string
			}{
				{"no what-if forecasts", func(a *createArgs) { a.whatIf = []string{} }, "whatIfForecastArns"},
				{"51 what-if forecasts", func(a *createArgs) { a.whatIf = make([]string, 51) }, "whatIfForecastArns"},
				{"second arn bad", func(a *createArgs) { a.whatIf = append(a.whatIf[:1], "nope") }, "whatIfForecastArns.2.member"},
			}...)
		}
		for i, tc := range tests {
			t.Run(typ.Noun+"/"+tc.name, func(t *testing.T) {
				args := defaultArgs(srv, typ, fmt.Sprintf("job_%d", i))
				tc.mod(&args)
				_, err := apis[typ].create(ctx(t), c, args)
				if tc.member == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantInvalid(t, err, tc.member)
			})
		}
	}
}

func TestCreateValidationReportsEveryViolation(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv, noClientValidation)
	_, err := c.CreatePredictorBacktestExportJob(ctx(t), &forecast.CreatePredictorBacktestExportJobInput{
		PredictorBacktestExportJobName: aws.String("9bad"),
		Format:                         aws.String("XML"),
	})
	var ie *types.InvalidInputException
	if !errors.As(err, &ie) {
		t.Fatal(err)
	}
	msg := aws.ToString(ie.Message)
	want := "4 validation errors detected: Value '9bad' at 'predictorBacktestExportJobName' failed to satisfy constraint: Member must start with a letter"
	if !strings.HasPrefix(msg, want) {
		t.Fatalf("message %q\nwant prefix %q", msg, want)
	}
	for _, m := range []string{"Value null at 'predictorArn'", "Value null at 'destination'", "Value 'XML' at 'format'"} {
		if !strings.Contains(msg, m) {
			t.Fatalf("message %q lacks %q", msg, m)
		}
	}
	_, err = c.CreateWhatIfForecastExport(ctx(t), &forecast.CreateWhatIfForecastExportInput{WhatIfForecastExportName: aws.String("x")})
	wantInvalid(t, err, "whatIfForecastArns")
	_, err = c.CreateDatasetImportJob(ctx(t), &forecast.CreateDatasetImportJobInput{DatasetImportJobName: aws.String("x"), DatasetArn: aws.String(srv.DatasetArns()[0])})
	wantInvalid(t, err, "dataSource")
}

// TestArnMemberValidation: the job ARN of Describe and Delete and the
// ResourceArn of the resource operations.
func TestArnMemberValidation(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv, noClientValidation)
	long := "arn:aws:forecast:us-east-1:1:x/" + strings.Repeat("y", 300)
	for _, typ := range jobtype.All {
		member := lower(typ.ArnMember)
		for _, arn := range []string{"", "not-an-arn", long} {
			_, err := apis[typ].describe(ctx(t), c, arn)
			wantInvalid(t, err, member)
			wantInvalid(t, apis[typ].del(ctx(t), c, arn), member)
		}
	}
	// What-if forecast export ARNs are LongArns: up to 300 characters.
	long280 := "arn:aws:forecast:us-east-1:123456789012:what-if-forecast-export/" + strings.Repeat("y", 216)
	_, err := apis[jobtype.WhatIfForecastExport].describe(ctx(t), c, long280)
	wantErr[*types.ResourceNotFoundException](t, err, long280)
	_, err = apis[jobtype.ForecastExportJob].describe(ctx(t), c, long280)
	wantInvalid(t, err, "forecastExportJobArn")

	for _, arn := range []*string{nil, aws.String(""), aws.String("nope"), aws.String(long)} {
		_, err := c.StopResource(ctx(t), &forecast.StopResourceInput{ResourceArn: arn})
		wantInvalid(t, err, "resourceArn")
		_, err = c.ListTagsForResource(ctx(t), &forecast.ListTagsForResourceInput{ResourceArn: arn})
		wantInvalid(t, err, "resourceArn")
		_, err = c.TagResource(ctx(t), &forecast.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{}})
		wantInvalid(t, err, "resourceArn")
		_, err = c.UntagResource(ctx(t), &forecast.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"k"}})
		wantInvalid(t, err, "resourceArn")
	}
	job := srv.Jobs(jobtype.ForecastExportJob)[0].Arn
	_, err = c.TagResource(ctx(t), &forecast.TagResourceInput{ResourceArn: aws.String(job)})
	wantInvalid(t, err, "tags")
	_, err = c.UntagResource(ctx(t), &forecast.UntagResourceInput{ResourceArn: aws.String(job)})
	wantInvalid(t, err, "tagKeys")
	_, err = c.UntagResource(ctx(t), &forecast.UntagResourceInput{ResourceArn: aws.String(job), TagKeys: []string{}})
	wantInvalid(t, err, "tagKeys")
	_, err = c.UntagResource(ctx(t), &forecast.UntagResourceInput{ResourceArn: aws.String(job), TagKeys: make([]string, 201)})
	wantInvalid(t, err, "tagKeys")
	_, err = c.UntagResource(ctx(t), &forecast.UntagResourceInput{ResourceArn: aws.String(job), TagKeys: []string{"ok", strings.Repeat("k", 129)}})
	wantInvalid(t, err, "tagKeys.2.member")
}

// TestListValidation: each List operation's filter keys (Status plus the
// type's own key, case-sensitive), conditions, values, MaxResults and
// NextToken.
func TestListValidation(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv, noClientValidation)
	f := func(k, v string, cond types.FilterConditionString) types.Filter {
		return types.Filter{Key: aws.String(k), Value: aws.String(v), Condition: cond}
	}
	for i, typ := range jobtype.All {
		pk := typ.Filter.AWSKey
		pa := refValue(typ, srv.Jobs(typ)[0])
		otherKey := jobtype.All[(i+1)%len(jobtype.All)].Filter.AWSKey
		tests := []struct {
			name   string
			args   listArgs
			member string
		}{
			{"no input", listArgs{}, ""},
			{"own key IS", listArgs{filters: []types.Filter{f(pk, pa, "IS")}}, ""},
			{"status IS_NOT", listArgs{filters: []types.Filter{f("Status", "ACTIVE", "IS_NOT")}}, ""},
			{"unknown status value is just a string", listArgs{filters: []types.Filter{f("Status", "WHATEVER", "IS")}}, ""},
			{"same key twice", listArgs{filters: []types.Filter{f("Status", "ACTIVE", "IS_NOT"), f("Status", "CREATE_FAILED", "IS_NOT")}}, ""},
			{"key of another operation", listArgs{filters: []types.Filter{f(otherKey, pa, "IS")}}, "filters.1.member.key"},
			{"key wrong case", listArgs{filters: []types.Filter{f("status", "ACTIVE", "IS")}}, "filters.1.member.key"},
			{"key bad chars", listArgs{filters: []types.Filter{f("Sta-tus", "ACTIVE", "IS")}}, "filters.1.member.key"},
			{"key empty", listArgs{filters: []types.Filter{f("", "ACTIVE", "IS")}}, "filters.1.member.key"},
			{"key missing", listArgs{filters: []types.Filter{{Value: aws.String("x"), Condition: "IS"}}}, "filters.1.member.key"},
			{"condition bad", listArgs{filters: []types.Filter{f("Status", "ACTIVE", "EQUALS")}}, "filters.1.member.condition"},
			{"condition missing", listArgs{filters: []types.Filter{f("Status", "ACTIVE", "")}}, "filters.1.member.condition"},
			{"value empty", listArgs{filters: []types.Filter{f("Status", "", "IS")}}, "filters.1.member.value"},
			{"value missing", listArgs{filters: []types.Filter{{Key: aws.String("Status"), Condition: "IS"}}}, "filters.1.member.value"},
			{"value 257", listArgs{filters: []types.Filter{f("Status", strings.Repeat("A", 257), "IS")}}, "filters.1.member.value"},
			{"own key value not an arn", listArgs{filters: []types.Filter{f(pk, "my-resource", "IS")}}, "filters.1.member.value"},
			{"second filter bad", listArgs{filters: []types.Filter{f(pk, pa, "IS"), f("Status", "ACTIVE", "NOT")}}, "filters.2.member.condition"},
			{"max results 0", listArgs{maxResults: aws.Int32(0)}, "maxResults"},
			{"max results 1", listArgs{maxResults: aws.Int32(1)}, ""},
			{"max results 100", listArgs{maxResults: aws.Int32(100)}, ""},
			{"max results 101", listArgs{maxResults: aws.Int32(101)}, "maxResults"},
			{"max results negative", listArgs{maxResults: aws.Int32(-5)}, "maxResults"},
			{"token empty", listArgs{nextToken: aws.String("")}, "nextToken"},
			{"token 3001", listArgs{nextToken: aws.String(strings.Repeat("t", 3001))}, "nextToken"},
		}
		for _, tc := range tests {
			t.Run(typ.ListOp()+"/"+tc.name, func(t *testing.T) {
				_, _, err := apis[typ].list(ctx(t), c, tc.args)
				if tc.member == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantInvalid(t, err, tc.member)
			})
		}
	}
}
