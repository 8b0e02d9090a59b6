// Package ratelimit enforces per-caller rate and concurrency limits in front
// of the gateway's upstream. Amazon Forecast accepts few requests per second
// and few parallel create jobs per account, so one busy client must not be
// able to spend the whole account's budget: every caller gets its own budget
// per class of call (read, write, create).
//
// A budget is a token bucket (golang.org/x/time/rate) plus a count of calls
// in flight. Acquire either admits a call, taking its tokens and a slot
// together, or refuses it without waiting and without changing anything, and
// says why (a *Refusal) and when a retry can succeed.
//
// The limiter starts no goroutines. Callers are kept in a map with a list of
// the idle ones in least-recently-used order; idle callers are dropped lazily
// (during Acquire and release) once idle for IdleTTL, or, least recently used
// first, when more than MaxCallers are tracked. A caller with a call in
// flight is never dropped. All state sits behind one mutex held for a few
// hundred nanoseconds per call, which is far below the cost of the RPC being
// limited.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Class is a kind of call with its own budget.
type Class string

// The classes. Create is its own class (not a kind of Write) because
// Forecast's limits on parallel create jobs are far tighter than its limits on
// other writes.
const (
	Read   Class = "read"
	Write  Class = "write"
	Create Class = "create"
)

// Reasons a call is refused (Refusal.Reason).
const (
	ReasonRate        = "rate"
	ReasonConcurrency = "concurrency"
)

// ConcurrencyRetryAfter is the RetryAfter of a refusal for concurrency: when
// a slot frees up cannot be known, so it is a fixed hint.
const ConcurrencyRetryAfter = time.Second

// Defaults for zero Config fields.
const (
	DefaultMaxCallers = 10000
	DefaultIdleTTL    = 10 * time.Minute
)

// Errors from Acquire that are not refusals: they are programming errors of
// the caller of Acquire, not something the client did.
var (
	ErrUnknownClass = errors.New("ratelimit: unknown class")
	ErrInvalidCost  = errors.New("ratelimit: invalid cost")
)

// Limit is one class's budget per caller. The zero Limit is unlimited: calls
// of the class cost nothing and are never refused.
type Limit struct {
	// Rate is the refill rate in tokens (upstream requests) per second; 0
	// means no rate limit.
	Rate float64
	// Burst is the bucket size: the most tokens that can be spent at once,
	// and so the largest cost a single call may have. A call costing more
	// than Burst can never be admitted and is refused (see Acquire). It must
	// be at least 1 when Rate > 0, and 0 when Rate is 0.
	Burst int
	// Concurrency is the number of calls of this class a caller may have in
	// flight at once; 0 means no limit.
	Concurrency int
}

// Config configures a Limiter.
type Config struct {
	// Limits holds each class's budget per caller. A class that is absent
	// (or has the zero Limit) is unlimited.
	Limits map[Class]Limit
	// MaxCallers is how many callers are tracked at once (default 10000).
	// Beyond it, the least recently used idle callers are dropped. Callers
	// with calls in flight are never dropped, so the count can exceed
	// MaxCallers while more than MaxCallers callers have calls in flight; it
	// comes back down as those calls end.
	//
	// A dropped caller comes back with full buckets, so MaxCallers should
	// comfortably exceed the number of callers active within IdleTTL.
	MaxCallers int
	// IdleTTL is how long a caller must have been idle (no call starting or
	// ending, none in flight) to be forgotten (default 10 minutes). It is
	// raised to the longest time a bucket takes to refill from empty
	// (Burst/Rate), so that forgetting a caller never hands it tokens it
	// would not have had anyway.
	IdleTTL time.Duration
	// Now is the clock (default time.Now). For tests.
	Now func() time.Time
}

// Refusal is why a call may not run now. Its fields are safe to show a
// client.
type Refusal struct {
	Class Class
	// Reason is ReasonRate or ReasonConcurrency.
	Reason string
	// RetryAfter is how long until a retry can succeed: for ReasonRate, the
	// exact time until the bucket holds enough tokens (if nothing else is
	// spent meanwhile); for ReasonConcurrency, ConcurrencyRetryAfter.
	// RetryAfter is 0 only when the call costs more than the bucket can ever
	// hold: it will never succeed at this cost and must be made cheaper (a
	// smaller page_size, for instance).
	RetryAfter time.Duration
	// Limit describes the limit that was hit, e.g. "5 requests/s, burst 10
	// (read)" or "2 concurrent requests (create)".
	Limit string
}

// Error implements error.
func (r *Refusal) Error() string {
	switch {
	case r.Reason == ReasonRate && r.RetryAfter <= 0:
		return "ratelimit: call refused: " + r.Limit
	case r.Reason == ReasonConcurrency:
		return fmt.Sprintf("ratelimit: too many %s calls in flight: limit %s; retry after %v", r.Class, r.Limit, r.RetryAfter)
	default:
		return fmt.Sprintf("ratelimit: %s rate limit exceeded: limit %s; retry after %v", r.Class, r.Limit, r.RetryAfter)
	}
}

const numClasses = 3

var classes = [numClasses]Class{Read, Write, Create}

func classIndex(c Class) (int, bool) {
	switch c {
	case Read:
		return 0, true
	case Write:
		return 1, true
	case Create:
		return 2, true
	}
	return 0, false
}

// classConf is a class's Limit with what Acquire needs precomputed.
type classConf struct {
	Limit
	rated, bounded     bool   // Rate > 0, Concurrency > 0
	rateText, concText string // Refusal.Limit texts
}

// Limiter enforces a Config. It is safe for concurrent use. A nil *Limiter
// admits everything.
type Limiter struct {
	conf       [numClasses]classConf
	maxCallers int
	idleTTL    time.Duration // effective: at least the longest refill time
	now        func() time.Time

	mu      sync.Mutex
	callers map[string]*callerState
	idle    callerState // sentinel of the circular list of idle callers, most recently used first
}

// callerState is one caller's state. While it has no call in flight it is in the
// idle list; while it has, it is out of it and so cannot be dropped.
type callerState struct {
	key        string
	prev, next *callerState // idle list links; nil while busy
	lastUsed   time.Time
	inflight   int // over all classes
	classes    [numClasses]callerClass
}

type callerClass struct {
	bucket   *rate.Limiter // nil if the class has no rate limit
	inflight int
}

// New validates c and returns a Limiter enforcing it. All problems found are
// reported together.
func New(c Config) (*Limiter, error) {
	var errs []error
	keys := make([]string, 0, len(c.Limits))
	for cl := range c.Limits {
		keys = append(keys, string(cl))
	}
	sort.Strings(keys)

	l := &Limiter{
		maxCallers: c.MaxCallers,
		idleTTL:    c.IdleTTL,
		now:        c.Now,
		callers:    make(map[string]*callerState),
	}
	var longestRefill float64 // seconds
	for _, k := range keys {
		cl, lim := Class(k), c.Limits[Class(k)]
		i, ok := classIndex(cl)
		if !ok {
			errs = append(errs, fmt.Errorf("ratelimit: unknown class %q in Limits (want %q, %q or %q)", k, Read, Write, Create))
			continue
		}
		if err := validate(cl, lim); err != nil {
			errs = append(errs, err)
			continue
		}
		cc := &l.conf[i]
		cc.Limit = lim
		cc.rated = lim.Rate > 0
		cc.bounded = lim.Concurrency > 0
		if cc.rated {
			cc.rateText = fmt.Sprintf("%s requests/s, burst %d (%s)", strconv.FormatFloat(lim.Rate, 'g', -1, 64), lim.Burst, cl)
			longestRefill = max(longestRefill, float64(lim.Burst)/lim.Rate)
		}
		if cc.bounded {
			noun := "requests"
			if lim.Concurrency == 1 {
				noun = "request"
			}
			cc.concText = fmt.Sprintf("%d concurrent %s (%s)", lim.Concurrency, noun, cl)
		}
	}
	switch {
	case c.MaxCallers < 0:
		errs = append(errs, fmt.Errorf("ratelimit: MaxCallers %d is negative (0 means the default, %d)", c.MaxCallers, DefaultMaxCallers))
	case c.MaxCallers == 0:
		l.maxCallers = DefaultMaxCallers
	}
	switch {
	case c.IdleTTL < 0:
		errs = append(errs, fmt.Errorf("ratelimit: IdleTTL %v is negative (0 means the default, %v)", c.IdleTTL, DefaultIdleTTL))
	case c.IdleTTL == 0:
		l.idleTTL = DefaultIdleTTL
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if refill := durationFromSeconds(longestRefill); refill > l.idleTTL {
		l.idleTTL = refill
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.idle.prev, l.idle.next = &l.idle, &l.idle
	return l, nil
}

func validate(cl Class, lim Limit) error {
	var errs []string
	switch {
	case math.IsNaN(lim.Rate) || math.IsInf(lim.Rate, 0):
		errs = append(errs, fmt.Sprintf("Rate %v is not a finite number (0 means no rate limit)", lim.Rate))
	case lim.Rate < 0:
		errs = append(errs, fmt.Sprintf("Rate %v is negative (0 means no rate limit)", lim.Rate))
	}
	switch {
	case lim.Burst < 0:
		errs = append(errs, fmt.Sprintf("Burst %d is negative", lim.Burst))
	case lim.Rate > 0 && lim.Burst < 1:
		errs = append(errs, fmt.Sprintf("Burst %d with Rate %v: Burst must be at least 1 (it is the largest cost a call can have)", lim.Burst, lim.Rate))
	case lim.Rate == 0 && lim.Burst > 0:
		errs = append(errs, fmt.Sprintf("Burst %d without a Rate: set Rate too, or leave Burst 0 for no rate limit", lim.Burst))
	}
	if lim.Concurrency < 0 {
		errs = append(errs, fmt.Sprintf("Concurrency %d is negative (0 means no limit)", lim.Concurrency))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("ratelimit: class %s: %s", cl, strings.Join(errs, "; "))
}

// maxDuration caps computed durations far from overflow.
const maxDuration = time.Duration(1 << 62)

func durationFromSeconds(s float64) time.Duration {
	ns := math.Ceil(s * float64(time.Second))
	if ns >= float64(maxDuration) {
		return maxDuration
	}
	return time.Duration(ns)
}

func noop() {}

// Acquire admits one call of class, costing cost tokens, for caller, or
// refuses it at once with a *Refusal, in which case nothing was consumed.
//
// cost is the number of upstream requests the call will make (at least 1; a
// List of page_size 1000, which takes 10 upstream calls, costs 10). A call costing more than the class's Burst can never be admitted: it is
// refused with Reason ReasonRate, RetryAfter 0 and a Limit text saying so.
//
// The concurrency slot is checked first, then the tokens; a call is admitted
// only if both are there, and then takes both. On success release must be
// called when the call ends, also when it fails; it frees the concurrency
// slot, and calling it again does nothing. Tokens are not given back.
//
// Classes whose Limit is zero admit everything without tracking the caller.
// An unknown class or a cost below 1 is an error (ErrUnknownClass,
// ErrInvalidCost), not a Refusal.
func (l *Limiter) Acquire(caller string, class Class, cost int) (release func(), err error) {
	i, ok := classIndex(class)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownClass, class)
	}
	if cost < 1 {
		return nil, fmt.Errorf("%w %d: must be at least 1", ErrInvalidCost, cost)
	}
	if l == nil {
		return noop, nil
	}
	cc := &l.conf[i]
	if !cc.rated && !cc.bounded {
		return noop, nil
	}
	if cc.rated && cost > cc.Burst {
		return nil, &Refusal{
			Class:  class,
			Reason: ReasonRate,
			Limit: fmt.Sprintf("this call costs %d requests, more than the burst of %d allowed at once (limit %s); it can never be admitted: make it cheaper, e.g. with a smaller page_size",
				cost, cc.Burst, cc.rateText),
		}
	}

	l.mu.Lock()
	now := l.now()
	c := l.lookup(caller, now)
	st := &c.classes[i]
	if cc.bounded && st.inflight >= cc.Concurrency {
		l.mu.Unlock()
		return nil, &Refusal{Class: class, Reason: ReasonConcurrency, RetryAfter: ConcurrencyRetryAfter, Limit: cc.concText}
	}
	// A call is admitted only if the bucket holds cost whole tokens. (AllowN
	// alone also admits a call whose tokens are less than a nanosecond's
	// refill away, which would make RetryAfter inexact.)
	if cc.rated && (st.bucket.TokensAt(now) < float64(cost) || !st.bucket.AllowN(now, cost)) {
		wait := retryAfter(st.bucket, now, cost, cc.Rate)
		l.mu.Unlock()
		return nil, &Refusal{Class: class, Reason: ReasonRate, RetryAfter: wait, Limit: cc.rateText}
	}
	if !cc.bounded {
		l.mu.Unlock()
		return noop, nil
	}
	st.inflight++
	if c.inflight == 0 {
		unlink(c)
	}
	c.inflight++
	l.mu.Unlock()
	t := &ticket{l: l, c: c, class: i}
	return t.release, nil
}

// retryAfter is the shortest whole-nanosecond wait after which b holds cost
// tokens; b does not hold them at now. l.mu is held, so nothing else touches
// b meanwhile.
func retryAfter(b *rate.Limiter, now time.Time, cost int, r float64) time.Duration {
	enough := func(d time.Duration) bool { return b.TokensAt(now.Add(d)) >= float64(cost) }
	// Start from the float estimate, then settle on the exact nanosecond:
	// the estimate can be off by a rounding error either way.
	d := max(durationFromSeconds((float64(cost)-b.TokensAt(now))/r), 1)
	for range 4 {
		if d <= 1 || !enough(d-1) {
			break
		}
		d--
	}
	for i, step := 0, time.Duration(1); d < maxDuration && !enough(d); i++ {
		if i >= 8 {
			step *= 2
		}
		d = min(d+step, maxDuration)
	}
	return d
}

// ticket is one admitted call with a concurrency slot.
type ticket struct {
	l     *Limiter
	c     *callerState
	class int
	done  atomic.Bool
}

func (t *ticket) release() {
	if t.done.Swap(true) {
		return
	}
	l, c := t.l, t.c
	l.mu.Lock()
	c.classes[t.class].inflight--
	c.inflight--
	if c.inflight == 0 {
		c.lastUsed = l.now()
		l.pushFront(c)
		l.evict(c.lastUsed, 0)
	}
	l.mu.Unlock()
}

// lookup returns key's state, creating it if needed, marked as used at now.
// It drops expired callers, and makes room for a new one. l.mu is held.
func (l *Limiter) lookup(key string, now time.Time) *callerState {
	c, ok := l.callers[key]
	if ok {
		c.lastUsed = now
		if c.next == nil { // busy: not in the idle list, never evicted
			l.evict(now, 0)
			return c
		}
		// Take c out of the idle list while evicting, so that c itself is
		// not dropped while in use (it could be the last idle caller of an
		// over-full map), then put it back in front.
		unlink(c)
		l.evict(now, 0)
		l.pushFront(c)
		return c
	}
	l.evict(now, 1)
	key = strings.Clone(key) // do not pin a request's buffer
	c = &callerState{key: key, lastUsed: now}
	for i := range l.conf {
		if cc := &l.conf[i]; cc.rated {
			c.classes[i].bucket = rate.NewLimiter(rate.Limit(cc.Rate), cc.Burst)
		}
	}
	l.callers[key] = c
	l.pushFront(c)
	return c
}

// evict drops idle callers unused since before now-idleTTL, then least
// recently used idle callers while more than maxCallers-room are tracked.
// l.mu is held.
func (l *Limiter) evict(now time.Time, room int) {
	for c := l.idle.prev; c != &l.idle; c = l.idle.prev {
		if len(l.callers)+room <= l.maxCallers && now.Sub(c.lastUsed) < l.idleTTL {
			return
		}
		unlink(c)
		delete(l.callers, c.key)
	}
}

func (l *Limiter) pushFront(c *callerState) {
	c.prev, c.next = &l.idle, l.idle.next
	c.next.prev = c
	l.idle.next = c
}

func unlink(c *callerState) {
	c.prev.next, c.next.prev = c.next, c.prev
	c.prev, c.next = nil, nil
}
