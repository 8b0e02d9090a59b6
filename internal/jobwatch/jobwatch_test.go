package jobwatch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSource is a set of jobs whose states a test changes; it counts the
// calls the hub makes.
type fakeSource struct {
	mu        sync.Mutex
	jobs      map[string]Snapshot // by ARN; absent: gone
	describes atomic.Int64
	lists     atomic.Int64
	throttle  atomic.Int64 // the next n calls fail as throttled
}

var errThrottled = errors.New("throttled")

func newFake() *fakeSource { return &fakeSource{jobs: map[string]Snapshot{}} }

func (f *fakeSource) set(arn, status string, terminal bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[arn] = Snapshot{ARN: arn, Status: status, Terminal: terminal, Modified: time.Now(), ETag: arn + "/" + status}
}

func (f *fakeSource) delete(arn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.jobs, arn)
}

func (f *fakeSource) Kind(arn string) string { k, _, _ := strings.Cut(arn, "/"); return k }

func (f *fakeSource) Describe(_ context.Context, arn string) (Snapshot, error) {
	f.describes.Add(1)
	if f.throttle.Add(-1) >= 0 {
		return Snapshot{}, errThrottled
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.jobs[arn]
	if !ok {
		return Snapshot{ARN: arn, Gone: true, ETag: "gone"}, nil
	}
	return s, nil
}

func (f *fakeSource) ListUnfinished(_ context.Context, kind, token string) ([]Summary, string, error) {
	f.lists.Add(1)
	if f.throttle.Add(-1) >= 0 {
		return nil, "", errThrottled
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []Summary
	for arn, s := range f.jobs {
		if f.Kind(arn) == kind && !s.Terminal {
			all = append(all, Summary{ARN: arn, Status: s.Status, Modified: s.Modified})
		}
	}
	slices.SortFunc(all, func(a, b Summary) int { return strings.Compare(a.ARN, b.ARN) })
	start := 0
	if token != "" {
		fmt.Sscan(token, &start)
	}
	end := min(start+ListPageSize, len(all))
	next := ""
	if end < len(all) {
		next = fmt.Sprint(end)
	}
	return all[start:end], next, nil
}

func newHub(t *testing.T, src *fakeSource, o Options) *Hub {
	t.Helper()
	before := runtime.NumGoroutine()
	o.Source = src
	if o.MinInterval == 0 {
		o.MinInterval = 5 * time.Millisecond
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = 40 * time.Millisecond
	}
	o.Throttled = func(err error) bool { return errors.Is(err, errThrottled) }
	h := New(o)
	t.Cleanup(func() {
		h.Close()
		waitFor(t, "no poller goroutines left", func() bool { return runtime.NumGoroutine() <= before })
	})
	return h
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// collect reads a subscription to its end.
func collect(s *Subscription) ([]string, error) {
	var statuses []string
	for snap := range s.C {
		statuses = append(statuses, snap.Status)
	}
	return statuses, s.Err()
}

// TestFanOut: 100 watchers of one job that changes three times each see
// every state in order and end when it is terminal, for the upstream
// calls of about one watcher.
func TestFanOut(t *testing.T) {
	src := newFake()
	src.set("a/1", "CREATE_PENDING", false)
	h := newHub(t, src, Options{})
	const n = 100
	results := make([][]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s, err := h.Subscribe("a/1", fmt.Sprint("caller", i%7))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = collect(s) }()
	}
	// A lead watcher paces the test: each state is changed once the
	// previous one was seen (polling cannot see a state that lasts less
	// than a poll interval).
	start := time.Now()
	lead, err := h.Subscribe("a/1", "lead")
	if err != nil {
		t.Fatal(err)
	}
	<-lead.C
	for _, st := range []struct {
		status   string
		terminal bool
	}{{"CREATE_IN_PROGRESS", false}, {"CREATE_STOPPING", false}, {"CREATE_STOPPED", true}} {
		time.Sleep(20 * time.Millisecond) // let the schedule back off
		src.set("a/1", st.status, st.terminal)
		if snap := <-lead.C; snap.Status != st.status {
			t.Fatalf("lead saw %q, want %q", snap.Status, st.status)
		}
	}
	wg.Wait()
	want := "CREATE_PENDING CREATE_IN_PROGRESS CREATE_STOPPING CREATE_STOPPED"
	for i := range n {
		if got := strings.Join(results[i], " "); got != want || errs[i] != nil {
			t.Fatalf("watcher %d saw %q, %v; want %q, nil", i, got, errs[i], want)
		}
	}
	// One poller makes at most one Describe per MinInterval (5 ms) of the
	// test's life, however long a loaded machine makes it; 100 watchers
	// polling on their own would make a hundred times that.
	if d, most := src.describes.Load(), int64(time.Since(start)/(5*time.Millisecond))+2; d > most {
		t.Errorf("%d Describes for 100 watchers in %s, one poller makes at most %d", d, time.Since(start), most)
	}
	if w, j := h.Stats(); w != 0 || j != 0 {
		t.Errorf("after the end: %d watches, %d jobs", w, j)
	}
}

func TestGoneAndLateSubscriber(t *testing.T) {
	src := newFake()
	src.set("a/1", "ACTIVE", false)
	h := newHub(t, src, Options{})
	s, _ := h.Subscribe("a/1", "c")
	if snap := <-s.C; snap.Status != "ACTIVE" {
		t.Fatalf("first state %q", snap.Status)
	}
	// A second subscriber gets the known state at once, no new call.
	calls := src.describes.Load()
	s2, _ := h.Subscribe("a/1", "c")
	select {
	case snap := <-s2.C:
		if snap.Status != "ACTIVE" {
			t.Fatalf("late subscriber got %q", snap.Status)
		}
	case <-time.After(time.Second):
		t.Fatal("late subscriber got nothing")
	}
	if src.describes.Load() > calls+1 {
		t.Errorf("a late subscriber cost %d calls", src.describes.Load()-calls)
	}
	src.set("a/1", "DELETE_IN_PROGRESS", false)
	src.delete("a/1")
	for _, sub := range []*Subscription{s, s2} {
		got, err := collect(sub)
		if !errors.Is(err, ErrGone) || got[len(got)-1] != "" {
			t.Errorf("deleted job: %q, %v; want a gone state and ErrGone", got, err)
		}
	}
}

// TestLastWatcherLeaves: the poller stops with its last subscriber.
func TestLastWatcherLeaves(t *testing.T) {
	src := newFake()
	src.set("a/1", "CREATE_IN_PROGRESS", false)
	h := newHub(t, src, Options{})
	before := runtime.NumGoroutine()
	s, _ := h.Subscribe("a/1", "c")
	<-s.C
	s.Close()
	if _, err := collect(s); !errors.Is(err, ErrClosed) {
		t.Errorf("closed subscription: %v", err)
	}
	waitFor(t, "the poller goroutine ends", func() bool { return runtime.NumGoroutine() < before+1 })
	n := src.describes.Load()
	time.Sleep(100 * time.Millisecond)
	if src.describes.Load() != n {
		t.Errorf("%d Describes after the last watcher left", src.describes.Load()-n)
	}
}

// TestListReplacesDescribes: 250 unchanged watched jobs of one kind cost
// about three Lists per round, not 250 Describes; a change is found by
// the List and described alone.
func TestListReplacesDescribes(t *testing.T) {
	src := newFake()
	const n = 250
	for i := range n {
		src.set(fmt.Sprintf("k/%d", i), "CREATE_IN_PROGRESS", false)
	}
	h := newHub(t, src, Options{MinInterval: 20 * time.Millisecond, MaxInterval: 20 * time.Millisecond})
	subs := make([]*Subscription, n)
	for i := range n {
		s, err := h.Subscribe(fmt.Sprintf("k/%d", i), "c")
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	for _, s := range subs {
		<-s.C
	}
	// Five rounds of 3 List pages (250 jobs), however slow the machine.
	d0, l0 := src.describes.Load(), src.lists.Load()
	deadline := time.Now().Add(10 * time.Second)
	for src.lists.Load()-l0 < 15 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	d, l := src.describes.Load()-d0, src.lists.Load()-l0
	// The jobs of a List round come due together again (one jitter per
	// round): Lists, and Describes for nothing but the first rounds' odd
	// jobs, never all 250 (a Describe each would be 1,250 here).
	if l < 15 || d > l {
		t.Errorf("unchanged jobs: %d Describes and %d Lists; want Lists (3 a round) and fewer Describes than Lists", d, l)
	}
	src.set("k/7", "ACTIVE", true)
	if snap := <-subs[7].C; snap.Status != "ACTIVE" {
		t.Errorf("changed job: %q", snap.Status)
	}
}

// TestThrottlingBacksOff: while the upstream throttles, the poller waits
// longer, and watchers see no error.
func TestThrottlingBacksOff(t *testing.T) {
	src := newFake()
	src.set("a/1", "CREATE_IN_PROGRESS", false)
	h := newHub(t, src, Options{MinInterval: 5 * time.Millisecond, MaxInterval: 80 * time.Millisecond})
	s, _ := h.Subscribe("a/1", "c")
	<-s.C
	src.throttle.Store(1 << 30)
	n0 := src.describes.Load()
	time.Sleep(300 * time.Millisecond)
	n := src.describes.Load() - n0
	// Without backoff, 5 ms polls would be ~60 calls.
	if n > 12 {
		t.Errorf("%d calls in 300 ms while throttled", n)
	}
	src.throttle.Store(0)
	src.set("a/1", "ACTIVE", true)
	got, err := collect(s)
	if err != nil || got[len(got)-1] != "ACTIVE" {
		t.Errorf("after throttling: %q, %v", got, err)
	}
}

func TestLimitsAndClose(t *testing.T) {
	src := newFake()
	src.set("a/1", "CREATE_IN_PROGRESS", false)
	h := newHub(t, src, Options{MaxWatches: 3, MaxWatchesPerCaller: 2})
	a1, _ := h.Subscribe("a/1", "alice")
	if _, err := h.Subscribe("a/1", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe("a/1", "alice"); !errors.Is(err, ErrTooMany) {
		t.Errorf("third watch of one caller: %v", err)
	}
	if _, err := h.Subscribe("a/1", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe("a/1", "carol"); !errors.Is(err, ErrTooMany) {
		t.Errorf("fourth watch in all: %v", err)
	}
	a1.Close()
	if _, err := h.Subscribe("a/1", "carol"); err != nil {
		t.Errorf("after a watch closed: %v", err)
	}
	h.Close()
	if w, _ := h.Stats(); w != 0 {
		t.Errorf("%d watches after Close", w)
	}
	if _, err := h.Subscribe("a/1", "dave"); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

func TestSlowSubscriber(t *testing.T) {
	src := newFake()
	src.set("a/1", "S0", false)
	h := newHub(t, src, Options{MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	s, _ := h.Subscribe("a/1", "c")
	// Each state lasts until the poller has seen it (two polls begun after
	// the change: the first may have read the job just before it), or the
	// subscriber was dropped, which stops the poller.
	dropped := func() bool { w, _ := h.Stats(); return w == 0 }
	for i := 1; i <= subscriberBuffer+5 && !dropped(); i++ {
		n := src.describes.Load()
		src.set("a/1", fmt.Sprint("S", i), false)
		waitFor(t, "two polls after the change", func() bool { return src.describes.Load() >= n+2 || dropped() })
	}
	waitFor(t, "the slow subscriber is dropped", dropped)
	for range s.C {
	}
	if !errors.Is(s.Err(), ErrSlow) {
		t.Errorf("slow subscriber: %v", s.Err())
	}
}
