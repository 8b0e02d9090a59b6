package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// The bench runs as up to three processes so that what is measured in the
// gateway is the gateway alone:
//
//	bench (parent): every client (SDK, gRPC, REST, no-op gRPC) and the driver
//	emulator child: the Forecast emulator plus a tiny control endpoint
//	gateway child:  the gateway, a trivial no-op gRPC server, and a debug
//	                endpoint (MemStats, VmRSS, pprof)
//
// (--procs 3, the default). The children are the bench binary re-executed with --role. Each prints one
// JSON line with its addresses on stdout and exits when its stdin closes
// (so they never outlive the parent). --inprocess runs both roles inside the
// parent instead (the smoke test does this) and --procs 2 keeps only the
// emulator in a child; allocation figures are then the bench process's,
// clients included.

// emuInfo is what the emulator role reports.
type emuInfo struct {
	URL     string `json:"url"`     // Forecast endpoint for the SDK
	Control string `json:"control"` // http://host:port of the control endpoint
	Region  string `json:"region"`
	PID     int    `json:"pid"`
}

// gwInfo is what the gateway role reports.
type gwInfo struct {
	GRPC  string `json:"grpc"`  // gateway gRPC address
	HTTP  string `json:"http"`  // gateway REST address
	Noop  string `json:"noop"`  // trivial gRPC server (health only)
	Pass  string `json:"pass"`  // the pass-through anchor (default grpc.NewServer)
	Debug string `json:"debug"` // http://host:port of /memstats and /debug/pprof/
	PID   int    `json:"pid"`
	// Variants (--grpc-options only): server variant name -> address of a
	// grpc-go server with that variant's options, serving the pass-through
	// anchor and the gateway's service (without the transport's chain).
	Variants map[string]string `json:"variants,omitempty"`
}

// gwRoleOptions configure the gateway role.
type gwRoleOptions struct {
	EmulatorURL, Region string
	// CacheTTL is the gateway's Describe cache TTL (gateway.Config.DescribeCacheTTL).
	CacheTTL time.Duration
	// Variants: start the servers of the grpc-go options experiment.
	Variants []string
}

// memSnap is the gateway process's allocation counters and resident size.
type memSnap struct {
	Mallocs    uint64        `json:"mallocs"`
	TotalAlloc uint64        `json:"total_alloc"`
	NumGC      uint32        `json:"num_gc"`
	RSSKiB     int64         `json:"rss_kib"`
	HeapAlloc  uint64        `json:"heap_alloc"` // at the last GC's end plus since
	Goroutines int           `json:"goroutines"`
	CPU        time.Duration `json:"cpu_ns"` // user + system CPU time of the process so far
}

func readMem() memSnap {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnap{Mallocs: ms.Mallocs, TotalAlloc: ms.TotalAlloc, NumGC: ms.NumGC, RSSKiB: vmRSS(), HeapAlloc: ms.HeapAlloc, Goroutines: runtime.NumGoroutine(), CPU: processCPU()}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSS is VmRSS of this process in KiB (0 where /proc is missing).
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

type emuRoleOptions struct {
	Predictors, JobsPerPredictor int
	Latency                      time.Duration
}

// startEmulatorRole starts the emulator and its control endpoint:
// GET /calls?op=X (upstream call count), POST /reset, GET /jobs.
func startEmulatorRole(o emuRoleOptions) (emuInfo, func(), error) {
	emu := emulator.New(emulator.Options{
		Predictors: o.Predictors, BacktestJobsPerPredictor: o.JobsPerPredictor,
		Latency: o.Latency,
		// A stopped clock: the fixtures stay as they are for the whole run
		// (on a running clock jobs move on and deleted ones disappear,
		// which would change what is measured midway).
		Clock:  emulator.NewFakeClock(time.Now()),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return emuInfo{}, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, emu.CallCount(r.URL.Query().Get("op")))
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) { emu.ResetCallCounts() })
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, emu.JobCount(jobtype.PredictorBacktestExportJob))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = emu.Close()
		return emuInfo{}, nil, err
	}
	ctl := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = ctl.Serve(ln) }()
	info := emuInfo{URL: emu.URL(), Control: "http://" + ln.Addr().String(), Region: emu.Options().Region, PID: os.Getpid()}
	return info, func() { _ = ctl.Close(); _ = emu.Close() }, nil
}

// startGatewayRole starts the gateway through internal/gateway, as
// cmd/forecast-gateway does (in front of the emulator role), plus the no-op
// gRPC server of the floor measurement and the debug endpoint.
func startGatewayRole(ctx context.Context, o gwRoleOptions) (gwInfo, func(), error) {
	gw, err := gateway.Start(ctx, gateway.Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Upstream: gateway.Upstream{Kind: gateway.UpstreamEmulator, EndpointURL: o.EmulatorURL, Region: o.Region},
		// The cache serves only jobs in a terminal state; the uncached
		// paths describe unfinished jobs, so it is on for the cached path
		// alone.
		DescribeCacheTTL: o.CacheTTL,
		// Production's level (info) and handler type, output discarded.
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		HealthInterval: time.Hour, // keep probes out of the upstream counts
		// One client at concurrency 64 measures the gateway's own cost;
		// the limiter's is measured in internal/ratelimit's benchmarks.
		Security: gateway.Security{RateLimits: gateway.NoRateLimits},
	})
	if err != nil {
		return gwInfo{}, nil, err
	}
	var closers []func()
	stop := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	closers = append(closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Shutdown(sctx)
	})

	// The floor: grpc-go's own health service on a default server.
	noop := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(noop, hs)
	noopLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return gwInfo{}, nil, err
	}
	go func() { _ = noop.Serve(noopLn) }()
	closers = append(closers, noop.Stop)

	// The pass-through anchor, and the option experiment's servers.
	pass, err := startPassThrough(ctx, o)
	if err != nil {
		stop()
		return gwInfo{}, nil, err
	}
	closers = append(closers, pass.stop)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /memstats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(readMem())
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	dbgLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return gwInfo{}, nil, err
	}
	dbg := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = dbg.Serve(dbgLn) }()
	closers = append(closers, func() { _ = dbg.Close() })

	return gwInfo{GRPC: gw.GRPCAddr(), HTTP: gw.HTTPAddr(), Noop: noopLn.Addr().String(), Pass: pass.addr,
		Variants: pass.variants, Debug: "http://" + dbgLn.Addr().String(), PID: os.Getpid()}, stop, nil
}

// serveRole is the child side: start the role, print its info line, serve
// until stdin closes.
func serveRole(ctx context.Context, role string, o emuRoleOptions, g gwRoleOptions, stdin io.Reader, stdout io.Writer) error {
	var (
		info any
		stop func()
		err  error
	)
	switch role {
	case "emulator":
		info, stop, err = startEmulatorRole(o)
	case "gateway":
		info, stop, err = startGatewayRole(ctx, g)
	default:
		return fmt.Errorf("unknown --role %q", role)
	}
	if err != nil {
		return err
	}
	defer stop()
	if err := json.NewEncoder(stdout).Encode(info); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, stdin); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// child is a running role process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// spawn re-executes this binary with --role and reads its info line into v.
func spawn(role string, args []string, v any) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{"--role", role}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin}
	type res struct {
		line []byte
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadBytes('\n')
		ch <- res{line, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			c.stop()
			return nil, fmt.Errorf("%s child: %w", role, r.err)
		}
		if err := json.Unmarshal(r.line, v); err != nil {
			c.stop()
			return nil, fmt.Errorf("%s child: %w", role, err)
		}
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, errors.New(role + " child did not start within 60s")
	}
	return c, nil
}

func (c *child) stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// stack is the running emulator and gateway, wherever they run.
type stack struct {
	emu  emuInfo
	gw   gwInfo
	stop func()
}

func startStack(ctx context.Context, cfg config) (*stack, error) {
	o := emuRoleOptions{Predictors: cfg.predictors, JobsPerPredictor: cfg.jobsPerPredictor, Latency: cfg.emuLatency}
	g := gwRoleOptions{CacheTTL: cfg.cacheTTL, Variants: cfg.serverVariants}
	s := &stack{}
	if cfg.procs == 1 {
		emu, stopEmu, err := startEmulatorRole(o)
		if err != nil {
			return nil, err
		}
		g.EmulatorURL, g.Region = emu.URL, emu.Region
		gw, stopGW, err := startGatewayRole(ctx, g)
		if err != nil {
			stopEmu()
			return nil, err
		}
		s.emu, s.gw, s.stop = emu, gw, func() { stopGW(); stopEmu() }
		return s, nil
	}
	emuChild, err := spawn("emulator", []string{
		"--predictors", strconv.Itoa(o.Predictors), "--jobs-per-predictor", strconv.Itoa(o.JobsPerPredictor),
		"--emulator-latency", o.Latency.String(),
	}, &s.emu)
	if err != nil {
		return nil, err
	}
	g.EmulatorURL, g.Region = s.emu.URL, s.emu.Region
	if cfg.procs == 2 {
		gw, stopGW, err := startGatewayRole(ctx, g)
		if err != nil {
			emuChild.stop()
			return nil, err
		}
		s.gw, s.stop = gw, func() { stopGW(); emuChild.stop() }
		return s, nil
	}
	args := []string{"--emulator-url", s.emu.URL, "--region", s.emu.Region, "--describe-cache-ttl", cfg.cacheTTL.String()}
	if len(cfg.serverVariants) > 0 {
		args = append(args, "--server-variants", strings.Join(cfg.serverVariants, ","))
	}
	gwChild, err := spawn("gateway", args, &s.gw)
	if err != nil {
		emuChild.stop()
		return nil, err
	}
	s.stop = func() { gwChild.stop(); emuChild.stop() }
	return s, nil
}
