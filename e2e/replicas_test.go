package e2e_test

// A multi-replica test with real processes: one standalone emulator, three
// gateway replicas sharing a page-token keys file, a client that hops to
// another replica on every page, and a key rotation in the middle of the
// listing.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
)

const (
	repReloadedMsg = "page-token keys reloaded"
	repReplicas    = 3
	repPageSize    = 4
	// Fixtures: 6 datasets x up to 12 import jobs, some 16 pages of 4.
	repDatasets      = 6
	repJobsPerDS     = 12
	repPagesBefore   = 5 // pages each pass fetches before the rotation
	repReloadTimeout = 20 * time.Second
)

// TestReplicasPageTokenKeyRotation pages through one listing across three
// gateway replicas (page i on replica i%3), over gRPC and over REST, and
// rotates the page-token key in the middle: tokens sealed with the old key
// keep working on every replica, tokens sealed after the rotation use the
// new key (a fourth gateway holding only the new key opens them and
// refuses the older ones as foreign), and the pages add up to exactly what
// the emulator lists.
func TestReplicasPageTokenKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binaries")
	}
	began := time.Now()
	gwBin, emuBin := repBuild(t)
	testCtx := t.Context()

	// Keys: the old one in base64, the new one in hex (ParseKeys takes both).
	dir := t.TempDir()
	oldKey, newKey := repKey(t), repKey(t)
	oldLine := base64.StdEncoding.EncodeToString(oldKey)
	newLine := hex.EncodeToString(newKey)
	keysFile := filepath.Join(dir, "page-token-keys")
	repWriteAtomic(t, keysFile, "# page-token keys, newest first\n"+oldLine+"\n")

	// The emulator runs on the real clock: fixtures seeded in DELETE_*
	// would vanish within seconds (a default delete takes 5s), changing
	// the listing under the client. Slow phases keep the set of jobs
	// fixed for the test's length.
	emu := repStart(t, "emulator", emuBin, "--addr", "127.0.0.1:0",
		"--datasets", fmt.Sprint(repDatasets), "--import-jobs-per-dataset", fmt.Sprint(repJobsPerDS),
		"--job-duration", "1h", "--delete-duration", "1h")
	emu.waitReady(t, 30*time.Second)
	emuURL := "http://" + emu.emuAddr

	gwFlags := repFlags(t, gwBin)
	gwArgs := func(keys string) []string {
		args := []string{"--endpoint-url", emuURL, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--page-token-keys-file", keys}
		if gwFlags["admin-addr"] {
			// Four gateways side by side: never the fixed default admin port.
			args = append(args, "--admin-addr", "127.0.0.1:0")
		}
		return args
	}
	var gws []*repProc
	for i := range repReplicas {
		gws = append(gws, repStart(t, fmt.Sprintf("gateway-%d", i), gwBin, gwArgs(keysFile)...))
	}
	for _, g := range gws {
		g.waitReady(t, 30*time.Second)
	}

	// The truth: the emulator's own listing through the AWS SDK.
	sdk, err := upstream.NewForecastClient(testCtx, upstream.Options{Emulator: true, EndpointURL: emuURL, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for pg := forecast.NewListDatasetImportJobsPaginator(sdk, &forecast.ListDatasetImportJobsInput{MaxResults: aws.Int32(100)}); pg.HasMorePages(); {
		out, err := pg.NextPage(testCtx)
		if err != nil {
			t.Fatalf("direct SDK listing: %v", err)
		}
		for _, j := range out.DatasetImportJobs {
			want = append(want, aws.ToString(j.DatasetImportJobArn))
		}
	}
	if len(want) < 2*repPagesBefore*repPageSize {
		t.Fatalf("the emulator lists only %d dataset import jobs; the fixtures must span many pages", len(want))
	}

	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	dial := func(g *repProc) gatewayv1.ForecastJobServiceClient {
		conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		return gatewayv1.NewForecastJobServiceClient(conn)
	}
	clients := make([]gatewayv1.ForecastJobServiceClient, repReplicas)
	for i, g := range gws {
		clients[i] = dial(g)
	}
	httpc := &http.Client{Timeout: 10 * time.Second}
	defer httpc.CloseIdleConnections()

	grpcPage := func(c gatewayv1.ForecastJobServiceClient) repPageFunc {
		return func(token string) ([]string, string, error) {
			cctx, cancel := context.WithTimeout(testCtx, 10*time.Second)
			defer cancel()
			r, err := c.ListDatasetImportJobs(cctx, &gatewayv1.ListDatasetImportJobsRequest{PageSize: repPageSize, PageToken: token})
			if err != nil {
				return nil, "", err
			}
			var arns []string
			for _, j := range r.GetDatasetImportJobs() {
				arns = append(arns, j.GetDatasetImportJobArn())
			}
			return arns, r.GetNextPageToken(), nil
		}
	}
	restPage := func(g *repProc) repPageFunc {
		return func(token string) ([]string, string, error) {
			var body struct {
				Jobs []struct {
					Arn string `json:"dataset_import_job_arn"`
				} `json:"dataset_import_jobs"`
				Next string `json:"next_page_token"`
			}
			u := "http://" + g.httpAddr + "/v1/dataset-import-jobs" + query("page_size", fmt.Sprint(repPageSize), "page_token", token)
			code, _, re := doREST(t, httpc, http.MethodGet, u, "", &body)
			if code != http.StatusOK {
				return nil, "", fmt.Errorf("HTTP %d: %s %s", code, re.Error.Status, re.Error.Message)
			}
			var arns []string
			for _, j := range body.Jobs {
				arns = append(arns, j.Arn)
			}
			return arns, body.Next, nil
		}
	}
	walkers := []*repWalker{{name: "gRPC"}, {name: "REST"}}
	for i := range repReplicas {
		walkers[0].replicas = append(walkers[0].replicas, grpcPage(clients[i]))
		walkers[1].replicas = append(walkers[1].replicas, restPage(gws[i]))
	}

	// Before the rotation: a few pages of each pass, every one on the next
	// replica.
	for _, w := range walkers {
		for w.pages < repPagesBefore {
			w.step(t)
		}
		if w.done {
			t.Fatalf("%s: the listing ended after %d pages, before the rotation", w.name, w.pages)
		}
		w.preToken = w.token // sealed with the old key
	}

	// Rotate: the new key first, the old one second, written atomically.
	before := make([]int, len(gws))
	for i, g := range gws {
		if before[i] = g.count(repReloadedMsg); before[i] != 0 {
			t.Errorf("%s logged %q %d times before the keys file changed", g.name, repReloadedMsg, before[i])
		}
	}
	rotatedAt := time.Now()
	repWriteAtomic(t, keysFile, "# page-token keys, newest first\n"+newLine+"\n"+oldLine+"\n")
	deadline := time.Now().Add(repReloadTimeout)
	for i, g := range gws {
		for g.count(repReloadedMsg) <= before[i] {
			if time.Now().After(deadline) {
				reloaded := 0
				for j, g := range gws {
					if g.count(repReloadedMsg) > before[j] {
						reloaded++
					}
				}
				t.Fatalf("%s did not log %q within %s of the keys file's rotation (%d of %d replicas did)", g.name, repReloadedMsg, repReloadTimeout, reloaded, len(gws))
			}
			select {
			case <-g.exited:
				t.Fatalf("%s exited after the keys file's rotation: %v", g.name, g.exitErr)
			case <-time.After(50 * time.Millisecond):
			}
		}
		if m := g.last(repReloadedMsg); m != nil {
			if n, ok := m["keys"].(float64); ok && n != 2 {
				t.Errorf("%s reloaded %v keys, want 2: %v", g.name, n, m)
			}
		}
	}
	t.Logf("all %d replicas reloaded the keys %s after the rotation", len(gws), time.Since(rotatedAt).Round(time.Millisecond))

	// Every replica still takes a token sealed with the old key, and
	// serves the same page for it.
	for _, w := range walkers {
		var first []string
		for r, page := range w.replicas {
			arns, _, err := page(w.preToken)
			if err != nil {
				t.Fatalf("%s: replica %d refuses a token sealed before the rotation: %v", w.name, r, err)
			}
			if r == 0 {
				first = arns
			} else if !slices.Equal(arns, first) {
				t.Errorf("%s: replica %d serves %v for the same pre-rotation token, replica 0 %v", w.name, r, arns, first)
			}
		}
	}

	// The rest of the listing, still hopping; the first token handed out
	// after the rotation must be sealed with the new key.
	for _, w := range walkers {
		for !w.done {
			w.step(t)
			if w.postToken == "" {
				w.postToken = w.token
			}
		}
		if w.postToken == "" {
			t.Fatalf("%s: no page token was handed out after the rotation", w.name)
		}
		var dups []string
		got := map[string]bool{}
		for _, a := range w.order {
			if got[a] {
				dups = append(dups, a)
			}
			got[a] = true
		}
		if len(dups) > 0 {
			t.Errorf("%s: %d jobs listed twice across the pages, e.g. %s", w.name, len(dups), dups[0])
		}
		var missing []string
		for _, a := range want {
			if !got[a] {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 || len(got) != len(want) {
			t.Errorf("%s: %d pages hold %d distinct jobs, the emulator lists %d; %d missing (e.g. %v)",
				w.name, w.pages, len(got), len(want), len(missing), missing[:min(len(missing), 3)])
		} else if !slices.Equal(w.order, want) {
			t.Errorf("%s: the pages hold the right jobs in another order than the emulator's (first difference at %d)", w.name, firstDiff(w.order, want))
		}
		t.Logf("%s: %d pages of %d over %d replicas, %d jobs", w.name, w.pages, repPageSize, len(gws), len(w.order))
	}

	// A fourth gateway with only the new key: post-rotation tokens open
	// there, pre-rotation tokens are foreign.
	newOnly := filepath.Join(dir, "page-token-keys-new-only")
	repWriteAtomic(t, newOnly, newLine+"\n")
	g4 := repStart(t, "gateway-new-key-only", gwBin, gwArgs(newOnly)...)
	g4.waitReady(t, 30*time.Second)
	grpc4, rest4 := grpcPage(dial(g4)), restPage(g4)
	if arns, _, err := grpc4(walkers[0].postToken); err != nil || len(arns) == 0 {
		t.Errorf("gRPC: a token sealed after the rotation does not open with the new key alone: %d jobs, %v", len(arns), err)
	}
	_, _, err = grpc4(walkers[0].preToken)
	st := wantGRPCError(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN", "page_token")
	if !strings.Contains(st.Message(), "(rule: foreign)") {
		t.Errorf("gRPC: a pre-rotation token on the new-key-only gateway: message %q does not name rule foreign", st.Message())
	}
	if arns, _, err := rest4(walkers[1].postToken); err != nil || len(arns) == 0 {
		t.Errorf("REST: a token sealed after the rotation does not open with the new key alone: %d jobs, %v", len(arns), err)
	}
	code, _, re := doREST(t, httpc, http.MethodGet, "http://"+g4.httpAddr+"/v1/dataset-import-jobs"+
		query("page_size", fmt.Sprint(repPageSize), "page_token", walkers[1].preToken), "", nil)
	foreign := false
	for _, d := range re.details(t) {
		for _, v := range d.FieldViolations {
			foreign = foreign || (v.Field == "page_token" && strings.Contains(v.Description, "(rule: foreign)"))
		}
	}
	if code != http.StatusBadRequest || re.Error.Status != "INVALID_ARGUMENT" || !foreign {
		t.Errorf("REST: a pre-rotation token on the new-key-only gateway: HTTP %d %s %q, want 400 INVALID_ARGUMENT naming page_token (rule: foreign)",
			code, re.Error.Status, re.Error.Message)
	}

	// Shut everything down with SIGTERM; each must exit 0.
	for _, c := range conns {
		_ = c.Close()
	}
	conns = nil
	httpc.CloseIdleConnections()
	var wg sync.WaitGroup
	for _, g := range append(gws, g4) {
		wg.Go(func() { g.stop(t) })
	}
	wg.Wait()
	emu.stop(t)
	t.Logf("done in %s", time.Since(began).Round(time.Millisecond))
}

// repPageFunc fetches one page from one replica.
type repPageFunc func(token string) (arns []string, next string, err error)

// repWalker pages through one listing, page i on replica i%len(replicas).
type repWalker struct {
	name     string
	replicas []repPageFunc

	pages     int
	token     string
	done      bool
	order     []string
	preToken  string // the last token handed out before the rotation
	postToken string // the first token handed out after it
}

func (w *repWalker) step(t *testing.T) {
	t.Helper()
	r := w.pages % len(w.replicas)
	arns, next, err := w.replicas[r](w.token)
	if err != nil {
		t.Fatalf("%s: page %d on replica %d refused: %v", w.name, w.pages, r, err)
	}
	if len(arns) == 0 && next != "" {
		t.Fatalf("%s: page %d on replica %d is empty but has a next page token", w.name, w.pages, r)
	}
	if len(arns) > repPageSize {
		t.Fatalf("%s: page %d holds %d jobs, page_size is %d", w.name, w.pages, len(arns), repPageSize)
	}
	if next != "" && next == w.token {
		t.Fatalf("%s: page %d hands back the token it was given", w.name, w.pages)
	}
	w.order = append(w.order, arns...)
	w.pages++
	w.token, w.done = next, next == ""
	if w.pages > 10*repDatasets*repJobsPerDS {
		t.Fatalf("%s: %d pages and the listing does not end", w.name, w.pages)
	}
}

// repBuild builds the gateway and the emulator into a temporary directory,
// with the race detector when this test binary has it.
func repBuild(t *testing.T) (gateway, emulator string) {
	t.Helper()
	dir := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	const mod = "github.com/forecastgw/forecast-gateway/cmd/"
	args = append(args, mod+"forecast-gateway", mod+"forecast-emulator")
	start := time.Now()
	if out, err := exec.CommandContext(t.Context(), goBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("go %s: %s", strings.Join(args[3:], " "), time.Since(start).Round(time.Millisecond))
	return filepath.Join(dir, "forecast-gateway"), filepath.Join(dir, "forecast-emulator")
}

// repFlags lists the flags bin --help shows.
func repFlags(t *testing.T, bin string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", bin, err, out)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if !flags["page-token-keys-file"] {
		t.Fatalf("%s --help shows no --page-token-keys-file:\n%s", bin, out)
	}
	return flags
}

// repEnviron is the environment without the gateway's own variables
// (FORECAST_GATEWAY_*), which would set flags behind the test's back.
func repEnviron() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "FORECAST_GATEWAY_") })
}

func repKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// repWriteAtomic replaces path as an operator's tooling would: a temporary
// file in the same directory, renamed over it.
func repWriteAtomic(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// repProc is a running binary whose stderr log is collected.
type repProc struct {
	name    string
	cmd     *exec.Cmd
	ready   chan struct{}
	exited  chan struct{}
	exitErr error

	// Set before ready is closed.
	grpcAddr, httpAddr, emuAddr string

	mu   sync.Mutex
	raw  []string
	logs []map[string]any
}

var repEmuListening = regexp.MustCompile(`msg="forecast emulator listening" addr=(\S+)`)

// repStart runs bin; t.Cleanup kills it if the test did not stop it.
func repStart(t *testing.T, name, bin string, args ...string) *repProc {
	t.Helper()
	p := &repProc{name: name, cmd: exec.Command(bin, args...), ready: make(chan struct{}), exited: make(chan struct{})}
	p.cmd.Env = repEnviron()
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		var once sync.Once
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
				once.Do(func() {
					p.grpcAddr, _ = m["grpc"].(string)
					p.httpAddr, _ = m["http"].(string)
					close(p.ready)
				})
			} else if sm := repEmuListening.FindStringSubmatch(line); sm != nil {
				once.Do(func() { p.emuAddr = sm[1]; close(p.ready) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // drain whatever a too-long line left
	}()
	go func() {
		<-scanned // Wait must not run before the pipe is drained
		p.exitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		// Not stopped by the test (it failed or skipped): SIGTERM, then
		// SIGKILL if that is not enough.
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				_ = p.cmd.Process.Kill()
				select {
				case <-p.exited:
				case <-time.After(10 * time.Second):
					t.Errorf("%s (pid %d) still running 10s after SIGKILL", p.name, p.cmd.Process.Pid)
				}
			}
		}
		if t.Failed() {
			lines := p.lines()
			t.Logf("%s log (last %d lines):\n%s", p.name, min(len(lines), 40), strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	return p
}

func (p *repProc) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-p.ready:
	case <-p.exited:
		t.Fatalf("%s exited before listening: %v\n%s", p.name, p.exitErr, strings.Join(p.lines(), "\n"))
	case <-time.After(d):
		t.Fatalf("%s: no listening log line after %s:\n%s", p.name, d, strings.Join(p.lines(), "\n"))
	}
	if p.emuAddr == "" && (p.grpcAddr == "" || p.httpAddr == "" || strings.HasSuffix(p.grpcAddr, ":0") || strings.HasSuffix(p.httpAddr, ":0")) {
		t.Fatalf("%s: addresses from the log: grpc %q http %q", p.name, p.grpcAddr, p.httpAddr)
	}
}

// stop sends SIGTERM and waits, bounded, for an exit with status 0.
func (p *repProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("%s: SIGTERM: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not exit within 15s of SIGTERM", p.name)
		return // t.Cleanup kills it
	}
	if p.exitErr != nil {
		extra := ""
		if slices.ContainsFunc(p.lines(), func(l string) bool { return strings.Contains(l, "DATA RACE") }) {
			extra = " (the race detector reported a data race)"
		}
		t.Errorf("%s exited with %v after SIGTERM%s", p.name, p.exitErr, extra)
	}
}

func (p *repProc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.raw)
}

func (p *repProc) count(msg string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.logs {
		if m["msg"] == msg {
			n++
		}
	}
	return n
}

func (p *repProc) last(msg string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.logs) - 1; i >= 0; i-- {
		if p.logs[i]["msg"] == msg {
			return p.logs[i]
		}
	}
	return nil
}
