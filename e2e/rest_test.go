package e2e_test

// The REST surface's HTTP semantics, as a REST client meets them: one row
// per case, each checked for its status, its AIP-193 body (reason and the
// field named) and its headers; the conformance check (conformance_test.go)
// validates every documented answer against the OpenAPI document on top.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// restCase is one REST request and what must come back.
type restCase struct {
	name    string
	setup   func(env *testenv.Env)
	method  string
	path    func(env *testenv.Env) string
	header  map[string]string
	body    string
	status  int
	reason  string   // ErrorInfo reason of an error answer
	fields  []string // BadRequest fields of a 400
	headers map[string]string
	check   func(t *testing.T, env *testenv.Env, resp *http.Response, body []byte)
}

// internalMarker, in a request, makes the test interceptor answer
// INTERNAL: the gateway's own 500 cannot be caused from outside.
const internalMarker = "x-test-internal"

func TestRESTSemantics(t *testing.T) {
	boom := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if strings.Contains(fmt.Sprint(req), internalMarker) {
			return nil, status.Error(codes.Internal, "internal error")
		}
		return h(ctx, req)
	}
	env := testenv.Start(t, testenv.Options{
		Emulator: emulator.Options{MaxInProgressJobs: 1},
		Gateway:  gateway.Config{UnaryInterceptors: []grpc.UnaryServerInterceptor{boom}},
	})
	forecasts := env.Emu.ForecastArns()
	export := jobtype.ForecastExportJob
	createBody := func(name, forecast string) string {
		return fmt.Sprintf(`{"forecast_export_job_name": %q, "forecast_arn": %q,
			"destination": {"s3_config": {"path": "s3://bucket/x/", "role_arn": %q}}}`, name, forecast, roleArn)
	}
	backtestArn := env.Emu.Jobs(jobtype.PredictorBacktestExportJob)[0].Arn
	describeBacktest := func(*testenv.Env) string {
		return "/v1/predictor-backtest-export-jobs/" + url.PathEscape(backtestArn)
	}
	static := func(p string) func(*testenv.Env) string { return func(*testenv.Env) string { return p } }
	var etag string

	cases := []restCase{
		{name: "create: 201 with Location", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body: createBody("first", forecasts[0]), status: http.StatusCreated,
			check: func(t *testing.T, env *testenv.Env, resp *http.Response, body []byte) {
				var out map[string]string
				_ = json.Unmarshal(body, &out)
				arn := out["forecast_export_job_arn"]
				if want := "/v1/forecast-export-jobs/" + url.PathEscape(arn); resp.Header.Get("Location") != want || arn == "" {
					t.Errorf("Location %q, ARN %q", resp.Header.Get("Location"), arn)
				}
			}},
		{name: "the AWS spelling of an enum", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body: `{"forecast_export_job_name": "parquet_one", "forecast_arn": "` + forecasts[2] + `", "format": "PARQUET",
				"destination": {"s3_config": {"path": "s3://bucket/x/", "role_arn": "` + roleArn + `"}}}`,
			setup:  func(env *testenv.Env) { _ = env.Emu.AdvanceClock(time.Hour) }, // the first create is done: room for one more
			status: http.StatusCreated,
			check: func(t *testing.T, env *testenv.Env, _ *http.Response, body []byte) {
				var out map[string]string
				_ = json.Unmarshal(body, &out)
				if job, _ := env.Emu.Job(out["forecast_export_job_arn"]); job.Format != "PARQUET" {
					t.Errorf("format %q reached the emulator", job.Format)
				}
			}},
		{name: "an enum spelt wrong", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body: `{"format": "Parquet"}`, status: 400, reason: "INVALID_ARGUMENT", fields: []string{"format"}},
		{name: "a JSON error names the field", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body: `{"forecast_export_job_name": 5, "destination": {"s3_config": {"path": true}}}`, status: 400, reason: "INVALID_ARGUMENT",
			fields: []string{"forecast_export_job_name", "destination.s3_config.path"}},
		{name: "create again: 409", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body: createBody("first", forecasts[0]), status: http.StatusConflict, reason: "RESOURCE_ALREADY_EXISTS"},
		{name: "too many jobs running: 429", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body: createBody("third", forecasts[1]), status: http.StatusTooManyRequests, reason: "LIMIT_EXCEEDED"},
		{name: "an unknown parent: 404", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body:   createBody("orphan", strings.Replace(forecasts[0], "_01", "_99", 1)),
			status: http.StatusNotFound, reason: "RESOURCE_NOT_FOUND"},
		{name: "a form post: 415 before anything", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "forecast_export_job_name=x",
			status: http.StatusUnsupportedMediaType, reason: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "text/plain: 415", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			header: map[string]string{"Content-Type": "text/plain"}, body: createBody("plain", forecasts[0]),
			status: http.StatusUnsupportedMediaType, reason: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "a field-less form to a stop route: 415", method: http.MethodPost,
			path:   func(*testenv.Env) string { return describeBacktest(nil) + ":stop" },
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			status: http.StatusUnsupportedMediaType, reason: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "JSON with a charset", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			header: map[string]string{"Content-Type": "application/json; charset=UTF-8"}, body: `{}`,
			status: 400, reason: "INVALID_ARGUMENT", fields: []string{"forecast_export_job_name"}},
		{name: "a body over the limit: 413", method: http.MethodPost, path: static("/v1/forecast-export-jobs"),
			body: `{"forecast_export_job_name": "` + strings.Repeat("x", 2<<20) + `"}`, status: http.StatusRequestEntityTooLarge, reason: "BODY_TOO_LARGE"},
		{name: "a wrong method: 405 with Allow", method: http.MethodPut, path: static("/v1/forecast-export-jobs"),
			status: http.StatusMethodNotAllowed, reason: "METHOD_NOT_ALLOWED", headers: map[string]string{"Allow": "GET, POST"}},
		{name: "a wrong method on an item: 405", method: http.MethodPost, path: describeBacktest,
			body: `{}`, status: http.StatusMethodNotAllowed, reason: "METHOD_NOT_ALLOWED", headers: map[string]string{"Allow": "DELETE, GET"}},
		{name: "GET on a stop route: 405", method: http.MethodGet, path: func(*testenv.Env) string { return describeBacktest(nil) + ":stop" },
			status: http.StatusMethodNotAllowed, reason: "METHOD_NOT_ALLOWED", headers: map[string]string{"Allow": "POST"}},
		{name: "an unknown route: 404 in JSON", method: http.MethodGet, path: static("/v1/predictors"),
			status: http.StatusNotFound, reason: "ROUTE_NOT_FOUND"},
		{name: "an unknown query parameter", method: http.MethodGet, path: static("/v1/forecast-export-jobs?pagesize=5"),
			status: 400, reason: "INVALID_ARGUMENT", fields: []string{"pagesize"}},
		{name: "page_size not a number", method: http.MethodGet, path: static("/v1/forecast-export-jobs?page_size=abc"),
			status: 400, reason: "INVALID_ARGUMENT", fields: []string{"page_size"}},
		{name: "a parameter given twice", method: http.MethodGet, path: static("/v1/forecast-export-jobs?filter=a&filter=b"),
			status: 400, reason: "INVALID_ARGUMENT", fields: []string{"filter"}},
		{name: "a bad filter", method: http.MethodGet, path: static("/v1/forecast-export-jobs?filter=" + url.QueryEscape("status = DONE")),
			status: 400, reason: "INVALID_ARGUMENT", fields: []string{"filter"}},
		{name: "a query on a route without one", method: http.MethodGet, path: func(e *testenv.Env) string { return describeBacktest(e) + "?verbose=1" },
			status: 400, reason: "INVALID_ARGUMENT", fields: []string{"verbose"}},
		{name: "a body on a route without one", method: http.MethodDelete, path: describeBacktest,
			body: `{"force": true}`, status: 400, reason: "INVALID_ARGUMENT", fields: []string{"body"}},
		{name: "a header block over the limit: 431 in JSON", method: http.MethodGet, path: static("/v1/forecast-export-jobs"),
			header: map[string]string{"X-Padding": strings.Repeat("p", 80<<10)}, status: http.StatusRequestHeaderFieldsTooLarge, reason: "HEADERS_TOO_LARGE"},
		{name: "an empty list is []", method: http.MethodGet,
			path:   static("/v1/forecast-export-jobs?filter=" + url.QueryEscape(`forecast_arn = "arn:aws:forecast:us-east-1:123456789012:forecast/no_such_forecast"`)),
			status: http.StatusOK,
			check: func(t *testing.T, _ *testenv.Env, _ *http.Response, body []byte) {
				if !strings.Contains(string(body), `"forecast_export_jobs":[`) {
					t.Errorf("no list key in %s", body)
				}
			}},
		{name: "describe: ETag", method: http.MethodGet, path: describeBacktest, status: http.StatusOK,
			check: func(t *testing.T, _ *testenv.Env, resp *http.Response, _ []byte) {
				if etag = resp.Header.Get("ETag"); !strings.HasPrefix(etag, `"`) {
					t.Errorf("ETag %q", etag)
				}
			}},
		{name: "describe: 304 when nothing changed", method: http.MethodGet, path: describeBacktest, status: http.StatusNotModified,
			header: map[string]string{"If-None-Match": "<etag>"},
			check: func(t *testing.T, _ *testenv.Env, resp *http.Response, body []byte) {
				if len(body) != 0 || resp.Header.Get("ETag") != etag {
					t.Errorf("304 with body %q, ETag %q", body, resp.Header.Get("ETag"))
				}
			}},
		{name: "describe: 200 when it changed", method: http.MethodGet, path: describeBacktest, status: http.StatusOK,
			header: map[string]string{"If-None-Match": "<etag>"},
			setup:  func(env *testenv.Env) { _ = env.Emu.SetJobStatus(backtestArn, "DELETE_FAILED") },
			check: func(t *testing.T, _ *testenv.Env, resp *http.Response, _ []byte) {
				if resp.Header.Get("ETag") == etag {
					t.Error("the ETag did not change with the job")
				}
			}},
		{name: "delete a running job: 409", method: http.MethodDelete, path: func(env *testenv.Env) string {
			for _, j := range env.Emu.Jobs(export) {
				if j.Name == "parquet_one" { // made above, still running
					return "/v1/forecast-export-jobs/" + url.PathEscape(j.Arn)
				}
			}
			t.Fatal("no job parquet_one")
			return ""
		}, status: http.StatusConflict, reason: "RESOURCE_IN_USE"},
		{name: "AWS throttling past the retries: 503 with Retry-After", method: http.MethodGet, path: static("/v1/explainability-exports"),
			setup: func(env *testenv.Env) {
				env.Emu.InjectFault(emulator.OpListExplainabilityExports, emulator.Fault{Kind: emulator.FaultThrottle})
			},
			status: http.StatusServiceUnavailable, reason: "UPSTREAM_THROTTLED", headers: map[string]string{"Retry-After": "2"}},
		{name: "the deadline passes: 504", method: http.MethodGet, path: static("/v1/dataset-import-jobs"),
			header: map[string]string{"Grpc-Timeout": "200m"},
			setup: func(env *testenv.Env) {
				env.Emu.ClearFaults()
				env.Emu.InjectFault(emulator.OpListDatasetImportJobs, emulator.Fault{Kind: emulator.FaultLatency, Latency: 5 * time.Second, Count: 1})
			},
			status: http.StatusGatewayTimeout, reason: "DEADLINE_EXCEEDED"},
		{name: "a fault of the gateway: 500 with nothing internal", method: http.MethodGet,
			path:   static("/v1/tags/" + internalMarker),
			status: http.StatusInternalServerError, reason: "INTERNAL",
			setup: func(env *testenv.Env) { env.Emu.ClearFaults() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(env)
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequestWithContext(ctx(t), tc.method, env.BaseURL+tc.path(env), body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range tc.header {
				req.Header.Set(k, strings.ReplaceAll(v, "<etag>", etag))
			}
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d, want %d: %.500s", resp.StatusCode, tc.status, raw)
			}
			for k, v := range tc.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.status >= 400 {
				var re restError
				if err := json.Unmarshal(raw, &re); err != nil || re.Error.Code != tc.status || re.Error.Status == "" || re.Error.Message == "" {
					t.Fatalf("not an AIP-193 body (%v): %s", err, raw)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if got := re.reason(t); got != tc.reason {
					t.Errorf("reason %q, want %q", got, tc.reason)
				}
				got := re.violationFields(t)
				for _, f := range tc.fields {
					if !slices.Contains(got, f) {
						t.Errorf("no violation of %q in %v: %s", f, got, raw)
					}
				}
				if tc.status == http.StatusInternalServerError && (strings.Contains(string(raw), "aws_error_code") || strings.Contains(string(raw), "stack")) {
					t.Errorf("a 500 shows internals: %s", raw)
				}
			}
			if tc.check != nil {
				tc.check(t, env, resp, raw)
			}
		})
	}
}
