// Package emulator is an in-process Amazon Forecast emulator that speaks the
// real AWS JSON 1.1 wire protocol for five operations, so the unmodified
// aws-sdk-go-v2 forecast client cannot tell it from AWS. It carries
// deterministic fixtures, a clock-driven job lifecycle, AWS-style keyset
// pagination and fault injection. See README.md.
package emulator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is one emulated Forecast endpoint. Its state (jobs, faults,
// counters) lives in the Server, not the listener, so it survives
// Close/Start cycles.
type Server struct {
	opts     Options
	store    *store
	faults   faults
	tokenKey []byte
	ops      map[string]func([]byte) (any, *apiError)
	calls    map[string]*atomic.Int64 // fixed key set: read without locking
	canceled map[string]*atomic.Int64

	mu       sync.Mutex // guards the listener fields below
	httpSrv  *http.Server
	ln       net.Listener
	lastAddr string
}

// New builds a Server with its fixtures loaded. It does not listen; use
// Start or Handler.
func New(opts Options) *Server {
	s := &Server{
		opts:     opts.withDefaults(),
		store:    newStore(),
		tokenKey: make([]byte, 32),
		calls:    map[string]*atomic.Int64{},
		canceled: map[string]*atomic.Int64{},
	}
	_, _ = rand.Read(s.tokenKey)
	s.faults.rng = mrand.New(mrand.NewPCG(uint64(s.opts.FaultSeed), 0xfa17))
	s.ops = map[string]func([]byte) (any, *apiError){
		OpCreatePredictorBacktestExportJob:   s.opCreate,
		OpDescribePredictorBacktestExportJob: s.opDescribe,
		OpListPredictorBacktestExportJobs:    s.opListBacktest,
		OpListForecastExportJobs:             s.opListExport,
		OpListDatasetImportJobs:              s.opListImport,
	}
	for _, op := range Operations {
		s.calls[op] = new(atomic.Int64)
		s.canceled[op] = new(atomic.Int64)
	}
	s.loadFixtures()
	return s
}

func knownOp(op string) bool {
	for _, o := range Operations {
		if o == op {
			return true
		}
	}
	return false
}

// Options returns the effective options (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Start listens on addr ("127.0.0.1:0" picks a free port; "" reuses the
// address of the previous Start, so a test can Close and Start again on
// the same port) and serves in the background.
func (s *Server) Start(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("emulator: already started")
	}
	if addr == "" {
		addr = s.lastAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	// No WriteTimeout: injected latency may legitimately exceed any fixed
	// value; slow readers are bounded by the read and idle timeouts.
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	s.ln, s.httpSrv, s.lastAddr = ln, hs, ln.Addr().String()
	go func() { _ = hs.Serve(ln) }()
	s.opts.Logger.Info("forecast emulator listening", "addr", s.lastAddr)
	return nil
}

// Addr is the listen address ("host:port") of the current or last Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAddr
}

// URL is the endpoint to give the SDK as BaseEndpoint, e.g.
// http://127.0.0.1:41234.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops listening and drops every open connection at once, like an
// upstream going down. State is kept; Start may be called again.
func (s *Server) Close() error {
	s.mu.Lock()
	hs := s.httpSrv
	s.httpSrv, s.ln = nil, nil
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	return hs.Close()
}

// Shutdown stops listening and waits for in-flight requests (graceful).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	hs := s.httpSrv
	s.httpSrv, s.ln = nil, nil
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	return hs.Shutdown(ctx)
}

// Handler returns the emulator as an http.Handler (for embedding or
// httptest). Connection-reset faults need a hijackable HTTP/1.x writer.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", newRequestID())
	// AWS JSON services only answer POST /; anything else is an unknown
	// operation (AWS gives 404 here too).
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, &apiError{http.StatusNotFound, ErrUnknownOperation, "Only POST / is served."})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	handler := s.ops[op]
	if !ok || handler == nil {
		writeError(w, newErr(ErrUnknownOperation, "Unknown operation %q.", target))
		return
	}
	s.calls[op].Add(1)
	log := s.opts.Logger.With("op", op)
	// A client that went away before we answered counts as cancelled.
	gone := func() bool {
		if r.Context().Err() == nil {
			return false
		}
		s.canceled[op].Add(1)
		log.Debug("request cancelled by client")
		return true
	}

	// Read the body before any injected latency: net/http only notices a
	// client going away (and cancels r.Context) once the body is consumed.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, &apiError{http.StatusRequestEntityTooLarge, ErrSerialization, fmt.Sprintf("Request body exceeds %d bytes.", s.opts.MaxBodyBytes)})
			return
		}
		writeError(w, newErr(ErrSerialization, "Reading request body: %v", err))
		return
	}
	latency, fail := s.faults.pick(op)
	if !sleepCtx(r, s.opts.Latency+latency) && gone() {
		return
	}
	if fail != nil {
		log.Debug("injecting fault", "kind", fail.Kind.String())
		s.fail(w, fail)
		return
	}

	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(mt), contentType) {
		writeError(w, newErr(ErrSerialization, "Content-Type must be %s, got %q.", contentType, r.Header.Get("Content-Type")))
		return
	}
	out, apiErr := handler(body)
	if gone() {
		return
	}
	if apiErr != nil {
		log.Debug("request failed", "type", apiErr.typ, "message", apiErr.msg)
		writeError(w, apiErr)
		return
	}
	writeJSON(w, out)
}

// InjectFault adds a fault for op ("" = every operation). Faults stack.
func (s *Server) InjectFault(op string, f Fault) { s.faults.add(op, f) }

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.faults.clear() }

// CallCount is the number of requests for op ("" = all operations) that
// reached the handler, faulted or not.
func (s *Server) CallCount(op string) int64 { return sum(s.calls, op) }

// CanceledCount is the number of requests for op ("" = all) whose client
// went away before the emulator had answered.
func (s *Server) CanceledCount(op string) int64 { return sum(s.canceled, op) }

func sum(m map[string]*atomic.Int64, op string) int64 {
	if op != "" {
		if c := m[op]; c != nil {
			return c.Load()
		}
		return 0
	}
	var n int64
	for _, c := range m {
		n += c.Load()
	}
	return n
}

// ResetCallCounts zeroes the call and cancellation counters.
func (s *Server) ResetCallCounts() {
	for _, op := range Operations {
		s.calls[op].Store(0)
		s.canceled[op].Store(0)
	}
}

// PredictorArns returns the fixture predictor ARNs in creation order.
func (s *Server) PredictorArns() []string { return s.parentArns(BacktestExportJob) }

// ForecastArns returns the fixture forecast ARNs in creation order.
func (s *Server) ForecastArns() []string { return s.parentArns(ForecastExportJob) }

// DatasetArns returns the fixture dataset ARNs in creation order.
func (s *Server) DatasetArns() []string { return s.parentArns(DatasetImportJob) }

func (s *Server) parentArns(k JobKind) []string {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return append([]string(nil), s.store.order[k]...)
}

// Jobs returns every job of kind k as the API shows it now, in list order
// (CreationTime descending, ties by ARN ascending).
func (s *Server) Jobs(k JobKind) []JobInfo {
	now := s.opts.Clock.Now()
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	all := s.store.tables[k].all
	out := make([]JobInfo, len(all))
	for i, j := range all {
		out[i] = j.info(now)
	}
	return out
}

// Job returns one job by ARN.
func (s *Server) Job(arn string) (JobInfo, bool) {
	return s.store.get(arn, s.opts.Clock.Now())
}

// SetJobStatus forces a job's status to any string, known to AWS or not
// (e.g. "CREATE_QUEUED"), freezing its lifecycle. LastModificationTime
// becomes now; a *_FAILED status without a message gets one.
func (s *Server) SetJobStatus(jobArn, status string) error {
	if status == "" {
		return errors.New("emulator: empty status")
	}
	if !s.store.setStatus(jobArn, status, s.opts.Clock.Now()) {
		return fmt.Errorf("emulator: no job %s", jobArn)
	}
	return nil
}

// SetParentStatus sets the status of a predictor, forecast or dataset.
// Creating a job from a parent that is not ACTIVE fails with
// ResourceInUseException.
func (s *Server) SetParentStatus(arn, status string) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	p := s.store.parents[arn]
	if p == nil {
		return fmt.Errorf("emulator: no predictor, forecast or dataset %s", arn)
	}
	p.status = status
	return nil
}

// JobCount returns the number of jobs of kind k.
func (s *Server) JobCount(k JobKind) int {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return len(s.store.tables[k].all)
}

// Statuses returns the distinct statuses of kind k's jobs now, sorted.
func (s *Server) Statuses(k JobKind) []string {
	seen := map[string]bool{}
	for _, j := range s.Jobs(k) {
		seen[j.Status] = true
	}
	out := make([]string, 0, len(seen))
	for st := range seen {
		out = append(out, st)
	}
	sort.Strings(out)
	return out
}
