package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// results is the whole run, also written by --json.
type results struct {
	Started    time.Time      `json:"started"`
	Machine    machine        `json:"machine"`
	Config     map[string]any `json:"config"`
	Paths      []*pathResult  `json:"paths"`
	Efficiency []efficiency   `json:"upstream_efficiency"`
	GatewayRSS int64          `json:"gateway_rss_kib"`
	// The gateway process's heap in use and goroutines at the end.
	GatewayHeap       uint64   `json:"gateway_heap_alloc"`
	GatewayGoroutines int      `json:"gateway_goroutines"`
	Errors            int64    `json:"errors"`
	Targets           []target `json:"targets"`
}

type machine struct {
	NProc int    `json:"nproc"`
	CPU   string `json:"cpu"`
	Go    string `json:"go"`
	OS    string `json:"os"`
}

type target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit string  `json:"limit"`
	Met   bool    `json:"met"`
	// Info: reported next to a target, not a target itself.
	Info bool `json:"info,omitempty"`
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func find(rs []*pathResult, path, op string) *pathResult {
	for _, r := range rs {
		if r.Path == path && (r.Op == op || path == pathNoop) {
			return r
		}
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// evaluate computes the ratios the issue asks for and whether each target
// is met.
func evaluate(rs []*pathResult, high int) []target {
	noop := find(rs, pathNoop, "")
	var ts []target
	for _, op := range []string{opDescribe, opList} {
		d, g, r := find(rs, pathDirect, op), find(rs, pathGRPC, op), find(rs, pathREST, op)
		added := g.P50us - d.P50us
		if op == opDescribe {
			ts = append(ts, target{Name: "describe: gateway added p50 (2)-(1) over no-op floor (4)", Value: ratio(added, noop.P50us), Limit: "<= 1.5", Met: ratio(added, noop.P50us) <= 1.5})
			if cached, pass := find(rs, pathCached, op), find(rs, pathPass, op); cached != nil && pass != nil {
				ts = append(ts,
					target{Name: "describe: cached (5) p50 over direct (1) p50", Value: ratio(cached.P50us, d.P50us), Limit: "<= 1", Met: ratio(cached.P50us, d.P50us) <= 1},
					target{Name: fmt.Sprintf("describe: cached (5) throughput at c=%d over direct (1)", high), Value: ratio(cached.RPS[high], d.RPS[high]), Limit: ">= 2", Met: ratio(cached.RPS[high], d.RPS[high]) >= 2},
					target{Name: "describe: gRPC (2) p50 over pass-through (6) p50", Value: ratio(g.P50us, pass.P50us), Limit: "<= 1.1", Met: ratio(g.P50us, pass.P50us) <= 1.1},
					target{Name: "describe: REST (3) p50 over pass-through (6) p50", Value: ratio(r.P50us, pass.P50us), Limit: "<= 1.1", Met: ratio(r.P50us, pass.P50us) <= 1.1, Info: true},
				)
			}
		}
		ts = append(ts,
			target{Name: op + ": REST (3) over gRPC (2) at p50", Value: ratio(r.P50us, g.P50us), Limit: "<= 1.25", Met: ratio(r.P50us, g.P50us) <= 1.25},
			target{Name: fmt.Sprintf("%s: gRPC (2) throughput at c=%d over direct (1)", op, high), Value: ratio(g.RPS[high], d.RPS[high]), Limit: ">= 0.5", Met: ratio(g.RPS[high], d.RPS[high]) >= 0.5},
			target{Name: fmt.Sprintf("%s: REST (3) throughput at c=%d over direct (1)", op, high), Value: ratio(r.RPS[high], d.RPS[high]), Limit: ">= 0.5", Met: ratio(r.RPS[high], d.RPS[high]) >= 0.5},
		)
	}
	return ts
}

func printReport(w io.Writer, res *results, cfg config) {
	high := slices.Max(cfg.conc)
	fmt.Fprintf(w, "\nforecast-bench  %s  nproc=%d  %s  %s\n", res.Started.Format(time.RFC3339), res.Machine.NProc, res.Machine.CPU, res.Machine.Go)
	fmt.Fprintf(w, "c=1 latency: %s per path over %d interleaved rounds; c=%d: %s per path; emulator latency %s; processes: %s\n",
		cfg.duration, cfg.rounds, high, cfg.highDuration, cfg.emuLatency, []string{"", "one (bench+gateway+emulator)", "two (bench+gateway | emulator)", "three (bench | gateway | emulator)"}[cfg.procs])
	noop := find(res.Paths, pathNoop, "")
	for _, op := range []string{opDescribe, opList} {
		title := "Describe (DescribePredictorBacktestExportJob)"
		if op == opList {
			title = "List, one page of 100 jobs (ListPredictorBacktestExportJobs)"
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		hdr := "path\tp50 µs\tp99 µs\t"
		for _, c := range cfg.conc {
			hdr += fmt.Sprintf("calls/s c=%d\t", c)
		}
		hdr += fmt.Sprintf("gw allocs/call\tgw B/call\tclient allocs/call\tclient B/call\tgw CPU µs/call c=%d\tclient CPU µs/call c=%d\tupstream/call\terrors\t", high, high)
		fmt.Fprintln(tw, hdr)
		rows := []*pathResult{find(res.Paths, pathDirect, op), find(res.Paths, pathGRPC, op), find(res.Paths, pathREST, op), noop}
		if op == opDescribe {
			rows = append(rows, find(res.Paths, pathCached, op), find(res.Paths, pathPass, op))
		}
		for _, r := range rows {
			if r == nil {
				continue
			}
			line := fmt.Sprintf("%s\t%.0f\t%.0f\t", r.Label, r.P50us, r.P99us)
			for _, c := range cfg.conc {
				line += fmt.Sprintf("%.0f\t", r.RPS[c])
			}
			gwA, gwB := fmt.Sprintf("%.0f", r.GatewayAllocs), fmt.Sprintf("%.0f", r.GatewayBytes)
			if r.Path == pathDirect {
				gwA, gwB = "-", "-"
			}
			line += fmt.Sprintf("%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.3f\t%d\t", gwA, gwB, r.ClientAllocs, r.ClientBytes, r.GatewayCPUus[high], r.ClientCPUus[high], r.UpstreamPerCall, r.Errors)
			fmt.Fprintln(tw, line)
		}
		_ = tw.Flush()
		d, g, r := find(res.Paths, pathDirect, op), find(res.Paths, pathGRPC, op), find(res.Paths, pathREST, op)
		added := g.P50us - d.P50us
		fmt.Fprintf(w, "ratios: (2)/(1) p50 %.2f  p99 %.2f  calls/s c=%d %.2f | (3)/(2) p50 %.2f  p99 %.2f | (3)/(1) calls/s c=%d %.2f\n",
			ratio(g.P50us, d.P50us), ratio(g.P99us, d.P99us), high, ratio(g.RPS[high], d.RPS[high]),
			ratio(r.P50us, g.P50us), ratio(r.P99us, g.P99us), high, ratio(r.RPS[high], d.RPS[high]))
		fmt.Fprintf(w, "gateway added p50 (2)-(1) = %.0f µs = %.2f x no-op floor (4) p50 %.0f µs", added, ratio(added, noop.P50us), noop.P50us)
		if op == opList {
			fmt.Fprintf(w, "; per job %.2f µs, %.1f allocs, %.0f B in the gateway", added/listPageSize, g.GatewayAllocs/listPageSize, g.GatewayBytes/listPageSize)
		}
		fmt.Fprintln(w)
		if cached, pass := find(res.Paths, pathCached, op), find(res.Paths, pathPass, op); op == opDescribe && cached != nil && pass != nil {
			fmt.Fprintf(w, "cached: (5)/(1) p50 %.2f  calls/s c=1 %.2f  c=%d %.2f | pass-through anchor: (2)/(6) p50 %.2f  (3)/(6) p50 %.2f  (6)/(1) p50 %.2f  (2)/(6) calls/s c=%d %.2f\n",
				ratio(cached.P50us, d.P50us), ratio(cached.RPS[1], d.RPS[1]), high, ratio(cached.RPS[high], d.RPS[high]),
				ratio(g.P50us, pass.P50us), ratio(r.P50us, pass.P50us), ratio(pass.P50us, d.P50us), high, ratio(g.RPS[high], pass.RPS[high]))
		}
	}

	fmt.Fprintf(w, "\nUpstream efficiency: listing all %d backtest jobs through the gateway (gRPC)\n", jobsOf(res.Efficiency))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "page_size\tclient calls\tjobs listed\tupstream List calls\tideal ceil(N/min(page_size,100))\tupstream/ideal\t")
	for _, e := range res.Efficiency {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.2f\t%s\n", e.PageSize, e.ClientCalls, e.Jobs, e.UpstreamCalls, e.Ideal, ratio(float64(e.UpstreamCalls), float64(e.Ideal)), e.Problem)
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nTargets\n")
	for _, t := range res.Targets {
		verdict := map[bool]string{true: "MET", false: "MISSED"}[t.Met]
		if t.Info {
			verdict = "(for information: " + strings.ToLower(verdict) + ")"
		}
		fmt.Fprintf(w, "  %-62s %6.2f  (%s)  %s\n", t.Name, t.Value, t.Limit, verdict)
	}
	fmt.Fprintf(w, "\ngateway process at end: RSS %.1f MiB, heap in use %.1f MiB, %d goroutines   errors: %d\n",
		float64(res.GatewayRSS)/1024, float64(res.GatewayHeap)/(1<<20), res.GatewayGoroutines, res.Errors)
}

func jobsOf(es []efficiency) int64 {
	if len(es) == 0 {
		return 0
	}
	return es[0].Total
}

// profile drives gRPC Describe load at concurrency conc and meanwhile takes
// a CPU profile and a delta allocation profile of the gateway process.
func profile(ctx context.Context, c *clients, fn callFunc, conc int, d time.Duration, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	secs := max(int(d/time.Second), 1)
	profiles := []struct{ name, url string }{
		{"gateway-cpu.pprof", fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", c.st.gw.Debug, secs)},
		{"gateway-allocs.pprof", fmt.Sprintf("%s/debug/pprof/allocs?seconds=%d", c.st.gw.Debug, secs)},
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		files []string
	)
	for _, p := range profiles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, p.name)
			if err := download(ctx, c.debug, p.url, path); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			mu.Lock()
			files = append(files, path)
			mu.Unlock()
		}()
	}
	time.Sleep(100 * time.Millisecond) // let both profiles start first
	ph := runPhase(ctx, fn, conc, time.Duration(secs)*time.Second+500*time.Millisecond, 1)
	wg.Wait()
	if ph.errors > 0 {
		errs = append(errs, fmt.Errorf("profile load: %d errors, first: %v", ph.errors, ph.firstErr))
	}
	if len(errs) > 0 {
		return files, errs[0]
	}
	return files, nil
}

func download(ctx context.Context, hc *http.Client, u, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
