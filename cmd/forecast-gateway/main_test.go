package main

// Real-binary tests: the command is built into a temporary directory and
// run as a child process, as an operator or an orchestrator would.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// buildBinary compiles this command, once per test binary (each build
// takes seconds on a loaded machine); TestMain removes it.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var binDir string

var built = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "forecast-gateway-test-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "forecast-gateway")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// proc is a running gateway binary.
type proc struct {
	cmd       *exec.Cmd
	grpcAddr  string
	httpAddr  string
	adminAddr string
	exited    chan struct{}
	exitErr   error

	mu   sync.Mutex
	logs []map[string]any
	raw  []string
}

// startBinary runs bin with args and waits for its "gateway listening"
// log line, which carries the real addresses of the :0 listeners.
func startBinary(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	return startBinaryEnv(t, bin, nil, args...)
}

// startBinaryEnv is startBinary with env added to the environment.
func startBinaryEnv(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	if !slices.Contains(args, "--admin-addr") {
		// Tests run side by side: never the fixed default admin port.
		args = append([]string{"--admin-addr", "127.0.0.1:0"}, args...)
	}
	p := &proc{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan [3]string, 1)
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var m map[string]any
			_ = json.Unmarshal([]byte(line), &m)
			p.mu.Lock()
			p.raw = append(p.raw, line)
			if m != nil {
				p.logs = append(p.logs, m)
			}
			p.mu.Unlock()
			if m["msg"] == "gateway listening" {
				g, _ := m["grpc"].(string)
				h, _ := m["http"].(string)
				a, _ := m["admin"].(string)
				listening <- [3]string{g, h, a}
			}
		}
	}()
	go func() {
		<-scanDone // Wait must not run before the pipe is drained
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", strings.Join(p.lines(), "\n"))
		}
	})
	select {
	case a := <-listening:
		p.grpcAddr, p.httpAddr, p.adminAddr = a[0], a[1], a[2]
	case <-p.exited:
		t.Fatalf("gateway exited before listening: %v\n%s", p.exitErr, strings.Join(p.lines(), "\n"))
	case <-time.After(30 * time.Second):
		t.Fatalf("no 'gateway listening' log line after 30s:\n%s", strings.Join(p.lines(), "\n"))
	}
	if p.grpcAddr == "" || p.httpAddr == "" || strings.HasSuffix(p.grpcAddr, ":0") {
		t.Fatalf("addresses from the log: grpc %q http %q", p.grpcAddr, p.httpAddr)
	}
	return p
}

func (p *proc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.raw...)
}

func (p *proc) logged(msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.logs {
		if m["msg"] == msg {
			return true
		}
	}
	return false
}

// TestBinarySIGTERMDrainsUnderLoad: SIGTERM with slow calls in flight
// flips health to NOT_SERVING, stops accepting connections, lets every
// in-flight gRPC and REST call finish (0 failed), and the process exits 0
// well within --drain-timeout.
func TestBinarySIGTERMDrainsUnderLoad(t *testing.T) {
	const (
		latency      = 1500 * time.Millisecond
		drainTimeout = 15 * time.Second
		grpcN, restN = 24, 12
	)
	bin := buildBinary(t)
	p := startBinary(t, bin,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--emulator-latency", latency.String(), "--drain-timeout", drainTimeout.String(),
		"--health-interval", "100ms", "--rate-limit-read", "off")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := gatewayv1.NewForecastJobServiceClient(conn)
	hc := healthpb.NewHealthClient(conn)
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch: %v", err)
		}
		if r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
	}
	statuses := make(chan []healthpb.HealthCheckResponse_ServingStatus, 1)
	go func() {
		var seen []healthpb.HealthCheckResponse_ServingStatus
		for {
			r, err := watch.Recv()
			if err != nil {
				statuses <- seen
				return
			}
			seen = append(seen, r.GetStatus())
		}
	}()

	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: restN}}
	defer httpc.CloseIdleConnections()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(s string) { mu.Lock(); failures = append(failures, s); mu.Unlock() }
	for range grpcN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 5}); err != nil {
				fail("gRPC: " + err.Error())
			}
		}()
	}
	for range restN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.httpAddr+"/v1/dataset-import-jobs?page_size=5", nil)
			resp, err := httpc.Do(req)
			if err != nil {
				fail("REST: " + err.Error())
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fail("REST: HTTP " + resp.Status)
			}
		}()
	}
	// The calls take latency each; a third of it is ample for all of them
	// to reach the gateway over loopback.
	time.Sleep(latency / 3)
	sigAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Stops accepting new connections while in-flight calls drain.
	deadline := time.Now().Add(latency / 2)
	refused := false
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", p.grpcAddr, 100*time.Millisecond)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Error("the gRPC listener still accepted connections during the drain")
	}

	wg.Wait()
	select {
	case <-p.exited:
	case <-time.After(drainTimeout + 5*time.Second):
		t.Fatalf("process still running %v after SIGTERM", time.Since(sigAt))
	}
	took := time.Since(sigAt)
	var exitErr *exec.ExitError
	if errors.As(p.exitErr, &exitErr) || p.exitErr != nil {
		t.Errorf("exit: %v, want status 0", p.exitErr)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d in-flight calls failed during the drain: %v", len(failures), grpcN+restN, failures)
	}
	if took > latency+5*time.Second {
		t.Errorf("exited %v after SIGTERM, want about the in-flight latency %v", took, latency)
	}
	select {
	case seen := <-statuses:
		if len(seen) == 0 || seen[len(seen)-1] != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health watcher saw %v after SIGTERM, want NOT_SERVING", seen)
		}
	case <-time.After(5 * time.Second):
		t.Error("health watch did not end after the process exited")
	}
	for _, msg := range []string{"signal received, draining", "gateway draining", "gateway stopped"} {
		if !p.logged(msg) {
			t.Errorf("no %q log line", msg)
		}
	}
	t.Logf("SIGTERM with %d in-flight calls (latency %v): %d failed, exit %v after %v", grpcN+restN, latency, len(failures), p.exitErr, took.Round(time.Millisecond))
}

// TestBinaryRejectsBadFlags: flag errors exit 2 before listening.
func TestBinaryRejectsBadFlags(t *testing.T) {
	bin := buildBinary(t)
	for _, args := range [][]string{
		{"--upstream", "gcp"},
		{"--log-level", "loud"},
		{"--emulator-latency", "soon"},
		{"--rate-limit-read", "20/s,bust=4"},
		{"--rate-limit-create", ""},
		{"--upstream-timeout", "0s"},
		{"--shutdown-delay", "-1s"},
		{"--jwt-leeway", "1h"},
		{"--cors-allowed-origins", "https://a.example,,https://b.example"},
		{"--skip-startup-check"},                          // emulator upstream: cannot apply
		{"--upstream", "aws", "--emulator-latency", "1s"}, // no embedded emulator
		{"--endpoint-url", "http://127.0.0.1:1", "--emulator-job-duration", "1s"},
		{"--reflection=maybe"},
		{"--log-format", "xml"},
		{"--grpc-addr", "localhost"},      // no port
		{"--http-addr", "127.0.0.1:http"}, // not a number
		{"--admin-addr", "127.0.0.1:70000"},
		{"--grpc-max-connection-age", "-1m"},
		{"positional"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit status 2\n%s", args, err, out)
		}
	}
}

// TestBinaryRefusesExposedWithoutAuth: a non-loopback listener with no
// authentication is refused at start, with a message saying what to set;
// --allow-unauthenticated starts it with a warning.
func TestBinaryRefusesExposedWithoutAuth(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "--grpc-addr", "0.0.0.0:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exposed without auth: %v, want a failed start\n%s", err, out)
	}
	for _, want := range []string{"0.0.0.0:0 is not a loopback address", "--jwks-file", "--client-ca-file", "--allow-unauthenticated"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("start-up error does not mention %q:\n%s", want, out)
		}
	}

	p := startBinary(t, bin, "--grpc-addr", "0.0.0.0:0", "--http-addr", "127.0.0.1:0", "--allow-unauthenticated")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if log := strings.Join(p.lines(), "\n"); !strings.Contains(log, "WITHOUT authentication") {
		t.Errorf("no warning about serving without authentication:\n%s", log)
	}
}

// exit runs the binary to completion with env added and returns its exit
// code and output.
func exit(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatal(err)
	return -1, ""
}

// TestBinaryConfiguration: every flag also comes from FORECAST_GATEWAY_*,
// the command line wins, and a mistake (an unknown variable, a bad value,
// an address taken or malformed) exits 2 with one line naming it.
func TestBinaryConfiguration(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string // in the output
	}{
		{"unknown variable", []string{"FORECAST_GATEWAY_GRPC_ADR=127.0.0.1:0"}, nil, "FORECAST_GATEWAY_GRPC_ADR names no setting"},
		{"bad value", []string{"FORECAST_GATEWAY_PAGE_TOKEN_TTL=48h"}, nil, "--page-token-ttl must be more than 0 and at most 24h"},
		{"unparsable duration", []string{"FORECAST_GATEWAY_DRAIN_TIMEOUT=soon"}, nil, "FORECAST_GATEWAY_DRAIN_TIMEOUT"},
		{"bad address", []string{"FORECAST_GATEWAY_HTTP_ADDR=nowhere"}, nil, "--http-addr \"nowhere\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := exit(t, bin, tc.env, tc.args...)
			if code != 2 || !strings.Contains(out, tc.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("exit %d, output %q; want exit 2 and one line with %q", code, out, tc.want)
			}
		})
	}

	// An address already taken: exit 2 naming it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if code, out := exit(t, bin, nil, "--grpc-addr", "127.0.0.1:0", "--http-addr", ln.Addr().String(), "--admin-addr", "127.0.0.1:0"); code != 2 || !strings.Contains(out, ln.Addr().String()) {
		t.Errorf("taken address: exit %d\n%s", code, out)
	}

	// The environment sets what the command line does not; the command
	// line wins (a bad FORECAST_GATEWAY_LOG_LEVEL is never read).
	// Kubernetes service links of a Service named forecast-gateway are
	// not settings: they are ignored.
	cmdEnv := []string{"FORECAST_GATEWAY_HTTP_ADDR=127.0.0.1:0", "FORECAST_GATEWAY_LOG_LEVEL=loud", "FORECAST_GATEWAY_LOG_FORMAT=json",
		"FORECAST_GATEWAY_SERVICE_HOST=10.0.0.7", "FORECAST_GATEWAY_SERVICE_PORT_GRPC=9090", "FORECAST_GATEWAY_PORT=tcp://10.0.0.7:9090",
		"FORECAST_GATEWAY_PORT_9090_TCP_ADDR=10.0.0.7"}
	p := startBinaryEnv(t, bin, cmdEnv, "--grpc-addr", "127.0.0.1:0", "--log-level", "info")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if p.exitErr != nil {
		t.Errorf("exit: %v", p.exitErr)
	}

	// --version: version, commit and Go version.
	code, out := exit(t, bin, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "forecast-gateway ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

// TestBinaryAdminEndpoints: the admin listener answers liveness,
// readiness and metrics; readiness turns 503 as soon as the drain starts
// (during --shutdown-delay the API still serves), liveness stays 200.
func TestBinaryAdminEndpoints(t *testing.T) {
	bin := buildBinary(t)
	p := startBinary(t, bin, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--shutdown-delay", "3s", "--pprof")
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + p.adminAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "forecast_gateway_build_info{", "/debug/pprof/": "goroutine"} {
		if code, body := get(path); code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %.200q", path, code, body)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, _ := get("/readyz")
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after SIGTERM", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during the shutdown delay: %d", code)
	}
	// The API still serves during the delay.
	if resp, err := http.Get("http://" + p.httpAddr + "/v1/dataset-import-jobs?page_size=1"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("REST during the shutdown delay: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	<-p.exited
}
