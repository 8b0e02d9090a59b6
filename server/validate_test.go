package server

import (
	"fmt"
	"math"
	"strings"
	"testing"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

const (
	vtPredictorArn = "arn:aws:forecast:us-east-1:123456789012:predictor/p1"
	vtDatasetArn   = "arn:aws:forecast:us-east-1:123456789012:dataset/d1"
	vtJobArn       = "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p1/j1"
	vtRoleArn      = "arn:aws:iam::123456789012:role/ForecastRole"
	vtKMSArn       = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
)

// vtValidCreate is a request that passes every rule, with every optional
// field set.
func vtValidCreate() *gatewayv1.CreatePredictorBacktestExportJobRequest {
	return &gatewayv1.CreatePredictorBacktestExportJobRequest{
		PredictorBacktestExportJobName: "backtest_export_1",
		PredictorArn:                   vtPredictorArn,
		Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{
			Path:      "s3://bucket/exports/",
			RoleArn:   vtRoleArn,
			KmsKeyArn: vtKMSArn,
		}},
		Tags: []*gatewayv1.Tag{
			{Key: "env", Value: "prod"},
			{Key: "team", Value: "forecasting"},
			{Key: "cost-center", Value: "42"},
			{Key: "owner", Value: "me@example.com"},
		},
		Format: gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
	}
}

// vtWant is an expected violation: the exact field path and the rule named
// in its description.
type vtWant struct{ field, rule string }

func vtCheckViolations(t *testing.T, got []fieldViolation, want []vtWant) {
	t.Helper()
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("got %s: %s", g.field, g.description)
		}
		t.Fatalf("got %d violations, want %d: %v", len(got), len(want), want)
	}
	for i, w := range want {
		if got[i].field != w.field {
			t.Errorf("violation %d field = %q, want %q (%s)", i, got[i].field, w.field, got[i].description)
		}
		if suffix := "(rule: " + w.rule + ")"; !strings.HasSuffix(got[i].description, suffix) {
			t.Errorf("violation %d (%s) description %q does not end in %q", i, got[i].field, got[i].description, suffix)
		}
	}
}

func TestValidateCreate(t *testing.T) {
	tags := func(n int) []*gatewayv1.Tag {
		out := make([]*gatewayv1.Tag, n)
		for i := range out {
			out[i] = &gatewayv1.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
		}
		return out
	}
	tests := []struct {
		name   string
		mutate func(r *gatewayv1.CreatePredictorBacktestExportJobRequest)
		want   []vtWant
	}{
		{name: "fully valid", mutate: func(*gatewayv1.CreatePredictorBacktestExportJobRequest) {}},
		{name: "minimal valid", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags = nil
			r.Format = gatewayv1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED
			r.Destination.S3Config.KmsKeyArn = ""
		}},
		{name: "csv", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Format = gatewayv1.ExportFormat_EXPORT_FORMAT_CSV
		}},
		{name: "50 tags", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Tags = tags(50) }},

		{name: "name missing", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = ""
		}, want: []vtWant{{"predictor_backtest_export_job_name", "required"}}},
		{name: "name leading digit", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = "1job"
		}, want: []vtWant{{"predictor_backtest_export_job_name", "pattern"}}},
		{name: "name 64 chars", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = strings.Repeat("a", 64)
		}, want: []vtWant{{"predictor_backtest_export_job_name", "length"}}},

		{name: "predictor_arn missing", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorArn = ""
		}, want: []vtWant{{"predictor_arn", "required"}}},
		{name: "predictor_arn not an arn", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorArn = "p1"
		}, want: []vtWant{{"predictor_arn", "pattern"}}},
		{name: "predictor_arn too long", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorArn = vtPredictorArn + strings.Repeat("x", 257-len(vtPredictorArn))
		}, want: []vtWant{{"predictor_arn", "length"}}},
		{name: "predictor_arn of a dataset", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorArn = vtDatasetArn
		}, want: []vtWant{{"predictor_arn", "resource_type"}}},
		{name: "predictor_arn of a backtest job", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorArn = vtJobArn
		}, want: []vtWant{{"predictor_arn", "resource_type"}}},

		{name: "destination missing", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination = nil
		}, want: []vtWant{{"destination", "required"}}},
		{name: "s3_config missing", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination = &gatewayv1.DataDestination{}
		}, want: []vtWant{{"destination.s3_config", "required"}}},
		{name: "s3_config empty", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config = &gatewayv1.S3Config{}
		}, want: []vtWant{{"destination.s3_config.path", "required"}, {"destination.s3_config.role_arn", "required"}}},
		{name: "path too short", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config.Path = "s3://a"
		}, want: []vtWant{{"destination.s3_config.path", "length"}}},
		{name: "path not s3", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config.Path = "https://bucket/x"
		}, want: []vtWant{{"destination.s3_config.path", "pattern"}}},
		{name: "role_arn not iam", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config.RoleArn = vtPredictorArn
		}, want: []vtWant{{"destination.s3_config.role_arn", "pattern"}}},
		{name: "role_arn missing", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config.RoleArn = ""
		}, want: []vtWant{{"destination.s3_config.role_arn", "required"}}},
		{name: "kms_key_arn alias", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config.KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:alias/k"
		}, want: []vtWant{{"destination.s3_config.kms_key_arn", "pattern"}}},

		{name: "format out of range", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Format = gatewayv1.ExportFormat(99)
		}, want: []vtWant{{"format", "enum"}}},
		{name: "format negative", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Format = gatewayv1.ExportFormat(-1)
		}, want: []vtWant{{"format", "enum"}}},

		{name: "tag 3 key reserved", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags[3].Key = "AWS:owner"
		}, want: []vtWant{{"tags[3].key", "reserved"}}},
		{name: "tag 1 value too long", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags[1].Value = strings.Repeat("v", 257)
		}, want: []vtWant{{"tags[1].value", "length"}}},
		{name: "tag 0 key empty", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags[0].Key = ""
		}, want: []vtWant{{"tags[0].key", "length"}}},
		{name: "tag 2 key bad char", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags[2].Key = "cost*center"
		}, want: []vtWant{{"tags[2].key", "pattern"}}},
		{name: "tag duplicate key", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags[2].Key = "env"
		}, want: []vtWant{{"tags[2].key", "unique"}}},
		{name: "nil tag element", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags[1] = nil
		}, want: []vtWant{{"tags[1].key", "length"}}},
		{name: "51 tags", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags = tags(51)
		}, want: []vtWant{{"tags", "count"}}},

		{name: "everything wrong at once", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = "_x"
			r.PredictorArn = vtDatasetArn
			r.Destination.S3Config = &gatewayv1.S3Config{Path: "s3:/x", RoleArn: "role", KmsKeyArn: "key"}
			r.Format = gatewayv1.ExportFormat(3)
			r.Tags[0].Value = "bad!"
			r.Tags[3].Key = "aws:x"
		}, want: []vtWant{
			{"predictor_backtest_export_job_name", "pattern"},
			{"predictor_arn", "resource_type"},
			{"destination.s3_config.path", "length"},
			{"destination.s3_config.role_arn", "pattern"},
			{"destination.s3_config.kms_key_arn", "pattern"},
			{"format", "enum"},
			{"tags[0].value", "pattern"},
			{"tags[3].key", "reserved"},
		}},
		{name: "empty request", mutate: func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			*r = gatewayv1.CreatePredictorBacktestExportJobRequest{}
		}, want: []vtWant{
			{"predictor_backtest_export_job_name", "required"},
			{"predictor_arn", "required"},
			{"destination", "required"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := vtValidCreate()
			tt.mutate(r)
			vtCheckViolations(t, validateCreate(r), tt.want)
		})
	}
}

func TestValidateCreateNilRequest(t *testing.T) {
	vtCheckViolations(t, validateCreate(nil), []vtWant{
		{"predictor_backtest_export_job_name", "required"},
		{"predictor_arn", "required"},
		{"destination", "required"},
	})
}

func TestValidateCreateResourceTypeMessage(t *testing.T) {
	r := vtValidCreate()
	r.PredictorArn = vtDatasetArn
	vs := validateCreate(r)
	if len(vs) != 1 {
		t.Fatalf("got %d violations, want 1: %v", len(vs), vs)
	}
	for _, s := range []string{"predictor", `"dataset"`} {
		if !strings.Contains(vs[0].description, s) {
			t.Errorf("description %q does not mention %s", vs[0].description, s)
		}
	}
}

func TestValidateDescribe(t *testing.T) {
	const field = "predictor_backtest_export_job_arn"
	tests := []struct {
		name, arn string
		want      []vtWant
	}{
		{name: "valid", arn: vtJobArn},
		{name: "empty", arn: "", want: []vtWant{{field, "required"}}},
		{name: "not an arn", arn: "j1", want: []vtWant{{field, "pattern"}}},
		{name: "too long", arn: vtJobArn + strings.Repeat("x", 257-len(vtJobArn)), want: []vtWant{{field, "length"}}},
		{name: "predictor arn", arn: vtPredictorArn, want: []vtWant{{field, "resource_type"}}},
		{name: "dataset arn", arn: vtDatasetArn, want: []vtWant{{field, "resource_type"}}},
		{name: "forecast export job arn", arn: "arn:aws:forecast:us-east-1:123456789012:forecast-export-job/f1/e1", want: []vtWant{{field, "resource_type"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: tt.arn}
			vtCheckViolations(t, validateDescribe(r), tt.want)
		})
	}
}

func TestEffectivePageSize(t *testing.T) {
	tests := []struct {
		in      int32
		want    int
		wantErr bool
	}{
		{in: 0, want: 100},
		{in: 1, want: 1},
		{in: 7, want: 7},
		{in: 100, want: 100},
		{in: 101, want: 101},
		{in: 999, want: 999},
		{in: 1000, want: 1000},
		{in: 1001, want: 1000},
		{in: math.MaxInt32, want: 1000},
		{in: -1, wantErr: true},
		{in: math.MinInt32, wantErr: true},
	}
	for _, tt := range tests {
		got, vs := effectivePageSize(tt.in)
		if tt.wantErr {
			if len(vs) != 1 || vs[0].field != "page_size" || !strings.HasSuffix(vs[0].description, "(rule: range)") {
				t.Errorf("effectivePageSize(%d) violations = %v, want one page_size (rule: range)", tt.in, vs)
			}
			continue
		}
		if len(vs) != 0 {
			t.Errorf("effectivePageSize(%d) violations = %v, want none", tt.in, vs)
		}
		if got != tt.want {
			t.Errorf("effectivePageSize(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
	if DefaultPageSize != 100 || MaxPageSize != 1000 || awsMaxResults != 100 {
		t.Errorf("page size constants = %d/%d/%d, want 100/1000/100", DefaultPageSize, MaxPageSize, awsMaxResults)
	}
}
