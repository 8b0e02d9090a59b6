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
)

// wantInvalid asserts err is the SDK's typed InvalidInputException naming
// member (empty member: any message).
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

func TestCreateValidation(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv, noClientValidation)
	pred := srv.PredictorArns()[0]
	tags := func(n int) []types.Tag {
		out := make([]types.Tag, n)
		for i := range out {
			out[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
		}
		return out
	}
	tests := []struct {
		name   string
		mod    func(in *forecast.CreatePredictorBacktestExportJobInput)
		member string // "" = must succeed
	}{
		{"valid", func(*forecast.CreatePredictorBacktestExportJobInput) {}, ""},
		{"name missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.PredictorBacktestExportJobName = nil }, "predictorBacktestExportJobName"},
		{"name empty", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.PredictorBacktestExportJobName = aws.String("")
		}, "predictorBacktestExportJobName"},
		{"name 63", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.PredictorBacktestExportJobName = aws.String("a" + strings.Repeat("b", 62))
		}, ""},
		{"name 64", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.PredictorBacktestExportJobName = aws.String(strings.Repeat("a", 64))
		}, "predictorBacktestExportJobName"},
		{"name starts with digit", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.PredictorBacktestExportJobName = aws.String("1abc")
		}, "predictorBacktestExportJobName"},
		{"name with dash", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.PredictorBacktestExportJobName = aws.String("ab-c")
		}, "predictorBacktestExportJobName"},
		{"predictor missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.PredictorArn = nil }, "predictorArn"},
		{"predictor not an arn", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.PredictorArn = aws.String("predictor/x") }, "predictorArn"},
		{"predictor arn too long", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.PredictorArn = aws.String("arn:aws:forecast:us-east-1:123456789012:predictor/" + strings.Repeat("x", 250))
		}, "predictorArn"},
		{"destination missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Destination = nil }, "destination"},
		{"s3config missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Destination.S3Config = nil }, "destination.s3Config"},
		{"path missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Destination.S3Config.Path = nil }, "destination.s3Config.path"},
		{"path not s3", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Destination.S3Config.Path = aws.String("https://bucket/x")
		}, "destination.s3Config.path"},
		{"path too short", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Destination.S3Config.Path = aws.String("s3://a")
		}, "destination.s3Config.path"},
		{"path too long", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Destination.S3Config.Path = aws.String("s3://b/" + strings.Repeat("x", 4090))
		}, "destination.s3Config.path"},
		{"role missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Destination.S3Config.RoleArn = nil }, "destination.s3Config.roleArn"},
		{"role not iam", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Destination.S3Config.RoleArn = aws.String("arn:aws:forecast:us-east-1:123456789012:predictor/x")
		}, "destination.s3Config.roleArn"},
		{"kms bad", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Destination.S3Config.KMSKeyArn = aws.String("alias/x")
		}, "destination.s3Config.kMSKeyArn"},
		{"kms too long", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Destination.S3Config.KMSKeyArn = aws.String(kmsArn + strings.Repeat("x", 200))
		}, "destination.s3Config.kMSKeyArn"},
		{"format csv", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Format = aws.String("CSV") }, ""},
		{"format json", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Format = aws.String("JSON") }, "format"},
		{"format lowercase", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Format = aws.String("csv") }, "format"},
		{"50 tags", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags = tags(50) }, ""},
		{"51 tags", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags = tags(51) }, "tags"},
		{"tag key empty", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Key = aws.String("") }, "tags.1.member.key"},
		{"tag key 129", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Tags[0].Key = aws.String(strings.Repeat("k", 129))
		}, "tags.1.member.key"},
		{"tag key aws:", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Key = aws.String("aws:cost") }, "tags.1.member.key"},
		{"tag key AwS:", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Key = aws.String("AwS:cost") }, "tags.1.member.key"},
		{"tag value aws: ok", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Value = aws.String("aws:ok") }, ""},
		{"tag key bad char", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Key = aws.String("a*b") }, "tags.1.member.key"},
		{"tag value empty ok", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Value = aws.String("") }, ""},
		{"tag value 257", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Tags[0].Value = aws.String(strings.Repeat("v", 257))
		}, "tags.1.member.value"},
		{"tag key missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Key = nil }, "tags.1.member.key"},
		{"tag value missing", func(in *forecast.CreatePredictorBacktestExportJobInput) { in.Tags[0].Value = nil }, "tags.1.member.value"},
		{"duplicate tag keys", func(in *forecast.CreatePredictorBacktestExportJobInput) {
			in.Tags = append(tags(2), types.Tag{Key: aws.String("k0"), Value: aws.String("x")})
		}, "tags.3.member.key"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := createInput(pred, fmt.Sprintf("job_%d", i))
			tc.mod(in)
			_, err := c.CreatePredictorBacktestExportJob(ctx(t), in)
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

func TestCreateValidationReportsEveryViolation(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
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
}

func TestDescribeValidation(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv, noClientValidation)
	for _, arn := range []*string{nil, aws.String(""), aws.String("not-an-arn"), aws.String("arn:aws:forecast:us-east-1:1:x/" + strings.Repeat("y", 256))} {
		_, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: arn})
		wantInvalid(t, err, "predictorBacktestExportJobArn")
	}
}

// listCall runs one List operation by name with the given filters.
type listArgs struct {
	filters    []types.Filter
	maxResults *int32
	nextToken  *string
}

func callList(t *testing.T, c *forecast.Client, op string, a listArgs) (n int, next *string, err error) {
	t.Helper()
	switch op {
	case emulator.OpListPredictorBacktestExportJobs:
		out, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
		if err != nil {
			return 0, nil, err
		}
		return len(out.PredictorBacktestExportJobs), out.NextToken, nil
	case emulator.OpListForecastExportJobs:
		out, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
		if err != nil {
			return 0, nil, err
		}
		return len(out.ForecastExportJobs), out.NextToken, nil
	default:
		out, err := c.ListDatasetImportJobs(ctx(t), &forecast.ListDatasetImportJobsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
		if err != nil {
			return 0, nil, err
		}
		return len(out.DatasetImportJobs), out.NextToken, nil
	}
}

func TestListValidation(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv, noClientValidation)
	parentKey := map[string]string{
		emulator.OpListPredictorBacktestExportJobs: "PredictorArn",
		emulator.OpListForecastExportJobs:          "ForecastArn",
		emulator.OpListDatasetImportJobs:           "DatasetArn",
	}
	parentArn := map[string]string{
		emulator.OpListPredictorBacktestExportJobs: srv.PredictorArns()[0],
		emulator.OpListForecastExportJobs:          srv.ForecastArns()[0],
		emulator.OpListDatasetImportJobs:           srv.DatasetArns()[0],
	}
	f := func(k, v string, cond types.FilterConditionString) types.Filter {
		return types.Filter{Key: aws.String(k), Value: aws.String(v), Condition: cond}
	}
	for _, op := range []string{emulator.OpListPredictorBacktestExportJobs, emulator.OpListForecastExportJobs, emulator.OpListDatasetImportJobs} {
		pk, pa := parentKey[op], parentArn[op]
		otherKey := "ForecastArn"
		if pk == "ForecastArn" {
			otherKey = "DatasetArn"
		}
		tests := []struct {
			name   string
			args   listArgs
			member string
		}{
			{"no input", listArgs{}, ""},
			{"parent IS", listArgs{filters: []types.Filter{f(pk, pa, "IS")}}, ""},
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
			{"parent value not an arn", listArgs{filters: []types.Filter{f(pk, "my-parent", "IS")}}, "filters.1.member.value"},
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
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				_, _, err := callList(t, c, op, tc.args)
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
