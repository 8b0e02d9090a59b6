package e2e_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
)

// relRetryMax is the SDK attempts per upstream call in the fault tests.
const relRetryMax = 3

// TestReliabilityUpstreamFaultsExhausted: upstream faults that outlast the
// SDK's retries. Throttling ends as UNAVAILABLE with RetryInfo (REST: 503
// with Retry-After); 5xx and connection resets end as UNAVAILABLE. Each
// client call costs exactly RetryMaxAttempts upstream calls, even with many
// clients at once: no retry storm. The four faults run concurrently, on
// four operations, so the SDK's backoff is paid once.
func TestReliabilityUpstreamFaultsExhausted(t *testing.T) {
	env := testenv.Start(t, testenv.Options{RetryMaxAttempts: relRetryMax})
	env.Emu.InjectFault(emulator.OpListPredictorBacktestExportJobs, emulator.Fault{Kind: emulator.FaultThrottle})
	env.Emu.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultServerError, StatusCode: 500})
	env.Emu.InjectFault(emulator.OpListDatasetImportJobs, emulator.Fault{Kind: emulator.FaultServerError, StatusCode: 503})
	env.Emu.InjectFault(emulator.OpDescribePredictorBacktestExportJob, emulator.Fault{Kind: emulator.FaultConnReset})
	ctx := relCtx(t, 60*time.Second)
	const throttledClients = 6
	arn := relJobArn(env)

	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	var mu sync.Mutex
	results := map[string][]error{}
	record := func(k string, err error) { mu.Lock(); results[k] = append(results[k], err); mu.Unlock() }
	for range throttledClients {
		run(func() {
			_, err := env.Client.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 5})
			record("throttle", err)
		})
	}
	var restThrottled relREST
	run(func() {
		restThrottled = relDo(t, env.HTTP, ctx, http.MethodGet, env.BaseURL+"/v1/predictor-backtest-export-jobs?page_size=5", "", nil)
	})
	run(func() {
		_, err := env.Client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 5})
		record("500", err)
	})
	run(func() {
		_, err := env.Client.ListDatasetImportJobs(ctx, &gatewayv1.ListDatasetImportJobsRequest{PageSize: 5})
		record("503", err)
	})
	run(func() {
		_, err := env.Client.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
		record("reset", err)
	})
	wg.Wait()

	for _, err := range results["throttle"] {
		st := status.Convert(err)
		info, _, ri := relDetails(st)
		if st.Code() != codes.Unavailable || info.GetReason() != "UPSTREAM_THROTTLED" {
			t.Errorf("throttled: %v (reason %q), want Unavailable UPSTREAM_THROTTLED", err, info.GetReason())
		}
		if ri.GetRetryDelay().AsDuration() <= 0 {
			t.Errorf("throttled: no RetryInfo delay in %v", st.Details())
		}
		if info.GetMetadata()["aws_request_id"] == "" {
			t.Errorf("throttled: no AWS request id in ErrorInfo %v", info.GetMetadata())
		}
	}
	if restThrottled.Code != http.StatusServiceUnavailable || restThrottled.Header.Get("Retry-After") == "" || restThrottled.Err.reason() != "UPSTREAM_THROTTLED" {
		t.Errorf("REST throttled: HTTP %d Retry-After %q reason %q, want 503 with Retry-After and UPSTREAM_THROTTLED",
			restThrottled.Code, restThrottled.Header.Get("Retry-After"), restThrottled.Err.reason())
	}
	for _, k := range []string{"500", "503", "reset"} {
		for _, err := range results[k] {
			st := status.Convert(err)
			info, _, _ := relDetails(st)
			if st.Code() != codes.Unavailable || info.GetReason() != "UPSTREAM_UNAVAILABLE" {
				t.Errorf("%s: %v (reason %q), want Unavailable UPSTREAM_UNAVAILABLE", k, err, info.GetReason())
			}
			if strings.Contains(st.Message(), "127.0.0.1") {
				t.Errorf("%s: the upstream address leaked to the client: %q", k, st.Message())
			}
		}
	}

	// Exactly RetryMaxAttempts upstream calls per client call.
	for op, clientCalls := range map[string]int64{
		emulator.OpListPredictorBacktestExportJobs:    throttledClients + 1,
		emulator.OpListForecastExportJobs:             1,
		emulator.OpListDatasetImportJobs:              1,
		emulator.OpDescribePredictorBacktestExportJob: 1,
	} {
		if got, want := env.Emu.CallCount(op), clientCalls*relRetryMax; got != want {
			t.Errorf("%s: %d upstream calls for %d client calls, want %d (= %d attempts each)", op, got, clientCalls, want, relRetryMax)
		}
	}
}

// TestReliabilityUpstreamFaultsRecovered: a burst shorter than the SDK's
// retries is absorbed: the client sees success, after one upstream call
// per failed attempt plus the one that worked.
func TestReliabilityUpstreamFaultsRecovered(t *testing.T) {
	env := testenv.Start(t, testenv.Options{RetryMaxAttempts: relRetryMax})
	ctx := relCtx(t, 60*time.Second)
	env.Emu.InjectFault(emulator.OpListPredictorBacktestExportJobs, emulator.Fault{Kind: emulator.FaultThrottle, Count: 2})
	env.Emu.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultServerError, Count: 1})
	env.Emu.InjectFault(emulator.OpDescribePredictorBacktestExportJob, emulator.Fault{Kind: emulator.FaultConnReset, Count: 1})
	env.Emu.InjectFault(emulator.OpCreatePredictorBacktestExportJob, emulator.Fault{Kind: emulator.FaultConnReset, Count: 1})
	arn := relJobArn(env)

	var wg sync.WaitGroup
	errs := map[string]*error{}
	call := func(name string, f func() error) {
		var err error
		errs[name] = &err
		wg.Add(1)
		go func() { defer wg.Done(); err = f() }()
	}
	call("throttle x2", func() error {
		_, err := env.Client.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 5})
		return err
	})
	call("500 x1", func() error {
		_, err := env.Client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 5})
		return err
	})
	call("reset x1 describe", func() error {
		_, err := env.Client.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
		return err
	})
	call("reset x1 create", func() error {
		_, err := env.Client.CreatePredictorBacktestExportJob(ctx, relValidCreate(env, "after_reset"))
		return err
	})
	wg.Wait()
	for name, err := range errs {
		if *err != nil {
			t.Errorf("%s: %v, want success after SDK retries", name, *err)
		}
	}
	for op, want := range map[string]int64{
		emulator.OpListPredictorBacktestExportJobs:    3,
		emulator.OpListForecastExportJobs:             2,
		emulator.OpDescribePredictorBacktestExportJob: 2,
		emulator.OpCreatePredictorBacktestExportJob:   2,
	} {
		if got := env.Emu.CallCount(op); got != want {
			t.Errorf("%s: %d upstream calls, want %d", op, got, want)
		}
	}
	// The reset create was retried, and made exactly one job.
	n := 0
	for _, j := range env.Emu.Jobs(jobtype.PredictorBacktestExportJob) {
		if j.Name == "after_reset" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d jobs named after_reset, want 1", n)
	}
}

// TestReliabilitySlowUpstreamDeadline: a client deadline shorter than the
// upstream's latency ends as DEADLINE_EXCEEDED within the deadline plus a
// small margin, and the upstream request is cancelled (the emulator sees
// its client go away), over gRPC and REST.
func TestReliabilitySlowUpstreamDeadline(t *testing.T) {
	const (
		deadline = 300 * time.Millisecond
		latency  = 5 * time.Second
		margin   = 700 * time.Millisecond
	)
	env := testenv.Start(t, testenv.Options{})
	env.Emu.InjectFault(emulator.OpListDatasetImportJobs, emulator.Fault{Kind: emulator.FaultLatency, Latency: latency})
	op := emulator.OpListDatasetImportJobs

	t.Run("gRPC", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		_, err := env.Client.ListDatasetImportJobs(ctx, &gatewayv1.ListDatasetImportJobsRequest{PageSize: 5})
		el := time.Since(start)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("%v, want DeadlineExceeded", err)
		}
		if el > deadline+margin {
			t.Errorf("took %v, want at most %v", el, deadline+margin)
		}
		eventually(t, 5*time.Second, "the upstream call was not cancelled", func() bool { return env.Emu.CanceledCount(op) == 1 })
	})
	t.Run("REST", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.BaseURL+"/v1/dataset-import-jobs?page_size=5", nil)
		start := time.Now()
		resp, err := env.HTTP.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("HTTP %d, want the client's deadline to fire", resp.StatusCode)
		}
		if el := time.Since(start); el > deadline+margin {
			t.Errorf("took %v, want at most %v", el, deadline+margin)
		}
		eventually(t, 5*time.Second, "the upstream call was not cancelled", func() bool { return env.Emu.CanceledCount(op) == 2 })
	})
	t.Run("REST Grpc-Timeout header", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(relCtx(t, 10*time.Second), http.MethodGet, env.BaseURL+"/v1/dataset-import-jobs?page_size=5", nil)
		req.Header.Set("Grpc-Timeout", "300m")
		start := time.Now()
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("HTTP %d, want 504", resp.StatusCode)
		}
		if el := time.Since(start); el > deadline+margin {
			t.Errorf("took %v, want at most %v", el, deadline+margin)
		}
		eventually(t, 5*time.Second, "the upstream call was not cancelled", func() bool { return env.Emu.CanceledCount(op) == 3 })
	})
	if n := env.Emu.CallCount(op); n != 3 {
		t.Errorf("%d upstream calls, want 3 (no retry after the deadline)", n)
	}
}

// relHealth returns the gateway's overall serving status.
func relHealth(ctx context.Context, c healthpb.HealthClient) healthpb.HealthCheckResponse_ServingStatus {
	r, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: gatewayv1.ForecastJobService_ServiceDesc.ServiceName})
	if err != nil {
		return -1
	}
	return r.GetStatus()
}

// TestReliabilityUpstreamDown: the upstream is down when the gateway
// starts (health NOT_SERVING, calls UNAVAILABLE, the gateway still starts),
// comes up (SERVING), goes down mid-run (NOT_SERVING) and back (SERVING),
// with a 50ms health interval.
func TestReliabilityUpstreamDown(t *testing.T) {
	// An address where nothing listens yet; the upstream appears there later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client, err := upstream.NewForecastClient(context.Background(), upstream.Options{
		Emulator: true, EndpointURL: "http://" + addr, Region: "us-east-1", RetryMaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{
		Forecast: client, HealthInterval: 50 * time.Millisecond, HealthTimeout: 500 * time.Millisecond,
	}})
	late := emulator.New(emulator.Options{})
	t.Cleanup(func() {
		_ = late.Close()
		if ic, ok := client.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
			ic.CloseIdleConnections()
		}
	})
	ctx := relCtx(t, 60*time.Second)
	hc := healthpb.NewHealthClient(env.Conn)
	serving := func(want healthpb.HealthCheckResponse_ServingStatus) func() bool {
		return func() bool { return relHealth(ctx, hc) == want }
	}
	list := func() error {
		_, err := env.Client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 1})
		return err
	}

	// Down at start.
	if s := relHealth(ctx, hc); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health with the upstream down at start = %v, want NOT_SERVING", s)
	}
	if err := list(); status.Code(err) != codes.Unavailable {
		t.Fatalf("call with the upstream down: %v, want Unavailable", err)
	}

	// Up.
	if err := late.Start(addr); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "health did not become SERVING once the upstream was up", serving(healthpb.HealthCheckResponse_SERVING))
	if err := list(); err != nil {
		t.Fatalf("call with the upstream up: %v", err)
	}

	// Down mid-run.
	if err := late.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "health did not become NOT_SERVING when the upstream went down", serving(healthpb.HealthCheckResponse_NOT_SERVING))
	err = list()
	if info, _, _ := relDetails(status.Convert(err)); status.Code(err) != codes.Unavailable || info.GetReason() != "UPSTREAM_UNAVAILABLE" {
		t.Fatalf("call with the upstream down mid-run: %v, want Unavailable UPSTREAM_UNAVAILABLE", err)
	}
	r := relDo(t, env.HTTP, ctx, http.MethodGet, env.BaseURL+"/v1/forecast-export-jobs", "", nil)
	if r.Code != http.StatusServiceUnavailable {
		t.Errorf("REST with the upstream down: HTTP %d, want 503", r.Code)
	}

	// Back, on the same address.
	if err := late.Start(""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "health did not return to SERVING", serving(healthpb.HealthCheckResponse_SERVING))
	if err := list(); err != nil {
		t.Fatalf("call after the upstream came back: %v", err)
	}
	// The gateway's own liveness never depended on the upstream: a fresh
	// connection works throughout.
	conn, err := grpc.NewClient(env.Gateway.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if s := relHealth(ctx, healthpb.NewHealthClient(conn)); s != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("fresh connection sees %v", s)
	}
}
