package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"time"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// TestReliabilityMalformedInputGRPC: every malformed request is
// INVALID_ARGUMENT with a BadRequest naming the field, and none reaches the
// upstream (the emulator counts 0 calls).
func TestReliabilityMalformedInputGRPC(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	c := env.Client
	ctx := relCtx(t, 60*time.Second)

	// A genuine token of another list operation: sealed by this gateway,
	// but bound to ListForecastExportJobs.
	other, err := c.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 1})
	if err != nil || other.GetNextPageToken() == "" {
		t.Fatalf("seeding a foreign-method token: %v %q", err, other.GetNextPageToken())
	}
	env.Emu.ResetCallCounts()

	predictor := env.Emu.PredictorArns()[0]
	datasetArn := env.Emu.DatasetArns()[0]
	create := func(mut func(r *gatewayv1.CreatePredictorBacktestExportJobRequest)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := relValidCreate(env, "valid_name")
			mut(r)
			_, err := c.CreatePredictorBacktestExportJob(ctx, r)
			return err
		}
	}
	tags := func(n int, key, value string) []*gatewayv1.Tag {
		out := make([]*gatewayv1.Tag, n)
		for i := range out {
			out[i] = &gatewayv1.Tag{Key: fmt.Sprintf("%s%d", key, i), Value: value}
		}
		return out
	}
	describe := func(arn string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := c.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
			return err
		}
	}
	type listReq struct {
		size          int32
		token, filter string
	}
	lists := map[string]func(context.Context, listReq) error{
		"backtest": func(ctx context.Context, r listReq) error {
			_, err := c.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: r.size, PageToken: r.token, Filter: r.filter})
			return err
		},
		"forecast_export": func(ctx context.Context, r listReq) error {
			_, err := c.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: r.size, PageToken: r.token, Filter: r.filter})
			return err
		},
		"dataset_import": func(ctx context.Context, r listReq) error {
			_, err := c.ListDatasetImportJobs(ctx, &gatewayv1.ListDatasetImportJobsRequest{PageSize: r.size, PageToken: r.token, Filter: r.filter})
			return err
		},
	}

	cases := []relCase{
		{"create/empty name", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.PredictorBacktestExportJobName = "" }), "predictor_backtest_export_job_name"},
		{"create/name 64 chars", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = "a" + strings.Repeat("b", 63)
		}), "predictor_backtest_export_job_name"},
		{"create/name 100 KiB", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = strings.Repeat("n", 100<<10)
		}), "predictor_backtest_export_job_name"},
		{"create/name pattern", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = "9 bad-name!"
		}), "predictor_backtest_export_job_name"},
		{"create/name invalid UTF-8 free text", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorBacktestExportJobName = "job\u202eevil"
		}), "predictor_backtest_export_job_name"},
		{"create/predictor_arn missing", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.PredictorArn = "" }), "predictor_arn"},
		{"create/predictor_arn not an ARN", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.PredictorArn = "predictor/p1" }), "predictor_arn"},
		{"create/predictor_arn of a dataset", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.PredictorArn = datasetArn }), "predictor_arn"},
		{"create/predictor_arn oversize", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.PredictorArn = predictor + strings.Repeat("x", 300)
		}), "predictor_arn"},
		{"create/destination missing", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination = nil }), "destination"},
		{"create/s3_config missing", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination.S3Config = nil }), "destination.s3_config"},
		{"create/s3 path not s3", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config.Path = "https://bucket/x"
		}), "destination.s3_config.path"},
		{"create/s3 path too short", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination.S3Config.Path = "s3://" }), "destination.s3_config.path"},
		{"create/s3 path oversize", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Destination.S3Config.Path = "s3://bucket/" + strings.Repeat("k", 5000)
		}), "destination.s3_config.path"},
		{"create/s3 path empty", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination.S3Config.Path = "" }), "destination.s3_config.path"},
		{"create/role not IAM", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination.S3Config.RoleArn = predictor }), "destination.s3_config.role_arn"},
		{"create/role missing", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination.S3Config.RoleArn = "" }), "destination.s3_config.role_arn"},
		{"create/kms garbage", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination.S3Config.KmsKeyArn = "key-1" }), "destination.s3_config.kms_key_arn"},
		{"create/format out of enum", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Format = 7 }), "format"},
		{"create/format negative", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Format = -1 }), "format"},
		{"create/51 tags", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Tags = tags(51, "k", "v") }), "tags"},
		{"create/1000 tags", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Tags = tags(1000, "k", "v") }), "tags"},
		{"create/tag key empty", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags = []*gatewayv1.Tag{{Key: "", Value: "v"}}
		}), "tags[0].key"},
		{"create/tag key oversize", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags = []*gatewayv1.Tag{{Key: strings.Repeat("k", 129)}}
		}), "tags[0].key"},
		{"create/tag key reserved", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags = []*gatewayv1.Tag{{Key: "AWS:owner", Value: "v"}}
		}), "tags[0].key"},
		{"create/tag keys duplicate", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags = []*gatewayv1.Tag{{Key: "team", Value: "a"}, {Key: "team", Value: "b"}}
		}), "tags[1].key"},
		{"create/tag value oversize", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
			r.Tags = tags(1, "k", strings.Repeat("v", 257))
		}), "tags[0].value"},
		{"create/tag value pattern", create(func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Tags = tags(1, "k", "semi;colon") }), "tags[0].value"},
		{"describe/empty", describe(""), "predictor_backtest_export_job_arn"},
		{"describe/not an ARN", describe("../../etc/passwd"), "predictor_backtest_export_job_arn"},
		{"describe/predictor ARN", describe(predictor), "predictor_backtest_export_job_arn"},
		{"describe/oversize", describe(relJobArn(env) + strings.Repeat("z", 300)), "predictor_backtest_export_job_arn"},
	}
	for name, list := range lists {
		cases = append(cases,
			relCase{"list " + name + "/negative page_size", func(ctx context.Context) error { return list(ctx, listReq{size: -1}) }, "page_size"},
			relCase{"list " + name + "/min int32 page_size", func(ctx context.Context) error { return list(ctx, listReq{size: -1 << 31}) }, "page_size"},
			relCase{"list " + name + "/garbage token", func(ctx context.Context) error { return list(ctx, listReq{token: "not-a-token"}) }, "page_token"},
			relCase{"list " + name + "/oversize token", func(ctx context.Context) error { return list(ctx, listReq{token: strings.Repeat("A", 64<<10)}) }, "page_token"},
			relCase{"list " + name + "/filter syntax", func(ctx context.Context) error {
				return list(ctx, listReq{filter: `status = "ACTIVE" OR status = "CREATE_FAILED"`})
			}, "filter"},
			relCase{"list " + name + "/filter unknown field", func(ctx context.Context) error { return list(ctx, listReq{filter: `name = "x"`}) }, "filter"},
			relCase{"list " + name + "/filter bad status", func(ctx context.Context) error { return list(ctx, listReq{filter: `status = "RUNNING"`}) }, "filter"},
			relCase{"list " + name + "/filter oversize", func(ctx context.Context) error {
				return list(ctx, listReq{filter: `status = "` + strings.Repeat("A", 5000) + `"`})
			}, "filter"},
			relCase{"list " + name + "/filter unterminated", func(ctx context.Context) error { return list(ctx, listReq{filter: `status = "ACT`}) }, "filter"},
		)
	}
	// A real token replayed on another method (and with another filter).
	cases = append(cases,
		relCase{"list backtest/token of another method", func(ctx context.Context) error {
			return lists["backtest"](ctx, listReq{token: other.GetNextPageToken()})
		}, "page_token"},
		relCase{"list forecast_export/token with another filter", func(ctx context.Context) error {
			return lists["forecast_export"](ctx, listReq{token: other.GetNextPageToken(), filter: `status = "ACTIVE"`})
		}, "page_token"},
	)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := relUpstreamCalls(env)
			relWantInvalid(t, tc.call(ctx), tc.field)
			if d := relUpstreamCalls(env) - before; d != 0 {
				t.Errorf("%d upstream calls for an invalid request, want 0", d)
			}
		})
	}

	// page_size above the maximum is clamped, not an error (AIP-158).
	t.Run("list/page_size above max is clamped", func(t *testing.T) {
		r, err := c.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 1 << 30})
		if err != nil {
			t.Fatalf("huge page_size: %v", err)
		}
		if n := len(r.GetPredictorBacktestExportJobs()); n == 0 || n > 1000 {
			t.Errorf("page of %d items, want 1..1000", n)
		}
	})
	if t.Failed() {
		t.Logf("total upstream calls: %d", relUpstreamCalls(env))
	}
}

// TestReliabilityMalformedInputREST: the same over REST, plus what only
// REST can get wrong (query types, JSON syntax, unknown fields, enum
// spellings): every case is 400 with an AIP-193 body carrying a BadRequest,
// and none reaches the upstream.
func TestReliabilityMalformedInputREST(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := relCtx(t, 60*time.Second)
	base := env.BaseURL + "/v1/predictor-backtest-export-jobs"
	valid := string(relValidCreateJSON(env, "valid_name"))
	withField := func(k, v string) string { return strings.TrimSuffix(valid, "}") + `,"` + k + `":` + v + "}" }
	pred := env.Emu.PredictorArns()[0]

	cases := []struct {
		name, method, path, body string
		field                    string // "" = any BadRequest
	}{
		{"list/page_size not a number", "GET", "?page_size=ten", "", "page_size"},
		{"list/page_size float", "GET", "?page_size=1.5", "", "page_size"},
		{"list/page_size beyond int32", "GET", "?page_size=4294967296", "", "page_size"},
		{"list/page_size beyond int64", "GET", "?page_size=99999999999999999999999", "", "page_size"},
		{"list/page_size negative", "GET", "?page_size=-5", "", "page_size"},
		{"list/garbage token", "GET", "?page_token=%00%FF%FE", "", "page_token"},
		{"list/garbage filter", "GET", "?filter=" + url.QueryEscape(`status ~ "A"`), "", "filter"},
		{"list/filter bad enum", "GET", "?filter=" + url.QueryEscape(`status = "DONE"`), "", "filter"},
		{"list forecast/page_size beyond int32", "GET", "/../../forecast-export-jobs?page_size=2147483648", "", "page_size"},
		{"list dataset/page_size empty", "GET", "/../../dataset-import-jobs?page_size=", "", ""},
		{"create/broken JSON", "POST", "", `{"predictor_backtest_export_job_name": `, ""},
		{"create/not JSON", "POST", "", `predictor_backtest_export_job_name=x`, ""},
		{"create/JSON array", "POST", "", `[]`, ""},
		{"create/JSON null", "POST", "", `null`, ""},
		{"create/empty object", "POST", "", `{}`, "predictor_backtest_export_job_name"},
		{"create/unknown field", "POST", "", withField("job_name_typo", `"x"`), ""},
		{"create/camelCase unknown to proto names", "POST", "", `{"predictorBacktestExportJobNameX":"a"}`, ""},
		{"create/name wrong type", "POST", "", `{"predictor_backtest_export_job_name": 5}`, ""},
		{"create/tags wrong type", "POST", "", withField("tags", `{"k":"v"}`), ""},
		{"create/destination wrong type", "POST", "", `{"destination":"s3://bucket/x"}`, ""},
		{"create/format unknown name", "POST", "", withField("format", `"EXPORT_FORMAT_XML"`), ""},
		{"create/format out of enum number", "POST", "", withField("format", `9`), "format"},
		{"create/format beyond int32", "POST", "", withField("format", `4294967296`), ""},
		{"create/51 tags", "POST", "", withField("tags", "["+strings.TrimSuffix(strings.Repeat(`{"key":"k","value":"v"},`, 51), ",")+"]"), "tags"},
		{"create/oversize name", "POST", "", strings.Replace(valid, `"valid_name"`, `"`+strings.Repeat("n", 200)+`"`, 1), "predictor_backtest_export_job_name"},
		{"create/bad S3 path", "POST", "", strings.Replace(valid, "s3://bucket/exports/", "ftp://bucket/", 1), "destination.s3_config.path"},
		{"create/predictor ARN of a dataset", "POST", "", strings.Replace(valid, pred, env.Emu.DatasetArns()[0], 1), "predictor_arn"},
		{"create/predictor ARN not an ARN", "POST", "", strings.Replace(valid, pred, "predictor/p1", 1), "predictor_arn"},
		{"create/invalid UTF-8", "POST", "", "{\"predictor_backtest_export_job_name\":\"\xff\xfe\"}", ""},
		{"create/duplicate member", "POST", "", `{"predictor_arn":"a","predictor_arn":"b"}`, ""},
		{"describe/not an ARN", "GET", "/not-an-arn", "", "predictor_backtest_export_job_arn"},
		{"describe/predictor ARN", "GET", "/" + url.PathEscape(pred), "", "predictor_backtest_export_job_arn"},
		{"describe/oversize ARN", "GET", "/" + url.PathEscape(relJobArn(env)+strings.Repeat("x", 400)), "", "predictor_backtest_export_job_arn"},
		{"describe/NUL in ARN", "GET", "/arn%3Aaws%3Aforecast%00", "", "predictor_backtest_export_job_arn"},
		{"describe/invalid UTF-8 in ARN", "GET", "/" + url.PathEscape(relJobArn(env)) + "%FF", "", "predictor_backtest_export_job_arn"},
		{"list/invalid UTF-8 filter", "GET", "?filter=status%20%3D%20%22%C3%28%22", "", "filter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := relUpstreamCalls(env)
			u := base + tc.path
			if strings.HasPrefix(tc.path, "/../../") {
				u = env.BaseURL + "/v1/" + strings.TrimPrefix(tc.path, "/../../")
			}
			var body []byte
			ct := ""
			if tc.method == http.MethodPost {
				body, ct = []byte(tc.body), "application/json"
			}
			r := relDo(t, env.HTTP, ctx, tc.method, u, ct, body)
			if r.Code != http.StatusBadRequest {
				t.Fatalf("HTTP %d, want 400: %s", r.Code, r.Raw)
			}
			if r.Err.Error.Status != "INVALID_ARGUMENT" {
				t.Errorf("status %q, want INVALID_ARGUMENT", r.Err.Error.Status)
			}
			fields := r.Err.fields()
			if len(fields) == 0 {
				t.Errorf("no field violation in %s", r.Raw)
			}
			if tc.field != "" && !relContains(fields, tc.field) {
				t.Errorf("violations %q, want one for %q: %s", fields, tc.field, r.Raw)
			}
			if d := relUpstreamCalls(env) - before; d != 0 {
				t.Errorf("%d upstream calls for an invalid request, want 0", d)
			}
		})
	}

	t.Run("list/page_size above max is clamped", func(t *testing.T) {
		r := relDo(t, env.HTTP, ctx, "GET", base+"?page_size=2147483647", "", nil)
		if r.Code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", r.Code, r.Raw)
		}
	})
}

func relContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// relCase is one malformed gRPC call and the field it must be blamed on.
type relCase struct {
	name  string
	call  func(context.Context) error
	field string
}
