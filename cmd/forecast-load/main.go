// Command forecast-load is a bounded loopback load test of the gateway.
//
// By default it starts the Forecast emulator and the gateway in this
// process (so it can read the gateway's goroutines and memory), then runs
// many concurrent gRPC and REST clients for --duration, mixing paginated
// lists, describes and creates. It prints requests, errors (must be 0),
// latency percentiles, and the process RSS, heap and goroutines: cold
// (stack up, no client yet), warm (after a short warm-up, idle, gRPC
// clients still connected), after the run (idle, as warm) and once every
// client has disconnected. Goroutines after must not exceed warm:
// growth once idle would be a leak. It exits 1 on any error or growth.
//
// With --grpc-addr and --http-addr it drives a gateway that is already
// running instead (for example `make run`); --gateway-pid then lets it read
// that process's RSS.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
)

// config is what one run does.
type config struct {
	Duration        time.Duration
	Warmup          time.Duration
	GRPCClients     int
	RESTClients     int
	GRPCAddr        string // external mode when both addresses are set
	HTTPAddr        string
	GatewayPID      int
	EmulatorLatency time.Duration
	CreatePercent   int // share of operations that are creates
	DescribePercent int // share that are describes; the rest are lists
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("forecast-load", flag.ContinueOnError)
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long the clients run (bounded: at most 10m)")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "warm-up before the measured run (fills connection pools)")
	fs.IntVar(&c.GRPCClients, "grpc-clients", 32, "concurrent gRPC clients (each its own connection)")
	fs.IntVar(&c.RESTClients, "rest-clients", 32, "concurrent REST clients")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "", "drive a running gateway at this gRPC address (with --http-addr) instead of an in-process one")
	fs.StringVar(&c.HTTPAddr, "http-addr", "", "REST address of the running gateway")
	fs.IntVar(&c.GatewayPID, "gateway-pid", 0, "pid of the running gateway, to report its RSS (external mode)")
	fs.DurationVar(&c.EmulatorLatency, "emulator-latency", 2*time.Millisecond, "latency of the in-process emulator per upstream call")
	fs.IntVar(&c.CreatePercent, "create-percent", 10, "percentage of operations that are creates")
	fs.IntVar(&c.DescribePercent, "describe-percent", 30, "percentage of operations that are describes")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.Duration <= 0 || c.Duration > 10*time.Minute:
		return c, fmt.Errorf("--duration must be in (0, 10m]")
	case c.GRPCClients < 0 || c.RESTClients < 0 || c.GRPCClients+c.RESTClients == 0:
		return c, fmt.Errorf("need at least one client")
	case (c.GRPCAddr == "") != (c.HTTPAddr == ""):
		return c, fmt.Errorf("--grpc-addr and --http-addr go together")
	case c.CreatePercent < 0 || c.DescribePercent < 0 || c.CreatePercent+c.DescribePercent > 100:
		return c, fmt.Errorf("--create-percent + --describe-percent must be within 0..100")
	}
	for _, a := range []string{c.GRPCAddr, c.HTTPAddr} {
		if a != "" && !isLoopback(a) {
			return c, fmt.Errorf("%s is not a loopback address: this tool only loads loopback", a)
		}
	}
	return c, nil
}

func isLoopback(addr string) bool {
	host := addr
	if h, _, err := splitHostPort(addr); err == nil {
		host = h
	}
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" || host == "[::1]"
}

func splitHostPort(a string) (string, string, error) {
	i := strings.LastIndex(a, ":")
	if i < 0 {
		return "", "", errors.New("no port")
	}
	return strings.Trim(a[:i], "[]"), a[i+1:], nil
}

// snapshot is the process state at one moment.
type snapshot struct {
	RSSKiB     int64
	HeapKiB    uint64
	Goroutines int
	// PoolGoroutines are those of HTTP/1 keep-alive connections (the
	// gateway's pool to the upstream and the emulator's side of it), whose
	// number follows the peak concurrency, bounded by MaxIdleConnsPerHost.
	PoolGoroutines int
}

// core is the goroutines that are not keep-alive pool connections.
func (s snapshot) core() int { return s.Goroutines - s.PoolGoroutines }

func (s snapshot) String() string {
	g := "n/a"
	if s.Goroutines > 0 {
		g = strconv.Itoa(s.Goroutines)
	}
	if s.Goroutines > 0 {
		g += fmt.Sprintf(" (%d of them HTTP/1 keep-alive pool)", s.PoolGoroutines)
	}
	return fmt.Sprintf("RSS %s, heap in use %s, goroutines %s", kib(s.RSSKiB), kib(int64(s.HeapKiB)), g)
}

func kib(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/1024)
}

// report is the outcome of one run.
type report struct {
	Requests, Errors     int64
	ByKind               map[string]int64
	P50, P90, P99, Max   time.Duration
	Throughput           float64
	Cold, Warm, After    snapshot
	Closed               snapshot // after, with every client connection closed
	GoroutineGrowth      int
	FirstErrors          []string
	Elapsed              time.Duration
	CreatedJobs, Clients int
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forecast-load:", err)
		os.Exit(1)
	}
	if rep.Errors > 0 || rep.GoroutineGrowth > 0 {
		os.Exit(1)
	}
}

// stack is the gateway, assembled by internal/gateway with its embedded
// emulator, as `make run` runs it.
type stack struct {
	emu *emulator.Server
	gw  *gateway.Gateway
}

func startStack(ctx context.Context, cfg config) (*stack, error) {
	gw, err := gateway.Start(ctx, gateway.Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Upstream: gateway.Upstream{Kind: gateway.UpstreamEmulator, Emulator: emulator.Options{
			Latency: cfg.EmulatorLatency, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}},
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// The load mix is one client far above a caller's default budget.
		Security: gateway.Security{RateLimits: gateway.NoRateLimits},
	})
	if err != nil {
		return nil, err
	}
	return &stack{emu: gw.Emulator(), gw: gw}, nil
}

func (s *stack) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.gw.Shutdown(ctx)
}

func measure(cfg config, inProcess bool) snapshot {
	var s snapshot
	pid := cfg.GatewayPID
	if inProcess {
		pid = os.Getpid()
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.HeapKiB = ms.HeapInuse / 1024
		s.Goroutines, s.PoolGoroutines = countGoroutines()
	}
	if pid > 0 {
		s.RSSKiB = rssKiB(pid)
	}
	return s
}

func countGoroutines() (all, pool int) {
	buf := make([]byte, 8<<20)
	n := runtime.Stack(buf, true)
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.TrimSpace(g) == "" {
			continue
		}
		all++
		if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*conn).serve") {
			pool++
		}
	}
	return all, pool
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// settle waits until the goroutine count is at most want, or 5s pass.
func settle(want int) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if all, pool := countGoroutines(); all-pool <= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settleStable waits until the goroutine count holds still for 1s
// (connections closing), at most 5s.
func settleStable() {
	deadline := time.Now().Add(5 * time.Second)
	last, since := runtime.NumGoroutine(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < time.Second {
		time.Sleep(20 * time.Millisecond)
		if n := runtime.NumGoroutine(); n != last {
			last, since = n, time.Now()
		}
	}
}

func run(ctx context.Context, cfg config, out io.Writer) (*report, error) {
	inProcess := cfg.GRPCAddr == ""
	rep := &report{ByKind: map[string]int64{}, Clients: cfg.GRPCClients + cfg.RESTClients}
	var st *stack
	if inProcess {
		var err error
		if st, err = startStack(ctx, cfg); err != nil {
			return nil, err
		}
		defer st.close()
		cfg.GRPCAddr, cfg.HTTPAddr = st.gw.GRPCAddr(), st.gw.HTTPAddr()
		fmt.Fprintf(out, "in-process gateway: gRPC %s, REST %s, emulator latency %v\n", cfg.GRPCAddr, cfg.HTTPAddr, cfg.EmulatorLatency)
	} else {
		fmt.Fprintf(out, "external gateway: gRPC %s, REST %s\n", cfg.GRPCAddr, cfg.HTTPAddr)
	}
	rep.Cold = measure(cfg, inProcess)

	l, err := newLoader(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// Warm-up: fill the connection pools (client and upstream side), so
	// "warm" is the steady idle state the run is compared with.
	if cfg.Warmup > 0 {
		l.run(ctx, cfg.Warmup, nil)
	}
	l.closeIdle()
	settleStable()
	rep.Warm = measure(cfg, inProcess)

	var stats runStats
	start := time.Now()
	l.run(ctx, cfg.Duration, &stats)
	rep.Elapsed = time.Since(start)
	// Same state as warm: gRPC clients connected, REST keep-alives closed.
	l.closeIdle()
	if inProcess {
		settle(rep.Warm.core())
	}
	rep.After = measure(cfg, inProcess)
	if inProcess {
		rep.GoroutineGrowth = max(0, rep.After.core()-rep.Warm.core())
	}
	l.close()
	if inProcess {
		settleStable()
	}
	rep.Closed = measure(cfg, inProcess)

	stats.fill(rep)
	rep.CreatedJobs = int(l.created.Load())
	rep.print(out, cfg)
	return rep, ctx.Err()
}

func (r *report) print(w io.Writer, cfg config) {
	fmt.Fprintf(w, "clients: %d gRPC + %d REST for %v (mix: %d%% create, %d%% describe, rest paginated lists)\n",
		cfg.GRPCClients, cfg.RESTClients, r.Elapsed.Round(time.Millisecond), cfg.CreatePercent, cfg.DescribePercent)
	kinds := make([]string, 0, len(r.ByKind))
	for k := range r.ByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, r.ByKind[k])
	}
	fmt.Fprintf(w, "requests: %d (%.0f/s): %s\n", r.Requests, r.Throughput, strings.Join(parts, ", "))
	fmt.Fprintf(w, "errors: %d\n", r.Errors)
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
	fmt.Fprintf(w, "latency: p50 %v, p90 %v, p99 %v, max %v\n", r.P50, r.P90, r.P99, r.Max)
	fmt.Fprintf(w, "jobs created: %d\n", r.CreatedJobs)
	fmt.Fprintf(w, "process cold:  %s\n", r.Cold)
	fmt.Fprintf(w, "process warm:  %s\n", r.Warm)
	fmt.Fprintf(w, "process after: %s (idle, as warm)\n", r.After)
	fmt.Fprintf(w, "process after clients closed: %s\n", r.Closed)
	if r.After.Goroutines > 0 {
		verdict := "no growth"
		if r.GoroutineGrowth > 0 {
			verdict = fmt.Sprintf("GROWTH of %d goroutines once idle: leak?", r.GoroutineGrowth)
		}
		fmt.Fprintf(w, "goroutines warm -> after, outside keep-alive pools: %d -> %d: %s\n", r.Warm.core(), r.After.core(), verdict)
	}
}

// runStats gathers latencies and errors from every client.
type runStats struct {
	mu        sync.Mutex
	latencies []time.Duration
	byKind    map[string]int64
	errors    int64
	first     []string
}

func (s *runStats) add(kind string, d time.Duration, err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKind == nil {
		s.byKind = map[string]int64{}
	}
	s.latencies = append(s.latencies, d)
	s.byKind[kind]++
	if err != nil {
		s.errors++
		if len(s.first) < 10 {
			s.first = append(s.first, kind+": "+err.Error())
		}
	}
}

func (s *runStats) fill(r *report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Requests, r.Errors, r.FirstErrors = int64(len(s.latencies)), s.errors, s.first
	for k, v := range s.byKind {
		r.ByKind[k] = v
	}
	if len(s.latencies) == 0 {
		return
	}
	slices.Sort(s.latencies)
	pct := func(p float64) time.Duration {
		return s.latencies[min(len(s.latencies)-1, int(p*float64(len(s.latencies))))].Round(10 * time.Microsecond)
	}
	r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), s.latencies[len(s.latencies)-1].Round(10*time.Microsecond)
	if r.Elapsed > 0 {
		r.Throughput = float64(len(s.latencies)) / r.Elapsed.Seconds()
	}
}

// loader holds the clients.
type loader struct {
	cfg      config
	conns    []*grpc.ClientConn
	grpcs    []gatewayv1.ForecastJobServiceClient
	httpc    *http.Client
	base     string
	arns     []string // job ARNs to describe
	predArn  string
	roleArn  string
	created  atomic.Int64
	runID    string
	sequence atomic.Int64
}

func newLoader(ctx context.Context, cfg config) (*loader, error) {
	l := &loader{cfg: cfg, base: "http://" + cfg.HTTPAddr, runID: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	l.httpc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: max(cfg.RESTClients, 2), MaxConnsPerHost: cfg.RESTClients + 4}}
	for range max(cfg.GRPCClients, 1) {
		c, err := grpc.NewClient(cfg.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			l.close()
			return nil, err
		}
		l.conns = append(l.conns, c)
		l.grpcs = append(l.grpcs, gatewayv1.NewForecastJobServiceClient(c))
	}
	// Describe targets and a predictor to create under, from the gateway.
	// ACTIVE jobs stay put; the emulator's jobs in other statuses move on
	// its clock (deleted ones disappear), which would fail the describes.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := l.grpcs[0].ListPredictorBacktestExportJobs(cctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 200, Filter: `status = "ACTIVE"`})
	if err != nil {
		l.close()
		return nil, fmt.Errorf("seeding: %w", err)
	}
	for _, j := range r.GetPredictorBacktestExportJobs() {
		l.arns = append(l.arns, j.GetPredictorBacktestExportJobArn())
	}
	if len(l.arns) == 0 {
		l.close()
		return nil, errors.New("seeding: the gateway lists no predictor backtest export jobs")
	}
	d, err := l.grpcs[0].DescribePredictorBacktestExportJob(cctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: l.arns[0]})
	if err != nil {
		l.close()
		return nil, fmt.Errorf("seeding: %w", err)
	}
	l.predArn, l.roleArn = d.GetPredictorArn(), d.GetDestination().GetS3Config().GetRoleArn()
	return l, nil
}

func (l *loader) closeIdle() { l.httpc.CloseIdleConnections() }

func (l *loader) close() {
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.httpc.CloseIdleConnections()
}

// run drives every client for d, recording into stats (nil: not recorded).
func (l *loader) run(ctx context.Context, d time.Duration, stats *runStats) {
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for i := range l.cfg.GRPCClients {
		wg.Add(1)
		go func() { defer wg.Done(); l.client(rctx, stats, &grpcDriver{l: l, c: l.grpcs[i]}, uint64(i)) }()
	}
	for i := range l.cfg.RESTClients {
		wg.Add(1)
		go func() { defer wg.Done(); l.client(rctx, stats, &restDriver{l: l}, uint64(1000+i)) }()
	}
	wg.Wait()
}

// driver is one transport's way to make the three kinds of calls.
type driver interface {
	name() string
	list(ctx context.Context, op, size int, token string) (next string, err error)
	describe(ctx context.Context, arn string) error
	create(ctx context.Context, name string) error
}

var listOps = []string{"backtest", "forecast_export", "dataset_import"}

func (l *loader) client(ctx context.Context, stats *runStats, d driver, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	sizes := []int{10, 25, 50, 100, 250}
	// Each call has its own deadline, so a stuck call is an error, and the
	// run's end is not: calls cut by the end of the run are not counted.
	call := func(kind string, f func(context.Context) error) bool {
		if ctx.Err() != nil {
			return false
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := f(cctx)
		stats.add(d.name()+" "+kind, time.Since(start), err)
		return err == nil
	}
	for ctx.Err() == nil {
		p := rng.IntN(100)
		switch {
		case p < l.cfg.CreatePercent:
			name := fmt.Sprintf("load_%s_%d", l.runID, l.sequence.Add(1))
			if call("create", func(c context.Context) error { return d.create(c, name) }) {
				l.created.Add(1)
			}
		case p < l.cfg.CreatePercent+l.cfg.DescribePercent:
			arn := l.arns[rng.IntN(len(l.arns))]
			call("describe", func(c context.Context) error { return d.describe(c, arn) })
		default:
			op, size, token := rng.IntN(len(listOps)), sizes[rng.IntN(len(sizes))], ""
			for page := 0; page < 3; page++ {
				ok := call("list", func(c context.Context) error {
					var err error
					token, err = d.list(c, op, size, token)
					return err
				})
				if !ok || token == "" {
					break
				}
			}
		}
	}
}

type grpcDriver struct {
	l *loader
	c gatewayv1.ForecastJobServiceClient
}

func (g *grpcDriver) name() string { return "gRPC" }

func (g *grpcDriver) list(ctx context.Context, op, size int, token string) (string, error) {
	switch listOps[op] {
	case "backtest":
		r, err := g.c.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: int32(size), PageToken: token})
		return r.GetNextPageToken(), err
	case "forecast_export":
		r, err := g.c.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: int32(size), PageToken: token})
		return r.GetNextPageToken(), err
	default:
		r, err := g.c.ListDatasetImportJobs(ctx, &gatewayv1.ListDatasetImportJobsRequest{PageSize: int32(size), PageToken: token, Filter: `status = "ACTIVE"`})
		return r.GetNextPageToken(), err
	}
}

func (g *grpcDriver) describe(ctx context.Context, arn string) error {
	_, err := g.c.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
	return err
}

func (g *grpcDriver) create(ctx context.Context, name string) error {
	_, err := g.c.CreatePredictorBacktestExportJob(ctx, &gatewayv1.CreatePredictorBacktestExportJobRequest{
		PredictorBacktestExportJobName: name,
		PredictorArn:                   g.l.predArn,
		Destination:                    &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{Path: "s3://load-test/" + name, RoleArn: g.l.roleArn}},
	})
	return err
}

type restDriver struct{ l *loader }

func (r *restDriver) name() string { return "REST" }

var restPaths = map[string]string{
	"backtest":        "/v1/predictor-backtest-export-jobs",
	"forecast_export": "/v1/forecast-export-jobs",
	"dataset_import":  "/v1/dataset-import-jobs",
}

func (r *restDriver) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.l.base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.l.httpc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	want := http.StatusOK
	if method == http.MethodPost {
		want = http.StatusCreated // the driver only POSTs creates
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (r *restDriver) list(ctx context.Context, op, size int, token string) (string, error) {
	q := url.Values{"page_size": {strconv.Itoa(size)}}
	if token != "" {
		q.Set("page_token", token)
	}
	if listOps[op] == "dataset_import" {
		q.Set("filter", `status = "ACTIVE"`)
	}
	var out struct {
		Next string `json:"next_page_token"`
	}
	err := r.do(ctx, http.MethodGet, restPaths[listOps[op]]+"?"+q.Encode(), nil, &out)
	return out.Next, err
}

func (r *restDriver) describe(ctx context.Context, arn string) error {
	return r.do(ctx, http.MethodGet, "/v1/predictor-backtest-export-jobs/"+url.PathEscape(arn), nil, nil)
}

func (r *restDriver) create(ctx context.Context, name string) error {
	body, _ := json.Marshal(map[string]any{
		"predictor_backtest_export_job_name": name,
		"predictor_arn":                      r.l.predArn,
		"destination":                        map[string]any{"s3_config": map[string]any{"path": "s3://load-test/" + name, "role_arn": r.l.roleArn}},
	})
	return r.do(ctx, http.MethodPost, "/v1/predictor-backtest-export-jobs", strings.NewReader(string(body)), nil)
}
