package transport

import (
	"net/http"
	"net/http/pprof"
	"sync/atomic"
)

// The admin listener serves operators and orchestrators, never the API:
// plain HTTP whatever TLS the API listeners use, so Kubernetes probes and
// Prometheus need no certificates.
//
//	/healthz  liveness: 200 while the process serves HTTP at all; never
//	          the upstream (restarting a replica does not fix AWS)
//	/readyz   readiness: 200 once both API listeners serve, 503 while
//	          starting and from the start of a drain; upstream trouble is in
//	          the metrics and the gRPC health of the service name, so an AWS
//	          outage does not take every replica out of its Service
//	/metrics  Prometheus
//	/debug/pprof/  only when Config.Pprof is set
func adminHandler(ready *atomic.Bool, metrics http.Handler, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: starting or draining\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
