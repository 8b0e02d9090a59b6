// Package emulator is an in-process Amazon Forecast emulator that speaks the
// real AWS JSON 1.1 wire protocol for every export and import job type
// (Create, Describe, List and Delete of each, plus StopResource and the tag
// operations), so the unmodified aws-sdk-go-v2 forecast client cannot tell
// it from AWS. It carries deterministic fixtures, job lifecycles on an
// advanceable clock, SigV4 header checks, AWS-style keyset pagination and
// fault injection. See README.md.
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
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// Server is one emulated Forecast endpoint. Its state (jobs, tags, faults,
// counters, clock) lives in the Server, not the listener, so it survives
// Close/Start cycles.
type Server struct {
	opts     Options
	store    *store
	faults   faults
	tokenKey []byte
	ops      map[string]opFunc
	calls    map[string]*atomic.Int64 // fixed key set: read without locking
	canceled map[string]*atomic.Int64
	creds    atomic.Pointer[credentialSet] // nil: any access key

	mu       sync.Mutex // guards the listener fields below
	httpSrv  *http.Server
	ln       net.Listener
	lastAddr string
}

// New builds a Server with its fixtures loaded; fixtures in a transitional
// status are scheduled from the clock's time now. It does not listen; use
// Start or Handler.
func New(opts Options) *Server {
	s := &Server{
		opts:     opts.withDefaults(),
		tokenKey: make([]byte, 32),
		calls:    map[string]*atomic.Int64{},
		canceled: map[string]*atomic.Int64{},
	}
	s.creds.Store(newCredentialSet(s.opts.Credentials))
	s.opts.Credentials = nil // Options() reports the current set
	s.store = newStore(s.opts.durations())
	_, _ = rand.Read(s.tokenKey)
	s.faults.rng = mrand.New(mrand.NewPCG(uint64(s.opts.FaultSeed), 0xfa17))
	s.registerOps()
	for _, op := range Operations {
		s.calls[op] = new(atomic.Int64)
		s.canceled[op] = new(atomic.Int64)
	}
	s.loadFixtures(s.Now())
	return s
}

func knownOp(op string) bool { return slices.Contains(Operations, op) }

// Options returns the effective options (defaults filled in; Credentials
// as last set by SetCredentials).
func (s *Server) Options() Options {
	o := s.opts
	o.Credentials = s.credentials()
	return o
}

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
	if strings.HasPrefix(r.URL.Path, controlPathPrefix) {
		s.serveControl(w, r)
		return
	}
	// AWS JSON services only answer POST /; anything else is an unknown
	// operation (AWS gives 404 here too).
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, &apiError{http.StatusNotFound, ErrUnknownOperation, "Only POST / is served."})
		return
	}
	// Like AWS, authentication comes before the operation is looked at;
	// refused requests reach no operation and are not counted.
	wallNow := time.Now()
	sig, e := checkSigV4(r, s.opts.Region, wallNow)
	if e != nil {
		s.refuse(w, e)
		return
	}
	var (
		cred *Credential
		body []byte
	)
	if cs := s.creds.Load(); cs != nil {
		if cred, e = cs.authenticate(r, sig, wallNow); e != nil {
			s.refuse(w, e)
			return
		}
		// The signature covers the body, so it is read first here: a body
		// over MaxBodyBytes is refused before the signature check.
		if body, e = s.readBody(w, r); e != nil {
			s.refuse(w, e)
			return
		}
		if e = verifySignature(r, sig, body, cred.SecretAccessKey); e != nil {
			s.refuse(w, e)
			return
		}
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	handler := s.ops[op]
	if !ok || handler == nil {
		writeError(w, newErr(ErrUnknownOperation, "Unknown operation %q.", target))
		return
	}
	if cred != nil {
		if e := cred.authorize(op, s.opts.Account); e != nil {
			s.refuse(w, e)
			return
		}
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
	if cred == nil {
		if body, e = s.readBody(w, r); e != nil {
			writeError(w, e)
			return
		}
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
	now := s.Now()
	s.store.advance(now)
	out, apiErr := handler(body, now)
	if gone() {
		return
	}
	if apiErr != nil {
		log.Debug("request failed", "type", apiErr.typ, "message", apiErr.msg)
		writeError(w, apiErr)
		return
	}
	writeBody(w, out)
}

// refuse answers a request that failed authentication or authorization.
func (s *Server) refuse(w http.ResponseWriter, e *apiError) {
	s.opts.Logger.Debug("request refused", "type", e.typ, "message", e.msg)
	writeError(w, e)
}

// readBody reads the whole request body, at most MaxBodyBytes of it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{http.StatusRequestEntityTooLarge, ErrSerialization, fmt.Sprintf("Request body exceeds %d bytes.", s.opts.MaxBodyBytes)}
		}
		return nil, newErr(ErrSerialization, "Reading request body: %v", err)
	}
	return body, nil
}

// InjectFault adds a fault for op ("" = every operation). Faults stack.
func (s *Server) InjectFault(op string, f Fault) { s.faults.add(op, f) }

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.faults.clear() }

// CallCount is the number of requests for op ("" = all operations) that
// reached the operation's handler, faulted or not: they passed the SigV4
// (and, with credentials, the authentication and authorization) checks and
// named a known operation. Refused requests and control endpoint requests
// are not counted.
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

// kindFor returns t's row; it panics on a type outside jobtype.All (a
// programming error in the caller).
func kindFor(t *jobtype.Type) *kind {
	k := kindOf[t]
	if k == nil {
		panic(fmt.Sprintf("emulator: unknown job type %v", t))
	}
	return k
}

// ParentArns returns the fixture parents of t's jobs in creation order:
// datasets, forecasts, predictors, Explainabilities, or for
// jobtype.WhatIfForecastExport the what-if forecasts.
func (s *Server) ParentArns(t *jobtype.Type) []string {
	k := kindFor(t)
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return slices.Clone(s.store.order[k.refType])
}

// DatasetArns returns the fixture dataset ARNs in creation order.
func (s *Server) DatasetArns() []string { return s.ParentArns(jobtype.DatasetImportJob) }

// ForecastArns returns the fixture forecast ARNs in creation order.
func (s *Server) ForecastArns() []string { return s.ParentArns(jobtype.ForecastExportJob) }

// PredictorArns returns the fixture predictor ARNs in creation order.
func (s *Server) PredictorArns() []string { return s.ParentArns(jobtype.PredictorBacktestExportJob) }

// ExplainabilityArns returns the fixture Explainability ARNs in creation
// order.
func (s *Server) ExplainabilityArns() []string { return s.ParentArns(jobtype.ExplainabilityExport) }

// WhatIfForecastArns returns the fixture what-if forecast ARNs in creation
// order.
func (s *Server) WhatIfForecastArns() []string { return s.ParentArns(jobtype.WhatIfForecastExport) }

// Jobs returns every job of type t as the API shows it now, in list order
// (CreationTime descending, ties by ARN ascending).
func (s *Server) Jobs(t *jobtype.Type) []JobInfo {
	k := kindFor(t)
	now := s.Now()
	s.store.advance(now)
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	x := &s.store.tables[k.idx].all
	out := make([]JobInfo, 0, x.n)
	it := x.seek(nil)
	for j := it.next(); j != nil; j = it.next() {
		out = append(out, s.store.info(j, now))
	}
	return out
}

// Job returns one job of any type by ARN, as the API shows it now.
func (s *Server) Job(arn string) (JobInfo, bool) {
	now := s.Now()
	s.store.advance(now)
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	j := s.store.byArn[arn]
	if j == nil {
		return JobInfo{}, false
	}
	return s.store.info(j, now), true
}

// JobCount returns the number of jobs of type t now.
func (s *Server) JobCount(t *jobtype.Type) int {
	k := kindFor(t)
	s.store.advance(s.Now())
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	return s.store.tables[k.idx].all.n
}

// Statuses returns the distinct statuses of t's jobs now, sorted.
func (s *Server) Statuses(t *jobtype.Type) []string {
	k := kindFor(t)
	s.store.advance(s.Now())
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	var out []string
	for st, x := range s.store.tables[k.idx].byStatus {
		if x.n > 0 {
			out = append(out, st)
		}
	}
	sort.Strings(out)
	return out
}

// SetJobStatus forces a job's status to any string, known to AWS or not
// (e.g. "CREATE_QUEUED"), and freezes its lifecycle: its pending
// transition is cancelled (a later StopResource or Delete call starts a
// new one). The job entered the status now; a *_FAILED status without a
// message gets one.
func (s *Server) SetJobStatus(jobArn, status string) error {
	if status == "" {
		return errors.New("emulator: empty status")
	}
	now := s.Now()
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	st.advanceLocked(now)
	j := st.byArn[jobArn]
	if j == nil {
		return fmt.Errorf("emulator: no job %s", jobArn)
	}
	st.unschedule(j)
	j.activeAt = time.Time{}
	st.setStatus(j, status, now)
	if strings.HasSuffix(status, "_FAILED") && j.message == "" {
		j.message = "Status set to " + status + " by the emulator test hook."
	}
	return nil
}

// SetParentStatus sets the status of a dataset, forecast, predictor,
// Explainability or what-if forecast. Creating a job from a parent that is
// not ACTIVE fails with ResourceInUseException.
func (s *Server) SetParentStatus(arn, status string) error {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	p := s.store.parents[arn]
	if p == nil {
		return fmt.Errorf("emulator: no parent resource %s", arn)
	}
	p.status = status
	return nil
}
