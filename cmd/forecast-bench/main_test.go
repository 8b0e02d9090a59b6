package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the whole bench in one process with tiny durations and a
// small fixture: it must finish without errors and produce plausible,
// non-zero figures. It asserts nothing about speed.
// runSmall runs the command with args and --json, and returns its report
// and its JSON results.
func runSmall(t *testing.T, args ...string) (string, results) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	var out, log bytes.Buffer
	if err := run(ctx, append(args, "--json", jsonPath), &out, &log); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, log.String(), out.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return out.String(), res
}

func TestSmoke(t *testing.T) {
	out, res := runSmall(t,
		"--procs", "1", "--duration", "60ms", "--high-duration", "60ms", "--warmup", "10ms", "--rounds", "1",
		"--concurrency", "1,4", "--predictors", "3", "--jobs-per-predictor", "50", "--page-sizes", "10,1000")
	for _, want := range []string{"Describe", "List, one page of 100 jobs", "Upstream efficiency", "Targets", "errors: 0", "cached", "pass-through"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if len(res.Paths) != 9 {
		t.Fatalf("%d path results, want 9", len(res.Paths))
	}
	for _, p := range res.Paths {
		if p.Errors != 0 || p.Calls == 0 || p.P50us <= 0 || p.P99us < p.P50us || p.RPS[1] <= 0 || p.RPS[4] <= 0 {
			t.Errorf("implausible %s %s: %+v", p.Path, p.Op, p)
		}
		if p.Path != pathDirect && p.GatewayAllocs <= 0 {
			t.Errorf("%s %s: no allocations counted in the gateway", p.Path, p.Op)
		}
		// One process: the gateway's CPU is the bench process's.
		if p.GatewayCPUus[4] <= 0 || p.ClientCPUus[4] <= 0 {
			t.Errorf("%s %s: no CPU time counted at c=4: %v %v", p.Path, p.Op, p.GatewayCPUus, p.ClientCPUus)
		}
		// Every uncached call is an upstream call; the cached path makes
		// (almost) none; the floor none at all.
		switch p.Path {
		case pathCached:
			if p.UpstreamPerCall > 0.05 || !strings.Contains(p.Label, "cached") {
				t.Errorf("cached path: %.3f upstream calls per call, label %q", p.UpstreamPerCall, p.Label)
			}
		case pathNoop:
			if p.UpstreamPerCall != 0 {
				t.Errorf("no-op path: %.3f upstream calls per call", p.UpstreamPerCall)
			}
		default:
			if p.UpstreamPerCall < 0.99 || p.UpstreamPerCall > 1.01 {
				t.Errorf("%s %s: %.3f upstream calls per call, want 1", p.Path, p.Op, p.UpstreamPerCall)
			}
		}
	}
	for _, e := range res.Efficiency {
		if e.Total != 150 || e.Jobs != 150 || e.UpstreamCalls < int64(e.Ideal) || e.Problem != "" {
			t.Errorf("upstream efficiency at page size %d: %+v", e.PageSize, e)
		}
	}
	if res.GatewayRSS <= 0 {
		if _, err := os.Stat("/proc/self/status"); err == nil {
			t.Errorf("no gateway RSS")
		}
	}
}

// TestSmokeGRPCOptions runs the grpc-go options experiment in one process,
// tiny: every variant answers, every uncached call reaches the emulator.
func TestSmokeGRPCOptions(t *testing.T) {
	out, res := runSmall(t,
		"--procs", "1", "--grpc-options", "--duration", "30ms", "--high-duration", "30ms", "--warmup", "10ms", "--rounds", "1",
		"--concurrency", "1,4", "--predictors", "3", "--jobs-per-predictor", "50")
	// direct, REST, floor, 4 dial variants, 6 server variants x 2, both
	// windows x 2, DoChan.
	if want := 3 + len(dialVariantNames) + 2*len(serverVariantNames) + 2 + 1; len(res.Paths) != want {
		t.Fatalf("%d path results, want %d:\n%s", len(res.Paths), want, out)
	}
	for _, p := range res.Paths {
		if p.Errors != 0 || p.Calls == 0 || p.P50us <= 0 {
			t.Errorf("implausible %s: %+v", p.Path, p)
		}
		if p.Path != pathNoop && (p.UpstreamPerCall < 0.99 || p.UpstreamPerCall > 1.01) {
			t.Errorf("%s: %.3f upstream calls per call, want 1", p.Path, p.UpstreamPerCall)
		}
	}
	if !strings.Contains(out, "pass srv=workers+window") {
		t.Errorf("report lacks the combined variant:\n%s", out)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--concurrency", "8,64"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.conc; len(got) != 3 || got[0] != 1 || got[2] != 64 {
		t.Errorf("concurrency %v: latency level 1 must come first", got)
	}
	for _, bad := range [][]string{{"--procs", "4"}, {"--rounds", "0"}, {"--concurrency", "0"}, {"extra"}, {"--grpc-options", "--server-variants", "bogus"}, {"--grpc-options", "--dial-variants", "window+bogus"}, {"--pprof-path", "noop"}} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
