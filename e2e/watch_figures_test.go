package e2e_test

// Figures of watching and of Describe coalescing, asserted: what a hundred
// watchers of one job cost upstream next to one watcher of another, what a
// hundred identical Describes in flight cost, what many watched jobs of one
// type cost per poll round (Lists, not Describes), and what open watches
// cost in memory and goroutines, and that all of it is given back when they
// close. The counts come from the gateway's own metrics (its admin
// listener's /metrics) and from the emulator's call counters.
//
//	go test -race -count=1 -run WatchFigures -v ./e2e/
//
// bench_watch_test.go runs the larger variants (1,000 watched jobs; 10,000
// watches on 1,000 jobs) as benchmarks.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/server"
)

// wfFastWatch: small intervals, so a job's life takes a second.
var wfFastWatch = server.WatchOptions{MinInterval: 20 * time.Millisecond, MaxInterval: 200 * time.Millisecond, Heartbeat: time.Second}

// wfSum adds up the series of name that have every label given ("k=v").
func wfSum(m map[string]float64, name string, labels ...string) float64 {
	var sum float64
	for key, v := range m {
		rest, ok := strings.CutPrefix(key, name+"{")
		if !ok {
			continue
		}
		have := strings.Split(strings.TrimSuffix(rest, "}"), ",")
		match := true
		for _, l := range labels {
			if !slices.Contains(have, l) {
				match = false
				break
			}
		}
		if match {
			sum += v
		}
	}
	return sum
}

// wfGauges waits until the gateway reports watches open watches and jobs
// polled jobs.
func wfGauges(tb testing.TB, env *testenv.Env, watches, jobs int, d time.Duration) {
	tb.Helper()
	var m map[string]float64
	eventually(tb, d, fmt.Sprintf("forecast_gateway_watches = %d and forecast_gateway_watched_jobs = %d", watches, jobs), func() bool {
		m = scrape(tb, env)
		return m["forecast_gateway_watches{}"] == float64(watches) && m["forecast_gateway_watched_jobs{}"] == float64(jobs)
	})
}

// wfJobStatus is the status of whichever job a Job holds.
func wfJobStatus(j *gatewayv1.Job) string {
	switch {
	case j.GetForecastExportJob() != nil:
		return j.GetForecastExportJob().GetAwsStatus()
	case j.GetPredictorBacktestExportJob() != nil:
		return j.GetPredictorBacktestExportJob().GetAwsStatus()
	case j.GetDatasetImportJob() != nil:
		return j.GetDatasetImportJob().GetAwsStatus()
	case j.GetExplainabilityExport() != nil:
		return j.GetExplainabilityExport().GetAwsStatus()
	case j.GetWhatIfForecastExport() != nil:
		return j.GetWhatIfForecastExport().GetAwsStatus()
	}
	return ""
}

// wfWatch is one open WatchJob stream and its reader: the status of every
// job message in order on states, closed when the stream ends (err then
// says how: nil for the end at a terminal state).
type wfWatch struct {
	states chan wfState
	err    error
	lastAt time.Time // when the state next returned last arrived
}

type wfState struct {
	status string
	at     time.Time
}

// wfOpen opens a watch of arn on client and reads it until it ends. started
// counts streams whose first job message arrived.
func wfOpen(tb testing.TB, ctx context.Context, client gatewayv1.ForecastJobServiceClient, arn string, started *atomic.Int64) *wfWatch {
	tb.Helper()
	s, err := client.WatchJob(ctx, &gatewayv1.WatchJobRequest{JobArn: arn})
	if err != nil {
		tb.Fatalf("WatchJob %s: %v", arn, err)
	}
	w := &wfWatch{states: make(chan wfState, 16)}
	go func() {
		defer close(w.states)
		seen := false
		for {
			m, err := s.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					w.err = err
				}
				return
			}
			if m.GetJob() == nil {
				continue // a heartbeat
			}
			select {
			case w.states <- wfState{wfJobStatus(m.GetJob()), time.Now()}:
			default: // only the first states matter to a memory figure
			}
			if !seen {
				seen = true
				if started != nil {
					started.Add(1)
				}
			}
		}
	}()
	return w
}

// next waits (at most d) for the next state.
func (w *wfWatch) next(tb testing.TB, d time.Duration) string {
	tb.Helper()
	select {
	case st, ok := <-w.states:
		if !ok {
			tb.Fatalf("the stream ended (%v) before the next state", w.err)
		}
		w.lastAt = st.at
		return st.status
	case <-time.After(d):
		tb.Fatalf("no state within %s", d)
	}
	return ""
}

// all waits (at most d) for the end of the stream and returns every state
// not read yet.
func (w *wfWatch) all(tb testing.TB, d time.Duration) []string {
	tb.Helper()
	var out []string
	timeout := time.After(d)
	for {
		select {
		case st, ok := <-w.states:
			if !ok {
				return out
			}
			w.lastAt = st.at
			out = append(out, st.status)
		case <-timeout:
			tb.Fatalf("the stream did not end within %s (states so far %q)", d, out)
		}
	}
}

// wfDest is where created jobs export to.
var wfDest = &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{Path: "s3://bucket/figures/", RoleArn: "arn:aws:iam::123456789012:role/ForecastRole"}}

// wfUnfinished is the filter of jobs that are not in a terminal state.
func wfUnfinished() string {
	parts := make([]string, len(jobtype.TerminalStatuses))
	for i, st := range jobtype.TerminalStatuses {
		parts[i] = `status != "` + st + `"`
	}
	return strings.Join(parts, " AND ")
}

// wfListBacktest lists every backtest export job matching filter through
// the gateway.
func wfListBacktest(tb testing.TB, ctx context.Context, env *testenv.Env, filter string) []string {
	tb.Helper()
	var arns []string
	token := ""
	for {
		r, err := env.Client.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 1000, PageToken: token, Filter: filter})
		if err != nil {
			tb.Fatalf("list %q: %v", filter, err)
		}
		for _, j := range r.GetPredictorBacktestExportJobs() {
			arns = append(arns, j.GetPredictorBacktestExportJobArn())
		}
		if token = r.GetNextPageToken(); token == "" {
			return arns
		}
	}
}

// wfConns are n more client connections to the gateway (each carries at
// most the server's MaxConcurrentStreams watches at once).
func wfConns(tb testing.TB, env *testenv.Env, n int) []gatewayv1.ForecastJobServiceClient {
	tb.Helper()
	var out []gatewayv1.ForecastJobServiceClient
	for range n {
		cc, err := grpc.NewClient(env.Gateway.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = cc.Close() })
		out = append(out, gatewayv1.NewForecastJobServiceClient(cc))
	}
	return out
}

// TestWatchFiguresSharedPoller: 100 watchers of one job (a forecast export
// job) and 1 watcher of another (a backtest export job), watched at the same
// time through the same life: CREATE_PENDING, CREATE_IN_PROGRESS (the
// clock), CREATE_STOPPING (a Stop through the gateway), CREATE_STOPPED (the
// clock). The hundred cost at most 2 Describes more than the one; every
// watcher sees every state, in order, and the end.
func TestWatchFiguresSharedPoller(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{AdminAddr: "127.0.0.1:0", Watch: wfFastWatch}})
	c, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	fe, err := env.Client.CreateForecastExportJob(c, &gatewayv1.CreateForecastExportJobRequest{
		ForecastExportJobName: "figures_many", ForecastArn: env.Emu.ForecastArns()[0], Destination: wfDest})
	if err != nil {
		t.Fatal(err)
	}
	bt, err := env.Client.CreatePredictorBacktestExportJob(c, &gatewayv1.CreatePredictorBacktestExportJobRequest{
		PredictorBacktestExportJobName: "figures_one", PredictorArn: env.Emu.PredictorArns()[0], Destination: wfDest})
	if err != nil {
		t.Fatal(err)
	}
	many, one := fe.GetForecastExportJobArn(), bt.GetPredictorBacktestExportJobArn()
	manyOp, oneOp := emulator.OpDescribeForecastExportJob, emulator.OpDescribePredictorBacktestExportJob
	baseMany, baseOne := env.Emu.CallCount(manyOp), env.Emu.CallCount(oneOp)
	baseMetrics := scrape(t, env)

	const n = 100
	lone := wfOpen(t, c, env.Client, one, nil)
	watchers := make([]*wfWatch, n)
	for i := range watchers {
		watchers[i] = wfOpen(t, c, env.Client, many, nil)
	}
	seen := make([][]string, n)
	for i, w := range watchers {
		seen[i] = append(seen[i], w.next(t, 10*time.Second))
	}
	want := []string{"CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_STOPPING", "CREATE_STOPPED"}
	if got := lone.next(t, 10*time.Second); got != want[0] {
		t.Fatalf("lone watcher's first state %s, want %s", got, want[0])
	}
	steps := []func() error{
		func() error { return env.Emu.AdvanceClock(6 * time.Second) }, // past CREATE_PENDING (5s)
		func() error {
			if _, err := env.Client.StopForecastExportJob(c, &gatewayv1.StopForecastExportJobRequest{ForecastExportJobArn: many}); err != nil {
				return err
			}
			_, err := env.Client.StopPredictorBacktestExportJob(c, &gatewayv1.StopPredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: one})
			return err
		},
		func() error { return env.Emu.AdvanceClock(6 * time.Second) }, // past CREATE_STOPPING (5s)
	}
	// lag: the longest time from a change upstream to a watcher's message
	// of it (reported, not asserted: the machine is shared).
	var lag time.Duration
	noteLag := func(w *wfWatch, since time.Time) { lag = max(lag, w.lastAt.Sub(since)) }
	var stepAt time.Time
	for i, step := range steps {
		stepAt = time.Now()
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if got := lone.next(t, 10*time.Second); got != want[i+1] {
			t.Fatalf("after step %d the lone watcher saw %s, want %s", i+1, got, want[i+1])
		}
		if i == len(steps)-1 {
			break // the last state ends the streams: read below
		}
		// The hundred's job has a poller of its own, on its own (jittered)
		// schedule: it may see the change a little after the lone one.
		// A watcher sees the states its poller observed, so the next step
		// waits for every watcher too.
		for k, w := range watchers {
			if got := w.next(t, 10*time.Second); got != want[i+1] {
				t.Fatalf("after step %d watcher %d saw %s, want %s", i+1, k, got, want[i+1])
			}
			noteLag(w, stepAt)
			seen[k] = append(seen[k], want[i+1])
		}
	}
	if rest := lone.all(t, 10*time.Second); len(rest) != 0 || lone.err != nil {
		t.Fatalf("lone watcher after %s: %q, end %v", want[len(want)-1], rest, lone.err)
	}
	for i, w := range watchers {
		seen[i] = append(seen[i], w.all(t, 10*time.Second)...)
		noteLag(w, stepAt)
		if !slices.Equal(seen[i], want) || w.err != nil {
			t.Fatalf("watcher %d saw %q and ended with %v, want %q and OK", i, seen[i], w.err, want)
		}
	}

	manyCalls, oneCalls := env.Emu.CallCount(manyOp)-baseMany, env.Emu.CallCount(oneOp)-baseOne
	m := scrape(t, env)
	watchDescribes := func(op string) float64 {
		return wfSum(m, "forecast_gateway_upstream_calls_total", "operation="+op, "origin=watch") -
			wfSum(baseMetrics, "forecast_gateway_upstream_calls_total", "operation="+op, "origin=watch")
	}
	t.Logf("upstream Describes over 3 changes: %d for the job with %d watchers, %d for the job with 1 (metrics, origin=watch: %v and %v); slowest watcher saw a change %s after it was made (poll interval %s to %s)",
		manyCalls, n, oneCalls, watchDescribes(manyOp), watchDescribes(oneOp), lag.Round(time.Millisecond), wfFastWatch.MinInterval, wfFastWatch.MaxInterval)
	if manyCalls > oneCalls+2 {
		t.Errorf("%d watchers cost %d upstream Describes, 1 watcher %d: want at most 2 more", n, manyCalls, oneCalls)
	}
	if watchDescribes(manyOp) != float64(manyCalls) || watchDescribes(oneOp) != float64(oneCalls) {
		t.Errorf("the gateway counts %v and %v watch Describes, the emulator %d and %d", watchDescribes(manyOp), watchDescribes(oneOp), manyCalls, oneCalls)
	}
	wfGauges(t, env, 0, 0, 5*time.Second)
}

// TestWatchFiguresCoalescedDescribe: 100 identical Describes of a running
// job at once, each upstream call taking 50ms, with the Describe cache on:
// at most 2 upstream calls, the rest coalesced (none from the cache: the
// job is not finished).
func TestWatchFiguresCoalescedDescribe(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{AdminAddr: "127.0.0.1:0", DescribeCacheTTL: time.Minute}})
	c, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	r, err := env.Client.CreatePredictorBacktestExportJob(c, &gatewayv1.CreatePredictorBacktestExportJobRequest{
		PredictorBacktestExportJobName: "figures_described", PredictorArn: env.Emu.PredictorArns()[0], Destination: wfDest})
	if err != nil {
		t.Fatal(err)
	}
	arn := r.GetPredictorBacktestExportJobArn()
	op := emulator.OpDescribePredictorBacktestExportJob
	env.Emu.InjectFault(op, emulator.Fault{Kind: emulator.FaultLatency, Latency: 50 * time.Millisecond})
	base, baseMetrics := env.Emu.CallCount(op), scrape(t, env)

	const n = 100
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out, err := env.Client.DescribePredictorBacktestExportJob(c, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
			if err == nil && out.GetAwsStatus() != "CREATE_PENDING" {
				err = fmt.Errorf("status %s, want CREATE_PENDING", out.GetAwsStatus())
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(t0)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	calls := env.Emu.CallCount(op) - base
	m := scrape(t, env)
	served := func(how string) float64 {
		return wfSum(m, "forecast_gateway_describes_total", "served="+how) - wfSum(baseMetrics, "forecast_gateway_describes_total", "served="+how)
	}
	upstream := wfSum(m, "forecast_gateway_upstream_calls_total", "operation="+op, "origin=request") -
		wfSum(baseMetrics, "forecast_gateway_upstream_calls_total", "operation="+op, "origin=request")
	t.Logf("%d identical Describes in %s: %d upstream calls (emulator), describes_total upstream %v coalesced %v cache_hit %v, upstream_calls_total %v",
		n, took.Round(time.Millisecond), calls, served("upstream"), served("coalesced"), served("cache_hit"), upstream)
	if calls > 2 || upstream != float64(calls) {
		t.Errorf("%d identical Describes in flight cost %d upstream calls (upstream_calls_total %v), want at most 2", n, calls, upstream)
	}
	// describes_total{served="upstream"} is documented as the Describes
	// that made an AWS call of their own: it must equal the AWS calls.
	if served("upstream") != float64(calls) {
		t.Errorf("describes_total{served=upstream} = %v, but the emulator served %d upstream Describes (singleflight's Result.Shared is also true for the caller whose call was shared: server/jobs.go counts that caller as coalesced)",
			served("upstream"), calls)
	}
	if served("upstream")+served("coalesced") != n || served("cache_hit") != 0 {
		t.Errorf("describes_total: upstream %v + coalesced %v (want %d in all), cache_hit %v (want 0)", served("upstream"), served("coalesced"), n, served("cache_hit"))
	}
}

// wfRounds is what polling many unchanged jobs of one type cost over some
// poll rounds.
type wfRounds struct {
	watched, unfinished int
	rounds              int     // poll rounds counted
	lists, describes    int64   // upstream calls in those rounds
	listsPerRound       float64 // = lists / rounds
	describesPerRound   float64
	metricLists         float64 // the gateway's count of its watch Lists
	elapsed             time.Duration
}

func (r wfRounds) pages() int { return (r.unfinished + 99) / 100 }

func (r *wfRounds) add(o wfRounds) {
	r.lists += o.lists
	r.describes += o.describes
	r.metricLists += o.metricLists
	r.elapsed += o.elapsed
	r.rounds = int(r.lists) / r.pages()
	if r.rounds > 0 {
		r.listsPerRound = float64(r.lists) / float64(r.rounds)
		r.describesPerRound = float64(r.describes) / float64(r.rounds)
	}
}

func (r wfRounds) String() string {
	return fmt.Sprintf("%d watched jobs (%d unfinished of the type): %d rounds in %s: %d Lists (%.2f per round; ceil(%d/100) = %d), %d Describes (%.2f per round); upstream calls per round %.2f instead of %d Describes",
		r.watched, r.unfinished, r.rounds, r.elapsed.Round(time.Millisecond), r.lists, r.listsPerRound, r.unfinished, r.pages(),
		r.describes, r.describesPerRound, r.listsPerRound+r.describesPerRound, r.watched)
}

// wfPolling is every unfinished job of predictors x 100 backtest export
// fixture jobs watched (the emulator's clock is frozen: none changes) on a
// hub whose interval is fixed (MinInterval = MaxInterval = interval), so a
// poll round starts every interval, give or take its jitter, and whole
// rounds can be counted by starting and ending in a quiet gap between two.
type wfPolling struct {
	env      *testenv.Env
	interval time.Duration
	base     wfRounds // watched, unfinished
	close    func()
}

func wfStartPolling(tb testing.TB, predictors int, interval time.Duration) *wfPolling {
	tb.Helper()
	env := testenv.Start(tb, testenv.Options{
		Emulator: emulator.Options{Predictors: predictors, BacktestJobsPerPredictor: 100},
		Gateway: gateway.Config{AdminAddr: "127.0.0.1:0",
			Watch: server.WatchOptions{MinInterval: interval, MaxInterval: interval, Heartbeat: time.Minute}},
	})
	c := context.Background()
	arns := wfListBacktest(tb, c, env, wfUnfinished())
	p := &wfPolling{env: env, interval: interval, base: wfRounds{watched: len(arns), unfinished: len(arns)}}
	if len(arns) < 2 {
		tb.Fatalf("fixtures: %d unfinished jobs", len(arns))
	}
	conns := wfConns(tb, env, (len(arns)+199)/200)
	var started atomic.Int64
	watchCtx, stopWatching := context.WithCancel(c)
	var watches []*wfWatch
	for i, arn := range arns {
		watches = append(watches, wfOpen(tb, watchCtx, conns[i%len(conns)], arn, &started))
	}
	p.close = func() {
		stopWatching()
		for _, w := range watches {
			w.all(tb, 30*time.Second)
		}
	}
	tb.Cleanup(p.close)
	eventually(tb, time.Minute, "every watcher's first state", func() bool { return started.Load() == int64(len(arns)) })
	wfGauges(tb, env, len(arns), len(arns), 10*time.Second)
	// Settle: the first polls describe every job once, then whole rounds.
	time.Sleep(2 * interval)
	p.quiet(tb)
	return p
}

func (p *wfPolling) counts() (lists, describes int64) {
	return p.env.Emu.CallCount(emulator.OpListPredictorBacktestExportJobs), p.env.Emu.CallCount(emulator.OpDescribePredictorBacktestExportJob)
}

// quiet waits for a gap of a third of the interval without a List.
func (p *wfPolling) quiet(tb testing.TB) {
	tb.Helper()
	const limit = 10 * time.Second
	last, _ := p.counts()
	since := time.Now()
	deadline := time.Now().Add(limit)
	for time.Since(since) < p.interval/3 {
		if time.Now().After(deadline) {
			tb.Fatalf("no gap of %s between poll rounds within %s", p.interval/3, limit)
		}
		time.Sleep(2 * time.Millisecond)
		if l, _ := p.counts(); l != last {
			last, since = l, time.Now()
		}
	}
}

// observe counts the upstream calls from this quiet gap to the first one
// at least d later: whole rounds.
func (p *wfPolling) observe(tb testing.TB, d time.Duration) wfRounds {
	tb.Helper()
	listOp := "operation=" + emulator.OpListPredictorBacktestExportJobs
	l0, d0, m0 := p.snapshot(tb)
	t0 := time.Now()
	time.Sleep(d)
	l1, d1, m1 := p.snapshot(tb)
	r := p.base
	r.elapsed = time.Since(t0)
	r.lists, r.describes = l1-l0, d1-d0
	r.metricLists = wfSum(m1, "forecast_gateway_upstream_calls_total", listOp, "origin=watch") - wfSum(m0, "forecast_gateway_upstream_calls_total", listOp, "origin=watch")
	if r.lists%int64(r.pages()) != 0 {
		tb.Errorf("%d Lists over whole rounds is not a multiple of %d (the pages of %d unfinished jobs)", r.lists, r.pages(), r.unfinished)
	}
	out := p.base
	out.add(r)
	return out
}

// snapshot reads the emulator's counts and the gateway's metrics in a
// quiet gap between rounds, again until no List began while it read: the
// emulator counts a call when it arrives, the gateway when it returns.
func (p *wfPolling) snapshot(tb testing.TB) (lists, describes int64, metrics map[string]float64) {
	tb.Helper()
	for {
		p.quiet(tb)
		lists, describes = p.counts()
		metrics = scrape(tb, p.env)
		if again, _ := p.counts(); again == lists {
			return lists, describes, metrics
		}
	}
}

// check asserts the figures of polling rounds.
func (r wfRounds) check(tb testing.TB, interval time.Duration, minRounds int) {
	tb.Helper()
	// Rounds are counted as whole sets of the type's List pages (observe
	// checks that the Lists come in whole sets), so they cannot come more
	// often than the fixed interval allows, give or take its jitter (10%):
	// more would be Lists beyond one set per interval. A slow machine makes
	// fewer.
	if r.rounds < minRounds || time.Duration(r.rounds) > r.elapsed/(interval*8/10)+1 {
		tb.Errorf("%d rounds of %d Lists in %s at a fixed interval of %s", r.rounds, r.pages(), r.elapsed, interval)
	}
	// The jobs of a List round come due together again (one jitter per
	// round); a job described on its own (one that changed, or was added)
	// may cost a Describe, never one per job.
	if r.describesPerRound > float64(r.pages()) {
		tb.Errorf("%.2f Describes per round (%d watched jobs, %d List pages)", r.describesPerRound, r.watched, r.pages())
	}
	if r.metricLists != float64(r.lists) {
		tb.Errorf("the gateway counts %v watch Lists, the emulator %d", r.metricLists, r.lists)
	}
}

// TestWatchFiguresListBatching: a few hundred watched jobs of one type
// that do not change cost, per poll round, the List pages of the type's
// unfinished jobs (100 per page), not a Describe each.
func TestWatchFiguresListBatching(t *testing.T) {
	// 18 x 100 backtest export jobs, 750 unfinished (watched): 8 pages.
	const interval = 250 * time.Millisecond
	p := wfStartPolling(t, 18, interval)
	// At least three whole rounds, however slow the machine.
	r := p.base
	for i := 0; r.rounds < 3 && i < 20; i++ {
		r.add(p.observe(t, 2*interval))
	}
	t.Log(r)
	if r.watched < 200 {
		t.Errorf("%d watched jobs, want a few hundred", r.watched)
	}
	r.check(t, interval, 3)
}

// wfMem is a process's footprint.
type wfMem struct {
	heap       uint64 // live heap after GC (runtime.MemStats.HeapAlloc)
	stacks     uint64 // goroutine stacks (runtime.MemStats.StackInuse)
	goroutines int
	handlers   int // goroutines in the gateway's WatchJob handler
	rssKiB     int64
}

func wfReadMem() wfMem {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return wfMem{heap: ms.HeapAlloc, stacks: ms.StackInuse, goroutines: runtime.NumGoroutine(), handlers: wfWatchHandlers(), rssKiB: wfRSS()}
}

// wfWatchHandlers counts the goroutines running the gateway's WatchJob
// (one per open watch, on the gateway's side; the rest of a watch's
// goroutines are the client's).
func wfWatchHandlers() int {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return -1
	}
	n := 0
	for _, group := range strings.Split(buf.String(), "\n\n") {
		if !strings.Contains(group, "(*ForecastJobServer).WatchJob") {
			continue
		}
		// "N @ addresses" heads each group (the first after the profile's
		// own header line; groups come largest first).
		head, _, _ := strings.Cut(group, " @ ")
		k, _ := strconv.Atoi(strings.TrimSpace(head[strings.LastIndex(head, "\n")+1:]))
		n += k
	}
	return n
}

// wfRSS is VmRSS in KiB (0 without /proc).
func wfRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func (m wfMem) String() string {
	return fmt.Sprintf("heap %.1f MiB, stacks %.1f MiB, %d goroutines (%d WatchJob handlers), RSS %.1f MiB",
		float64(m.heap)/(1<<20), float64(m.stacks)/(1<<20), m.goroutines, m.handlers, float64(m.rssKiB)/1024)
}

// wfMemFigures are open watches' footprint, whole process (the gateway,
// the emulator and the clients are all in the test process), over two
// cycles of opening and closing them: the first cycle's figures are the
// cost (the process had never held that many watches), the second's show
// whether closing gives everything back (the first cycle leaves the
// runtime's free list of dead goroutines' descriptors, about 600 B each,
// in the heap for good: Go reuses them, never frees them).
type wfMemFigures struct {
	watches, jobs, conns int
	base, open, closed   wfMem // first cycle
	open2, closed2       wfMem // second cycle (its base is closed)
	openTook             time.Duration
}

func (f wfMemFigures) perWatch(a, b wfMem) string {
	k := float64(f.watches)
	return fmt.Sprintf("%.1f KiB heap, %.1f KiB stacks, %.2f goroutines (%.2f of them the gateway's WatchJob handler), %.1f KiB RSS",
		(float64(a.heap)-float64(b.heap))/1024/k, (float64(a.stacks)-float64(b.stacks))/1024/k, float64(a.goroutines-b.goroutines)/k,
		float64(a.handlers-b.handlers)/k, float64(a.rssKiB-b.rssKiB)/k)
}

func (f wfMemFigures) String() string {
	return fmt.Sprintf("%d watches of %d jobs over %d connections (opened in %s):\n  before    %v\n  open      %v\n  closed    %v\n  reopened  %v\n  closed    %v\n  per watch: %s",
		f.watches, f.jobs, f.conns, f.openTook.Round(time.Millisecond), f.base, f.open, f.closed, f.open2, f.closed2, f.perWatch(f.open, f.base))
}

// wfMemory opens k watches spread over the first m unfinished backtest
// export jobs and over conns connections, measures, closes them all and
// waits (bounded) until the goroutines are back where they were; then
// does it again and waits until the goroutines and the live heap are back
// to where the first cycle left them, within the tolerances.
func wfMemory(tb testing.TB, env *testenv.Env, k, m, conns int, goroutineSlack int, heapSlack uint64) wfMemFigures {
	tb.Helper()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	arns := wfListBacktest(tb, c, env, wfUnfinished())
	if len(arns) < m {
		tb.Fatalf("%d unfinished jobs, want %d", len(arns), m)
	}
	arns = arns[:m]
	clients := wfConns(tb, env, conns)
	for _, cl := range clients { // connected and warm before the baseline
		if _, err := cl.DescribePredictorBacktestExportJob(c, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arns[0]}); err != nil {
			tb.Fatal(err)
		}
	}
	f := wfMemFigures{watches: k, jobs: m, conns: conns, base: wfReadMem()}
	// cycle opens and closes the watches; it returns the footprint while
	// they were open and once back within the slack of base (or at the
	// deadline).
	cycle := func(base wfMem, heapSlack uint64) (open, closed wfMem) {
		var started atomic.Int64
		watchCtx, stopWatching := context.WithCancel(c)
		defer stopWatching()
		t0 := time.Now()
		watches := make([]*wfWatch, k)
		for i := range watches {
			watches[i] = wfOpen(tb, watchCtx, clients[i%conns], arns[i%m], &started)
		}
		eventually(tb, 2*time.Minute, fmt.Sprintf("the first state on all %d watches", k), func() bool { return started.Load() == int64(k) })
		if f.openTook == 0 {
			f.openTook = time.Since(t0)
		}
		wfGauges(tb, env, k, m, 10*time.Second)
		open = wfReadMem()

		stopWatching()
		for _, w := range watches {
			w.all(tb, time.Minute)
		}
		wfGauges(tb, env, 0, 0, 30*time.Second)
		deadline := time.Now().Add(20 * time.Second)
		for {
			closed = wfReadMem()
			if closed.goroutines <= base.goroutines+goroutineSlack && closed.heap <= base.heap+heapSlack && closed.handlers == 0 {
				return open, closed
			}
			if time.Now().After(deadline) {
				tb.Errorf("after closing %d watches: %v; before opening them: %v (slack %d goroutines, %.1f MiB of heap)",
					k, closed, base, goroutineSlack, float64(heapSlack)/(1<<20))
				return open, closed
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The first cycle's heap keeps the dead goroutines' descriptors (3
	// goroutines per watch): only the goroutines must come back.
	f.open, f.closed = cycle(f.base, 1<<40)
	f.open2, f.closed2 = cycle(f.closed, heapSlack)
	return f
}

// TestWatchFiguresMemory: 1,000 open watches of 100 jobs over 5
// connections (200 streams each, under the default 256 per connection):
// their cost in heap, goroutines and RSS; after they close, goroutines are
// back where they were, and after a second cycle the live heap too.
func TestWatchFiguresMemory(t *testing.T) {
	w := server.WatchOptions{MinInterval: 100 * time.Millisecond, MaxInterval: time.Second, Heartbeat: 5 * time.Second,
		MaxWatches: 20000, MaxWatchesPerCaller: 20000}
	env := testenv.Start(t, testenv.Options{
		// 300 backtest export jobs, 125 unfinished.
		Emulator: emulator.Options{Predictors: 6, BacktestJobsPerPredictor: 50},
		Gateway:  gateway.Config{AdminAddr: "127.0.0.1:0", Watch: w},
	})
	f := wfMemory(t, env, 1000, 100, 5, 10, 1<<20)
	t.Log(f)
	if f.open.handlers-f.base.handlers != 1000 || f.open.goroutines-f.base.goroutines < 1000 {
		t.Errorf("%d WatchJob handlers and %d goroutines more with 1,000 watches open", f.open.handlers-f.base.handlers, f.open.goroutines-f.base.goroutines)
	}
}
