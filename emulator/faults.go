package emulator

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is what an injected fault does to a call.
type FaultKind int

// The fault kinds.
const (
	FaultLatency     FaultKind = iota + 1 // delay the call by Latency (aborted if the client goes away)
	FaultThrottle                         // HTTP 400 ThrottlingException
	FaultServerError                      // HTTP StatusCode (default 500) InternalFailure / ServiceUnavailable
	FaultConnReset                        // close the TCP connection with RST, no response
)

func (k FaultKind) String() string {
	switch k {
	case FaultLatency:
		return "latency"
	case FaultThrottle:
		return "throttle"
	case FaultServerError:
		return "error"
	case FaultConnReset:
		return "reset"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault describes one injected fault.
//
// Count > 0 and Rate == 0: the next Count calls. Rate > 0 and Count == 0:
// each call with probability Rate until ClearFaults. Both: with probability
// Rate, at most Count times. Neither: every call until ClearFaults.
type Fault struct {
	Kind       FaultKind
	Latency    time.Duration // FaultLatency
	StatusCode int           // FaultServerError; default 500
	Count      int
	Rate       float64
}

type faultRule struct {
	op   string // "" = every operation
	f    Fault
	left int // remaining firings when f.Count > 0
}

type faults struct {
	mu    sync.Mutex
	rules []*faultRule
	rng   *rand.Rand
}

func (fs *faults) add(op string, f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.rules = append(fs.rules, &faultRule{op: op, f: f, left: f.Count})
}

func (fs *faults) clear() {
	fs.mu.Lock()
	fs.rules = nil
	fs.mu.Unlock()
}

// pick decides the faults for one call of op: the total latency of every
// firing latency rule, then at most one failing fault (the first that
// fires, in injection order).
func (fs *faults) pick(op string) (latency time.Duration, fail *Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	keep := fs.rules[:0]
	for _, r := range fs.rules {
		fired := false
		if (r.op == "" || r.op == op) && (r.f.Kind == FaultLatency || fail == nil) {
			fired = r.f.Rate <= 0 || fs.rng.Float64() < r.f.Rate
		}
		if fired {
			if r.f.Kind == FaultLatency {
				latency += r.f.Latency
			} else {
				f := r.f
				fail = &f
			}
			if r.f.Count > 0 {
				r.left--
			}
		}
		if r.f.Count == 0 || r.left > 0 {
			keep = append(keep, r)
		}
	}
	clear(fs.rules[len(keep):])
	fs.rules = keep
	return latency, fail
}

// sleepCtx waits d or until the request is cancelled; false if cancelled.
func sleepCtx(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// fail carries out a failing fault.
func (s *Server) fail(w http.ResponseWriter, f *Fault) {
	switch f.Kind {
	case FaultThrottle:
		writeError(w, newErr(ErrThrottling, "Rate exceeded"))
	case FaultServerError:
		code := f.StatusCode
		if code == 0 {
			code = http.StatusInternalServerError
		}
		e := &apiError{status: code, typ: ErrInternalFailure, msg: "The request processing has failed because of an unknown error, exception or failure."}
		if code == http.StatusServiceUnavailable {
			e.typ, e.msg = ErrServiceUnavailable, "The service is unavailable. Please try again later."
		}
		writeError(w, e)
	case FaultConnReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			// Embedded behind something that cannot hijack (e.g. HTTP/2):
			// the closest thing is aborting the response.
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST, not FIN
		}
		_ = conn.Close()
	}
}

// ParseFault parses a --fault flag value, comma-separated key=value pairs:
//
//	op=ListForecastExportJobs   operation (omit or "*" for all)
//	kind=latency|throttle|error|reset
//	latency=200ms               for kind=latency
//	status=503                  for kind=error (default 500)
//	count=3                     next N calls
//	rate=0.1                    probability per call
func ParseFault(spec string) (op string, f Fault, err error) {
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return "", f, fmt.Errorf("fault %q: %q is not key=value", spec, kv)
		}
		switch k {
		case "op":
			if v != "*" {
				op = v
			}
		case "kind":
			switch v {
			case "latency":
				f.Kind = FaultLatency
			case "throttle":
				f.Kind = FaultThrottle
			case "error", "5xx":
				f.Kind = FaultServerError
			case "reset":
				f.Kind = FaultConnReset
			default:
				return "", f, fmt.Errorf("fault %q: unknown kind %q (latency, throttle, error, reset)", spec, v)
			}
		case "latency":
			f.Latency, err = time.ParseDuration(v)
		case "status":
			f.StatusCode, err = strconv.Atoi(v)
			if err == nil && (f.StatusCode < 500 || f.StatusCode > 599) {
				err = fmt.Errorf("status %d is not 5xx", f.StatusCode)
			}
		case "count":
			f.Count, err = strconv.Atoi(v)
		case "rate":
			f.Rate, err = strconv.ParseFloat(v, 64)
			if err == nil && (f.Rate < 0 || f.Rate > 1) {
				err = fmt.Errorf("rate %v is outside 0..1", f.Rate)
			}
		default:
			return "", f, fmt.Errorf("fault %q: unknown key %q", spec, k)
		}
		if err != nil {
			return "", f, fmt.Errorf("fault %q: %s: %w", spec, k, err)
		}
	}
	if f.Kind == 0 {
		return "", f, fmt.Errorf("fault %q: kind is required", spec)
	}
	if op != "" && !knownOp(op) {
		return "", f, fmt.Errorf("fault %q: unknown operation %q", spec, op)
	}
	return op, f, nil
}
