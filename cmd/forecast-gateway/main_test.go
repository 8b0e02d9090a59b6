package main

// Real-binary tests: the command is built into a temporary directory and
// run as a child process, as an operator or an orchestrator would.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// buildBinary compiles this command into dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := filepath.Join(t.TempDir(), "forecast-gateway")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a running gateway binary.
type proc struct {
	cmd      *exec.Cmd
	grpcAddr string
	httpAddr string
	exited   chan struct{}
	exitErr  error

	mu   sync.Mutex
	logs []map[string]any
	raw  []string
}

// startBinary runs bin with args and waits for its "gateway listening"
// log line, which carries the real addresses of the :0 listeners.
func startBinary(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan [2]string, 1)
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
				listening <- [2]string{g, h}
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
		p.grpcAddr, p.httpAddr = a[0], a[1]
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
	out, err := exec.Command(bin, "--grpc-addr", "0.0.0.0:0", "--http-addr", "127.0.0.1:0").CombinedOutput()
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
