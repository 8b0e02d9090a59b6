package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
)

// callFunc makes one call, as worker w of a phase, and checks its answer.
type callFunc func(ctx context.Context, w int) error

// clients are every way of reaching a job, all in the bench process.
type clients struct {
	sdk      *forecast.Client
	grpcConn *grpc.ClientConn
	gw       gatewayv1.ForecastJobServiceClient
	noopConn *grpc.ClientConn
	noop     healthpb.HealthClient
	passConn *grpc.ClientConn
	http     *http.Client
	debug    *http.Client
	restBase string
	st       *stack

	// Extra connections (--grpc-options), by address and dial variant.
	conns map[string]*grpc.ClientConn

	// arns are unfinished jobs (never in the Describe cache, whose
	// entries are jobs in a terminal state): worker w of an uncached
	// Describe path describes arns[w%len(arns)], so no two calls in
	// flight are identical and the gateway's coalescing never merges
	// them: every call is an upstream call, as on the direct path.
	arns []string
	// cachedArn is a job in a terminal state, for the cached path.
	cachedArn string
}

func (c *clients) arnOf(w int) string { return c.arns[w%len(c.arns)] }

// grpcDialOptions are the client settings of every gRPC path by default.
func grpcDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
}

func newClients(ctx context.Context, st *stack) (*clients, error) {
	c := &clients{st: st, restBase: "http://" + st.gw.HTTP, conns: map[string]*grpc.ClientConn{}}
	var err error
	// The same SDK client construction the gateway itself uses, so (1) and
	// the gateway's upstream hop are configured alike.
	if c.sdk, err = upstream.NewForecastClient(ctx, upstream.Options{Emulator: true, EndpointURL: st.emu.URL, Region: st.emu.Region}); err != nil {
		return nil, err
	}
	if c.grpcConn, err = grpc.NewClient(st.gw.GRPC, grpcDialOptions()...); err != nil {
		return nil, err
	}
	c.gw = gatewayv1.NewForecastJobServiceClient(c.grpcConn)
	if c.noopConn, err = grpc.NewClient(st.gw.Noop, grpcDialOptions()...); err != nil {
		return nil, err
	}
	c.noop = healthpb.NewHealthClient(c.noopConn)
	if c.passConn, err = grpc.NewClient(st.gw.Pass, grpcDialOptions()...); err != nil {
		return nil, err
	}
	c.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}}
	c.debug = &http.Client{Timeout: 2 * time.Minute}
	return c, nil
}

// conn is a connection to addr with a dial variant's options.
func (c *clients) conn(addr, dial string) (*grpc.ClientConn, error) {
	key := addr + " " + dial
	if cc := c.conns[key]; cc != nil {
		return cc, nil
	}
	opts, err := dialVariant(dial)
	if err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, err
	}
	c.conns[key] = cc
	return cc, nil
}

func (c *clients) close() {
	_ = c.grpcConn.Close()
	_ = c.noopConn.Close()
	_ = c.passConn.Close()
	for _, cc := range c.conns {
		_ = cc.Close()
	}
	c.http.CloseIdleConnections()
	type idleCloser interface{ CloseIdleConnections() }
	if ic, ok := c.sdk.Options().HTTPClient.(idleCloser); ok {
		ic.CloseIdleConnections()
	}
}

// gatewayMem reads the gateway process's counters.
func (c *clients) gatewayMem(ctx context.Context) (memSnap, error) {
	var m memSnap
	err := c.getJSON(ctx, c.st.gw.Debug+"/memstats", &m)
	return m, err
}

func (c *clients) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.debug.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *clients) control(ctx context.Context, method, path string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.st.emu.Control+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.debug.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if len(b) == 0 {
		return 0, nil
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// upstreamCalls is the emulator's count of op so far.
func (c *clients) upstreamCalls(ctx context.Context, op string) (int64, error) {
	return c.control(ctx, http.MethodGet, "/calls?op="+url.QueryEscape(op))
}

// Path and operation names, in table order.
const (
	pathDirect = "direct"
	pathGRPC   = "grpc"
	pathREST   = "rest"
	pathNoop   = "noop"
	pathCached = "grpc-cached"
	pathPass   = "passthrough"

	opDescribe = "describe"
	opList     = "list100"

	upDescribe = "DescribePredictorBacktestExportJob"
	upList     = "ListPredictorBacktestExportJobs"
)

var pathLabels = map[string]string{
	pathDirect: "(1) aws-sdk-go-v2 -> emulator",
	pathGRPC:   "(2) gRPC -> gateway -> emulator",
	pathREST:   "(3) REST -> gateway -> emulator",
	pathNoop:   "(4) no-op gRPC (floor)",
	pathCached: "(5) gRPC -> gateway, cached (terminal job)",
	pathPass:   "(6) gRPC -> pass-through -> emulator",
}

const listPageSize = 100

// restDescribe and restList are what a REST client decodes.
type restDescribe struct {
	Arn    string `json:"predictor_backtest_export_job_arn"`
	Status string `json:"status"`
}

type restList struct {
	Jobs []struct {
		Arn    string `json:"predictor_backtest_export_job_arn"`
		Status string `json:"status"`
	} `json:"predictor_backtest_export_jobs"`
	NextPageToken string `json:"next_page_token"`
}

// benchPath is one measured path: a call and the upstream operation it
// costs (counted at the emulator around every phase).
type benchPath struct {
	path, op, label string
	fn              callFunc
	upstreamOp      string
}

// caller builds the call of one of the table's paths and operations.
func (c *clients) caller(path, op string) callFunc {
	switch path + "/" + op {
	case pathDirect + "/" + opDescribe:
		return c.sdkDescribe(c.arnOf)
	case pathDirect + "/" + opList:
		in := &forecast.ListPredictorBacktestExportJobsInput{MaxResults: aws.Int32(listPageSize)}
		return func(ctx context.Context, _ int) error {
			out, err := c.sdk.ListPredictorBacktestExportJobs(ctx, in)
			if err != nil {
				return err
			}
			return checkLen(len(out.PredictorBacktestExportJobs), out.NextToken != nil)
		}
	case pathGRPC + "/" + opDescribe:
		return gwDescribe(c.gw, c.arnOf)
	case pathCached + "/" + opDescribe:
		return gwDescribe(c.gw, func(int) string { return c.cachedArn })
	case pathPass + "/" + opDescribe:
		return passCall(c.passConn, passDescribe, c.arnOf)
	case pathGRPC + "/" + opList:
		return func(ctx context.Context, _ int) error {
			out, err := c.gw.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: listPageSize})
			if err != nil {
				return err
			}
			return checkLen(len(out.GetPredictorBacktestExportJobs()), out.GetNextPageToken() != "")
		}
	case pathREST + "/" + opDescribe:
		return c.restDescribe(c.arnOf)
	case pathREST + "/" + opList:
		u := c.restBase + "/v1/predictor-backtest-export-jobs?page_size=" + strconv.Itoa(listPageSize)
		return func(ctx context.Context, _ int) error {
			var out restList
			if err := c.restGet(ctx, u, &out); err != nil {
				return err
			}
			return checkLen(len(out.Jobs), out.NextPageToken != "")
		}
	case pathNoop + "/" + opDescribe, pathNoop + "/" + opList:
		return noopCall(c.noop)
	}
	panic("unknown path/op " + path + "/" + op)
}

func (c *clients) sdkDescribe(arnOf func(int) string) callFunc {
	return func(ctx context.Context, w int) error {
		arn := arnOf(w)
		out, err := c.sdk.DescribePredictorBacktestExportJob(ctx, &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(arn)})
		if err != nil {
			return err
		}
		return checkArn(aws.ToString(out.PredictorBacktestExportJobArn), arn)
	}
}

func gwDescribe(gw gatewayv1.ForecastJobServiceClient, arnOf func(int) string) callFunc {
	return func(ctx context.Context, w int) error {
		arn := arnOf(w)
		out, err := gw.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
		if err != nil {
			return err
		}
		return checkArn(out.GetPredictorBacktestExportJobArn(), arn)
	}
}

func (c *clients) restDescribe(arnOf func(int) string) callFunc {
	return func(ctx context.Context, w int) error {
		arn := arnOf(w)
		var out restDescribe
		if err := c.restGet(ctx, c.restBase+"/v1/predictor-backtest-export-jobs/"+url.PathEscape(arn), &out); err != nil {
			return err
		}
		return checkArn(out.Arn, arn)
	}
}

// passCall calls the pass-through anchor (an empty answer: only errors
// are checked).
func passCall(cc *grpc.ClientConn, method string, arnOf func(int) string) callFunc {
	return func(ctx context.Context, w int) error {
		return cc.Invoke(ctx, method, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arnOf(w)}, &emptypb.Empty{})
	}
}

func noopCall(hc healthpb.HealthClient) callFunc {
	return func(ctx context.Context, _ int) error {
		out, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if out.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("no-op server answered %v", out.GetStatus())
		}
		return nil
	}
}

// tablePaths are the paths of the default run, in table order.
func (c *clients) tablePaths() []*benchPath {
	var ps []*benchPath
	for _, op := range []string{opDescribe, opList} {
		up := upDescribe
		paths := []string{pathDirect, pathGRPC, pathREST, pathCached, pathPass}
		if op == opList {
			up, paths = upList, paths[:3]
		}
		for _, path := range paths {
			ps = append(ps, &benchPath{path: path, op: op, label: pathLabels[path], fn: c.caller(path, op), upstreamOp: up})
		}
	}
	// The floor does not depend on the operation: measured once.
	return append(ps, &benchPath{path: pathNoop, op: "noop", label: pathLabels[pathNoop], fn: c.caller(pathNoop, opDescribe)})
}

func (c *clients) restGet(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	err = json.NewDecoder(resp.Body).Decode(v)
	_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
	return err
}

func checkArn(got, want string) error {
	if got != want {
		return fmt.Errorf("answer for %q, want %q", got, want)
	}
	return nil
}

func checkLen(n int, more bool) error {
	if n != listPageSize || !more {
		return fmt.Errorf("page of %d jobs (more: %v), want %d and more", n, more, listPageSize)
	}
	return nil
}

// phase is the outcome of running one callFunc for a while.
type phase struct {
	calls, errors int64
	elapsed       time.Duration
	lats          []time.Duration // every call's latency
	firstErr      error
}

// runPhase calls fn from conc goroutines until d has passed (and at least
// minCalls calls were made in all).
func runPhase(ctx context.Context, fn callFunc, conc int, d time.Duration, minCalls int64) phase {
	var (
		calls, errs atomic.Int64
		mu          sync.Mutex
		p           phase
		wg          sync.WaitGroup
	)
	lats := make([][]time.Duration, conc)
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil && (time.Now().Before(deadline) || calls.Load() < minCalls) {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				t0 := time.Now()
				err := fn(cctx, w)
				lat := time.Since(t0)
				cancel()
				calls.Add(1)
				local = append(local, lat)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if p.firstErr == nil {
						p.firstErr = err
					}
					mu.Unlock()
				}
			}
			lats[w] = local
		}()
	}
	wg.Wait()
	p.elapsed = time.Since(start)
	p.calls, p.errors = calls.Load(), errs.Load()
	for _, l := range lats {
		p.lats = append(p.lats, l...)
	}
	return p
}

// pathResult is everything measured for one path and operation.
type pathResult struct {
	Path   string `json:"path"`
	Op     string `json:"op"`
	Label  string `json:"label"`
	Calls  int64  `json:"calls"`
	Errors int64  `json:"errors"`

	P50us float64 `json:"p50_us"` // at concurrency 1
	P99us float64 `json:"p99_us"`
	// Throughput (calls/s) by concurrency level.
	RPS map[int]float64 `json:"rps"`
	// P99 by concurrency level (µs), for the record.
	P99usAt map[int]float64 `json:"p99_us_at"`

	// Per call at concurrency 1, in the gateway process (the no-op server
	// lives there too) and in the bench (client) process.
	GatewayAllocs float64 `json:"gateway_allocs_per_call"`
	GatewayBytes  float64 `json:"gateway_bytes_per_call"`
	ClientAllocs  float64 `json:"client_allocs_per_call"`
	ClientBytes   float64 `json:"client_bytes_per_call"`
	// UpstreamPerCall is the emulator's count of the path's upstream
	// operation over the path's calls, every phase included: 1 where every
	// call reaches AWS, about 0 for the cached path.
	UpstreamPerCall float64 `json:"upstream_calls_per_call"`
	// CPU time per call at each concurrency level, µs: the gateway
	// process's and the bench process's (the clients'). With --procs 1 or
	// 2 the gateway is in the bench process and both count everything.
	GatewayCPUus map[int]float64 `json:"gateway_cpu_us_per_call"`
	ClientCPUus  map[int]float64 `json:"client_cpu_us_per_call"`

	FirstError string `json:"first_error,omitempty"`

	c1Lats []time.Duration
	atLats map[int][]time.Duration
	c1Time time.Duration
	c1N    int64
	gwMall uint64
	gwByte uint64
	clMall uint64
	clByte uint64
	upN    int64
	gwCPU  map[int]time.Duration
	clCPU  map[int]time.Duration
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)) + 0.5)
	i = min(max(i-1, 0), len(sorted)-1)
	return sorted[i]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// measure runs every path for cfg.rounds interleaved rounds: in each
// round every path runs its phases back to back, the starting path
// rotating, so drift on a shared machine falls on all paths alike.
func measure(ctx context.Context, cfg config, c *clients, paths []*benchPath, log io.Writer) ([]*pathResult, error) {
	type job struct {
		path, op string
		fn       callFunc
		up       string
		res      *pathResult
	}
	var jobs []*job
	for _, p := range paths {
		jobs = append(jobs, &job{path: p.path, op: p.op, fn: p.fn, up: p.upstreamOp})
	}
	for _, j := range jobs {
		j.res = &pathResult{Path: j.path, Op: j.op, RPS: map[int]float64{}, P99usAt: map[int]float64{}, atLats: map[int][]time.Duration{},
			GatewayCPUus: map[int]float64{}, ClientCPUus: map[int]float64{}, gwCPU: map[int]time.Duration{}, clCPU: map[int]time.Duration{}}
		for _, p := range paths {
			if p.path == j.path && p.op == j.op {
				j.res.Label = p.label
			}
		}
		// Warm up connections, pools and caches on every path.
		w := runPhase(ctx, j.fn, slices.Max(cfg.conc), cfg.warmup, int64(slices.Max(cfg.conc)))
		if w.errors > 0 {
			// Measured anyway: the errors are counted and reported.
			fmt.Fprintf(log, "%s %s warm-up: %d errors, first: %v\n", j.path, j.op, w.errors, w.firstErr)
		}
	}
	callsAt := map[*job]map[int]int64{}
	timeAt := map[*job]map[int]time.Duration{}
	for _, j := range jobs {
		callsAt[j], timeAt[j] = map[int]int64{}, map[int]time.Duration{}
	}
	perRound := func(d time.Duration) time.Duration { return d / time.Duration(cfg.rounds) }
	for round := range cfg.rounds {
		fmt.Fprintf(log, "round %d/%d\n", round+1, cfg.rounds)
		for k := range jobs {
			j := jobs[(k+round)%len(jobs)]
			for _, conc := range cfg.conc {
				d := perRound(cfg.highDuration)
				if conc == 1 {
					d = perRound(cfg.duration)
				}
				runtime.GC()
				// The gateway's counters around every phase: allocations at
				// c=1, CPU time at every level.
				before, err := c.gatewayMem(ctx)
				if err != nil {
					return nil, err
				}
				clientCPU := processCPU()
				var upBefore, upAfter int64
				if j.up != "" {
					if upBefore, err = c.upstreamCalls(ctx, j.up); err != nil {
						return nil, err
					}
				}
				var cb, ca runtime.MemStats
				runtime.ReadMemStats(&cb)
				p := runPhase(ctx, j.fn, conc, d, int64(conc))
				runtime.ReadMemStats(&ca)
				clientCPU = processCPU() - clientCPU
				after, err := c.gatewayMem(ctx)
				if err != nil {
					return nil, err
				}
				j.res.gwCPU[conc] += after.CPU - before.CPU
				j.res.clCPU[conc] += clientCPU
				if j.up != "" {
					if upAfter, err = c.upstreamCalls(ctx, j.up); err != nil {
						return nil, err
					}
					j.res.upN += upAfter - upBefore
				}
				if conc == 1 {
					r := j.res
					r.c1Lats = append(r.c1Lats, p.lats...)
					r.c1N += p.calls
					r.c1Time += p.elapsed
					r.gwMall += after.Mallocs - before.Mallocs
					r.gwByte += after.TotalAlloc - before.TotalAlloc
					r.clMall += ca.Mallocs - cb.Mallocs
					r.clByte += ca.TotalAlloc - cb.TotalAlloc
				}
				j.res.atLats[conc] = append(j.res.atLats[conc], p.lats...)
				callsAt[j][conc] += p.calls
				timeAt[j][conc] += p.elapsed
				j.res.Calls += p.calls
				j.res.Errors += p.errors
				if p.firstErr != nil && j.res.FirstError == "" {
					j.res.FirstError = p.firstErr.Error()
				}
			}
		}
	}
	var out []*pathResult
	for _, j := range jobs {
		r := j.res
		slices.Sort(r.c1Lats)
		r.P50us, r.P99us = us(percentile(r.c1Lats, 0.50)), us(percentile(r.c1Lats, 0.99))
		for _, conc := range cfg.conc {
			if t := timeAt[j][conc]; t > 0 {
				r.RPS[conc] = float64(callsAt[j][conc]) / t.Seconds()
			}
			if n := callsAt[j][conc]; n > 0 {
				r.GatewayCPUus[conc] = us(r.gwCPU[conc]) / float64(n)
				r.ClientCPUus[conc] = us(r.clCPU[conc]) / float64(n)
			}
			l := r.atLats[conc]
			slices.Sort(l)
			r.P99usAt[conc] = us(percentile(l, 0.99))
		}
		if r.c1N > 0 {
			n := float64(r.c1N)
			r.GatewayAllocs, r.GatewayBytes = float64(r.gwMall)/n, float64(r.gwByte)/n
			r.ClientAllocs, r.ClientBytes = float64(r.clMall)/n, float64(r.clByte)/n
		}
		if r.Calls > 0 {
			r.UpstreamPerCall = float64(r.upN) / float64(r.Calls)
		}
		if r.Path == pathDirect {
			// The gateway process is idle on this path.
			r.GatewayAllocs, r.GatewayBytes = 0, 0
		}
		r.c1Lats, r.atLats = nil, nil
		out = append(out, r)
	}
	return out, nil
}

// efficiency is the upstream cost of listing every job at one page size.
type efficiency struct {
	PageSize      int   `json:"page_size"`
	Jobs          int   `json:"jobs"`
	ClientCalls   int   `json:"client_calls"`
	UpstreamCalls int64 `json:"upstream_calls"`
	Ideal         int   `json:"ideal"`
	Total         int64 `json:"total"`
	// Problem is set when the walk did not list every job exactly once.
	Problem string `json:"problem,omitempty"`
}

// listAll lists every backtest job through the gateway (gRPC) at each page
// size and counts the emulator's List calls.
func listAll(ctx context.Context, c *clients, pageSizes []int) ([]efficiency, error) {
	total, err := c.control(ctx, http.MethodGet, "/jobs")
	if err != nil {
		return nil, err
	}
	var out []efficiency
	for _, ps := range pageSizes {
		if _, err := c.control(ctx, http.MethodPost, "/reset"); err != nil {
			return nil, err
		}
		e := efficiency{PageSize: ps, Total: total}
		tok := ""
		for {
			resp, err := c.gw.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: int32(ps), PageToken: tok})
			if err != nil {
				return nil, fmt.Errorf("listing at page size %d: %w", ps, err)
			}
			e.ClientCalls++
			e.Jobs += len(resp.GetPredictorBacktestExportJobs())
			if tok = resp.GetNextPageToken(); tok == "" {
				break
			}
		}
		if int64(e.Jobs) != total {
			e.Problem = fmt.Sprintf("listed %d jobs, the emulator has %d", e.Jobs, total)
		}
		if e.UpstreamCalls, err = c.control(ctx, http.MethodGet, "/calls?op=ListPredictorBacktestExportJobs"); err != nil {
			return nil, err
		}
		per := min(ps, 100)
		e.Ideal = int((total + int64(per) - 1) / int64(per))
		out = append(out, e)
	}
	return out, nil
}

// pickJobs finds, directly from the emulator, the unfinished jobs the
// uncached Describe paths describe (up to n, one per worker) and a job in
// a terminal state for the cached path.
func pickJobs(ctx context.Context, c *clients, n int) error {
	var token *string
	for {
		out, err := c.sdk.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{MaxResults: aws.Int32(100), NextToken: token})
		if err != nil {
			return err
		}
		for _, j := range out.PredictorBacktestExportJobs {
			arn, st := aws.ToString(j.PredictorBacktestExportJobArn), aws.ToString(j.Status)
			switch {
			case jobtype.Terminal(st):
				if c.cachedArn == "" && st == "ACTIVE" {
					c.cachedArn = arn
				}
			case len(c.arns) < n:
				c.arns = append(c.arns, arn)
			}
		}
		if token = out.NextToken; token == nil || (len(c.arns) >= n && c.cachedArn != "") {
			break
		}
	}
	if len(c.arns) == 0 || c.cachedArn == "" {
		return fmt.Errorf("the emulator has no unfinished (%d) or no ACTIVE backtest export job", len(c.arns))
	}
	return nil
}
