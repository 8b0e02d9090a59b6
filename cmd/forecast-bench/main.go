// Command forecast-bench measures what the gateway costs, side by side with
// calling the Forecast API directly:
//
//  1. aws-sdk-go-v2 -> emulator (what a user would do without the gateway)
//  2. generated gRPC client -> gateway -> emulator
//  3. REST (net/http, JSON) -> gateway -> emulator
//  4. a no-op grpc-go unary call on loopback (health Check on a default
//     server): the floor any gateway hop costs
//  5. (Describe) gRPC -> gateway of a job in a terminal state, with the
//     Describe cache on: the "cached" path
//  6. (Describe) gRPC -> a pass-through grpc-go server whose handler only
//     makes the same SDK call -> emulator: the anchor of (2)
//
// for Describe and for one List page of 100 jobs; then the upstream calls
// needed to list every job at several page sizes. With --grpc-options it
// measures instead grpc-go server and dial options side by side on
// Describe (see passthrough.go). The emulator and the
// gateway run as child processes (this binary re-executed with --role), so
// the allocations, RSS and profiles reported for the gateway are the
// gateway's alone. See BENCHMARKS.md.
//
//	go run ./cmd/forecast-bench [--duration 6s] [--pprof-dir DIR] [--json FILE]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/forecastgw/forecast-gateway/server"
)

type config struct {
	duration     time.Duration // c=1 phase per path, split over the rounds
	highDuration time.Duration // each higher concurrency phase per path
	warmup       time.Duration
	rounds       int
	conc         []int
	pageSizes    []int

	predictors, jobsPerPredictor int
	emuLatency                   time.Duration

	cacheTTL time.Duration // the gateway's Describe cache TTL

	// The grpc-go options experiment (--grpc-options).
	grpcOptions                  bool
	serverVariants, dialVariants []string

	pprofDir     string
	pprofPath    string
	pprofSeconds time.Duration
	jsonPath     string
	procs        int

	// child roles
	role, emulatorURL, region string
}

type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

func parseFlags(args []string, out io.Writer) (config, error) {
	cfg := config{conc: []int{1, 64}, pageSizes: []int{10, 100, 1000}}
	fs := flag.NewFlagSet("forecast-bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.DurationVar(&cfg.duration, "duration", 9*time.Second, "concurrency-1 (latency) measurement per path and operation, split over --rounds")
	fs.DurationVar(&cfg.highDuration, "high-duration", 6*time.Second, "measurement per path and operation at each higher concurrency level, split over --rounds")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up per path and operation before measuring")
	fs.IntVar(&cfg.rounds, "rounds", 3, "interleaved rounds (every path runs once per round, so drift hits all alike)")
	conc := intList(cfg.conc)
	fs.Var(&conc, "concurrency", "comma-separated concurrency levels; latency percentiles are taken at 1")
	pages := intList(cfg.pageSizes)
	fs.Var(&pages, "page-sizes", "page sizes of the upstream-efficiency listing")
	fs.IntVar(&cfg.predictors, "predictors", 25, "emulator fixture predictors")
	fs.IntVar(&cfg.jobsPerPredictor, "jobs-per-predictor", 100, "emulator fixture backtest export jobs per predictor (25 x 100 = 2,500 jobs)")
	fs.DurationVar(&cfg.emuLatency, "emulator-latency", 0, "latency the emulator adds to every request (0: none, so the gateway's own cost is not hidden)")
	fs.DurationVar(&cfg.cacheTTL, "describe-cache-ttl", server.DefaultDescribeCacheTTL, "the gateway's Describe cache TTL (jobs in a terminal state); the uncached paths describe unfinished jobs")
	fs.BoolVar(&cfg.grpcOptions, "grpc-options", false, "measure grpc-go server and dial options on Describe instead of the table (see --server-variants, --dial-variants)")
	var sv, dv stringList
	fs.Var(&sv, "server-variants", "with --grpc-options: server option sets ("+strings.Join(serverVariantNames, ",")+"; nowritebuf; join with +)")
	fs.Var(&dv, "dial-variants", "with --grpc-options: client dial option sets ("+strings.Join(dialVariantNames, ",")+"; join with +)")
	fs.StringVar(&cfg.pprofDir, "pprof-dir", "", "write CPU and allocation profiles of the gateway under Describe load (see --pprof-path) here")
	fs.StringVar(&cfg.pprofPath, "pprof-path", pathGRPC, "the path whose Describe load is profiled: "+pathGRPC+" or "+pathREST)
	fs.DurationVar(&cfg.pprofSeconds, "pprof-duration", 10*time.Second, "length of the profiling phase")
	fs.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.IntVar(&cfg.procs, "procs", 3, "3: emulator and gateway each in a child process; 2: only the emulator in a child; 1: all in this process (allocations are then the bench process's, clients included)")
	fs.StringVar(&cfg.role, "role", "", "internal: run as the emulator or gateway child process")
	fs.StringVar(&cfg.emulatorURL, "emulator-url", "", "internal (--role gateway): the emulator endpoint")
	fs.StringVar(&cfg.region, "region", "us-east-1", "internal (--role gateway): the region")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.conc, cfg.pageSizes = conc, pages
	cfg.serverVariants, cfg.dialVariants = sv, dv
	if cfg.role == "" {
		switch {
		case !cfg.grpcOptions:
			cfg.serverVariants, cfg.dialVariants = nil, nil
		default:
			if len(cfg.serverVariants) == 0 {
				cfg.serverVariants = serverVariantNames
			}
			if len(cfg.dialVariants) == 0 {
				cfg.dialVariants = dialVariantNames
			}
			for _, v := range cfg.serverVariants {
				if _, err := serverVariant(v); err != nil {
					return cfg, err
				}
			}
			for _, v := range cfg.dialVariants {
				if _, err := dialVariant(v); err != nil {
					return cfg, err
				}
			}
		}
	}
	if cfg.pprofPath != pathGRPC && cfg.pprofPath != pathREST {
		return cfg, fmt.Errorf("--pprof-path %q: want %s or %s", cfg.pprofPath, pathGRPC, pathREST)
	}
	if cfg.conc[0] != 1 {
		cfg.conc = append([]int{1}, cfg.conc...)
	}
	if cfg.procs < 1 || cfg.procs > 3 {
		return cfg, errors.New("--procs must be 1, 2 or 3")
	}
	if cfg.rounds < 1 {
		return cfg, errors.New("--rounds must be at least 1")
	}
	return cfg, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "forecast-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.role != "" {
		o := emuRoleOptions{Predictors: cfg.predictors, JobsPerPredictor: cfg.jobsPerPredictor, Latency: cfg.emuLatency}
		g := gwRoleOptions{EmulatorURL: cfg.emulatorURL, Region: cfg.region, CacheTTL: cfg.cacheTTL, Variants: cfg.serverVariants}
		return serveRole(ctx, cfg.role, o, g, os.Stdin, stdout)
	}
	res, err := bench(ctx, cfg, stderr)
	if res != nil {
		if cfg.grpcOptions {
			printExperiment(stdout, res, cfg)
		} else {
			printReport(stdout, res, cfg)
		}
		if cfg.jsonPath != "" {
			b, jerr := json.MarshalIndent(res, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(cfg.jsonPath, append(b, '\n'), 0o644)
			}
			if jerr != nil && err == nil {
				err = jerr
			}
		}
		if err == nil && res.Errors > 0 {
			err = fmt.Errorf("%d calls failed", res.Errors)
		}
	}
	return err
}

// bench runs every measurement; progress goes to log.
func bench(ctx context.Context, cfg config, log io.Writer) (*results, error) {
	res := &results{
		Started: time.Now(),
		Machine: machine{NProc: runtime.NumCPU(), CPU: cpuModel(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH},
		Config: map[string]any{
			"duration": cfg.duration.String(), "high_duration": cfg.highDuration.String(), "rounds": cfg.rounds,
			"concurrency": cfg.conc, "predictors": cfg.predictors, "jobs_per_predictor": cfg.jobsPerPredictor,
			"emulator_latency": cfg.emuLatency.String(), "procs": cfg.procs,
			"describe_cache_ttl": cfg.cacheTTL.String(), "gomaxprocs": runtime.GOMAXPROCS(0),
		},
	}
	fmt.Fprintf(log, "starting emulator (%d x %d backtest jobs) and gateway\n", cfg.predictors, cfg.jobsPerPredictor)
	st, err := startStack(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.stop()
	c, err := newClients(ctx, st)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if err := pickJobs(ctx, c, slices.Max(cfg.conc)); err != nil {
		return nil, err
	}

	if cfg.grpcOptions {
		res.Config["server_variants"], res.Config["dial_variants"] = cfg.serverVariants, cfg.dialVariants
		paths, err := c.experimentPaths(cfg)
		if err != nil {
			return nil, err
		}
		if res.Paths, err = measure(ctx, cfg, c, paths, log); err != nil {
			return nil, err
		}
		for _, p := range res.Paths {
			res.Errors += p.Errors
			if p.FirstError != "" {
				fmt.Fprintf(log, "%s: %d errors, first: %s\n", p.Path, p.Errors, p.FirstError)
			}
		}
		return res, nil
	}

	if res.Paths, err = measure(ctx, cfg, c, c.tablePaths(), log); err != nil {
		return nil, err
	}
	for _, p := range res.Paths {
		res.Errors += p.Errors
		if p.FirstError != "" {
			fmt.Fprintf(log, "%s %s: %d errors, first: %s\n", p.Path, p.Op, p.Errors, p.FirstError)
		}
	}
	res.Targets = evaluate(res.Paths, slices.Max(cfg.conc))

	fmt.Fprintln(log, "listing every job at each page size")
	if res.Efficiency, err = listAll(ctx, c, cfg.pageSizes); err != nil {
		return res, err
	}
	if cfg.pprofDir != "" {
		fmt.Fprintf(log, "profiling the gateway for %s under %s Describe load at c=%d\n", cfg.pprofSeconds, cfg.pprofPath, slices.Max(cfg.conc))
		files, err := profile(ctx, c, c.caller(cfg.pprofPath, opDescribe), slices.Max(cfg.conc), cfg.pprofSeconds, cfg.pprofDir)
		if err != nil {
			return res, err
		}
		fmt.Fprintf(log, "wrote %s (go tool pprof -top FILE)\n", strings.Join(files, ", "))
	}
	m, err := c.gatewayMem(ctx)
	if err != nil {
		return res, err
	}
	res.GatewayRSS, res.GatewayHeap, res.GatewayGoroutines = m.RSSKiB, m.HeapAlloc, m.Goroutines
	return res, nil
}
