package deploy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The version the test binary is stamped with, through the Dockerfile's
// -ldflags (see dockerfile_test.go).
const (
	testVersion = "v0.0.0-deploytest"
	testCommit  = "0123456789abcdef-deploytest"
)

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// gatewayBinary builds cmd/forecast-gateway from the parent module once,
// with the -ldflags of the Dockerfile (VERSION and COMMIT filled in).
func gatewayBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		var ldflags string
		if ldflags, binaryErr = dockerLDFlags(); binaryErr != nil {
			return
		}
		ldflags = strings.NewReplacer("${VERSION}", testVersion, "$VERSION", testVersion, "${COMMIT}", testCommit, "$COMMIT", testCommit).Replace(ldflags)
		if binaryDir, binaryErr = os.MkdirTemp("", "forecast-gateway-deploy-test-"); binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "forecast-gateway")
		start := time.Now()
		cmd := exec.Command("go", "build", "-C", "..", "-ldflags", ldflags, "-o", binaryPath, "./cmd/forecast-gateway")
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build -C .. ./cmd/forecast-gateway: %v\n%s", err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "built the gateway in %s\n", time.Since(start).Round(time.Millisecond))
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// helpFlag matches a flag line of `--help`: the standard flag package's
// "  -name type" and pflag's "  -x, --name type".
var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--?([a-zA-Z0-9][a-zA-Z0-9-]*)\b`)

var (
	helpOnce  sync.Once
	helpText  string
	helpFlags map[string]bool
)

// binaryFlags returns the flags `forecast-gateway --help` lists, and the
// help text (which names the special variables such as
// FORECAST_GATEWAY_PAGE_TOKEN_KEYS).
func binaryFlags(t *testing.T) (map[string]bool, string) {
	t.Helper()
	bin := gatewayBinary(t)
	helpOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput() // exit status 0 or 2 depending on the flag package
		helpText = string(out)
		helpFlags = map[string]bool{}
		for _, m := range helpFlag.FindAllStringSubmatch(helpText, -1) {
			helpFlags[m[1]] = true
		}
	})
	if !helpFlags["grpc-addr"] {
		t.Fatalf("could not read the flags from `forecast-gateway --help`:\n%s", helpText)
	}
	return helpFlags, helpText
}

// TestManifestFlagsExistInBinary: every flag and FORECAST_GATEWAY_* variable
// that a build passes names a flag of the binary (a variable maps to the
// flag of the same name: FORECAST_GATEWAY_JWKS_FILE is --jwks-file), or a
// variable the help text names itself (FORECAST_GATEWAY_PAGE_TOKEN_KEYS).
func TestManifestFlagsExistInBinary(t *testing.T) {
	flags, help := binaryFlags(t)
	// missing flag -> where the manifests use it
	missing := map[string]map[string]bool{}
	for _, b := range builds(t) {
		_, c := b.gateway(t)
		for _, s := range settings(t, c) {
			if flags[s.flag] {
				continue
			}
			if name, ok := strings.CutPrefix(s.source, "env "); ok && regexp.MustCompile(`\$?\b`+name+`\b`).MatchString(help) {
				continue
			}
			if missing[s.flag] == nil {
				missing[s.flag] = map[string]bool{}
			}
			missing[s.flag][s.source+" in "+b.Name] = true
		}
	}
	if len(missing) == 0 {
		return
	}
	var lines []string
	for _, f := range sortedKeys(missing) {
		lines = append(lines, fmt.Sprintf("  --%s (used as %s)", f, strings.Join(sortedKeys(missing[f]), ", ")))
	}
	t.Errorf("the manifests pass %d setting(s) that `forecast-gateway --help` does not list; the binary would refuse to start:\n%s\nflags of the binary: %s",
		len(missing), strings.Join(lines, "\n"), strings.Join(sortedKeys(flags), " "))
}

// runQuick runs the binary and returns its output and exit error, or
// reports that it was still running after d (then killed).
func runQuick(t *testing.T, d time.Duration, env []string, args ...string) (string, error, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, gatewayBinary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err, ctx.Err() != nil
}

// cleanEnv is the test's environment without FORECAST_GATEWAY_* variables.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, envPrefix) {
			env = append(env, e)
		}
	}
	return env
}

// TestBinaryReadsEnvironment: the manifests configure the gateway through
// FORECAST_GATEWAY_<FLAG> variables only, so the binary must read them, and
// a flag on the command line must win over its variable.
func TestBinaryReadsEnvironment(t *testing.T) {
	loopback := []string{"--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0"}
	out, err, running := runQuick(t, 10*time.Second, []string{"FORECAST_GATEWAY_UPSTREAM=bad-from-env"}, loopback...)
	if running || err == nil || !strings.Contains(out, "bad-from-env") {
		t.Fatalf("FORECAST_GATEWAY_UPSTREAM=bad-from-env was not refused (still running: %v, err: %v): the binary does not read FORECAST_GATEWAY_<FLAG> variables, and every setting in the manifests would be ignored\n%s", running, err, out)
	}
	out, err, running = runQuick(t, 10*time.Second, []string{"FORECAST_GATEWAY_UPSTREAM=bad-from-env"}, append(loopback, "--upstream=bad-from-flag")...)
	if running || err == nil || !strings.Contains(out, "bad-from-flag") {
		t.Errorf("with FORECAST_GATEWAY_UPSTREAM and --upstream both set, the flag did not win (err %v):\n%s", err, out)
	}
}

// TestBinaryVersion: the -X variables of the Dockerfile's -ldflags reach
// --version (a wrong -X name is silently ignored by the linker).
func TestBinaryVersion(t *testing.T) {
	flags, _ := binaryFlags(t)
	if !flags["version"] {
		t.Fatal("the binary has no --version flag")
	}
	out, err, _ := runQuick(t, 10*time.Second, nil, "--version")
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	for _, want := range []string{testVersion, testCommit, "go1."} {
		if !strings.Contains(out, want) {
			t.Errorf("--version output does not contain %q (stamped with the Dockerfile's -ldflags):\n%s", want, out)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer collects the gateway's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBinaryAdminEndpoints runs the gateway (embedded emulator, loopback)
// and checks what the probes and Prometheus rely on: /healthz, /readyz and
// /metrics on the admin listener, no /debug/pprof/ without --pprof, and on
// SIGTERM /readyz failing while the listeners still serve during
// --shutdown-delay (which is why the Deployment needs no preStop hook), then
// a clean exit within shutdown-delay + drain-timeout.
func TestBinaryAdminEndpoints(t *testing.T) {
	flags, _ := binaryFlags(t)
	if !flags["admin-addr"] {
		t.Fatal("the binary has no --admin-addr flag: the probes and /metrics have no listener")
	}
	admin, httpAddr := freePort(t), freePort(t)
	const delay, drain = 3 * time.Second, 5 * time.Second
	cmd := exec.Command(gatewayBinary(t), "--grpc-addr=127.0.0.1:0", "--http-addr="+httpAddr, "--admin-addr="+admin,
		"--shutdown-delay="+delay.String(), "--drain-timeout="+drain.String())
	cmd.Env = cleanEnv()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// done is closed when the process has exited, with its error in waitErr.
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("gateway output:\n%s", out.String())
		}
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get("http://" + admin + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body), nil
	}
	// waitFor polls path until it answers want, the process exits, or 30s.
	waitFor := func(path string, want int) bool {
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _, err := get(path)
			if err == nil && code == want {
				return true
			}
			select {
			case <-done:
				t.Errorf("the gateway exited (%v) before %s answered %d", waitErr, path, want)
				return false
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Errorf("%s did not answer %d within 30s (last: %d, %v)", path, want, code, err)
				return false
			}
		}
	}
	if !waitFor("/healthz", http.StatusOK) || !waitFor("/readyz", http.StatusOK) {
		return
	}
	code, body, err := get("/metrics")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "# TYPE ") {
		t.Errorf("/metrics: %d %v, want 200 with Prometheus text:\n%.300s", code, err, body)
	}
	if code, _, err := get("/debug/pprof/"); err != nil || code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without --pprof: %d %v, want 404", code, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	// During the delay: not ready, but still serving.
	notReady := false
	for time.Since(signalled) < delay-500*time.Millisecond {
		if code, _, err := get("/readyz"); err == nil && code != http.StatusOK {
			notReady = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !notReady {
		t.Errorf("/readyz still answered 200 %s into --shutdown-delay %s: endpoints would keep routing to a terminating pod", time.Since(signalled).Round(time.Millisecond), delay)
	}
	if time.Since(signalled) < delay-200*time.Millisecond {
		if conn, err := net.DialTimeout("tcp", httpAddr, time.Second); err != nil {
			t.Errorf("the REST listener refused connections %s after SIGTERM, within --shutdown-delay %s: %v", time.Since(signalled).Round(time.Millisecond), delay, err)
		} else {
			conn.Close()
		}
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", waitErr)
		}
		if took := time.Since(signalled); took > delay+drain+2*time.Second {
			t.Errorf("took %s to exit after SIGTERM, more than delay + drain", took)
		}
	case <-time.After(delay + drain + 5*time.Second):
		t.Errorf("still running %s after SIGTERM", delay+drain+5*time.Second)
	}
}
