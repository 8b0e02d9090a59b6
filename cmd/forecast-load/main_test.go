package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestLoadSmoke runs the in-process load for about a second: requests of
// every kind over both transports, 0 errors, no goroutine growth once idle,
// and the stack is gone afterwards.
func TestLoadSmoke(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg, err := parseFlags([]string{"--duration", "1s", "--warmup", "200ms", "--grpc-clients", "3", "--rest-clients", "3", "--create-percent", "20"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := run(context.Background(), cfg, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests < 20 {
		t.Errorf("%d requests in a second", rep.Requests)
	}
	if rep.Errors != 0 {
		t.Errorf("%d errors: %v", rep.Errors, rep.FirstErrors)
	}
	for _, k := range []string{"gRPC list", "gRPC describe", "gRPC create", "REST list", "REST describe", "REST create"} {
		if rep.ByKind[k] == 0 {
			t.Errorf("no %q requests: %v", k, rep.ByKind)
		}
	}
	if rep.GoroutineGrowth != 0 {
		t.Errorf("goroutines grew by %d once idle", rep.GoroutineGrowth)
	}
	if rep.P99 <= 0 || rep.After.RSSKiB <= 0 {
		t.Errorf("missing figures: p99 %v RSS %d", rep.P99, rep.After.RSSKiB)
	}
	for _, want := range []string{"requests:", "errors: 0", "p99", "goroutines warm -> after"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Errorf("goroutines %d after the run, %d before", n, before)
	}
}

func TestLoadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "0s"},
		{"--duration", "11m"},
		{"--grpc-addr", "127.0.0.1:1"},
		{"--grpc-addr", "10.0.0.1:9090", "--http-addr", "10.0.0.1:8080"},
		{"--create-percent", "80", "--describe-percent", "30"},
		{"--grpc-clients", "0", "--rest-clients", "0"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := parseFlags([]string{"--grpc-addr", "127.0.0.1:9090", "--http-addr", "localhost:8080"}); err != nil {
		t.Errorf("loopback addresses rejected: %v", err)
	}
}
