package e2e_test

// Watching jobs end to end: WatchJob over gRPC and REST (NDJSON and
// Server-Sent Events) and WaitJob, against the emulator whose clock the
// test drives; the shared poller's upstream calls counted by the emulator
// and the gateway's metrics.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
	"github.com/forecastgw/forecast-gateway/server"
)

// fastWatch polls often, so tests of minutes of job life take a second.
var fastWatch = server.WatchOptions{MinInterval: 10 * time.Millisecond, MaxInterval: 40 * time.Millisecond, Heartbeat: 300 * time.Millisecond}

func startWatchEnv(t *testing.T, cfg gateway.Config) *testenv.Env {
	t.Helper()
	if cfg.Watch == (server.WatchOptions{}) {
		cfg.Watch = fastWatch
	}
	cfg.AdminAddr = "127.0.0.1:0"
	return testenv.Start(t, testenv.Options{Gateway: cfg})
}

// newExport creates a forecast export job through the gateway.
func newExport(t *testing.T, env *testenv.Env, name string) string {
	t.Helper()
	r, err := env.Client.CreateForecastExportJob(ctx(t), &gatewayv1.CreateForecastExportJobRequest{
		ForecastExportJobName: name, ForecastArn: env.Emu.ForecastArns()[0],
		Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{Path: "s3://bucket/watch/", RoleArn: "arn:aws:iam::123456789012:role/ForecastRole"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetForecastExportJobArn()
}

func statusOfJob(j *gatewayv1.Job) string { return j.GetForecastExportJob().GetAwsStatus() }

// nextJob reads the stream up to its next job message (skipping
// heartbeats).
func nextJob(t *testing.T, s gatewayv1.ForecastJobService_WatchJobClient) *gatewayv1.WatchJobResponse {
	t.Helper()
	for {
		m, err := s.Recv()
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if m.GetJob() != nil {
			return m
		}
	}
}

// TestWatchJobGRPC: the current state at once, one message per change,
// heartbeats in between, and the end with OK at ACTIVE; a resumed watch
// (last_etag) gets nothing it had.
func TestWatchJobGRPC(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{})
	arn := newExport(t, env, "watch_grpc")
	c, cancel := context.WithTimeout(ctx(t), 30*time.Second)
	defer cancel()
	s, err := env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	first := nextJob(t, s)
	if got := statusOfJob(first.GetJob()); got != "CREATE_PENDING" || first.GetEtag() == "" {
		t.Fatalf("first message: %s %q", got, first.GetEtag())
	}
	// Nothing changes: a heartbeat with the etag of the state sent.
	hb, err := s.Recv()
	if err != nil || hb.GetHeartbeat() == nil || hb.GetEtag() != first.GetEtag() {
		t.Fatalf("heartbeat: %v, %v", hb, err)
	}

	// A second watcher resuming from the first message's etag gets no
	// repeat of it: its first job message is the next state.
	resumed, err := env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: arn, LastEtag: first.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}

	if err := env.Emu.AdvanceClock(6 * time.Second); err != nil { // past CREATE_PENDING (5s)
		t.Fatal(err)
	}
	for _, st := range []gatewayv1.ForecastJobService_WatchJobClient{s, resumed} {
		if got := statusOfJob(nextJob(t, st).GetJob()); got != "CREATE_IN_PROGRESS" {
			t.Fatalf("after 6s: %s, want CREATE_IN_PROGRESS", got)
		}
	}
	if err := env.Emu.AdvanceClock(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	last := nextJob(t, s)
	if got := statusOfJob(last.GetJob()); got != "ACTIVE" {
		t.Fatalf("at the end: %s, want ACTIVE", got)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after ACTIVE: %v, want the end of the stream (OK)", err)
	}
	// The poller stopped with its watchers.
	_ = resumed.CloseSend()
	cancel()
	waitWatched(t, env, 0)
}

// waitWatched waits for the gateway to poll n jobs.
func waitWatched(t *testing.T, env *testenv.Env, n float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := scrape(t, env)
		if m["forecast_gateway_watched_jobs{}"] == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watched jobs = %v, want %v", m["forecast_gateway_watched_jobs{}"], n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWatchEnds: a stop ends the stream at CREATE_STOPPED with OK, a
// delete with NOT_FOUND.
func TestWatchEnds(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{})
	c := ctx(t)

	stopped := newExport(t, env, "watch_stop")
	s, err := env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: stopped})
	if err != nil {
		t.Fatal(err)
	}
	nextJob(t, s)
	if _, err := env.Client.StopForecastExportJob(c, &gatewayv1.StopForecastExportJobRequest{ForecastExportJobArn: stopped}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stopped job's stream: %v", err)
		}
		if m.GetJob() != nil {
			seen = append(seen, statusOfJob(m.GetJob()))
			if seen[len(seen)-1] == "CREATE_STOPPING" {
				if err := env.Emu.AdvanceClock(10 * time.Second); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if strings.Join(seen, " ") != "CREATE_STOPPING CREATE_STOPPED" {
		t.Errorf("stopped job's stream: %q", seen)
	}

	// A job created and finished, then deleted while watched.
	deleted := newExport(t, env, "watch_delete")
	if err := env.Emu.AdvanceClock(40 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.DeleteForecastExportJob(c, &gatewayv1.DeleteForecastExportJobRequest{ForecastExportJobArn: deleted}); err != nil {
		t.Fatal(err)
	}
	s, err = env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: deleted})
	if err != nil {
		t.Fatal(err)
	}
	if got := statusOfJob(nextJob(t, s).GetJob()); !strings.HasPrefix(got, "DELETE_") {
		t.Fatalf("deleting job: %s", got)
	}
	if err := env.Emu.AdvanceClock(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := s.Recv()
		if err == nil {
			continue
		}
		if status.Code(err) != codes.NotFound {
			t.Fatalf("deleted job's stream ended with %v, want NOT_FOUND", err)
		}
		break
	}
}

// restLines reads a REST stream line by line into a channel.
func restLines(resp *http.Response) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

func waitLine(t *testing.T, ch <-chan string, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended before a line with %q", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line with %q", want)
		}
	}
}

// TestWatchJobREST: NDJSON by default, Server-Sent Events on request (ids,
// events, Last-Event-ID on reconnect), 406 for anything else; each checked
// against the OpenAPI document by the conformance check.
func TestWatchJobREST(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{})
	arn := newExport(t, env, "watch_rest")
	u := env.BaseURL + "/v1/jobs/" + url.PathEscape(arn) + ":watch"
	get := func(accept, lastEventID string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if lastEventID != "" {
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	nd := get("", "")
	defer nd.Body.Close()
	sse := get("text/event-stream", "")
	defer sse.Body.Close()
	if ct := nd.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("default Content-Type %q", ct)
	}
	if ct := sse.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("SSE Content-Type %q", ct)
	}
	ndLines, sseLines := restLines(nd), restLines(sse)
	waitLine(t, ndLines, `"aws_status":"CREATE_PENDING"`)
	id := strings.TrimPrefix(waitLine(t, sseLines, "id: "), "id: ")
	if l := <-sseLines; l != "event: job" {
		t.Fatalf("SSE event line %q", l)
	}
	waitLine(t, sseLines, `"aws_status":"CREATE_PENDING"`)

	// An EventSource reconnecting with Last-Event-ID: no repeat of the
	// state it had; only heartbeats until the job changes.
	again := get("text/event-stream", id)
	defer again.Body.Close()
	againLines := restLines(again)
	if l := waitLine(t, againLines, "event: "); l != "event: heartbeat" {
		t.Fatalf("resumed stream's first event %q, want a heartbeat", l)
	}

	if err := env.Emu.AdvanceClock(40 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitLine(t, ndLines, `"aws_status":"ACTIVE"`)
	waitLine(t, sseLines, `"aws_status":"ACTIVE"`)
	waitLine(t, againLines, `"aws_status":"ACTIVE"`)
	for _, ch := range []<-chan string{ndLines, sseLines, againLines} {
		for range ch {
		}
	}

	// Neither NDJSON nor SSE: 406.
	bad := get("text/html", "")
	body, _ := io.ReadAll(bad.Body)
	bad.Body.Close()
	if bad.StatusCode != http.StatusNotAcceptable || !strings.Contains(string(body), "NOT_ACCEPTABLE") {
		t.Errorf("Accept text/html: %d %s", bad.StatusCode, body)
	}
}

// TestWaitJob: the terminal state over gRPC and REST; shortly before the
// client's deadline, DEADLINE_EXCEEDED with the last state in the details.
func TestWaitJob(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{})
	arn := newExport(t, env, "wait")

	short, cancel := context.WithTimeout(ctx(t), 1500*time.Millisecond)
	defer cancel()
	_, err := env.Client.WaitJob(short, &gatewayv1.WaitJobRequest{JobArn: arn})
	st := status.Convert(err)
	if st.Code() != codes.DeadlineExceeded {
		t.Fatalf("wait past the deadline: %v", err)
	}
	var last *gatewayv1.WaitJobResponse
	for _, d := range st.Details() {
		if w, ok := d.(*gatewayv1.WaitJobResponse); ok {
			last = w
		}
	}
	if last == nil || statusOfJob(last.GetJob()) != "CREATE_PENDING" {
		t.Fatalf("details of the deadline error: %v", st.Details())
	}

	done := make(chan *gatewayv1.WaitJobResponse, 1)
	go func() {
		r, err := env.Client.WaitJob(ctx(t), &gatewayv1.WaitJobRequest{JobArn: arn})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	waitWatched(t, env, 1)
	if err := env.Emu.AdvanceClock(40 * time.Second); err != nil {
		t.Fatal(err)
	}
	if r := <-done; statusOfJob(r.GetJob()) != "ACTIVE" {
		t.Fatalf("wait: %v", r)
	}

	// REST: a finished job answers at once.
	resp, err := env.HTTP.Get(env.BaseURL + "/v1/jobs/" + url.PathEscape(arn) + ":wait")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"aws_status":"ACTIVE"`) {
		t.Fatalf("REST wait: %d %s", resp.StatusCode, body)
	}
}

// TestWatchThrottled: while AWS throttles the poller's calls, watchers see
// no error; the change shows once AWS answers again.
func TestWatchThrottled(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{})
	arn := newExport(t, env, "watch_throttled")
	c, cancel := context.WithTimeout(ctx(t), 30*time.Second)
	defer cancel()
	s, err := env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	nextJob(t, s)
	env.Emu.InjectFault(emulator.OpDescribeForecastExportJob, emulator.Fault{Kind: emulator.FaultThrottle, Count: 8})
	if err := env.Emu.AdvanceClock(40 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := statusOfJob(nextJob(t, s).GetJob()); got != "ACTIVE" {
		t.Fatalf("after throttling: %s", got)
	}
	if n := scrape(t, env)["forecast_gateway_upstream_calls_total{operation=DescribeForecastExportJob,origin=watch,outcome=throttled}"]; n == 0 {
		t.Error("no throttled poll counted")
	}
}

// TestWatchLimitsAndDrain: watches beyond a caller's limit are refused;
// on drain, open streams get a last message and UNAVAILABLE.
func TestWatchLimitsAndDrain(t *testing.T) {
	w := fastWatch
	w.MaxWatches, w.MaxWatchesPerCaller = 10, 2
	env := startWatchEnv(t, gateway.Config{Watch: w})
	arn := newExport(t, env, "watch_limits")
	c := ctx(t)
	var streams []gatewayv1.ForecastJobService_WatchJobClient
	for range 2 {
		s, err := env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		nextJob(t, s)
		streams = append(streams, s)
	}
	s, err := env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: arn})
	if err == nil {
		_, err = s.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "too many open watches") {
		t.Fatalf("third watch: %v", err)
	}
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = env.Gateway.Shutdown(sctx)
	}()
	for _, s := range streams {
		var lastErr error
		for {
			if _, lastErr = s.Recv(); lastErr != nil {
				break
			}
		}
		if status.Code(lastErr) != codes.Unavailable || !strings.Contains(lastErr.Error(), "reconnect") {
			t.Errorf("stream at drain ended with %v, want UNAVAILABLE", lastErr)
		}
	}
}

// TestDescribeCached: a finished job is described from memory until a
// write through the gateway changes it. (Coalescing of Describes in flight:
// TestWatchFiguresCoalescedDescribe.)
func TestDescribeCached(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{DescribeCacheTTL: time.Minute})
	arn := newExport(t, env, "described")
	if err := env.Emu.AdvanceClock(40 * time.Second); err != nil {
		t.Fatal(err)
	}
	describe := func() string {
		r, err := env.Client.DescribeForecastExportJob(ctx(t), &gatewayv1.DescribeForecastExportJobRequest{ForecastExportJobArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetAwsStatus()
	}
	if got := describe(); got != "ACTIVE" {
		t.Fatalf("finished job: %s", got)
	}
	before := env.Emu.CallCount(emulator.OpDescribeForecastExportJob)
	for range 5 {
		describe()
	}
	if n := env.Emu.CallCount(emulator.OpDescribeForecastExportJob) - before; n != 0 {
		t.Errorf("a finished job's Describes cost %d AWS calls, want 0 (cached)", n)
	}
	if _, err := env.Client.DeleteForecastExportJob(ctx(t), &gatewayv1.DeleteForecastExportJobRequest{ForecastExportJobArn: arn}); err != nil {
		t.Fatal(err)
	}
	if got := describe(); !strings.HasPrefix(got, "DELETE_") {
		t.Errorf("after a delete through the gateway: %s (a stale cache)", got)
	}
	m := scrape(t, env)
	if got := m["forecast_gateway_describes_total{served=cache_hit}"]; got != 5 {
		t.Errorf("describes_total{served=cache_hit} = %v, want 5", got)
	}
}

// TestUpstreamBudgetShared: clients' Describes and a watcher's polls of
// the same AWS operation spend one budget; a call that cannot get a token
// before its deadline is UNAVAILABLE (throttled) and never reaches AWS.
func TestUpstreamBudgetShared(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{Watch: fastWatch}})
	arns := make([]string, 6)
	for i := range arns {
		arns[i] = newExport(t, env, "budget_"+string(rune('a'+i)))
	}
	// testenv points the gateway at its emulator; start a second gateway
	// with a budget of 1 Describe a second (burst 2) on the same emulator.
	gw, err := gateway.Start(ctx(t), gateway.Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Logger: discardLogger(),
		Upstream: gateway.Upstream{Kind: gateway.UpstreamEmulator, EndpointURL: env.Emu.URL(), Region: env.Emu.Options().Region,
			Budget: upstreamBudget(1, 2)},
		Security: gateway.Security{RateLimits: gateway.NoRateLimits}, DescribeCacheTTL: -1, Watch: fastWatch, HealthInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gw.Shutdown(context.Background()) }()
	client, closeClient := dialGateway(t, gw.GRPCAddr())
	defer closeClient()

	// A watcher takes the first token(s) with its polls.
	wctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	s, err := client.WatchJob(wctx, &gatewayv1.WatchJobRequest{JobArn: arns[0]})
	if err != nil {
		t.Fatal(err)
	}
	nextJob(t, s)
	before := env.Emu.CallCount(emulator.OpDescribeForecastExportJob)
	var throttled int
	for _, arn := range arns[1:] {
		c, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
		_, err := client.DescribeForecastExportJob(c, &gatewayv1.DescribeForecastExportJobRequest{ForecastExportJobArn: arn})
		cancel()
		if status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "share of AWS") {
			throttled++
		} else if err != nil {
			t.Fatalf("describe: %v", err)
		}
	}
	sent := env.Emu.CallCount(emulator.OpDescribeForecastExportJob) - before
	if throttled == 0 {
		t.Error("no client Describe was held back by the budget the watcher spends too")
	}
	if sent > 4 {
		t.Errorf("%d Describes reached AWS in about a second with a budget of 1/s (burst 2)", sent)
	}
	t.Logf("%d of 5 client Describes held back; %d Describes (client and poller) reached AWS", throttled, sent)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func upstreamBudget(perSecond float64, burst int) upstream.Budget {
	return upstream.Budget{Rate: perSecond, Burst: burst}
}

// dialGateway is a gRPC client of a gateway started by a test itself.
func dialGateway(t *testing.T, addr string) (gatewayv1.ForecastJobServiceClient, func()) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return gatewayv1.NewForecastJobServiceClient(conn), func() { _ = conn.Close() }
}

// TestCoalescedDescribeBothTransports: identical Describes over gRPC and
// REST at once share one AWS call, and each gets a message of its own (the
// REST channel copies a response struct whole while the gRPC server
// marshals: with a shared message, -race sees the copy read what the
// marshal writes).
func TestCoalescedDescribeBothTransports(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{})
	arn := newExport(t, env, "described_twice")
	env.Emu.InjectFault(emulator.OpDescribeForecastExportJob, emulator.Fault{Kind: emulator.FaultLatency, Latency: 100 * time.Millisecond, Count: 1})
	before := env.Emu.CallCount(emulator.OpDescribeForecastExportJob)
	const n = 40
	errs := make(chan error, 2*n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			r, err := env.Client.DescribeForecastExportJob(ctx(t), &gatewayv1.DescribeForecastExportJobRequest{ForecastExportJobArn: arn})
			if err == nil && r.GetForecastExportJobArn() != arn {
				err = fmt.Errorf("gRPC answer for %q", r.GetForecastExportJobArn())
			}
			errs <- err
		}()
		go func() {
			<-start
			resp, err := env.HTTP.Get(env.BaseURL + "/v1/forecast-export-jobs/" + url.PathEscape(arn))
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), arn) {
				err = fmt.Errorf("REST: %d %s", resp.StatusCode, body)
			}
			errs <- err
		}()
	}
	close(start)
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if calls := env.Emu.CallCount(emulator.OpDescribeForecastExportJob) - before; calls > 2 {
		t.Errorf("%d identical Describes over both transports cost %d AWS calls, want <= 2", 2*n, calls)
	}
}

// TestWatchResumesOnAnotherReplica: a watcher that saw a state on one
// replica and reconnects to another with that state's etag gets no repeat
// of it (etags depend on the job's state alone, nothing of the replica's),
// then the next change.
func TestWatchResumesOnAnotherReplica(t *testing.T) {
	env := startWatchEnv(t, gateway.Config{})
	arn := newExport(t, env, "watch_two_replicas")
	if err := env.Emu.AdvanceClock(6 * time.Second); err != nil { // CREATE_IN_PROGRESS
		t.Fatal(err)
	}
	other, err := gateway.Start(ctx(t), gateway.Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Logger: discardLogger(),
		Upstream: gateway.Upstream{Kind: gateway.UpstreamEmulator, EndpointURL: env.Emu.URL(), Region: env.Emu.Options().Region},
		Security: gateway.Security{RateLimits: gateway.NoRateLimits}, DescribeCacheTTL: -1, Watch: fastWatch, HealthInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Shutdown(context.Background()) }()
	client, closeClient := dialGateway(t, other.GRPCAddr())
	defer closeClient()

	c, cancel := context.WithTimeout(ctx(t), 30*time.Second)
	defer cancel()
	first, err := env.Client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	seen := nextJob(t, first)
	if got := statusOfJob(seen.GetJob()); got != "CREATE_IN_PROGRESS" {
		t.Fatalf("first replica: %s", got)
	}
	resumed, err := client.WatchJob(c, &gatewayv1.WatchJobRequest{JobArn: arn, LastEtag: seen.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	// Several polls of the running job on the second replica: only
	// heartbeats, each with the etag the client already has.
	for range 3 {
		m, err := resumed.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetJob() != nil || m.GetEtag() != seen.GetEtag() {
			t.Fatalf("second replica repeated the state (job %v, etag %q, had %q)", m.GetJob() != nil, m.GetEtag(), seen.GetEtag())
		}
	}
	if err := env.Emu.AdvanceClock(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := statusOfJob(nextJob(t, resumed).GetJob()); got != "ACTIVE" {
		t.Fatalf("second replica after the change: %s, want ACTIVE", got)
	}
}
