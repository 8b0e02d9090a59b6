package emulator

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// JobKind names one of the three job families the emulator serves.
type JobKind int

// The job families.
const (
	BacktestExportJob JobKind = iota // PredictorBacktestExportJob, parent predictor
	ForecastExportJob                // ForecastExportJob, parent forecast
	DatasetImportJob                 // DatasetImportJob, parent dataset
	numKinds
)

type kindInfo struct {
	listOp     string // the List operation
	parentKey  string // filter key naming the parent ARN
	parentType string // ARN resource type of the parent
	jobType    string // ARN resource type of the job
}

var kinds = [numKinds]kindInfo{
	BacktestExportJob: {OpListPredictorBacktestExportJobs, "PredictorArn", "predictor", "predictor-backtest-export-job"},
	ForecastExportJob: {OpListForecastExportJobs, "ForecastArn", "forecast", "forecast-export-job"},
	DatasetImportJob:  {OpListDatasetImportJobs, "DatasetArn", "dataset", "dataset-import-job"},
}

func (k JobKind) String() string {
	if k >= 0 && k < numKinds {
		return kinds[k].jobType
	}
	return "unknown"
}

// job is the stored record. Fields change only under store.mu held for
// writing.
type job struct {
	kind      JobKind
	arn, name string
	parent    string // parent ARN
	created   time.Time
	cs        int64 // created, unix seconds: the sort key

	s3Path, roleArn, kmsKeyArn string
	format                     string // backtest and forecast export
	importMode                 string // dataset import

	// Static jobs (fixtures, settled or forced) carry their status; dynamic
	// ones (freshly created) derive it from created + the durations.
	dynamic          bool
	status, message  string
	lastMod          time.Time
	pending, running time.Duration
	tags             []tagPair
}

type tagPair struct{ Key, Value string }

// statusAt returns the job's status and LastModificationTime at now.
// LastModificationTime is the time of the last transition.
func (j *job) statusAt(now time.Time) (string, time.Time) {
	if !j.dynamic {
		return j.status, j.lastMod
	}
	started := j.created.Add(j.pending)
	done := started.Add(j.running)
	switch {
	case now.Before(started):
		return "CREATE_PENDING", j.created
	case now.Before(done):
		return "CREATE_IN_PROGRESS", started
	default:
		return "ACTIVE", done
	}
}

// JobInfo is a snapshot of one job as the API would show it now.
type JobInfo struct {
	Kind                 JobKind
	Arn                  string
	Name                 string
	ParentArn            string
	Status               string
	Message              string
	CreationTime         time.Time
	LastModificationTime time.Time
	S3Path               string
	RoleArn              string
	KMSKeyArn            string
	Format               string // "" for dataset import jobs
	ImportMode           string // "" except for dataset import jobs
	Tags                 map[string]string
}

func (j *job) info(now time.Time) JobInfo {
	st, lm := j.statusAt(now)
	in := JobInfo{
		Kind: j.kind, Arn: j.arn, Name: j.name, ParentArn: j.parent,
		Status: st, Message: j.message, CreationTime: j.created, LastModificationTime: lm,
		S3Path: j.s3Path, RoleArn: j.roleArn, KMSKeyArn: j.kmsKeyArn,
		Format: j.format, ImportMode: j.importMode,
	}
	if len(j.tags) > 0 {
		in.Tags = make(map[string]string, len(j.tags))
		for _, t := range j.tags {
			in.Tags[t.Key] = t.Value
		}
	}
	return in
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

// index is a slice of jobs kept in list order.
type index []*job

func (x index) seek(c *cursor) int {
	if c == nil {
		return 0
	}
	return sort.Search(len(x), func(i int) bool { return c.after(x[i]) })
}

func (x *index) insert(j *job) {
	s := *x
	i := sort.Search(len(s), func(i int) bool { return !before(s[i], j) })
	s = append(s, nil)
	copy(s[i+1:], s[i:])
	s[i] = j
	*x = s
}

func (x *index) remove(j *job) {
	s := *x
	i := sort.Search(len(s), func(i int) bool { return !before(s[i], j) })
	if i < len(s) && s[i] == j {
		copy(s[i:], s[i+1:])
		s[len(s)-1] = nil
		*x = s[:len(s)-1]
	}
}

type psKey struct{ parent, status string }

// table holds one job family and its indexes. byStatus and byParentStatus
// hold static jobs only, because a dynamic job's status moves with the
// clock; dynamic jobs are merged in at read time (there are few of them:
// they settle into the static indexes once ACTIVE).
type table struct {
	all            index
	byParent       map[string]*index
	byStatus       map[string]*index
	byParentStatus map[psKey]*index
	dynamic        index
}

func newTable() *table {
	return &table{
		byParent:       map[string]*index{},
		byStatus:       map[string]*index{},
		byParentStatus: map[psKey]*index{},
	}
}

func getIndex[K comparable](m map[K]*index, k K) *index {
	x := m[k]
	if x == nil {
		x = &index{}
		m[k] = x
	}
	return x
}

func (t *table) addStatic(j *job) {
	getIndex(t.byStatus, j.status).insert(j)
	getIndex(t.byParentStatus, psKey{j.parent, j.status}).insert(j)
}

func (t *table) removeStatic(j *job) {
	if x := t.byStatus[j.status]; x != nil {
		x.remove(j)
	}
	if x := t.byParentStatus[psKey{j.parent, j.status}]; x != nil {
		x.remove(j)
	}
}

func (t *table) insert(j *job) {
	t.all.insert(j)
	getIndex(t.byParent, j.parent).insert(j)
	if j.dynamic {
		t.dynamic.insert(j)
	} else {
		t.addStatic(j)
	}
}

// parent is a predictor, forecast or dataset.
type parent struct {
	kind   JobKind // the job family that hangs off it
	arn    string
	name   string
	status string
}

type store struct {
	mu      sync.RWMutex
	tables  [numKinds]*table
	byArn   map[string]*job
	parents map[string]*parent
	order   [numKinds][]string // parent ARNs in creation order
}

func newStore() *store {
	s := &store{byArn: map[string]*job{}, parents: map[string]*parent{}}
	for i := range s.tables {
		s.tables[i] = newTable()
	}
	return s
}

// bulkLoad adds fixture jobs with one sort per index instead of one insert
// per job, so 100,000 fixtures load in well under a second.
func (s *store) bulkLoad(jobs []*job) {
	for _, j := range jobs {
		s.byArn[j.arn] = j
		t := s.tables[j.kind]
		t.all = append(t.all, j)
		*getIndex(t.byParent, j.parent) = append(*getIndex(t.byParent, j.parent), j)
		if j.dynamic {
			t.dynamic = append(t.dynamic, j)
		} else {
			*getIndex(t.byStatus, j.status) = append(*getIndex(t.byStatus, j.status), j)
			k := psKey{j.parent, j.status}
			*getIndex(t.byParentStatus, k) = append(*getIndex(t.byParentStatus, k), j)
		}
	}
	srt := func(x index) { sort.Slice(x, func(a, b int) bool { return before(x[a], x[b]) }) }
	for _, t := range s.tables {
		srt(t.all)
		srt(t.dynamic)
		for _, x := range t.byParent {
			srt(*x)
		}
		for _, x := range t.byStatus {
			srt(*x)
		}
		for _, x := range t.byParentStatus {
			srt(*x)
		}
	}
}

// needsSettle reports (under a read lock) whether some dynamic job has
// reached its terminal status; the oldest one finishes first.
func (s *store) needsSettle(now time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.tables {
		if n := len(t.dynamic); n > 0 {
			if st, _ := t.dynamic[n-1].statusAt(now); st == "ACTIVE" {
				return true
			}
		}
	}
	return false
}

// settle moves finished dynamic jobs into the static indexes so the
// dynamic set stays small however many jobs are created. A clock set
// backwards later does not un-finish them.
func (s *store) settle(now time.Time) {
	if !s.needsSettle(now) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tables {
		keep := t.dynamic[:0]
		for _, j := range t.dynamic {
			st, lm := j.statusAt(now)
			if st != "ACTIVE" {
				keep = append(keep, j)
				continue
			}
			j.dynamic, j.status, j.lastMod = false, st, lm
			t.addStatic(j)
		}
		clear(t.dynamic[len(keep):])
		t.dynamic = keep
	}
}

// filter is one validated list filter.
type filter struct {
	key, value string
	not        bool
}

type query struct {
	kind    JobKind
	filters []filter
	after   *cursor
	limit   int
}

// merge walks two list-ordered slices as one.
type merge struct {
	a, b index
}

func (m *merge) next() *job {
	switch {
	case len(m.a) == 0 && len(m.b) == 0:
		return nil
	case len(m.b) == 0 || (len(m.a) > 0 && before(m.a[0], m.b[0])):
		j := m.a[0]
		m.a = m.a[1:]
		return j
	default:
		j := m.b[0]
		m.b = m.b[1:]
		return j
	}
}

// list returns one page of q and whether more matching jobs follow. It
// starts from the narrowest index the IS filters allow, seeks to the cursor
// by binary search and applies every filter as a predicate, so an IS-filtered
// page costs O(page + dynamic jobs) whatever the table size. IS_NOT-only
// queries walk the full order and may skip many jobs.
func (s *store) list(q query, now time.Time) ([]JobInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tables[q.kind]
	pkey := kinds[q.kind].parentKey
	var parentIS, statusIS *string
	for i := range q.filters {
		f := &q.filters[i]
		if f.not {
			continue
		}
		p := &parentIS
		if f.key != pkey {
			p = &statusIS
		}
		if *p != nil && **p != f.value {
			return nil, false // two different IS values for one key
		}
		*p = &f.value
	}
	var dyn index
	if statusIS != nil {
		dyn = t.dynamic[t.dynamic.seek(q.after):]
	}
	deref := func(x *index) index {
		if x == nil {
			return nil
		}
		return *x
	}
	var src index
	switch {
	case parentIS != nil && statusIS != nil:
		src = deref(t.byParentStatus[psKey{*parentIS, *statusIS}])
	case parentIS != nil:
		src = deref(t.byParent[*parentIS])
	case statusIS != nil:
		src = deref(t.byStatus[*statusIS])
	default:
		src = t.all
	}
	it := merge{a: src[src.seek(q.after):], b: dyn}
	var out []JobInfo
	for j := it.next(); j != nil; j = it.next() {
		if !matches(j, q.filters, pkey, now) {
			continue
		}
		if len(out) == q.limit {
			return out, true
		}
		out = append(out, j.info(now))
	}
	return out, false
}

func matches(j *job, fs []filter, pkey string, now time.Time) bool {
	for _, f := range fs {
		var v string
		if f.key == pkey {
			v = j.parent
		} else {
			v, _ = j.statusAt(now)
		}
		if (v == f.value) == f.not {
			return false
		}
	}
	return true
}

func (s *store) get(arn string, now time.Time) (JobInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j := s.byArn[arn]
	if j == nil {
		return JobInfo{}, false
	}
	return j.info(now), true
}

// inProgress counts created jobs not yet ACTIVE (for MaxInProgressJobs).
func (t *table) inProgress(now time.Time) int {
	n := 0
	for _, j := range t.dynamic {
		if st, _ := j.statusAt(now); st != "ACTIVE" {
			n++
		}
	}
	return n
}

func (s *store) setStatus(arn, status string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.byArn[arn]
	if j == nil {
		return false
	}
	t := s.tables[j.kind]
	if j.dynamic {
		t.dynamic.remove(j)
		j.dynamic = false
	} else {
		t.removeStatic(j)
	}
	j.status, j.lastMod = status, now.Truncate(time.Second)
	if strings.HasSuffix(status, "_FAILED") && j.message == "" {
		j.message = "Status set to " + status + " by the emulator test hook."
	}
	t.addStatic(j)
	return true
}
