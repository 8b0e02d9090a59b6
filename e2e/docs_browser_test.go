package e2e_test

// The browsable API page (/docs, Swagger UI) driven by a real headless
// browser: Debian's chromium over the DevTools protocol (chromedp). The
// page must render this gateway's document offline and its "Try it out"
// must reach the emulator through the same listener.
//
// Chromium is installed by the test when it is missing (apt-get, as root);
// where it cannot be installed the test is skipped, saying what to install.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
)

const (
	// chromiumInstallTimeout bounds apt-get update + install.
	chromiumInstallTimeout = 8 * time.Minute
	// browserTimeout bounds the whole browser session (launch to close).
	browserTimeout = 90 * time.Second
	// stepTimeout bounds each wait for the page.
	stepTimeout = 20 * time.Second
)

var chromium struct {
	once sync.Once
	path string // the browser's executable, when found or installed
	skip string // why the test cannot run, otherwise
}

// findChromium looks for Debian's chromium (or an Ubuntu-style
// chromium-browser) at its usual path and on PATH.
func findChromium() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needChromium returns the path of chromium, installing it with apt-get
// (once per test binary) when it is missing and this is root on a machine
// with apt-get; otherwise it skips t with what to install.
func needChromium(t *testing.T) string {
	t.Helper()
	chromium.once.Do(func() {
		if chromium.path = findChromium(); chromium.path != "" {
			return
		}
		chromium.skip = installChromium(t)
		if chromium.skip == "" {
			if chromium.path = findChromium(); chromium.path == "" {
				chromium.skip = "apt-get installed chromium but no chromium executable was found on PATH or at /usr/bin/chromium"
			}
		}
	})
	if chromium.path == "" {
		t.Skipf("this browser test needs chromium; install it (Debian: `apt-get install chromium`; Ubuntu: `apt-get install chromium-browser`) and run again. Why it was not installed here: %s", chromium.skip)
	}
	return chromium.path
}

// installChromium runs apt-get update and apt-get install chromium; it
// returns "" on success or why chromium could not be installed.
func installChromium(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return "it is missing and the test is not running as root, so it cannot install it"
	}
	aptGet, err := exec.LookPath("apt-get")
	if err != nil {
		return "it is missing and there is no apt-get to install it with"
	}
	// Leave the rest of the test binary time to run (and to report) before
	// go test's -timeout.
	timeout := chromiumInstallTimeout
	if deadline, ok := t.Deadline(); ok {
		if left := time.Until(deadline) - 2*time.Minute; left < timeout {
			timeout = left
		}
	}
	if timeout < time.Minute {
		return "it is missing and too little time is left before the test deadline (go test -timeout) to install it"
	}
	timeout = timeout.Round(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	started := time.Now()
	steps := [][]string{
		{"update"},
		{"install", "-y", "--no-install-recommends", "chromium"},
	}
	for _, args := range steps {
		// Wait for another apt/dpkg run rather than failing on its lock.
		args = append([]string{"-o", "DPkg::Lock::Timeout=120", "-q"}, args...)
		t.Logf("chromium is not installed: running apt-get %s (up to %v in all) ...", strings.Join(args, " "), timeout)
		cmd := exec.CommandContext(ctx, aptGet, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		stepStart := time.Now()
		err := cmd.Run()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timed out after %v)", err, timeout)
		}
		if err != nil {
			return fmt.Sprintf("it is missing and `apt-get %s` failed (no network?): %v\n%s", strings.Join(args, " "), err, tail(out.String(), 15))
		}
		t.Logf("apt-get %s: done in %v", strings.Join(args, " "), time.Since(stepStart).Round(time.Second))
	}
	t.Logf("chromium installed in %v", time.Since(started).Round(time.Second))
	return ""
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Swagger UI's DOM, as rendered by the embedded copy (swaggo/files/v2
// v2.0.2). An operation's block is #operations-<tag, spaces as
// underscores>-<operationId>; everything else is scoped to that block.
const (
	listOpBlock      = "#operations-Dataset_import_jobs-ListDatasetImportJobs"
	selInfoTitle     = ".information-container .info .title"
	selSummary       = listOpBlock + " .opblock-summary-control"
	selSummaryPath   = listOpBlock + " .opblock-summary-path"
	selTryOut        = listOpBlock + " .try-out__btn"
	selPageSize      = listOpBlock + ` tr[data-param-name="page_size"] input`
	selExecute       = listOpBlock + " .execute"
	selLiveResponses = listOpBlock + " .responses-wrapper .live-responses-table"
	selStatus        = selLiveResponses + " .response .response-col_status"
	selBody          = selLiveResponses + " .response .response-col_description .highlight-code .microlight"
	selRequestURL    = listOpBlock + " .request-url pre"
)

var datasetImportJobArn = regexp.MustCompile(`arn:aws:forecast:[a-z0-9-]+:\d{12}:dataset-import-job/[A-Za-z0-9_./-]+`)

func TestDocsBrowserTryItOut(t *testing.T) {
	chromePath := needChromium(t)
	env := testenv.Start(t, testenv.Options{})

	// The browser, bounded as a whole by sessionCtx. Its Cleanup is
	// registered after testenv.Start's, so (Cleanups run last-in first-out)
	// chromium is closed and chromedp's goroutines are gone before the stack
	// stops and checks for leaks.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromePath),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium-profile")),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1280, 1024),
	)
	sessionCtx, cancelSession := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(sessionCtx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		// Close the browser gracefully, within a bound.
		closeCtx, cancel := context.WithTimeout(browserCtx, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		cancelBrowser() // stops the browser if the close did not
		cancelAlloc()   // waits for the chromium process and removes its state
		cancelSession()
	})

	// The first action on browserCtx starts chromium and opens the tab; the
	// browser lives as long as browserCtx (so no shorter timeout here).
	started := time.Now()
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v", chromePath, err)
	}
	t.Logf("chromium started in %v", time.Since(started).Round(time.Millisecond))

	// The page's console and uncaught exceptions, to explain a failure.
	var consoleMu sync.Mutex
	var console []string
	consoleCtx, stopConsole := context.WithCancel(browserCtx)
	messages := chromedp.Console(consoleCtx)
	consoleDone := make(chan struct{})
	t.Cleanup(func() { // before the browser's (last-in first-out)
		stopConsole()
		<-consoleDone
	})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			consoleMu.Lock()
			console = append(console, m.String())
			consoleMu.Unlock()
		}
	}()

	shotPath := filepath.Join(t.TempDir(), "docs-try-it-out.png")
	screenshot := func() {
		ctx, cancel := context.WithTimeout(browserCtx, 10*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
		if err != nil {
			t.Logf("screenshot: %v", err)
			return
		}
		if err := os.WriteFile(shotPath, png, 0o644); err != nil {
			t.Logf("writing screenshot: %v", err)
			return
		}
		t.Logf("screenshot of /docs (%d bytes): %s", len(png), shotPath)
	}

	// fail reports what the page looked like and ends the test.
	fail := func(what string, err error) {
		t.Helper()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out: %w", err)
		}
		ctx, cancel := context.WithTimeout(browserCtx, 5*time.Second)
		ids, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".opblock")).map(e => e.id)`))
		cancel()
		screenshot()
		consoleMu.Lock()
		t.Logf("browser console:\n%s", strings.Join(console, "\n"))
		consoleMu.Unlock()
		t.Fatalf("%s: %v\noperation blocks on the page: %q", what, err, ids)
	}
	// step runs actions, each step bounded by stepTimeout.
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, stepTimeout)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			fail(what, err)
		}
	}
	// text reads the visible text of the element sel selects.
	text := func(sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browserCtx, stepTimeout)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("reading "+sel, err)
		}
		return s
	}

	before := env.Emu.CallCount("ListDatasetImportJobs")

	// The page renders the document.
	step("loading /docs/ and waiting for Swagger UI to render the API",
		chromedp.Navigate(env.BaseURL+"/docs/"),
		chromedp.WaitVisible(chromedp.CSS(selInfoTitle)),
		chromedp.WaitVisible(chromedp.CSS(listOpBlock)),
	)
	if title := text(selInfoTitle); !strings.Contains(title, "Forecast job gateway") {
		t.Errorf("title = %q, want it to contain %q", title, "Forecast job gateway")
	}
	if path := text(selSummaryPath); strings.TrimSpace(path) != "/v1/dataset-import-jobs" {
		t.Errorf("ListDatasetImportJobs path = %q, want /v1/dataset-import-jobs", path)
	}

	// Expand GET /v1/dataset-import-jobs, try it out with page_size 2.
	step("expanding ListDatasetImportJobs and pressing Try it out",
		chromedp.ScrollIntoView(chromedp.CSS(selSummary)),
		chromedp.Click(chromedp.CSS(selSummary)),
		chromedp.WaitVisible(chromedp.CSS(selTryOut)),
		chromedp.Click(chromedp.CSS(selTryOut)),
		chromedp.WaitEnabled(chromedp.CSS(selPageSize)),
	)
	step("filling page_size and pressing Execute",
		chromedp.SendKeys(chromedp.CSS(selPageSize), "2"),
		chromedp.WaitVisible(chromedp.CSS(selExecute)),
		chromedp.Click(chromedp.CSS(selExecute)),
	)
	step("waiting for the response",
		chromedp.WaitVisible(chromedp.CSS(selStatus)),
		chromedp.WaitVisible(chromedp.CSS(selBody)),
		chromedp.ScrollIntoView(chromedp.CSS(selLiveResponses)),
	)
	status, body, requestURL := text(selStatus), text(selBody), text(selRequestURL)
	screenshot()

	if strings.TrimSpace(status) != "200" {
		t.Errorf("response status shown = %q, want 200 (body %s)", status, body)
	}
	if !strings.Contains(body, `"dataset_import_jobs"`) {
		t.Errorf("response body shown has no \"dataset_import_jobs\":\n%s", body)
	}
	if !datasetImportJobArn.MatchString(body) {
		t.Errorf("response body shown has no dataset import job ARN:\n%s", body)
	}
	wantURL := env.BaseURL + "/v1/dataset-import-jobs?page_size=2"
	if strings.TrimSpace(requestURL) != wantURL {
		t.Errorf("Request URL shown = %q, want %q (this same listener)", requestURL, wantURL)
	}
	if after := env.Emu.CallCount("ListDatasetImportJobs"); after <= before {
		t.Errorf("emulator ListDatasetImportJobs calls: %d before Execute, %d after; the request did not reach the emulator", before, after)
	}
}
