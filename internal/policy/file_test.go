package policy

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/filewatch/filewatchtest"
)

func policyFor(role string) string {
	return "version: 1\ngrants:\n  - name: t\n    callers: [alice]\n    role_arns: [\"" + role + "\"]\n"
}

const (
	roleV1 = "arn:aws:iam::123456789012:role/V1"
	roleV2 = "arn:aws:iam::123456789012:role/V2"
)

var alice = Principal{ID: "alice"}

func useRole(v string) Use { return Use{Field: "role_arn", Kind: KindRole, Value: v} }

func newTestFile(t *testing.T, src string, onReload func(*Policy)) (*File, string, *filewatchtest.SyncBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	filewatchtest.WriteAtomic(t, path, src)
	logs := &filewatchtest.SyncBuffer{}
	f, err := NewFile(FileOptions{
		Path:     path,
		Interval: 10 * time.Millisecond,
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnReload: onReload,
	})
	if err != nil {
		t.Fatalf("NewFile: %v", err)
	}
	t.Cleanup(f.Close)
	return f, path, logs
}

func TestFileReloadsOnChange(t *testing.T) {
	reloaded := make(chan *Policy, 10)
	f, path, logs := newTestFile(t, policyFor(roleV1), func(p *Policy) { reloaded <- p })
	if err := f.Check(alice, useRole(roleV1)); err != nil {
		t.Fatalf("initial policy: %v", err)
	}
	if err := f.Check(alice, useRole(roleV2)); err == nil {
		t.Fatal("initial policy allows V2")
	}
	first := f.Current()

	filewatchtest.WriteAtomic(t, path, policyFor(roleV2))
	filewatchtest.WaitFor(t, "the new policy", func() bool { return f.Check(alice, useRole(roleV2)) == nil })
	if err := f.Check(alice, useRole(roleV1)); err == nil {
		t.Fatal("reloaded policy still allows V1")
	}
	if f.Current() == first {
		t.Fatal("Current did not change")
	}
	select {
	case p := <-reloaded:
		if p != f.Current() {
			t.Fatal("OnReload got a different policy from Current")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnReload not called")
	}
	// The line is logged just after OnReload returns.
	filewatchtest.WaitFor(t, "the reload log line", func() bool { return strings.Contains(logs.String(), "policy file reloaded") })

	// In-place rewrite of the same size (os.WriteFile truncates and writes):
	// the content hash still tells the change.
	roleV3 := "arn:aws:iam::123456789012:role/V3"
	if err := os.WriteFile(path, []byte(policyFor(roleV3)), 0o600); err != nil {
		t.Fatal(err)
	}
	filewatchtest.WaitFor(t, "the in-place rewrite", func() bool { return f.Check(alice, useRole(roleV3)) == nil })
}

func TestFileBadReloadKeepsLastGood(t *testing.T) {
	var mu sync.Mutex
	reloads := 0
	f, path, logs := newTestFile(t, policyFor(roleV1), func(*Policy) { mu.Lock(); reloads++; mu.Unlock() })
	good := f.Current()

	filewatchtest.WriteAtomic(t, path, "version: 1\ngrants:\n  - name: bad\n    callers: [alice]\n    role_arns: ['arn:aws:iam::*:role/x']\n")
	filewatchtest.WaitFor(t, "the error log", func() bool { return strings.Contains(logs.String(), "level=ERROR") })
	out := logs.String()
	for _, w := range []string{"reload failed", "path=" + path, `grants[0] (\"bad\")`, "role_arns[0]"} {
		if !strings.Contains(out, w) {
			t.Errorf("log does not contain %q:\n%s", w, out)
		}
	}
	if f.Current() != good {
		t.Fatal("bad reload replaced the policy")
	}
	if err := f.Check(alice, useRole(roleV1)); err != nil {
		t.Fatalf("last good policy lost: %v", err)
	}

	// A vanished file is logged and also keeps the policy.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	filewatchtest.WaitFor(t, "the read error log", func() bool { return strings.Contains(logs.String(), "cannot read policy file") })
	if f.Current() != good {
		t.Fatal("missing file replaced the policy")
	}

	// Fixing the file installs it again.
	filewatchtest.WriteAtomic(t, path, policyFor(roleV2))
	filewatchtest.WaitFor(t, "the fixed policy", func() bool { return f.Check(alice, useRole(roleV2)) == nil })
	mu.Lock()
	defer mu.Unlock()
	if reloads != 1 {
		t.Errorf("OnReload called %d times, want 1 (only for the good reload)", reloads)
	}
	// The bad content was logged once, not on every poll.
	if n := strings.Count(logs.String(), "reload failed"); n != 1 {
		t.Errorf("reload failure logged %d times, want 1", n)
	}
}

func TestNewFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"no path", "", "no policy file path"},
		{"missing", filepath.Join(dir, "missing.yaml"), "missing.yaml"},
		{"directory", dir, "not a regular file"},
		{"invalid", bad, "must be 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFile(FileOptions{Path: tt.path, Interval: 10 * time.Millisecond})
			if err == nil {
				f.Close()
				t.Fatal("NewFile succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.path != "" && !strings.Contains(err.Error(), tt.path)) {
				t.Errorf("error %q does not name %q and the path", err, tt.want)
			}
		})
	}
	filewatchtest.WaitFor(t, "no poller after failed NewFile", func() bool { return filewatchtest.Pollers() == 0 })
}

func TestFileCloseStopsPoller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	filewatchtest.WriteAtomic(t, path, policyFor(roleV1))
	f, err := NewFile(FileOptions{Path: path, Interval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	filewatchtest.WaitFor(t, "the poller to start", func() bool { return filewatchtest.Pollers() == 1 })
	f.Close()
	f.Close() // idempotent
	filewatchtest.WaitFor(t, "the poller to stop", func() bool { return filewatchtest.Pollers() == 0 })
	// The last policy stays readable after Close.
	if err := f.Check(alice, useRole(roleV1)); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}
