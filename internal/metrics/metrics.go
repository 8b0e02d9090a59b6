// Package metrics holds the gateway's Prometheus collectors on a registry
// of their own (never the global one, so tests and several gateways in one
// process do not collide): go-grpc-middleware's gRPC server metrics, and
// the gateway's own about its upstream, its refusals and its REST surface.
// OPERATIONS.md lists every metric with its meaning.
//
// The package is a leaf: it imports nothing of this module.
package metrics

import (
	"net/http"
	"runtime"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes the gateway's own metrics.
const Namespace = "forecast_gateway"

// Metrics is the gateway's set of collectors.
type Metrics struct {
	Registry *prometheus.Registry

	// GRPC counts every RPC, gRPC and REST alike (REST reaches the service
	// through the same chain): grpc_server_started_total,
	// grpc_server_handled_total{grpc_code}, grpc_server_handling_seconds.
	GRPC *grpcprom.ServerMetrics

	// UpstreamCalls and UpstreamDuration: every AWS operation (its retries
	// inside it), by who asked (origin: request, health, startup, watch).
	UpstreamCalls    *prometheus.CounterVec   // operation, outcome, origin
	UpstreamDuration *prometheus.HistogramVec // operation, origin
	// UpstreamRetries counts attempts after the first.
	UpstreamRetries *prometheus.CounterVec // operation

	PageTokenRejections *prometheus.CounterVec // rule
	RateLimitRefusals   *prometheus.CounterVec // class, limit
	AuthRefusals        *prometheus.CounterVec // reason
	InFlight            *prometheus.GaugeVec   // transport

	HTTPRequests *prometheus.CounterVec   // route, method, code
	HTTPDuration *prometheus.HistogramVec // route, method

	// Describes counts Describe calls by how they were served: upstream
	// (an AWS call of their own), coalesced (sharing another's call in
	// flight), cache_hit (a terminal job from memory).
	Describes *prometheus.CounterVec // served
}

// WatchGauges exposes the open watches and the jobs being polled, read
// from f when scraped.
func (m *Metrics) WatchGauges(f func() (watches, jobs int)) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "watches",
			Help: "Open WatchJob streams and WaitJob calls."}, func() float64 { w, _ := f(); return float64(w) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "watched_jobs",
			Help: "Jobs polled for watchers (one poller each, however many watchers)."}, func() float64 { _, j := f(); return float64(j) }))
}

// latencyBuckets suit calls that take a millisecond to tens of seconds
// (AWS calls with retries and the call timeout).
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// New makes and registers the collectors, with build info (version,
// commit, Go version) and the Go runtime and process collectors.
func New(version, commit string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		GRPC:     grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(latencyBuckets))),
		UpstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_calls_total",
			Help: "AWS Forecast operations called, by operation, outcome (ok, client_error, throttled, server_error, auth_error, unreachable, canceled) and origin (request, health, startup, watch)."},
			[]string{"operation", "outcome", "origin"}),
		UpstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "upstream_call_duration_seconds",
			Help: "Duration of AWS Forecast operations, retries included.", Buckets: latencyBuckets},
			[]string{"operation", "origin"}),
		UpstreamRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "upstream_retries_total",
			Help: "Attempts after the first made by the AWS SDK (throttling and transient faults)."}, []string{"operation"}),
		PageTokenRejections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "page_token_rejections_total",
			Help: "Page tokens refused, by rule (expired, tampered, foreign, filter_mismatch, method_mismatch, caller_mismatch, malformed, aws)."}, []string{"rule"}),
		RateLimitRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rate_limit_refusals_total",
			Help: "Calls refused by a caller's rate or concurrency limit, by class (read, write, create) and limit (rate, concurrency)."}, []string{"class", "limit"}),
		AuthRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "auth_refusals_total",
			Help: "Calls refused for their credentials or scopes, by reason (UNAUTHENTICATED, INVALID_TOKEN, INVALID_CLIENT_CERTIFICATE, INSUFFICIENT_SCOPE)."}, []string{"reason"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "in_flight_calls",
			Help: "Calls being served, by transport (grpc, rest)."}, []string{"transport"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_requests_total",
			Help: "REST requests, by route (the OpenAPI path template, or the page), method and HTTP status code; refusals before routing included."},
			[]string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "http_request_duration_seconds",
			Help: "Duration of REST requests.", Buckets: latencyBuckets}, []string{"route", "method"}),
		Describes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "describes_total",
			Help: "Describe calls by how they were served: upstream, coalesced (sharing a call in flight), cache_hit (a terminal job from memory)."}, []string{"served"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels say which build runs."}, []string{"version", "commit", "go_version"})
	build.WithLabelValues(version, commit, runtime.Version()).Set(1)
	reg.MustRegister(m.GRPC, m.UpstreamCalls, m.UpstreamDuration, m.UpstreamRetries, m.PageTokenRejections,
		m.RateLimitRefusals, m.AuthRefusals, m.InFlight, m.HTTPRequests, m.HTTPDuration, m.Describes, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
