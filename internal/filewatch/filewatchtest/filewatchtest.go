// Package filewatchtest holds what tests of files watched by filewatch
// need: a log buffer safe to read while the poller writes, a wait without
// fixed sleeps, the count of running pollers, and an atomic file replace.
package filewatchtest

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer the poller's logger can write while the
// test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor polls cond until it holds or a generous deadline passes: no
// fixed sleeps, so a slow machine only makes the test slower, not flaky.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Pollers counts the running filewatch poller goroutines by their stacks,
// which, unlike runtime.NumGoroutine, other goroutines coming and going
// (such as the previous test's) do not disturb.
func Pollers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Count(string(buf), "filewatch.(*Value[...]).run(")
}

// WriteAtomic replaces path the recommended way (temporary file + rename).
func WriteAtomic(t testing.TB, path, src string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
