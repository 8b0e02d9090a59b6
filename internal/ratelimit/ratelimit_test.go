package ratelimit

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is an injectable clock; safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mustNew(t testing.TB, c Config) *Limiter {
	t.Helper()
	l, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

// limiter builds a Limiter with one limit for class and a fresh clock.
func limiter(t testing.TB, class Class, lim Limit) (*Limiter, *clock) {
	t.Helper()
	clk := newClock()
	return mustNew(t, Config{Limits: map[Class]Limit{class: lim}, Now: clk.Now}), clk
}

func admit(t testing.TB, l *Limiter, caller string, class Class, cost int) func() {
	t.Helper()
	release, err := l.Acquire(caller, class, cost)
	if err != nil {
		t.Fatalf("Acquire(%q, %s, %d): %v, want admitted", caller, class, cost, err)
	}
	if release == nil {
		t.Fatalf("Acquire(%q, %s, %d): nil release", caller, class, cost)
	}
	return release
}

func refuse(t testing.TB, l *Limiter, caller string, class Class, cost int) *Refusal {
	t.Helper()
	release, err := l.Acquire(caller, class, cost)
	if err == nil {
		release()
		t.Fatalf("Acquire(%q, %s, %d) admitted, want refused", caller, class, cost)
	}
	if release != nil {
		t.Errorf("Acquire(%q, %s, %d): non-nil release with an error", caller, class, cost)
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("Acquire(%q, %s, %d): %v (%T), want a *Refusal", caller, class, cost, err, err)
	}
	return r
}

// state peeks at a caller's tokens and calls in flight for class; ok is
// false if the caller is not tracked.
func state(l *Limiter, caller string, class Class) (tokens float64, inflight int, ok bool) {
	i, _ := classIndex(class)
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.callers[caller]
	if !ok {
		return 0, 0, false
	}
	tokens = -1
	if b := c.classes[i].bucket; b != nil {
		tokens = b.TokensAt(l.now())
	}
	return tokens, c.classes[i].inflight, true
}

func tracked(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.callers)
}

func TestBurstThenRefusal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lim   Limit
		cost  int
		n     int // calls admitted from a full bucket
		want  time.Duration
		limit string
	}{
		{"5/s burst 10", Limit{Rate: 5, Burst: 10}, 1, 10, 200 * time.Millisecond, "5 requests/s, burst 10 (read)"},
		{"0.5/s burst 1", Limit{Rate: 0.5, Burst: 1}, 1, 1, 2 * time.Second, "0.5 requests/s, burst 1 (read)"},
		// 1/3 s is not a whole number of nanoseconds: round up.
		{"3/s burst 3", Limit{Rate: 3, Burst: 3}, 1, 3, 333333334 * time.Nanosecond, "3 requests/s, burst 3 (read)"},
		{"7/s burst 1", Limit{Rate: 7, Burst: 1}, 1, 1, 142857143 * time.Nanosecond, "7 requests/s, burst 1 (read)"},
		// A List of page_size 1000 costs 10 upstream calls.
		{"cost 10 at 10/s burst 20", Limit{Rate: 10, Burst: 20}, 10, 2, time.Second, "10 requests/s, burst 20 (read)"},
		// 1 token left, 2 missing.
		{"cost 3 at 2/s burst 4", Limit{Rate: 2, Burst: 4}, 3, 1, time.Second, "2 requests/s, burst 4 (read)"},
		{"with a concurrency limit too", Limit{Rate: 4, Burst: 2, Concurrency: 5}, 1, 2, 250 * time.Millisecond, "4 requests/s, burst 2 (read)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, clk := limiter(t, Read, tc.lim)
			for range tc.n {
				admit(t, l, "alice", Read, tc.cost)()
			}
			r := refuse(t, l, "alice", Read, tc.cost)
			if r.Reason != ReasonRate || r.Class != Read || r.RetryAfter != tc.want || r.Limit != tc.limit {
				t.Fatalf("refusal = %+v, want {Class:read Reason:rate RetryAfter:%v Limit:%q}", *r, tc.want, tc.limit)
			}
			// RetryAfter is exact: one nanosecond early is still too early,
			// by exactly one nanosecond.
			clk.Advance(tc.want - time.Nanosecond)
			if r := refuse(t, l, "alice", Read, tc.cost); r.RetryAfter != time.Nanosecond {
				t.Fatalf("1ns before RetryAfter: RetryAfter = %v, want 1ns", r.RetryAfter)
			}
			clk.Advance(time.Nanosecond)
			admit(t, l, "alice", Read, tc.cost)()
		})
	}
}

func TestRefill(t *testing.T) {
	l, clk := limiter(t, Read, Limit{Rate: 5, Burst: 10})
	drain := func() int {
		n := 0
		for ; n < 100; n++ {
			if _, err := l.Acquire("alice", Read, 1); err != nil {
				return n
			}
		}
		return n
	}
	if n := drain(); n != 10 {
		t.Fatalf("full bucket admitted %d, want 10", n)
	}
	clk.Advance(time.Second)
	if n := drain(); n != 5 {
		t.Fatalf("after 1s admitted %d, want 5", n)
	}
	clk.Advance(300 * time.Millisecond) // 1.5 tokens
	if n := drain(); n != 1 {
		t.Fatalf("after 300ms admitted %d, want 1", n)
	}
	if r := refuse(t, l, "alice", Read, 1); r.RetryAfter != 100*time.Millisecond {
		t.Fatalf("with half a token: RetryAfter = %v, want 100ms", r.RetryAfter)
	}
	clk.Advance(time.Hour)
	if n := drain(); n != 10 {
		t.Fatalf("after 1h admitted %d, want the burst, 10", n)
	}
}

func TestCost(t *testing.T) {
	// 10 requests/s with a burst of 20: two page_size 1000 listings (10
	// upstream calls each) empty the bucket.
	l, clk := limiter(t, Read, Limit{Rate: 10, Burst: 20})
	admit(t, l, "alice", Read, 10)()
	if tok, _, _ := state(l, "alice", Read); tok != 10 {
		t.Fatalf("after cost 10: %v tokens, want 10", tok)
	}
	admit(t, l, "alice", Read, 10)()
	if r := refuse(t, l, "alice", Read, 10); r.RetryAfter != time.Second {
		t.Fatalf("RetryAfter = %v, want 1s", r.RetryAfter)
	}
	clk.Advance(500 * time.Millisecond)
	if r := refuse(t, l, "alice", Read, 10); r.RetryAfter != 500*time.Millisecond {
		t.Fatalf("after 500ms: RetryAfter = %v, want 500ms", r.RetryAfter)
	}
	// The 5 tokens there are enough for cheaper calls.
	admit(t, l, "alice", Read, 5)()
	if r := refuse(t, l, "alice", Read, 1); r.RetryAfter != 100*time.Millisecond {
		t.Fatalf("RetryAfter = %v, want 100ms", r.RetryAfter)
	}
}

func TestCostAboveBurst(t *testing.T) {
	l, _ := limiter(t, Read, Limit{Rate: 10, Burst: 20, Concurrency: 1})
	r := refuse(t, l, "alice", Read, 21)
	if r.Reason != ReasonRate || r.RetryAfter != 0 || r.Class != Read {
		t.Fatalf("refusal = %+v, want Reason rate, RetryAfter 0", *r)
	}
	for _, want := range []string{"costs 21", "burst of 20", "never", "page_size", "10 requests/s, burst 20 (read)"} {
		if !strings.Contains(r.Limit, want) {
			t.Errorf("Limit %q does not say %q", r.Limit, want)
		}
	}
	if msg := r.Error(); !strings.Contains(msg, "costs 21") || strings.Contains(msg, "retry after") {
		t.Errorf("Error() = %q: want the explanation and no retry hint", msg)
	}
	// Nothing was consumed nor tracked: the whole burst is still there.
	if n := tracked(l); n != 0 {
		t.Fatalf("%d callers tracked after a refusal by cost, want 0", n)
	}
	admit(t, l, "alice", Read, 20)()
}

func TestConcurrency(t *testing.T) {
	l, _ := limiter(t, Create, Limit{Concurrency: 2})
	r1 := admit(t, l, "alice", Create, 1)
	r2 := admit(t, l, "alice", Create, 1)
	r := refuse(t, l, "alice", Create, 1)
	if r.Reason != ReasonConcurrency || r.RetryAfter != ConcurrencyRetryAfter || r.Limit != "2 concurrent requests (create)" || r.Class != Create {
		t.Fatalf("refusal = %+v", *r)
	}
	r1()
	r1() // harmless: frees one slot, not two
	r3 := admit(t, l, "alice", Create, 1)
	refuse(t, l, "alice", Create, 1)
	if _, n, _ := state(l, "alice", Create); n != 2 {
		t.Fatalf("in flight = %d, want 2", n)
	}
	r2()
	r3()
	r3()
	if _, n, _ := state(l, "alice", Create); n != 0 {
		t.Fatalf("in flight = %d after all releases, want 0", n)
	}
	for range 2 {
		defer admit(t, l, "alice", Create, 1)()
	}
	refuse(t, l, "alice", Create, 1)

	l1, _ := limiter(t, Create, Limit{Concurrency: 1})
	defer admit(t, l1, "alice", Create, 1)()
	if r := refuse(t, l1, "alice", Create, 1); r.Limit != "1 concurrent request (create)" {
		t.Fatalf("Limit = %q", r.Limit)
	}
}

func TestRefusalConsumesNothing(t *testing.T) {
	l, _ := limiter(t, Write, Limit{Rate: 1, Burst: 2, Concurrency: 1})
	release := admit(t, l, "alice", Write, 1)
	// Refused for concurrency: the token is still there.
	if r := refuse(t, l, "alice", Write, 1); r.Reason != ReasonConcurrency {
		t.Fatalf("Reason = %s, want concurrency", r.Reason)
	}
	if tok, n, _ := state(l, "alice", Write); tok != 1 || n != 1 {
		t.Fatalf("after a concurrency refusal: %v tokens, %d in flight; want 1, 1", tok, n)
	}
	release()
	// Refused for rate: no slot taken (so it need not be released).
	if r := refuse(t, l, "alice", Write, 2); r.Reason != ReasonRate || r.RetryAfter != time.Second {
		t.Fatalf("refusal = %+v, want rate, 1s", *r)
	}
	if tok, n, _ := state(l, "alice", Write); tok != 1 || n != 0 {
		t.Fatalf("after a rate refusal: %v tokens, %d in flight; want 1, 0", tok, n)
	}
	defer admit(t, l, "alice", Write, 1)()
	if tok, n, _ := state(l, "alice", Write); tok != 0 || n != 1 {
		t.Fatalf("after admission: %v tokens, %d in flight; want 0, 1", tok, n)
	}
}

func TestCallersIndependent(t *testing.T) {
	l, _ := limiter(t, Read, Limit{Rate: 1, Burst: 3, Concurrency: 1})
	hold := admit(t, l, "alice", Read, 3) // alice: no tokens, no slot
	defer hold()
	for range 100 {
		refuse(t, l, "alice", Read, 1)
	}
	defer admit(t, l, "bob", Read, 3)()
	if tok, n, _ := state(l, "alice", Read); tok != 0 || n != 1 {
		t.Fatalf("alice: %v tokens, %d in flight; want 0, 1", tok, n)
	}
}

func TestClassesIndependent(t *testing.T) {
	clk := newClock()
	l := mustNew(t, Config{Now: clk.Now, Limits: map[Class]Limit{
		Read:   {Rate: 10, Burst: 10, Concurrency: 4},
		Write:  {Rate: 2, Burst: 2, Concurrency: 2},
		Create: {Rate: 0.1, Burst: 1, Concurrency: 1},
	}})
	// Drain reads and fill creates.
	admit(t, l, "alice", Read, 10)()
	refuse(t, l, "alice", Read, 1)
	defer admit(t, l, "alice", Create, 1)()
	refuse(t, l, "alice", Create, 1)
	// Writes are untouched.
	defer admit(t, l, "alice", Write, 1)()
	defer admit(t, l, "alice", Write, 1)()
	if r := refuse(t, l, "alice", Write, 1); r.Class != Write || r.Reason != ReasonConcurrency {
		t.Fatalf("refusal = %+v, want write concurrency", *r)
	}
	if tok, n, _ := state(l, "alice", Read); tok != 0 || n != 0 {
		t.Fatalf("read: %v tokens, %d in flight; want 0, 0", tok, n)
	}
}

func TestUnlimited(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    *Limiter
	}{
		{"nil Limiter", nil},
		{"nil Limits", mustNew(t, Config{})},
		{"class absent", mustNew(t, Config{Limits: map[Class]Limit{Create: {Rate: 1, Burst: 1, Concurrency: 1}}})},
		{"zero Limit", mustNew(t, Config{Limits: map[Class]Limit{Read: {}, Create: {Rate: 1, Burst: 1}}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var releases []func()
			for i := range 1000 {
				r := admit(t, tc.l, "alice", Read, 1000+i)
				releases = append(releases, r)
			}
			for _, r := range releases {
				r()
				r()
			}
			if tc.l != nil {
				if n := tracked(tc.l); n != 0 {
					t.Fatalf("%d callers tracked, want 0", n)
				}
			}
		})
	}
}

func TestAcquireErrors(t *testing.T) {
	l, _ := limiter(t, Read, Limit{Rate: 1, Burst: 1})
	for _, tc := range []struct {
		class Class
		cost  int
		want  error
	}{
		{"delete", 1, ErrUnknownClass},
		{"", 1, ErrUnknownClass},
		{"Read", 1, ErrUnknownClass},
		{Read, 0, ErrInvalidCost},
		{Read, -3, ErrInvalidCost},
		{Write, 0, ErrInvalidCost}, // even for an unlimited class
	} {
		for _, lim := range []*Limiter{l, nil} {
			release, err := lim.Acquire("alice", tc.class, tc.cost)
			var r *Refusal
			if !errors.Is(err, tc.want) || errors.As(err, &r) || release != nil {
				t.Errorf("Acquire(%q, %d) = %v, %v; want %v", tc.class, tc.cost, release != nil, err, tc.want)
			}
		}
	}
	if n := tracked(l); n != 0 {
		t.Fatalf("%d callers tracked, want 0", n)
	}
}

func TestEvictionBounded(t *testing.T) {
	const maxCallers = 1000
	clk := newClock()
	l := mustNew(t, Config{MaxCallers: maxCallers, Now: clk.Now, Limits: map[Class]Limit{
		Read: {Rate: 1, Burst: 1, Concurrency: 1},
	}})
	pinned := admit(t, l, "pinned", Read, 1)
	for i := range 100_000 {
		admit(t, l, fmt.Sprintf("caller-%d", i), Read, 1)()
		if i%97 == 0 {
			// Some callers only get refused; they count as well.
			refuse(t, l, fmt.Sprintf("caller-%d", i), Read, 1)
		}
		if n := tracked(l); n > maxCallers {
			t.Fatalf("after %d callers: %d tracked, want <= %d", i+1, n, maxCallers)
		}
	}
	// The caller in flight survived, slot and bucket.
	if r := refuse(t, l, "pinned", Read, 1); r.Reason != ReasonConcurrency {
		t.Fatalf("pinned: refusal %+v, want concurrency (its slot is held)", *r)
	}
	if tok, n, ok := state(l, "pinned", Read); !ok || tok != 0 || n != 1 {
		t.Fatalf("pinned: tracked %v, %v tokens, %d in flight; want true, 0, 1", ok, tok, n)
	}
	// Once idle it is an ordinary caller, evictable.
	pinned()
	for i := range maxCallers {
		admit(t, l, fmt.Sprintf("other-%d", i), Read, 1)()
	}
	if _, _, ok := state(l, "pinned", Read); ok {
		t.Fatal("pinned still tracked after release and MaxCallers newer callers")
	}
}

func TestEvictionLRU(t *testing.T) {
	clk := newClock()
	l := mustNew(t, Config{MaxCallers: 3, Now: clk.Now, Limits: map[Class]Limit{
		Read: {Rate: 1, Burst: 2, Concurrency: 2},
	}})
	for _, c := range []string{"a", "b", "c"} {
		admit(t, l, c, Read, 1)()
		clk.Advance(time.Millisecond)
	}
	refuse(t, l, "a", Read, 2) // a refusal is a use too: a is now the most recent
	hold := admit(t, l, "b", Read, 1)
	admit(t, l, "d", Read, 1)() // c is the least recently used idle caller
	want := map[string]bool{"a": true, "b": true, "c": false, "d": true}
	for c, w := range want {
		if _, _, ok := state(l, c, Read); ok != w {
			t.Errorf("%s tracked = %v, want %v", c, ok, w)
		}
	}
	// a kept its bucket; c, dropped, comes back with a full one.
	if tok, _, _ := state(l, "a", Read); tok >= 2 {
		t.Fatalf("a: %v tokens, want its spent bucket", tok)
	}
	admit(t, l, "c", Read, 2)()
	// The release of b makes it the most recent.
	hold()
	admit(t, l, "e", Read, 1)()
	want = map[string]bool{"a": false, "b": true, "c": true, "d": false, "e": true}
	for c, w := range want {
		if _, _, ok := state(l, c, Read); ok != w {
			t.Errorf("after b's release: %s tracked = %v, want %v", c, ok, w)
		}
	}
}

func TestEvictionAllInFlight(t *testing.T) {
	clk := newClock()
	l := mustNew(t, Config{MaxCallers: 2, Now: clk.Now, Limits: map[Class]Limit{
		Create: {Concurrency: 1},
	}})
	var releases []func()
	for i := range 5 {
		releases = append(releases, admit(t, l, fmt.Sprint(i), Create, 1))
	}
	// Callers in flight are never dropped, even beyond MaxCallers...
	if n := tracked(l); n != 5 {
		t.Fatalf("%d tracked, want 5", n)
	}
	for i := range 5 {
		refuse(t, l, fmt.Sprint(i), Create, 1)
	}
	// ...and the count comes back down as their calls end.
	for i, r := range releases {
		r()
		if n, want := tracked(l), max(2, 5-i-1); n != want {
			t.Fatalf("after %d releases: %d tracked, want %d", i+1, n, want)
		}
	}
}

// An idle caller of an over-full map (all other callers in flight) must not
// be dropped by its own call.
func TestEvictionOverFullIdleCaller(t *testing.T) {
	clk := newClock()
	l := mustNew(t, Config{MaxCallers: 1, Now: clk.Now, Limits: map[Class]Limit{
		Read:   {Rate: 1, Burst: 1},
		Create: {Concurrency: 1},
	}})
	defer admit(t, l, "a", Create, 1)() // a is in flight: the map is full
	admit(t, l, "b", Read, 1)()         // b is tracked beyond MaxCallers, idle
	for range 3 {
		refuse(t, l, "b", Read, 1) // b's spent bucket is kept
	}
	defer admit(t, l, "b", Create, 1)() // and b's state is still linked
	if n := tracked(l); n != 2 {
		t.Fatalf("%d tracked, want 2", n)
	}
}

func TestEvictionTTL(t *testing.T) {
	clk := newClock()
	l := mustNew(t, Config{IdleTTL: time.Minute, Now: clk.Now, Limits: map[Class]Limit{
		Write: {Rate: 1, Burst: 5, Concurrency: 1}, // refills in 5s: the TTL stays 1m
	}})
	admit(t, l, "a", Write, 5)()
	hold := admit(t, l, "held", Write, 1)
	clk.Advance(59 * time.Second)
	admit(t, l, "b", Write, 1)()
	if _, _, ok := state(l, "a", Write); !ok {
		t.Fatal("a dropped after 59s idle")
	}
	clk.Advance(time.Second)
	admit(t, l, "c", Write, 1)()
	if _, _, ok := state(l, "a", Write); ok {
		t.Fatal("a still tracked after 60s idle")
	}
	if _, _, ok := state(l, "b", Write); !ok {
		t.Fatal("b dropped after 1s idle")
	}
	clk.Advance(time.Hour)
	admit(t, l, "d", Write, 1)()
	if _, n, ok := state(l, "held", Write); !ok || n != 1 {
		t.Fatal("a caller in flight was dropped")
	}
	if n := tracked(l); n != 2 {
		t.Fatalf("%d tracked, want 2 (held and d)", n)
	}
	hold() // idle from now on
	clk.Advance(59 * time.Second)
	admit(t, l, "e", Write, 1)()
	if _, _, ok := state(l, "held", Write); !ok {
		t.Fatal("held dropped 59s after its release")
	}
	clk.Advance(time.Second)
	admit(t, l, "e", Write, 1)() // a known caller's call evicts too
	if _, _, ok := state(l, "held", Write); ok {
		t.Fatal("held still tracked 60s after its release")
	}
}

func TestEvictionTTLNotBeforeRefill(t *testing.T) {
	// One token every 1000s: a caller forgotten after the default 10m would
	// come back with a token it has not earned yet.
	clk := newClock()
	l := mustNew(t, Config{Now: clk.Now, Limits: map[Class]Limit{
		Create: {Rate: 0.001, Burst: 1},
		Read:   {Rate: 100, Burst: 10},
	}})
	if l.idleTTL != 1000*time.Second {
		t.Fatalf("effective IdleTTL = %v, want 1000s", l.idleTTL)
	}
	admit(t, l, "a", Create, 1)()
	clk.Advance(11 * time.Minute)
	admit(t, l, "b", Read, 1)()
	if r := refuse(t, l, "a", Create, 1); r.RetryAfter != 1000*time.Second-11*time.Minute {
		t.Fatalf("RetryAfter = %v, want %v", r.RetryAfter, 1000*time.Second-11*time.Minute)
	}
	clk.Advance(1000 * time.Second)
	admit(t, l, "b", Read, 1)()
	if _, _, ok := state(l, "a", Create); ok {
		t.Fatal("a still tracked after 1000s idle")
	}
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want []string // substrings of the error; none: valid
	}{
		{"empty", Config{}, nil},
		{"full", Config{MaxCallers: 5, IdleTTL: time.Second, Limits: map[Class]Limit{
			Read: {Rate: 5, Burst: 10, Concurrency: 3}, Write: {Rate: 0.5, Burst: 1}, Create: {Concurrency: 1},
		}}, nil},
		{"unknown class", Config{Limits: map[Class]Limit{"delete": {Concurrency: 1}}}, []string{`unknown class "delete"`}},
		{"negative rate", Config{Limits: map[Class]Limit{Read: {Rate: -1, Burst: 1}}}, []string{"class read", "Rate -1 is negative"}},
		{"NaN rate", Config{Limits: map[Class]Limit{Read: {Rate: nan(), Burst: 1}}}, []string{"not a finite number"}},
		{"negative burst", Config{Limits: map[Class]Limit{Write: {Rate: 1, Burst: -1}}}, []string{"class write", "Burst -1 is negative"}},
		{"rate without burst", Config{Limits: map[Class]Limit{Create: {Rate: 1}}}, []string{"class create", "Burst 0 with Rate 1", "at least 1"}},
		{"burst without rate", Config{Limits: map[Class]Limit{Read: {Burst: 3}}}, []string{"Burst 3 without a Rate"}},
		{"negative concurrency", Config{Limits: map[Class]Limit{Read: {Concurrency: -2}}}, []string{"Concurrency -2 is negative"}},
		{"negative MaxCallers", Config{MaxCallers: -1}, []string{"MaxCallers -1 is negative"}},
		{"negative IdleTTL", Config{IdleTTL: -time.Second}, []string{"IdleTTL -1s is negative"}},
		{"all at once", Config{MaxCallers: -1, Limits: map[Class]Limit{
			Read: {Rate: -1, Concurrency: -1}, "x": {},
		}}, []string{"Rate -1 is negative", "Concurrency -1 is negative", `unknown class "x"`, "MaxCallers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := New(tc.c)
			if tc.want == nil {
				if err != nil || l == nil {
					t.Fatalf("New = %v, %v; want a Limiter", l, err)
				}
				return
			}
			if err == nil || l != nil {
				t.Fatalf("New = %v, %v; want an error", l, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	l := mustNew(t, Config{})
	if l.maxCallers != DefaultMaxCallers || l.idleTTL != DefaultIdleTTL {
		t.Fatalf("defaults: MaxCallers %d, IdleTTL %v", l.maxCallers, l.idleTTL)
	}
}

func nan() float64 { var z float64; return z / z }

func TestRefusalError(t *testing.T) {
	for _, tc := range []struct {
		r    Refusal
		want string
	}{
		{Refusal{Read, ReasonRate, 200 * time.Millisecond, "5 requests/s, burst 10 (read)"},
			"ratelimit: read rate limit exceeded: limit 5 requests/s, burst 10 (read); retry after 200ms"},
		{Refusal{Create, ReasonConcurrency, time.Second, "1 concurrent request (create)"},
			"ratelimit: too many create calls in flight: limit 1 concurrent request (create); retry after 1s"},
		{Refusal{Read, ReasonRate, 0, "this call costs 30 requests, ..."},
			"ratelimit: call refused: this call costs 30 requests, ..."},
	} {
		if got := tc.r.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestRace runs many goroutines of mixed callers and classes against one
// Limiter and checks that no caller ever has more calls of a class in flight
// than its Concurrency, and that no caller gets more tokens than its bucket
// allows over the (injected) time that passed.
func TestRace(t *testing.T) {
	limits := map[Class]Limit{
		Read:   {Rate: 1000, Burst: 50, Concurrency: 3},
		Write:  {Concurrency: 2},
		Create: {Rate: 5, Burst: 2, Concurrency: 1},
	}
	for _, tc := range []struct {
		name       string
		maxCallers int
	}{
		{"no eviction", 100},
		{"evicting", 4}, // fewer than the callers: buckets reset, slots must not
	} {
		t.Run(tc.name, func(t *testing.T) {
			const (
				goroutines = 32
				iterations = 1000
				callers    = 12
			)
			clk := newClock()
			l := mustNew(t, Config{Limits: limits, MaxCallers: tc.maxCallers, Now: clk.Now})
			var inflight, admitted [callers][numClasses]atomic.Int64
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 1))
					for range iterations {
						c, ci := rng.IntN(callers), rng.IntN(numClasses)
						class := classes[ci]
						if rng.IntN(4) == 0 {
							clk.Advance(time.Millisecond)
						}
						release, err := l.Acquire(fmt.Sprint("caller-", c), class, 1+rng.IntN(2))
						if err != nil {
							var r *Refusal
							if !errors.As(err, &r) {
								t.Errorf("Acquire: %v", err)
							}
							continue
						}
						admitted[c][ci].Add(1)
						n := inflight[c][ci].Add(1)
						if lim := limits[class].Concurrency; lim > 0 && n > int64(lim) {
							t.Errorf("caller-%d %s: %d in flight, limit %d", c, class, n, lim)
						}
						runtime.Gosched()
						inflight[c][ci].Add(-1)
						release()
						if rng.IntN(3) == 0 {
							release()
						}
					}
				})
			}
			wg.Wait()
			elapsed := clk.Now().Sub(t0).Seconds()
			l.mu.Lock()
			defer l.mu.Unlock()
			if len(l.callers) > tc.maxCallers {
				t.Errorf("%d callers tracked, MaxCallers %d", len(l.callers), tc.maxCallers)
			}
			for k, c := range l.callers {
				if c.inflight != 0 || c.next == nil {
					t.Errorf("%s: %d in flight after all releases (idle list: %v)", k, c.inflight, c.next != nil)
				}
			}
			if tc.maxCallers < callers {
				return // dropped callers come back with full buckets
			}
			for c := range callers {
				n := admitted[c][2].Load()
				if most := float64(limits[Create].Burst) + limits[Create].Rate*elapsed; float64(n) > most {
					t.Errorf("caller-%d: %d creates admitted in %.3fs, at most %.0f allowed", c, n, elapsed, most)
				}
			}
		})
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	fast := Limit{Rate: 1e12, Burst: 1 << 20} // never refuses
	for _, bc := range []struct {
		name string
		lim  Limit
	}{
		{"rate+concurrency", Limit{Rate: fast.Rate, Burst: fast.Burst, Concurrency: 8}},
		{"rate", fast},
		{"concurrency", Limit{Concurrency: 8}},
		{"unlimited", Limit{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := mustNew(b, Config{Limits: map[Class]Limit{Read: bc.lim}})
			b.ReportAllocs()
			for b.Loop() {
				release, err := l.Acquire("alice", Read, 1)
				if err != nil {
					b.Fatal(err)
				}
				release()
			}
		})
	}
	b.Run("rate+concurrency-cheap-clock", func(b *testing.B) {
		// time.Now costs ~200ns on some VMs; this measures the limiter alone.
		var ticks atomic.Int64
		now := func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * time.Microsecond) }
		l := mustNew(b, Config{Now: now, Limits: map[Class]Limit{Read: {Rate: 1e7, Burst: 100, Concurrency: 8}}})
		b.ReportAllocs()
		for b.Loop() {
			release, err := l.Acquire("alice", Read, 1)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
	b.Run("refused", func(b *testing.B) {
		l := mustNew(b, Config{Limits: map[Class]Limit{Read: {Rate: 1e-3, Burst: 1}}})
		l.Acquire("alice", Read, 1)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Acquire("alice", Read, 1); err == nil {
				b.Fatal("admitted")
			}
		}
	})
	b.Run("new-callers-evicting", func(b *testing.B) {
		l := mustNew(b, Config{MaxCallers: 1000, Limits: map[Class]Limit{Read: {Rate: 10, Burst: 10, Concurrency: 8}}})
		names := make([]string, 100_000)
		for i := range names {
			names[i] = fmt.Sprint("caller-", i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			release, err := l.Acquire(names[i%len(names)], Read, 1)
			if err != nil {
				b.Fatal(err)
			}
			release()
			i++
		}
	})
	b.Run("parallel-1000-callers", func(b *testing.B) {
		l := mustNew(b, Config{Limits: map[Class]Limit{Read: {Rate: 1e12, Burst: 1 << 20, Concurrency: 1 << 20}}})
		names := make([]string, 1000)
		for i := range names {
			names[i] = fmt.Sprint("caller-", i)
		}
		var seed atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(7919))
			for pb.Next() {
				release, err := l.Acquire(names[i%len(names)], Read, 1)
				if err != nil {
					b.Error(err)
					return
				}
				release()
				i++
			}
		})
	})
}
