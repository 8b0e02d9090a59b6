package emulator

import (
	"container/heap"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// Job statuses (awsrules.Statuses).
const (
	statusActive           = "ACTIVE"
	statusPending          = "CREATE_PENDING"
	statusInProgress       = "CREATE_IN_PROGRESS"
	statusCreateFailed     = "CREATE_FAILED"
	statusStopping         = "CREATE_STOPPING"
	statusStopped          = "CREATE_STOPPED"
	statusDeletePending    = "DELETE_PENDING"
	statusDeleteInProgress = "DELETE_IN_PROGRESS"
	statusDeleteFailed     = "DELETE_FAILED"
)

// job is the stored record of one job of any type. Fields change only
// under store.mu held for writing.
type job struct {
	k         *kind
	arn, name string
	parent    string   // parent ARN; "" for what-if forecast exports
	whatIf    []string // the what-if forecasts a what-if forecast export reads
	created   time.Time
	cs        int64 // created, unix seconds: the sort key

	s3Path, roleArn, kmsKeyArn, format string
	// Dataset import jobs only.
	importMode, timeZone, timestampFormat, geoFormat string
	useGeo                                           bool

	status, message string
	entered         time.Time // when the job entered status (whole seconds)
	activated       bool      // has been ACTIVE: DataSize and FieldStatistics are known
	apiCreated      bool      // made by Create: counts towards MaxInProgressJobs

	// Lifecycle: the next transition is due at due while hidx >= 0 (the
	// job's place in store.sched). activeAt is when a CREATE_PENDING or
	// CREATE_IN_PROGRESS job is expected to become ACTIVE (zero once it is
	// frozen by SetJobStatus).
	due      time.Time
	hidx     int
	activeAt time.Time
}

// refs returns the ARNs the job is made from: its parent, or for a what-if
// forecast export the what-if forecasts.
func (j *job) refs() []string {
	if j.parent != "" {
		return []string{j.parent}
	}
	return j.whatIf
}

// lastMod is LastModificationTime as AWS documents it: the CreationTime
// while CREATE_PENDING, the current time (whole seconds, never before the
// job entered the status) while CREATE_IN_PROGRESS or CREATE_STOPPING,
// otherwise the time of the transition into the status.
func (j *job) lastMod(now time.Time) time.Time {
	switch j.status {
	case statusPending:
		return j.created
	case statusInProgress, statusStopping:
		if n := now.Truncate(time.Second); n.After(j.entered) {
			return n
		}
	}
	return j.entered
}

// running reports whether the status is CREATE_PENDING or
// CREATE_IN_PROGRESS (stoppable, counted by MaxInProgressJobs, with an
// estimated time remaining).
func running(status string) bool { return status == statusPending || status == statusInProgress }

// eta is EstimatedTimeRemainingInMinutes: whole minutes (rounded up, at
// least 1) until the job is expected to be ACTIVE.
func (j *job) eta(now time.Time) int64 {
	if j.activeAt.IsZero() {
		return 1
	}
	return max(int64(math.Ceil(j.activeAt.Sub(now).Minutes())), 1)
}

// JobInfo is a snapshot of one job as the API would show it now.
type JobInfo struct {
	Type      *jobtype.Type
	Arn       string
	Name      string
	ParentArn string // "" for what-if forecast exports
	// WhatIfForecastArns are the what-if forecasts a what-if forecast
	// export reads (nil for the other types).
	WhatIfForecastArns   []string
	Status               string
	Message              string
	CreationTime         time.Time
	LastModificationTime time.Time
	S3Path               string
	RoleArn              string
	KMSKeyArn            string
	Format               string
	// Dataset import jobs only.
	ImportMode                string
	TimeZone                  string
	TimestampFormat           string
	GeolocationFormat         string
	UseGeolocationForTimeZone bool
	Tags                      map[string]string
}

// before is the list order: CreationTime descending, ties by ARN ascending.
func before(a, b *job) bool {
	if a.cs != b.cs {
		return a.cs > b.cs
	}
	return a.arn < b.arn
}

// cursor is the keyset position: the last job a page returned.
type cursor struct {
	cs  int64
	arn string
}

// after reports whether j comes strictly after c in list order.
func (c *cursor) after(j *job) bool {
	if j.cs != c.cs {
		return j.cs < c.cs
	}
	return j.arn > c.arn
}

// chunkSize is the target length of an index chunk; chunks split at twice
// that. Inserting or removing moves at most one chunk's pointers, so status
// changes stay cheap in indexes of any size.
const chunkSize = 256

// index is a set of jobs in list order, kept as a list of sorted chunks:
// seeking is two binary searches, inserting or removing one memmove of a
// chunk (plus, rarely, of the chunk list).
type index struct {
	chunks [][]*job
	n      int
}

// chunkFor is the first chunk whose last job is not before j, or
// len(chunks) when j is after every job.
func (x *index) chunkFor(j *job) int {
	return sort.Search(len(x.chunks), func(i int) bool {
		c := x.chunks[i]
		return !before(c[len(c)-1], j)
	})
}

func (x *index) insert(j *job) {
	x.n++
	if len(x.chunks) == 0 {
		x.chunks = [][]*job{{j}}
		return
	}
	ci := min(x.chunkFor(j), len(x.chunks)-1)
	c := x.chunks[ci]
	i := sort.Search(len(c), func(i int) bool { return !before(c[i], j) })
	c = slices.Insert(c, i, j)
	if len(c) < 2*chunkSize {
		x.chunks[ci] = c
		return
	}
	tail := slices.Clone(c[chunkSize:])
	clear(c[chunkSize:])
	x.chunks[ci] = c[:chunkSize]
	x.chunks = slices.Insert(x.chunks, ci+1, tail)
}

func (x *index) remove(j *job) {
	ci := x.chunkFor(j)
	if ci == len(x.chunks) {
		return
	}
	c := x.chunks[ci]
	i := sort.Search(len(c), func(i int) bool { return !before(c[i], j) })
	if i == len(c) || c[i] != j {
		return
	}
	x.n--
	if c = slices.Delete(c, i, i+1); len(c) == 0 {
		x.chunks = slices.Delete(x.chunks, ci, ci+1)
	} else {
		x.chunks[ci] = c
	}
}

// load replaces the content with jobs (sorted here).
func (x *index) load(jobs []*job) {
	slices.SortFunc(jobs, func(a, b *job) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	x.chunks, x.n = nil, len(jobs)
	for len(jobs) > 0 {
		n := min(len(jobs), chunkSize)
		x.chunks = append(x.chunks, jobs[:n:n])
		jobs = jobs[n:]
	}
}

// iter walks an index in list order.
type iter struct {
	x     *index
	ci, i int
}

// seek positions an iterator at the first job after c (the start when c is
// nil).
func (x *index) seek(c *cursor) iter {
	if c == nil {
		return iter{x: x}
	}
	ci := sort.Search(len(x.chunks), func(k int) bool {
		ch := x.chunks[k]
		return c.after(ch[len(ch)-1])
	})
	if ci == len(x.chunks) {
		return iter{x: x, ci: ci}
	}
	ch := x.chunks[ci]
	return iter{x: x, ci: ci, i: sort.Search(len(ch), func(k int) bool { return c.after(ch[k]) })}
}

func (it *iter) next() *job {
	for it.ci < len(it.x.chunks) {
		ch := it.x.chunks[it.ci]
		if it.i < len(ch) {
			it.i++
			return ch[it.i-1]
		}
		it.ci, it.i = it.ci+1, 0
	}
	return nil
}

type psKey struct{ parent, status string }

// table holds the jobs of one type and their indexes. Statuses are always
// current (transitions are applied before every read), so the status
// indexes need no merging at read time.
type table struct {
	all            index
	byParent       map[string]*index
	byStatus       map[string]*index
	byParentStatus map[psKey]*index
	inFlight       int // API-created jobs CREATE_PENDING or CREATE_IN_PROGRESS
}

func newTable() *table {
	return &table{byParent: map[string]*index{}, byStatus: map[string]*index{}, byParentStatus: map[psKey]*index{}}
}

func getIndex[K comparable](m map[K]*index, k K) *index {
	x := m[k]
	if x == nil {
		x = &index{}
		m[k] = x
	}
	return x
}

func (t *table) count(j *job, d int) {
	if j.apiCreated && running(j.status) {
		t.inFlight += d
	}
}

func (t *table) addStatus(j *job) {
	getIndex(t.byStatus, j.status).insert(j)
	if j.parent != "" {
		getIndex(t.byParentStatus, psKey{j.parent, j.status}).insert(j)
	}
	t.count(j, 1)
}

func (t *table) removeStatus(j *job) {
	if x := t.byStatus[j.status]; x != nil {
		x.remove(j)
	}
	if x := t.byParentStatus[psKey{j.parent, j.status}]; x != nil {
		x.remove(j)
	}
	t.count(j, -1)
}

func (t *table) add(j *job) {
	t.all.insert(j)
	if j.parent != "" {
		getIndex(t.byParent, j.parent).insert(j)
	}
	t.addStatus(j)
}

func (t *table) remove(j *job) {
	t.all.remove(j)
	if x := t.byParent[j.parent]; x != nil {
		x.remove(j)
	}
	t.removeStatus(j)
}

// parent is a resource jobs are made from: a dataset, forecast, predictor,
// Explainability or what-if forecast. Parents exist only as fixtures.
type parent struct {
	arnType, arn, name, status string
}

type tagPair struct{ Key, Value string }

// durations are the lifecycle phase lengths (Options, resolved).
type durations struct {
	pending, inProgress, stop, delete1, delete2 time.Duration
}

type store struct {
	mu      sync.RWMutex
	tables  []*table // by kind.idx
	byArn   map[string]*job
	parents map[string]*parent
	order   map[string][]string  // parent ARNs by ARN type, in creation order
	tags    map[string][]tagPair // by resource ARN, in insertion order
	sched   schedule             // pending transitions, earliest first
	nextDue atomic.Int64         // UnixNano of sched[0].due, MaxInt64 if none
	dur     durations
}

func newStore(d durations) *store {
	st := &store{
		tables: make([]*table, len(kinds)), byArn: map[string]*job{}, parents: map[string]*parent{},
		order: map[string][]string{}, tags: map[string][]tagPair{}, dur: d,
	}
	for i := range st.tables {
		st.tables[i] = newTable()
	}
	st.nextDue.Store(math.MaxInt64)
	return st
}

// schedule is a min-heap of jobs by due time (ties by ARN, so the order of
// simultaneous transitions is deterministic).
type schedule []*job

func (h schedule) Len() int { return len(h) }
func (h schedule) Less(a, b int) bool {
	if !h[a].due.Equal(h[b].due) {
		return h[a].due.Before(h[b].due)
	}
	return h[a].arn < h[b].arn
}
func (h schedule) Swap(a, b int) {
	h[a], h[b] = h[b], h[a]
	h[a].hidx, h[b].hidx = a, b
}
func (h *schedule) Push(x any) {
	j := x.(*job)
	j.hidx = len(*h)
	*h = append(*h, j)
}
func (h *schedule) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	j.hidx = -1
	return j
}

func (st *store) updateNextDue() {
	if len(st.sched) == 0 {
		st.nextDue.Store(math.MaxInt64)
		return
	}
	st.nextDue.Store(st.sched[0].due.UnixNano())
}

// scheduleAt sets the job's next transition.
func (st *store) scheduleAt(j *job, at time.Time) {
	j.due = at
	if j.hidx >= 0 {
		heap.Fix(&st.sched, j.hidx)
	} else {
		heap.Push(&st.sched, j)
	}
	st.updateNextDue()
}

// unschedule cancels the job's next transition, if any.
func (st *store) unschedule(j *job) {
	if j.hidx >= 0 {
		heap.Remove(&st.sched, j.hidx)
		st.updateNextDue()
	}
}

// advance applies every transition due at or before now. When nothing is
// due it costs one atomic load, so every request can call it.
func (st *store) advance(now time.Time) {
	if now.UnixNano() < st.nextDue.Load() {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.advanceLocked(now)
}

func (st *store) advanceLocked(now time.Time) {
	for len(st.sched) > 0 && !st.sched[0].due.After(now) {
		st.fire(heap.Pop(&st.sched).(*job))
	}
	st.updateNextDue()
}

// fire applies the job's due transition at its due time (so
// LastModificationTime is the transition's time however late it is
// observed), scheduling the next one.
func (st *store) fire(j *job) {
	at := j.due
	switch j.status {
	case statusPending:
		if roleNameContains(j.roleArn, cannotAssume) {
			j.message = assumeRoleMessage(j.roleArn)
			j.activeAt = time.Time{}
			st.setStatus(j, statusCreateFailed, at)
			return
		}
		st.setStatus(j, statusInProgress, at)
		st.scheduleAt(j, j.entered.Add(st.dur.inProgress))
		j.activeAt = j.due
	case statusInProgress:
		j.activeAt = time.Time{}
		st.setStatus(j, statusActive, at)
	case statusStopping:
		j.message = stoppedMessage
		st.setStatus(j, statusStopped, at)
	case statusDeletePending:
		st.setStatus(j, statusDeleteInProgress, at)
		st.scheduleAt(j, j.entered.Add(st.dur.delete2))
	case statusDeleteInProgress:
		if roleNameContains(j.roleArn, cannotDelete) {
			j.message = deleteFailedMessage(j)
			st.setStatus(j, statusDeleteFailed, at)
			return
		}
		st.drop(j)
	}
}

// setStatus moves a job to status at time at, keeping the indexes right.
func (st *store) setStatus(j *job, status string, at time.Time) {
	t := st.tables[j.k.idx]
	t.removeStatus(j)
	j.status, j.entered = status, at.Truncate(time.Second)
	if status == statusActive {
		j.activated = true
	}
	t.addStatus(j)
}

// insert adds a new job (its ARN must be free).
func (st *store) insert(j *job) {
	st.byArn[j.arn] = j
	st.tables[j.k.idx].add(j)
}

// drop removes a job for good, with its tags.
func (st *store) drop(j *job) {
	st.unschedule(j)
	delete(st.byArn, j.arn)
	delete(st.tags, j.arn)
	st.tables[j.k.idx].remove(j)
}

// bulkLoad adds fixture jobs with one sort per index instead of one insert
// per job, so 100,000 fixtures load in well under a second.
func (st *store) bulkLoad(jobs []*job) {
	type lists struct {
		all            []*job
		byParent       map[string][]*job
		byStatus       map[string][]*job
		byParentStatus map[psKey][]*job
	}
	ls := make([]lists, len(st.tables))
	for i := range ls {
		ls[i] = lists{byParent: map[string][]*job{}, byStatus: map[string][]*job{}, byParentStatus: map[psKey][]*job{}}
	}
	for _, j := range jobs {
		st.byArn[j.arn] = j
		l := &ls[j.k.idx]
		l.all = append(l.all, j)
		l.byStatus[j.status] = append(l.byStatus[j.status], j)
		if j.parent != "" {
			l.byParent[j.parent] = append(l.byParent[j.parent], j)
			k := psKey{j.parent, j.status}
			l.byParentStatus[k] = append(l.byParentStatus[k], j)
		}
	}
	for i, l := range ls {
		t := st.tables[i]
		t.all.load(l.all)
		for p, js := range l.byParent {
			getIndex(t.byParent, p).load(js)
		}
		for s, js := range l.byStatus {
			getIndex(t.byStatus, s).load(js)
		}
		for k, js := range l.byParentStatus {
			getIndex(t.byParentStatus, k).load(js)
		}
	}
}

// filter is one validated list filter.
type filter struct {
	status     bool // key is Status, otherwise the type's ARN key
	key, value string
	not        bool
}

type query struct {
	filters []filter
	after   *cursor
	limit   int
}

// value is what filter f compares for job j.
func (f *filter) valueOf(j *job) string {
	switch {
	case f.status:
		return j.status
	case j.k.t.Filter.Self:
		return j.arn
	}
	return j.parent
}

func matches(j *job, fs []filter) bool {
	for i := range fs {
		if (fs[i].valueOf(j) == fs[i].value) == fs[i].not {
			return false
		}
	}
	return true
}

// list calls emit (under the read lock) for each job of one page of q and
// reports whether more matching jobs follow. It starts from the narrowest
// index the IS filters allow, seeks to the cursor by binary search and
// applies every filter as a predicate, so an IS-filtered or unfiltered page
// costs O(page) whatever the table size. IS_NOT-only queries walk the full
// order and may skip many jobs.
func (st *store) list(k *kind, q query, emit func(*job)) (more bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	t := st.tables[k.idx]
	var refIS, statusIS *string
	for i := range q.filters {
		f := &q.filters[i]
		if f.not {
			continue
		}
		p := &refIS
		if f.status {
			p = &statusIS
		}
		if *p != nil && **p != f.value {
			return false // two different IS values for one key
		}
		*p = &f.value
	}
	var src *index
	switch {
	case refIS != nil && k.t.Filter.Self:
		j := st.byArn[*refIS]
		if j == nil || j.k != k {
			return false
		}
		src = &index{chunks: [][]*job{{j}}, n: 1}
	case refIS != nil && statusIS != nil:
		src = t.byParentStatus[psKey{*refIS, *statusIS}]
	case refIS != nil:
		src = t.byParent[*refIS]
	case statusIS != nil:
		src = t.byStatus[*statusIS]
	default:
		src = &t.all
	}
	if src == nil {
		return false
	}
	n := 0
	it := src.seek(q.after)
	for j := it.next(); j != nil; j = it.next() {
		if !matches(j, q.filters) {
			continue
		}
		if n == q.limit {
			return true
		}
		emit(j)
		n++
	}
	return false
}

// info is the Go API view of j (the caller holds the lock).
func (st *store) info(j *job, now time.Time) JobInfo {
	in := JobInfo{
		Type: j.k.t, Arn: j.arn, Name: j.name, ParentArn: j.parent, WhatIfForecastArns: slices.Clone(j.whatIf),
		Status: j.status, Message: j.message, CreationTime: j.created, LastModificationTime: j.lastMod(now),
		S3Path: j.s3Path, RoleArn: j.roleArn, KMSKeyArn: j.kmsKeyArn, Format: j.format,
		ImportMode: j.importMode, TimeZone: j.timeZone, TimestampFormat: j.timestampFormat,
		GeolocationFormat: j.geoFormat, UseGeolocationForTimeZone: j.useGeo,
	}
	if tags := st.tags[j.arn]; len(tags) > 0 {
		in.Tags = make(map[string]string, len(tags))
		for _, t := range tags {
			in.Tags[t.Key] = t.Value
		}
	}
	return in
}

// exists reports whether arn names a job or a parent (a taggable resource).
func (st *store) exists(arn string) bool {
	return st.byArn[arn] != nil || st.parents[arn] != nil
}
