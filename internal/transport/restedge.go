package transport

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/cors"
	"google.golang.org/grpc/codes"

	"github.com/forecastgw/forecast-gateway/internal/callinfo"
	"github.com/forecastgw/forecast-gateway/internal/metrics"
)

// Browser is what the REST listener accepts from browsers and proxies.
type Browser struct {
	// AllowedHosts are the Host header values (names or addresses, without
	// port) accepted besides the defaults: on a loopback listener only
	// loopback names and addresses are, which stops DNS rebinding (a page
	// whose name resolves to 127.0.0.1 reaching the gateway as a same-
	// origin request). On any other listener, when AllowedHosts is set,
	// only these hosts are accepted; "*" accepts any.
	AllowedHosts []string
	// CORSAllowedOrigins turns CORS on for these origins
	// ("https://app.example.com"); empty means no CORS at all.
	CORSAllowedOrigins []string
}

// Reasons of the edge's refusals.
const (
	reasonHostNotAllowed   = "HOST_NOT_ALLOWED"
	reasonOriginNotAllowed = "ORIGIN_NOT_ALLOWED"
)

// restEdge is the first handler of the REST listener, before routing and
// before the API documents: it checks the Host header, gives the request
// its callinfo.Info (request id, peer, TLS state) and X-Request-Id, answers
// CORS, and refuses a state-changing request from a foreign page. With the
// REST front's 415 for anything but JSON bodies, a browser page of another
// origin can neither read nor change anything: a form or text/plain POST
// (no preflight) is refused by Content-Type or by Origin, and a
// preflighted one never gets the CORS headers it needs.
type restEdge struct {
	hostAllowed func(host string) bool
	origins     []string // CORS-allowed origins, normalized
	next        http.Handler
	obs         edgeObserver
}

// edgeObserver is what the edge reports each request to: the access log
// and the REST metrics. The zero value reports nothing.
type edgeObserver struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	route   func(method, path string) string // the route template of a request
}

func newRESTEdge(b Browser, listenAddr string, next http.Handler, obs edgeObserver) (http.Handler, error) {
	hosts := map[string]bool{}
	for _, h := range b.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/:") && !strings.HasPrefix(h, "[") && net.ParseIP(h) == nil {
			return nil, fmt.Errorf("transport: allowed host %q: give a host name or address without scheme or port", h)
		}
		hosts[strings.Trim(h, "[]")] = true
	}
	loopback := isLoopbackListen(listenAddr)
	e := &restEdge{next: next, obs: obs, hostAllowed: func(host string) bool {
		switch {
		case hosts["*"] || hosts[host]:
			return true
		case loopback:
			return isLoopbackHost(host)
		}
		return len(hosts) == 0
	}}
	for _, o := range b.CORSAllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("transport: CORS origin %q: give scheme://host[:port], as a browser sends it", o)
		}
		e.origins = append(e.origins, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	if len(e.origins) == 0 {
		return e, nil
	}
	c := cors.New(cors.Options{
		AllowedOrigins:   e.origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodDelete},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "If-None-Match", "X-Request-Id", "Traceparent", "Tracestate"},
		ExposedHeaders:   []string{"ETag", "Location", "Retry-After", "WWW-Authenticate", "X-Request-Id"},
		AllowCredentials: false, // bearer tokens, not cookies
		MaxAge:           600,
	})
	// CORS runs inside the edge: a preflight from a rebinding Host is
	// refused like any other request.
	e.next = c.Handler(next)
	return e, nil
}

func (e *restEdge) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ci := &callinfo.Info{
		RequestID: callinfo.RequestIDFrom(r.Header.Get("X-Request-Id")),
		Transport: callinfo.REST,
		PeerAddr:  r.RemoteAddr,
		TLS:       r.TLS,
	}
	w := &statusRecorder{ResponseWriter: rw}
	defer func() { e.report(r, ci, w, time.Since(start)) }()
	w.Header().Set("X-Request-Id", ci.RequestID)
	host := requestHost(r)
	if !e.hostAllowed(host) {
		refuse(w, http.StatusMisdirectedRequest, codes.InvalidArgument, reasonHostNotAllowed,
			fmt.Sprintf("host %q is not served here; allow it with --allowed-hosts", host))
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && stateChanging(r.Method) && r.Method != http.MethodOptions && !e.originAllowed(origin, r) {
		refuse(w, http.StatusForbidden, codes.PermissionDenied, reasonOriginNotAllowed,
			fmt.Sprintf("a %s from a page of origin %q is not allowed; allow the origin with --cors-allowed-origins", r.Method, origin))
		return
	}
	e.next.ServeHTTP(w, r.WithContext(callinfo.NewContext(r.Context(), ci)))
}

// report writes the access-log line of a REST request and its metrics:
// one line per request, refusals before routing included, with the same
// fields as a gRPC call's line plus the HTTP method, route and status.
// Documentation pages are logged at debug.
func (e *restEdge) report(r *http.Request, ci *callinfo.Info, w *statusRecorder, d time.Duration) {
	route := "other"
	if e.obs.route != nil {
		route = e.obs.route(r.Method, r.URL.Path)
	}
	code := w.status()
	if m := e.obs.metrics; m != nil {
		m.HTTPRequests.WithLabelValues(route, r.Method, strconv.Itoa(code)).Inc()
		m.HTTPDuration.WithLabelValues(route, r.Method).Observe(d.Seconds())
	}
	if e.obs.log == nil {
		return
	}
	n, total := ci.Upstream()
	attrs := []slog.Attr{
		slog.String("protocol", "http"), slog.String("request_id", ci.RequestID), slog.String("transport", callinfo.REST),
		slog.String("http.method", r.Method), slog.String("http.route", route), slog.Int("http.status", code),
		slog.String("peer.address", ci.PeerAddr), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.Int64("upstream_calls", n), slog.Float64("upstream_ms", float64(total.Microseconds())/1000),
	}
	if method, grpcCode, ok := ci.Outcome(); ok {
		if i := strings.LastIndexByte(method, '/'); i >= 0 {
			attrs = append(attrs, slog.String("grpc.method", method[i+1:]))
		}
		attrs = append(attrs, slog.String("grpc.code", codes.Code(grpcCode).String()))
	}
	if c := ci.Caller(); c != "" {
		attrs = append(attrs, slog.String("caller", c))
	}
	level := slog.LevelInfo
	if !strings.HasPrefix(route, "/v1/") {
		level = slog.LevelDebug
	}
	e.obs.log.LogAttrs(r.Context(), level, "access", attrs...)
}

// statusRecorder remembers the status a handler wrote. It keeps the
// writer's Flusher (Server-Sent Events and streamed JSON need it).
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// originAllowed: the gateway's own origin (its /docs page) and the CORS
// origins. "null" (sandboxed frames, file: pages, some redirects) is
// foreign.
func (e *restEdge) originAllowed(origin string, r *http.Request) bool {
	origin = strings.ToLower(origin)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin == scheme+"://"+strings.ToLower(r.Host) {
		return true
	}
	return slices.Contains(e.origins, origin)
}

// requestHost is the Host header without its port, lower case, without
// brackets around an IPv6 address.
func requestHost(r *http.Request) string {
	h := strings.ToLower(r.Host)
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.Trim(h, "[]"), ".")
}

// isLoopbackHost: localhost, *.localhost (RFC 6761 reserves them for
// loopback) and loopback addresses.
func isLoopbackHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// isLoopbackListen reports whether a listen address binds loopback only.
func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return isLoopbackHost(strings.ToLower(host))
}

// IsLoopbackListen reports whether a listen address ("127.0.0.1:8080",
// "localhost:0") binds loopback only; ":8080" and "0.0.0.0:8080" do not.
func IsLoopbackListen(addr string) bool { return isLoopbackListen(addr) }

// incomingHeader passes the REST request headers that carry tracing
// context to the service as metadata; no other header becomes metadata.
func incomingHeader(key string) (string, bool) {
	switch k := strings.ToLower(key); k {
	case "traceparent", "tracestate":
		return k, true
	}
	return "", false
}
