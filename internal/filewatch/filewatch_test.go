package filewatch

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/filewatch/filewatchtest"
)

// writeInPlace truncates and rewrites path, as an editor without atomic
// saves does: a poll can see it half-written.
func writeInPlace(t *testing.T, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// parseInt is the test's Parse. Like any Parse for a secret file, its
// errors do not quote the content.
func parseInt(data []byte) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, errors.New("not a decimal number")
	}
	return n, nil
}

// recorder collects what OnReload is given.
type recorder struct {
	mu   sync.Mutex
	vals []int
}

func (r *recorder) add(n int) { r.mu.Lock(); r.vals = append(r.vals, n); r.mu.Unlock() }

func (r *recorder) get() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.vals...)
}

// testOptions watches path, logging to the returned buffer, with a short
// interval.
func testOptions(path string, rec *recorder) (Options[int], *filewatchtest.SyncBuffer) {
	logs := &filewatchtest.SyncBuffer{}
	return Options[int]{
		Path:     path,
		What:     "number file",
		Interval: 5 * time.Millisecond,
		Parse:    parseInt,
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnReload: rec.add,
		Describe: func(n int) []any { return []any{"value", n} },
	}, logs
}

// newManual loads the file without starting the poller: the test calls
// poll itself, so exactly which reads happen is under its control.
func newManual(t *testing.T, src string) (*Value[int], string, *recorder, *filewatchtest.SyncBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "n.txt")
	filewatchtest.WriteAtomic(t, path, src)
	rec := &recorder{}
	o, logs := testOptions(path, rec)
	v, err := load(o)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return v, path, rec, logs
}

func TestReloadOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.txt")
	filewatchtest.WriteAtomic(t, path, "1\n")
	rec := &recorder{}
	o, logs := testOptions(path, rec)
	v, err := Watch(o)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	t.Cleanup(v.Close)
	if got := v.Current(); got != 1 {
		t.Fatalf("Current = %d, want 1", got)
	}

	filewatchtest.WriteAtomic(t, path, "2\n")
	filewatchtest.WaitFor(t, "the new value", func() bool { return v.Current() == 2 })
	filewatchtest.WaitFor(t, "OnReload", func() bool { return len(rec.get()) == 1 })
	if got := rec.get(); got[0] != 2 {
		t.Fatalf("OnReload got %v, want [2]", got)
	}
	// The line is logged just after OnReload returns.
	filewatchtest.WaitFor(t, "the reload log line", func() bool { return strings.Contains(logs.String(), "reloaded") })
	out := logs.String()
	for _, w := range []string{"level=INFO", `msg="number file reloaded"`, "path=" + path, "value=2", "size=2", "sha256="} {
		if !strings.Contains(out, w) {
			t.Errorf("reload log does not contain %q:\n%s", w, out)
		}
	}

	// In-place rewrite of the same size: the content hash still tells the
	// change even if the modification time does not.
	writeInPlace(t, path, "3\n")
	filewatchtest.WaitFor(t, "the in-place rewrite", func() bool { return v.Current() == 3 })
	filewatchtest.WaitFor(t, "OnReload", func() bool { return len(rec.get()) == 2 })
	if got := rec.get(); got[1] != 3 {
		t.Fatalf("OnReload got %v, want [2 3]", got)
	}
}

// TestHalfWrittenNotInstalled: a changed file is installed only once two
// reads in a row agree, so a read of a file still being written (which
// may well parse: "12" of "123") never takes effect.
func TestHalfWrittenNotInstalled(t *testing.T) {
	v, path, rec, _ := newManual(t, "1")

	writeInPlace(t, path, "12") // caught half-way through writing "123"
	v.poll()
	if got := v.Current(); got != 1 {
		t.Fatalf("installed after one read: %d", got)
	}
	writeInPlace(t, path, "123") // the writer finished
	v.poll()
	if got := v.Current(); got != 1 {
		t.Fatalf("installed after one read of the finished file: %d", got)
	}
	v.poll()
	if got := v.Current(); got != 123 {
		t.Fatalf("Current = %d after two identical reads, want 123", got)
	}
	for range 3 {
		v.poll() // unchanged: nothing more happens
	}
	if got := rec.get(); len(got) != 1 || got[0] != 123 {
		t.Fatalf("OnReload got %v, want [123] (never the half-written 12)", got)
	}

	// Touching the file, or reverting it, re-parses nothing.
	writeInPlace(t, path, "123")
	v.poll()
	v.poll()
	if got := rec.get(); len(got) != 1 {
		t.Fatalf("OnReload got %v after a touch, want [123]", got)
	}
}

// TestBadReloadKeepsLastGood: unreadable or unparsable content keeps the
// last good value and is logged once per distinct failure, with the path
// but never the content; a fixed file is installed again.
func TestBadReloadKeepsLastGood(t *testing.T) {
	v, path, rec, logs := newManual(t, "1")
	const secret = "s3cr3t-not-a-number"

	filewatchtest.WriteAtomic(t, path, secret)
	for range 5 {
		v.poll()
	}
	if got := v.Current(); got != 1 {
		t.Fatalf("bad reload replaced the value: %d", got)
	}
	out := logs.String()
	for _, w := range []string{"level=ERROR", `msg="number file reload failed; keeping the last good one"`, "path=" + path, "not a decimal number"} {
		if !strings.Contains(out, w) {
			t.Errorf("log does not contain %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "reload failed"); n != 1 {
		t.Errorf("reload failure logged %d times over 4 polls, want 1:\n%s", n, out)
	}

	// Different bad content is a distinct failure: logged again, once.
	filewatchtest.WriteAtomic(t, path, secret+"-2")
	for range 5 {
		v.poll()
	}
	if n := strings.Count(logs.String(), "reload failed"); n != 2 {
		t.Errorf("second bad content: reload failure logged %d times in all, want 2", n)
	}

	// A vanished file is logged once and also keeps the value.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		v.poll()
	}
	if n := strings.Count(logs.String(), "cannot read number file"); n != 1 {
		t.Errorf("read error logged %d times, want 1:\n%s", n, logs)
	}
	if got := v.Current(); got != 1 {
		t.Fatalf("missing file replaced the value: %d", got)
	}

	// So does a file grown past MaxSize.
	filewatchtest.WriteAtomic(t, path, strings.Repeat("7", DefaultMaxSize+1))
	for range 3 {
		v.poll()
	}
	if !strings.Contains(logs.String(), "larger than") || v.Current() != 1 {
		t.Errorf("oversized file: value %d, log:\n%s", v.Current(), logs)
	}

	// Fixing the file installs it again.
	filewatchtest.WriteAtomic(t, path, "2")
	v.poll()
	v.poll()
	if got := v.Current(); got != 2 {
		t.Fatalf("fixed file not installed: %d", got)
	}
	out = logs.String()
	if !strings.Contains(out, "number file readable again") {
		t.Errorf("no recovery log line:\n%s", out)
	}
	if got := rec.get(); len(got) != 1 || got[0] != 2 {
		t.Errorf("OnReload got %v, want [2] (only the good reload)", got)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "7777777777") {
		t.Errorf("file content logged:\n%s", out)
	}
}

// TestSymlinkSwap: the layout of a Kubernetes ConfigMap or Secret volume,
// whose update writes a new directory and swaps the ..data symlink.
func TestSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, src string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "n.txt"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	version("..v1", "1")
	if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "n.txt")
	if err := os.Symlink(filepath.Join("..data", "n.txt"), path); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	o, _ := testOptions(path, rec)
	v, err := Watch(o)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	t.Cleanup(v.Close)
	if got := v.Current(); got != 1 {
		t.Fatalf("Current = %d, want 1", got)
	}

	version("..v2", "2")
	if err := os.Symlink("..v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..v1")); err != nil {
		t.Fatal(err)
	}
	filewatchtest.WaitFor(t, "the swapped-in version", func() bool { return v.Current() == 2 })
}

func TestWatchErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	big := filepath.Join(dir, "big.txt")
	filewatchtest.WriteAtomic(t, bad, "x")
	filewatchtest.WriteAtomic(t, big, "12345")
	missing := filepath.Join(dir, "missing.txt")
	tests := []struct {
		name string
		o    Options[int]
		want []string
	}{
		{"no path", Options[int]{What: "number file", Parse: parseInt}, []string{"no path", "number file"}},
		{"no parse", Options[int]{What: "number file", Path: bad}, []string{"no Parse", "number file"}},
		{"missing", Options[int]{What: "number file", Path: missing, Parse: parseInt}, []string{"load number file " + missing, "no such file"}},
		{"directory", Options[int]{What: "number file", Path: dir, Parse: parseInt}, []string{"load number file " + dir, "not a regular file"}},
		{"too big", Options[int]{What: "number file", Path: big, Parse: parseInt, MaxSize: 4}, []string{"load number file " + big, "larger than 4 bytes"}},
		{"invalid", Options[int]{What: "number file", Path: bad, Parse: parseInt}, []string{"load number file " + bad, "not a decimal number"}},
		{"default what", Options[int]{Path: bad, Parse: parseInt}, []string{"load file " + bad}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Interval = time.Millisecond
			v, err := Watch(tt.o)
			if err == nil {
				v.Close()
				t.Fatal("Watch succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Earlier tests' pollers, closed, may take a moment to exit.
	filewatchtest.WaitFor(t, "no poller after failed Watch calls", func() bool { return filewatchtest.Pollers() == 0 })
}

func TestCloseStopsPoller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.txt")
	filewatchtest.WriteAtomic(t, path, "7")
	v, err := Watch(Options[int]{Path: path, Interval: time.Millisecond, Parse: parseInt, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	filewatchtest.WaitFor(t, "the poller to start", func() bool { return filewatchtest.Pollers() == 1 })
	v.Close()
	v.Close() // idempotent
	filewatchtest.WaitFor(t, "the poller to stop", func() bool { return filewatchtest.Pollers() == 0 })
	if got := v.Current(); got != 7 {
		t.Fatalf("after Close: Current = %d, want 7", got)
	}

	var nilValue *Value[int]
	nilValue.Close()
	if got := nilValue.Current(); got != 0 {
		t.Fatalf("nil Value: Current = %d", got)
	}
}
