// Package jobwatch polls jobs once for all their watchers. A Hub keeps, per
// job kind, one poller goroutine for every watched job of that kind; each
// job is polled on an adaptive schedule (fast after a change, backing off
// while nothing changes, with jitter, slower still while the upstream
// throttles), and every state change is fanned out to the job's
// subscribers in order. When many jobs of a kind are due at once, one List
// of the kind's unfinished jobs (100 per call) replaces their Describes,
// and only a job whose summary changed (or left the list) is described:
// whichever costs fewer upstream calls. A job's poller stops when its last
// subscriber leaves; a kind's goroutine ends when it watches nothing.
//
// The upstream is a Source; this package knows nothing of AWS or of the
// API's messages (a Snapshot carries the state as an opaque value).
//
// The package is a leaf: it imports nothing of this module.
package jobwatch

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Snapshot is one observation of a job.
type Snapshot struct {
	ARN      string
	Status   string    // the upstream's status string
	Modified time.Time // the upstream's last modification time
	Terminal bool      // the job will not change by itself any more
	Gone     bool      // the job no longer exists
	ETag     string    // equal ETags: equal states
	Value    any       // the state itself, for subscribers
}

// Summary is what a List says of one job.
type Summary struct {
	ARN      string
	Status   string
	Modified time.Time
}

// Source is the upstream.
type Source interface {
	// Kind groups jobs that one List call covers ("" when arn is of none).
	Kind(arn string) string
	// Describe observes one job; a job that does not exist is a Snapshot
	// with Gone set, not an error.
	Describe(ctx context.Context, arn string) (Snapshot, error)
	// ListUnfinished lists the kind's jobs that are not Terminal, one page
	// (at most ListPageSize) per call, from pageToken ("" first); it
	// returns the next token, "" at the end.
	ListUnfinished(ctx context.Context, kind, pageToken string) ([]Summary, string, error)
}

// ListPageSize is how many summaries one ListUnfinished call returns at
// most (AWS's MaxResults).
const ListPageSize = 100

// Errors a Subscription ends with (Err).
var (
	// ErrGone: the job was deleted.
	ErrGone = errors.New("jobwatch: the job no longer exists")
	// ErrClosed: the hub is draining.
	ErrClosed = errors.New("jobwatch: closed")
	// ErrSlow: the subscriber did not keep up with the job's changes.
	ErrSlow = errors.New("jobwatch: subscriber too slow")
	// ErrTooMany: a watch limit is reached (Subscribe).
	ErrTooMany = errors.New("jobwatch: too many watches")
)

// Options configure a Hub. Zero values take the defaults.
type Options struct {
	Source Source
	// MinInterval is the poll interval right after a job is first seen or
	// changes (default 1s); MaxInterval the most it backs off to while
	// nothing changes or the upstream throttles (default 30s).
	MinInterval, MaxInterval time.Duration
	// Jitter spreads polls by up to this fraction of their interval either
	// way (default 0.1), so jobs watched together do not poll in lockstep.
	Jitter float64
	// MaxWatches bounds subscriptions in all, MaxWatchesPerCaller those of
	// one caller (0: 10,000 and 1,000).
	MaxWatches, MaxWatchesPerCaller int
	// Throttled reports whether an upstream error is throttling (the
	// poller then backs off the kind).
	Throttled func(error) bool
	// Context is the parent of every upstream call (values such as the
	// upstream origin); default context.Background(). Close cancels the
	// calls in flight.
	Context context.Context
	// CallTimeout bounds one upstream call (default 10s).
	CallTimeout time.Duration
	// OnSnapshot, when set, is told of every state a poll observes (the
	// Describe cache feeds on it).
	OnSnapshot func(Snapshot)
	Logger     *slog.Logger
}

// Hub is the set of pollers of one gateway process.
type Hub struct {
	o      Options
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	kinds    map[string]*kindPoller
	total    int
	byCaller map[string]int
	wg       sync.WaitGroup
}

// New makes a hub; pollers start with the first subscription.
func New(o Options) *Hub {
	if o.MinInterval <= 0 {
		o.MinInterval = time.Second
	}
	if o.MaxInterval < o.MinInterval {
		o.MaxInterval = max(30*time.Second, o.MinInterval)
	}
	if o.Jitter <= 0 || o.Jitter >= 1 {
		o.Jitter = 0.1
	}
	if o.MaxWatches <= 0 {
		o.MaxWatches = 10000
	}
	if o.MaxWatchesPerCaller <= 0 {
		o.MaxWatchesPerCaller = 1000
	}
	if o.Throttled == nil {
		o.Throttled = func(error) bool { return false }
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(o.Context)
	return &Hub{o: o, ctx: ctx, cancel: cancel, kinds: map[string]*kindPoller{}, byCaller: map[string]int{}}
}

// Subscription is one watcher of one job. States arrive on C in order;
// when C is closed, Err says why: nil (the job reached a terminal state,
// the last state sent), ErrGone, ErrClosed or ErrSlow.
type Subscription struct {
	C <-chan Snapshot

	c      chan Snapshot
	hub    *Hub
	kind   *kindPoller
	arn    string
	caller string

	once sync.Once
	err  error
}

// subscriberBuffer is how many states a subscriber may be behind. A job
// changes state a handful of times in its life, so only a stuck client
// fills it.
const subscriberBuffer = 32

// Subscribe watches arn for caller. The job's current state is the first
// value on C (at once when the hub knows it, else after one Describe).
func (h *Hub) Subscribe(arn, caller string) (*Subscription, error) {
	kind := h.o.Source.Kind(arn)
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return nil, ErrClosed
	case h.total >= h.o.MaxWatches || h.byCaller[caller] >= h.o.MaxWatchesPerCaller:
		h.mu.Unlock()
		return nil, ErrTooMany
	}
	h.total++
	h.byCaller[caller]++
	p := h.kinds[kind]
	if p == nil {
		p = &kindPoller{hub: h, kind: kind, jobs: map[string]*job{}, wake: make(chan struct{}, 1)}
		h.kinds[kind] = p
	}
	h.mu.Unlock()
	// Lock order: a kind's mu, then the hub's (Subscription.end), never
	// the other way round.
	c := make(chan Snapshot, subscriberBuffer)
	s := &Subscription{C: c, c: c, hub: h, kind: p, arn: arn, caller: caller}
	p.add(s)
	return s, nil
}

// Close ends the subscription (the client left); the job's poller stops
// with its last subscriber.
func (s *Subscription) Close() { s.kind.remove(s, ErrClosed) }

// Err is why C was closed (see Subscription).
func (s *Subscription) Err() error {
	s.kind.mu.Lock()
	defer s.kind.mu.Unlock()
	return s.err
}

// end closes C with err; p.mu is held.
func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.c)
		h := s.hub
		h.mu.Lock()
		h.total--
		if h.byCaller[s.caller]--; h.byCaller[s.caller] <= 0 {
			delete(h.byCaller, s.caller)
		}
		h.mu.Unlock()
	})
}

// Close ends every subscription with ErrClosed, cancels the upstream calls
// in flight and waits for the pollers.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	kinds := make([]*kindPoller, 0, len(h.kinds))
	for _, p := range h.kinds {
		kinds = append(kinds, p)
	}
	h.mu.Unlock()
	h.cancel()
	for _, p := range kinds {
		p.closeAll(ErrClosed)
	}
	h.wg.Wait()
}

// Stats is the number of subscriptions and of jobs being polled.
func (h *Hub) Stats() (watches, jobs int) {
	h.mu.Lock()
	watches = h.total
	kinds := make([]*kindPoller, 0, len(h.kinds))
	for _, p := range h.kinds {
		kinds = append(kinds, p)
	}
	h.mu.Unlock()
	for _, p := range kinds {
		p.mu.Lock()
		jobs += len(p.jobs)
		p.mu.Unlock()
	}
	return watches, jobs
}

// kindPoller polls the watched jobs of one kind from one goroutine, which
// runs while the kind has jobs.
type kindPoller struct {
	hub  *Hub
	kind string
	wake chan struct{}

	mu       sync.Mutex
	jobs     map[string]*job
	running  bool
	backoff  time.Duration // extra wait while the upstream throttles
	unfinish int           // unfinished jobs of the kind at the last List (-1: unknown)
	listed   bool
}

type job struct {
	arn      string
	subs     map[*Subscription]struct{}
	last     *Snapshot
	interval time.Duration
	next     time.Time
}

func (p *kindPoller) add(s *Subscription) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hub.ctx.Err() != nil {
		s.end(ErrClosed) // the hub closed after Subscribe's check
		return
	}
	j := p.jobs[s.arn]
	if j == nil {
		j = &job{arn: s.arn, subs: map[*Subscription]struct{}{}, interval: p.hub.o.MinInterval, next: time.Now()}
		p.jobs[s.arn] = j
		p.poke()
	}
	j.subs[s] = struct{}{}
	if j.last != nil {
		s.c <- *j.last // a fresh channel has room
	}
	if !p.running {
		p.running = true
		p.hub.wg.Add(1)
		go p.run()
	}
}

func (p *kindPoller) remove(s *Subscription, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if j := p.jobs[s.arn]; j != nil {
		delete(j.subs, s)
		if len(j.subs) == 0 {
			delete(p.jobs, s.arn)
		}
	}
	s.end(err)
}

func (p *kindPoller) closeAll(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for arn, j := range p.jobs {
		for s := range j.subs {
			s.end(err)
		}
		delete(p.jobs, arn)
	}
	p.poke()
}

func (p *kindPoller) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *kindPoller) run() {
	defer p.hub.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if len(p.jobs) == 0 || p.hub.ctx.Err() != nil {
			p.running = false
			p.mu.Unlock()
			return
		}
		now := time.Now()
		var due []string
		earliest := now.Add(time.Hour)
		for arn, j := range p.jobs {
			if !j.next.After(now) {
				due = append(due, arn)
			} else if j.next.Before(earliest) {
				earliest = j.next
			}
		}
		total := len(p.jobs)
		p.mu.Unlock()

		if len(due) == 0 {
			timer.Reset(earliest.Sub(now))
			select {
			case <-timer.C:
			case <-p.wake:
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			case <-p.hub.ctx.Done():
			}
			continue
		}
		p.poll(due, total)
	}
}

// poll refreshes the due jobs: by one List of the kind's unfinished jobs
// when that costs fewer calls than describing each, else by Describes.
func (p *kindPoller) poll(due []string, total int) {
	p.mu.Lock()
	listCost := 1
	if p.listed {
		listCost = max(1, (p.unfinish+ListPageSize-1)/ListPageSize)
	}
	p.mu.Unlock()
	if len(due) > listCost && len(due) > 1 {
		if p.pollByList(total) {
			return
		}
	}
	for _, arn := range due {
		if p.hub.ctx.Err() != nil {
			return
		}
		p.describe(arn)
	}
}

// pollByList lists the kind's unfinished jobs and describes only the
// watched ones whose summary changed or that left the list. It reports
// whether it dealt with the due jobs.
func (p *kindPoller) pollByList(total int) bool {
	seen := map[string]Summary{}
	token := ""
	for pages := 0; ; pages++ {
		ctx, cancel := context.WithTimeout(p.hub.ctx, p.hub.o.CallTimeout)
		items, next, err := p.hub.o.Source.ListUnfinished(ctx, p.kind, token)
		cancel()
		if err != nil {
			// The due jobs are rescheduled (later still when throttled);
			// describing them now would be the tight retry to avoid.
			p.failed(nil, err)
			return true
		}
		for _, it := range items {
			seen[it.ARN] = it
		}
		// Stop paging once a full page would cost more than describing
		// every watched job left.
		if next == "" || pages+2 > total {
			token = next
			break
		}
		token = next
	}
	complete := token == ""
	p.mu.Lock()
	p.backoff /= 2
	if complete {
		p.unfinish, p.listed = len(seen), true
	}
	var describe []string
	now := time.Now()
	// One jitter for the round: the unchanged jobs stay due together, so
	// the next round is one List again. With a jitter each they would come
	// due one by one over the jitter's window, and the first few (no more
	// than a List costs) would each be described first.
	f := p.jitterFactor()
	for arn, j := range p.jobs {
		sum, ok := seen[arn]
		switch {
		case j.last == nil, !ok:
			// Never seen; or not among the unfinished jobs: finished or
			// gone (or beyond the pages read, when paging stopped early).
			describe = append(describe, arn)
		case sum.Status != j.last.Status || !sum.Modified.Equal(j.last.Modified):
			describe = append(describe, arn)
		default:
			p.unchanged(j, now, f)
		}
	}
	p.mu.Unlock()
	for _, arn := range describe {
		p.describe(arn)
	}
	return true
}

// describe observes one job and passes on what changed.
func (p *kindPoller) describe(arn string) {
	ctx, cancel := context.WithTimeout(p.hub.ctx, p.hub.o.CallTimeout)
	snap, err := p.hub.o.Source.Describe(ctx, arn)
	cancel()
	if err != nil {
		p.failed([]string{arn}, err)
		return
	}
	if f := p.hub.o.OnSnapshot; f != nil {
		f(snap)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff /= 2 // the upstream answers again: come back to the schedule
	j := p.jobs[arn]
	if j == nil {
		return // the last subscriber left meanwhile
	}
	now := time.Now()
	if j.last != nil && j.last.ETag == snap.ETag {
		p.unchanged(j, now, p.jitterFactor())
		return
	}
	j.last = &snap
	j.interval = p.hub.o.MinInterval
	j.next = p.jittered(now, j.interval)
	for s := range j.subs {
		select {
		case s.c <- snap:
		default:
			delete(j.subs, s)
			s.end(ErrSlow)
		}
	}
	if snap.Terminal || snap.Gone || len(j.subs) == 0 {
		var err error
		if snap.Gone {
			err = ErrGone
		}
		for s := range j.subs {
			s.end(err)
		}
		delete(p.jobs, arn)
	}
}

// unchanged backs a job's schedule off, its next poll jittered by the
// factor f (jitterFactor); p.mu is held.
func (p *kindPoller) unchanged(j *job, now time.Time, f float64) {
	j.interval = min(2*j.interval, p.hub.o.MaxInterval)
	j.next = now.Add(time.Duration(float64(j.interval+p.backoff) * f))
}

// failed reschedules after an upstream error: the jobs named (or, for a
// List, every due job) wait longer, and a throttle backs the whole kind
// off. Subscribers are not told: they keep the last state, and the next
// poll catches up.
func (p *kindPoller) failed(arns []string, err error) {
	if p.hub.ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hub.o.Throttled(err) {
		p.backoff = min(max(2*p.backoff, p.hub.o.MinInterval), p.hub.o.MaxInterval)
	}
	p.hub.o.Logger.Warn("job watch: upstream poll failed; retrying later", "kind", p.kind, "error", err, "backoff", p.backoff)
	now := time.Now()
	if arns == nil {
		for _, j := range p.jobs {
			if !j.next.After(now) {
				arns = append(arns, j.arn)
			}
		}
	}
	for _, arn := range arns {
		if j := p.jobs[arn]; j != nil {
			j.interval = min(2*j.interval, p.hub.o.MaxInterval)
			j.next = p.jittered(now, j.interval+p.backoff)
		}
	}
}

// jittered is now + d, give or take Jitter of d.
func (p *kindPoller) jittered(now time.Time, d time.Duration) time.Time {
	return now.Add(time.Duration(float64(d) * p.jitterFactor()))
}

// jitterFactor is 1, give or take Jitter.
func (p *kindPoller) jitterFactor() float64 {
	j := p.hub.o.Jitter
	return 1 - j + 2*j*rand.Float64()
}
