package e2e_test

// Operations: what the platform team sees. The metrics after a scripted
// workload (exact counts), the span tree of one List, and the access-log
// lines of one gRPC and one REST call, all from a real gateway on loopback.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// metricFamilies reads and parses the gateway's /metrics from its admin
// listener.
func metricFamilies(t testing.TB, env *testenv.Env) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + env.Gateway.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// scrape reads the gateway's /metrics from its admin listener and returns
// each sample as "name{label="value",...}" -> value (labels sorted as the
// exposition format writes them).
func scrape(t testing.TB, env *testenv.Env) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, fam := range metricFamilies(t, env) {
		for _, m := range fam.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsAfterWorkload: a scripted workload over gRPC and REST, then
// exact counts: RPCs per method and code (both transports), REST requests
// per route and status, upstream calls per operation and outcome, and the
// refusals by reason.
func TestMetricsAfterWorkload(t *testing.T) {
	// 300 backtest jobs (6 predictors x 50), so a page of 250 takes three
	// AWS pages.
	env := testenv.Start(t, testenv.Options{Emulator: emulator.Options{BacktestJobsPerPredictor: 50}, Gateway: gateway.Config{AdminAddr: "127.0.0.1:0"}})
	c := ctx(t)
	bt := jobtype.PredictorBacktestExportJob
	arn := env.Emu.Jobs(bt)[0].Arn

	// gRPC: 2 describes, a list of 250 (3 upstream pages), a bad page
	// token (no upstream call), a describe of a job that does not exist.
	for range 2 {
		if _, err := env.Client.DescribePredictorBacktestExportJob(c, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Client.ListPredictorBacktestExportJobs(c, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 250}); err != nil {
		t.Fatal(err)
	}
	_, err := env.Client.ListPredictorBacktestExportJobs(c, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageToken: "not-a-token"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad page token: %v", err)
	}
	missing := strings.Replace(arn, "/", "/missing_", 1)
	if _, err := env.Client.DescribePredictorBacktestExportJob(c, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: missing}); status.Code(err) != codes.NotFound {
		t.Fatalf("missing job: %v", err)
	}
	// REST: a describe, and a 404 route (refused before the service).
	for _, path := range []string{"/v1/" + bt.Collection + "/" + url.PathEscape(arn), "/v1/nothing-here"} {
		resp, err := env.HTTP.Get(env.BaseURL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	m := scrape(t, env)
	svc := "forecast.gateway.v1.ForecastJobService"
	want := map[string]float64{
		// Every RPC, gRPC and REST alike (REST runs the same chain).
		`grpc_server_handled_total{grpc_code=OK,grpc_method=DescribePredictorBacktestExportJob,grpc_service=` + svc + `,grpc_type=unary}`:           3,
		`grpc_server_handled_total{grpc_code=NotFound,grpc_method=DescribePredictorBacktestExportJob,grpc_service=` + svc + `,grpc_type=unary}`:     1,
		`grpc_server_handled_total{grpc_code=OK,grpc_method=ListPredictorBacktestExportJobs,grpc_service=` + svc + `,grpc_type=unary}`:              1,
		`grpc_server_handled_total{grpc_code=InvalidArgument,grpc_method=ListPredictorBacktestExportJobs,grpc_service=` + svc + `,grpc_type=unary}`: 1,
		// Upstream: 3 good describes, 1 missing, 3 pages of the list.
		`forecast_gateway_upstream_calls_total{operation=DescribePredictorBacktestExportJob,origin=request,outcome=ok}`:           3,
		`forecast_gateway_upstream_calls_total{operation=DescribePredictorBacktestExportJob,origin=request,outcome=client_error}`: 1,
		`forecast_gateway_upstream_calls_total{operation=ListPredictorBacktestExportJobs,origin=request,outcome=ok}`:              3,
		`forecast_gateway_page_token_rejections_total{rule=malformed}`:                                                            1,
		// REST requests by route template and status.
		`forecast_gateway_http_requests_total{code=200,method=GET,route=/v1/` + bt.Collection + `/{predictor_backtest_export_job_arn}}`: 1,
		`forecast_gateway_http_requests_total{code=404,method=GET,route=other}`:                                                         1,
		`forecast_gateway_in_flight_calls{transport=grpc}`:                                                                              0,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if m[`forecast_gateway_upstream_call_duration_seconds{operation=ListPredictorBacktestExportJobs,origin=request}_count`] != 3 {
		t.Errorf("upstream duration histogram: %v", m[`forecast_gateway_upstream_call_duration_seconds{operation=ListPredictorBacktestExportJobs,origin=request}_count`])
	}
	var build bool
	for k := range m {
		build = build || strings.HasPrefix(k, "forecast_gateway_build_info{")
	}
	if !build {
		t.Error("no forecast_gateway_build_info")
	}
}

// TestTraceOfAList: one List of 250 items over gRPC, with a traceparent
// from the client, is one trace: the client's span, the gateway's server
// span under it, and one child span per upstream page (three), each with
// the AWS request id.
func TestTraceOfAList(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	env := testenv.Start(t, testenv.Options{Emulator: emulator.Options{BacktestJobsPerPredictor: 50}, Gateway: gateway.Config{Tracer: tp}})

	parent := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
		TraceID: [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: oteltrace.FlagsSampled,
	})
	traceparent := "00-" + parent.TraceID().String() + "-" + parent.SpanID().String() + "-01"

	c := metadata.AppendToOutgoingContext(ctx(t), "traceparent", traceparent)
	if _, err := env.Client.ListPredictorBacktestExportJobs(c, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 250}); err != nil {
		t.Fatal(err)
	}
	checkListTrace(t, exp, parent, "forecast.gateway.v1.ForecastJobService/ListPredictorBacktestExportJobs")

	// The same over REST, with the traceparent header.
	exp.Reset()
	req, err := http.NewRequest(http.MethodGet, env.BaseURL+"/v1/"+jobtype.PredictorBacktestExportJob.Collection+"?page_size=250", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", traceparent)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	checkListTrace(t, exp, parent, "GET /v1/"+jobtype.PredictorBacktestExportJob.Collection)
}

func checkListTrace(t *testing.T, exp *tracetest.InMemoryExporter, parent oteltrace.SpanContext, serverName string) {
	t.Helper()
	// The server span ends after the answer is on its way: the client may
	// hold the answer a moment before the span is exported.
	var spans tracetest.SpanStubs
	var server *tracetest.SpanStub
	deadline := time.Now().Add(5 * time.Second)
	for server == nil && time.Now().Before(deadline) {
		spans = exp.GetSpans()
		for i := range spans {
			if spans[i].Name == serverName {
				server = &spans[i]
			}
		}
		if server == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if server == nil {
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
		}
		t.Fatalf("no server span %q among %q", serverName, names)
	}
	if server.SpanContext.TraceID() != parent.TraceID() || server.Parent.SpanID() != parent.SpanID() {
		t.Errorf("server span is not the client's child: trace %s parent %s", server.SpanContext.TraceID(), server.Parent.SpanID())
	}
	var pages int
	for _, s := range spans {
		if s.Parent.SpanID() != server.SpanContext.SpanID() {
			continue
		}
		if !strings.Contains(s.Name, "ListPredictorBacktestExportJobs") {
			t.Errorf("unexpected child span %q", s.Name)
			continue
		}
		pages++
		if !hasAttr(s.Attributes, "aws.request_id") {
			t.Errorf("upstream span %q has no aws.request_id: %v", s.Name, s.Attributes)
		}
	}
	if pages != 3 {
		t.Errorf("%d upstream spans under the server span, want 3 (one per AWS page)", pages)
	}
}

func hasAttr(attrs []attribute.KeyValue, key string) bool {
	for _, a := range attrs {
		if string(a.Key) == key && a.Value.AsString() != "" {
			return true
		}
	}
	return false
}

// TestAccessLog: one line per call at info, for gRPC and REST, with the
// request id the client gets, the peer, the method or route, the code and
// status, the duration in milliseconds as a number, and the upstream calls
// the call made.
func TestAccessLog(t *testing.T) {
	var logs jsonLog
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{Logger: logger}})
	bt := jobtype.PredictorBacktestExportJob

	var header metadata.MD
	if _, err := env.Client.ListPredictorBacktestExportJobs(ctx(t), &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 150}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	grpcID := first(header.Get("x-request-id"))
	req, _ := http.NewRequest(http.MethodGet, env.BaseURL+"/v1/"+bt.Collection+"?page_size=1", nil)
	req.Header.Set("X-Request-Id", "client-chosen-7")
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	byID := map[string]map[string]any{}
	n := 0
	for _, r := range logs.records(t) {
		if r["msg"] == "access" {
			n++
			id, _ := r["request_id"].(string)
			byID[id] = r
		}
	}
	if n != 2 {
		t.Fatalf("%d access lines for 2 calls", n)
	}
	g, ok := byID[grpcID]
	if !ok || grpcID == "" {
		t.Fatalf("no access line with the gRPC call's request id %q: %v", grpcID, byID)
	}
	for k, want := range map[string]any{"level": "INFO", "transport": "grpc", "grpc.method": "ListPredictorBacktestExportJobs", "grpc.code": "OK", "upstream_calls": 2.0} {
		if g[k] != want {
			t.Errorf("gRPC access line %s = %v, want %v", k, g[k], want)
		}
	}
	r, ok := byID["client-chosen-7"]
	if !ok {
		t.Fatalf("no access line with the REST call's request id: %v", byID)
	}
	for k, want := range map[string]any{"level": "INFO", "transport": "rest", "http.method": "GET", "http.route": "/v1/" + bt.Collection,
		"http.status": 200.0, "grpc.method": "ListPredictorBacktestExportJobs", "grpc.code": "OK", "upstream_calls": 1.0} {
		if r[k] != want {
			t.Errorf("REST access line %s = %v, want %v", k, r[k], want)
		}
	}
	for name, line := range map[string]map[string]any{"gRPC": g, "REST": r} {
		if _, ok := line["duration_ms"].(float64); !ok {
			t.Errorf("%s access line: duration_ms %v is not a number", name, line["duration_ms"])
		}
		if _, ok := line["upstream_ms"].(float64); !ok {
			t.Errorf("%s access line: upstream_ms %v is not a number", name, line["upstream_ms"])
		}
		if addr, _ := line["peer.address"].(string); !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("%s access line: peer.address %v", name, line["peer.address"])
		}
	}
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
