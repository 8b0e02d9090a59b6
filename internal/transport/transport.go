// Package gateway wires the Forecast job service into running servers: gRPC
// (with health and reflection) and REST/JSON through grpc-gateway. The REST
// side calls the same service value through the gRPC server's own
// interceptor chain (see intercepted), so validation, interceptors and error
// mapping apply once whatever the transport.
package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fullstorydev/grpchan"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/stats"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/gen/openapi"
	"github.com/forecastgw/forecast-gateway/internal/metrics"
	"github.com/forecastgw/forecast-gateway/internal/version"
)

// Limits bound what one client can make the gateway hold. Zero fields take
// the defaults in DefaultLimits.
type Limits struct {
	MaxRecvMsgBytes      int           // largest gRPC request message
	MaxBodyBytes         int64         // largest REST request body (413 above)
	MaxHeaderBytes       int           // largest REST request header block
	MaxConcurrentStreams uint32        // per HTTP/2 connection, gRPC
	ReadHeaderTimeout    time.Duration // REST: slow-header clients are cut off
	ReadTimeout          time.Duration // REST: whole request
	WriteTimeout         time.Duration // REST: whole response
	IdleTimeout          time.Duration // REST keep-alive idle connections
	KeepaliveMinTime     time.Duration // gRPC: pings more often than this are abuse
	MaxConnectionIdle    time.Duration // gRPC: idle connections are closed after this
	// MaxConnectionAge closes each gRPC connection gracefully after this
	// age (0: never), so long-lived clients reconnect and spread over
	// replicas added since they connected.
	MaxConnectionAge time.Duration
	// StreamWorkers is how many goroutines grpc-go keeps to run calls on
	// (grpc.NumStreamWorkers). A call's goroutine grows its stack through
	// the interceptor chain and the AWS SDK's middleware; a reused worker
	// has grown it already, a goroutine started per call (grpc-go's
	// default, and its fallback when every worker is busy) grows and
	// copies it on every call. See BENCHMARKS.md ("grpc-go options").
	StreamWorkers uint32
}

// DefaultLimits are generous for the payloads of this API (a Create is well
// under 64 KiB even with 50 tags) and tight against slow or abusive peers.
var DefaultLimits = Limits{
	MaxRecvMsgBytes:      1 << 20,
	MaxBodyBytes:         1 << 20,
	MaxHeaderBytes:       64 << 10,
	MaxConcurrentStreams: 256,
	ReadHeaderTimeout:    5 * time.Second,
	ReadTimeout:          30 * time.Second,
	WriteTimeout:         2 * time.Minute,
	IdleTimeout:          2 * time.Minute,
	KeepaliveMinTime:     10 * time.Second,
	MaxConnectionIdle:    15 * time.Minute,
	StreamWorkers:        64,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	if l.MaxRecvMsgBytes != 0 {
		d.MaxRecvMsgBytes = l.MaxRecvMsgBytes
	}
	if l.MaxBodyBytes != 0 {
		d.MaxBodyBytes = l.MaxBodyBytes
	}
	if l.MaxHeaderBytes != 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	if l.MaxConcurrentStreams != 0 {
		d.MaxConcurrentStreams = l.MaxConcurrentStreams
	}
	if l.StreamWorkers != 0 {
		d.StreamWorkers = l.StreamWorkers
	}
	set(&d.ReadHeaderTimeout, l.ReadHeaderTimeout)
	set(&d.ReadTimeout, l.ReadTimeout)
	set(&d.WriteTimeout, l.WriteTimeout)
	set(&d.IdleTimeout, l.IdleTimeout)
	set(&d.KeepaliveMinTime, l.KeepaliveMinTime)
	set(&d.MaxConnectionIdle, l.MaxConnectionIdle)
	set(&d.MaxConnectionAge, l.MaxConnectionAge)
	return d
}

// Config is everything Start needs.
type Config struct {
	GRPCAddr string // default 127.0.0.1:9090; use 127.0.0.1:0 in tests
	HTTPAddr string // default 127.0.0.1:8080

	// Service is the API implementation.
	Service gatewayv1.ForecastJobServiceServer
	Logger  *slog.Logger
	Limits  Limits

	// Security is who may call what, and how much (see guard).
	Security Security
	// Browser is what the REST listener accepts from browsers (Host
	// header, CORS).
	Browser Browser
	// TLS, when set, serves both listeners over TLS with it (certificates
	// and client CAs may change under it: see internal/tlsconf).
	TLS *tls.Config
	// DisableReflection turns gRPC server reflection off.
	DisableReflection bool

	// AdminAddr, when set, is the admin listener: /healthz, /readyz,
	// /metrics and, with Pprof, /debug/pprof/ (see admin.go).
	AdminAddr string
	Pprof     bool
	// Metrics, when set, is where the chain and the REST edge count.
	Metrics *metrics.Metrics
	// Tracer, when set, traces every call: gRPC through otelgrpc's stats
	// handler, REST through otelhttp (W3C traceparent accepted on both).
	Tracer     trace.TracerProvider
	Propagator propagation.TextMapPropagator

	// Interceptors run after the transport's own (logging, recovery,
	// guard), on gRPC and REST alike; for example faults in tests.
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
}

// Default listen addresses: loopback, so a gateway started without
// configuration is reachable from this host only.
const (
	DefaultGRPCAddr = "127.0.0.1:9090"
	DefaultHTTPAddr = "127.0.0.1:8080"
)

// Server is a started transport.
type Server struct {
	grpcServer  *grpc.Server
	httpServer  *http.Server
	adminServer *http.Server // nil without an admin listener
	adminLis    net.Listener
	ready       atomic.Bool
	health      *health.Server
	draining    chan struct{} // closed when Shutdown starts; ends health Watch streams
	grpcLis     net.Listener
	httpLis     net.Listener
	log         *slog.Logger

	wg        sync.WaitGroup
	drainOnce sync.Once
	shutdown  sync.Once
}

// ServiceName is the gRPC service served, also its grpc.health.v1 name.
var ServiceName = gatewayv1.ForecastJobService_ServiceDesc.ServiceName

// Start listens on both addresses and serves until Shutdown. Health for ""
// (the process) is SERVING once both listeners serve and NOT_SERVING from
// the start of Shutdown; health for ServiceName starts NOT_SERVING and the
// caller sets it with SetServing.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("transport: Config.Service is required")
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = DefaultGRPCAddr
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	lim := cfg.Limits.withDefaults()
	sd, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(ServiceName))
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	rules, err := methodRules(sd.(protoreflect.ServiceDescriptor))
	if err != nil {
		return nil, err
	}
	if cfg.Security.Audit == nil {
		cfg.Security.Audit = cfg.Logger
	}
	chain := newChain(cfg.Logger, cfg.Metrics, &guard{sec: cfg.Security, rules: rules}, cfg.UnaryInterceptors, cfg.StreamInterceptors)

	s := &Server{log: cfg.Logger, health: health.NewServer(), draining: make(chan struct{})}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.SetServing(false)
	grpcOpts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(chain.unary...),
		grpc.ChainStreamInterceptor(chain.stream...),
		grpc.MaxRecvMsgSize(lim.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(lim.MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: lim.KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: lim.MaxConnectionIdle, MaxConnectionAge: lim.MaxConnectionAge}),
		grpc.ConnectionTimeout(lim.ReadHeaderTimeout),
		grpc.NumStreamWorkers(lim.StreamWorkers),
	}
	if cfg.TLS != nil {
		grpcOpts = append(grpcOpts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	if cfg.Tracer != nil {
		grpcOpts = append(grpcOpts, grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(cfg.Tracer), otelgrpc.WithPropagators(cfg.propagator()),
			otelgrpc.WithFilter(func(i *stats.RPCTagInfo) bool { return !strings.HasPrefix(i.FullMethodName, "/grpc.health.v1.") }))))
	}
	s.grpcServer = grpc.NewServer(grpcOpts...)
	gatewayv1.RegisterForecastJobServiceServer(s.grpcServer, cfg.Service)
	healthpb.RegisterHealthServer(s.grpcServer, drainingHealth{Server: s.health, draining: s.draining})
	if !cfg.DisableReflection {
		if err := registerReflection(s.grpcServer); err != nil {
			return nil, err
		}
	}

	// The REST side's channel: the same service and chain, in process.
	ch := newChannel()
	gatewayv1.RegisterForecastJobServiceServer(
		grpchan.WithUnaryInterceptors(grpchan.WithStreamInterceptors(ch, chain.stream...), chain.unary...),
		cfg.Service)

	restMux := runtime.NewServeMux(
		runtime.WithErrorHandler(restErrorHandler),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, restMarshaler),
		runtime.WithForwardResponseOption(created),
		// ARNs contain '/' and ':'. The item routes bind the rest of the
		// path ({arn=**}) and this mode decodes it after routing, so the ARN
		// works percent-encoded as one segment (%2F, %3A) and also raw.
		runtime.WithUnescapingMode(runtime.UnescapingModeAllCharacters),
		// Without this, {arn=**} also matches zero segments, and an item
		// route swallows its collection's list route.
		runtime.WithStrictDeepWildcardMatching(),
		// A form POST is not a GET: grpc-gateway would otherwise read a
		// urlencoded POST to a list route as that route's query.
		runtime.WithDisablePathLengthFallback(),
		// Only these headers become metadata (and Authorization, which
		// grpc-gateway always passes): a REST client must not be able to
		// set arbitrary gRPC metadata with Grpc-Metadata-* headers.
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		// The REST edge sets X-Request-Id; no other response metadata is
		// a REST header.
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
	)
	if err := gatewayv1.RegisterForecastJobServiceHandlerClient(ctx, restMux, gatewayv1.NewForecastJobServiceClient(ch)); err != nil {
		return nil, fmt.Errorf("transport: REST handlers: %w", err)
	}
	routes, err := routesFrom(openapi.Document, protoreflect.FullName(ServiceName))
	if err != nil {
		return nil, err
	}
	front := &restFront{routes: routes, maxHeaderBytes: lim.MaxHeaderBytes, maxBodyBytes: lim.MaxBodyBytes, next: restMux, conn: ch}
	mux := http.NewServeMux()
	docs := newAPIDocs(version.Get().Version)
	mux.HandleFunc("GET /openapi.json", docs.serveV2)
	mux.HandleFunc("GET /openapi3.json", docs.serveV3)
	mux.Handle("GET /docs/", docs.ui())
	mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	mux.Handle("/", front)
	edge, err := newRESTEdge(cfg.Browser, cfg.HTTPAddr, mux, edgeObserver{log: cfg.Logger, metrics: cfg.Metrics, route: front.routeOf})
	if err != nil {
		return nil, err
	}
	if cfg.Tracer != nil {
		// The REST request's span is the server span; the service runs in
		// its context (the in-process channel passes it on), so the
		// upstream calls are its children.
		edge = otelhttp.NewHandler(edge, "rest", otelhttp.WithTracerProvider(cfg.Tracer), otelhttp.WithPropagators(cfg.propagator()),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + front.routeOf(r.Method, r.URL.Path) }),
			otelhttp.WithFilter(func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v1/") }))
	}
	s.httpServer = &http.Server{
		Handler:           edge,
		TLSConfig:         cfg.TLS,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		// net/http answers a header block over MaxHeaderBytes itself, in
		// plain text; the REST front enforces Limits.MaxHeaderBytes with an
		// AIP-193 body, so net/http's own limit only backs it up.
		MaxHeaderBytes: max(lim.MaxHeaderBytes*4, 1<<20),
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}

	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("transport: gRPC listener: %w", err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		_ = s.grpcLis.Close()
		return nil, fmt.Errorf("transport: HTTP listener: %w", err)
	}
	if cfg.AdminAddr != "" {
		if s.adminLis, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			_ = s.grpcLis.Close()
			_ = s.httpLis.Close()
			return nil, fmt.Errorf("transport: admin listener: %w", err)
		}
		var mh http.Handler
		if cfg.Metrics != nil {
			mh = cfg.Metrics.Handler()
		}
		s.adminServer = &http.Server{
			Handler: adminHandler(&s.ready, mh, cfg.Pprof), ReadHeaderTimeout: lim.ReadHeaderTimeout,
			ReadTimeout: lim.ReadTimeout, IdleTimeout: lim.IdleTimeout,
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
			// No WriteTimeout: /debug/pprof/profile streams for its ?seconds.
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.adminServer.Serve(s.adminLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cfg.Logger.Error("admin server stopped", "error", err)
			}
		}()
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); _ = s.grpcServer.Serve(s.grpcLis) }()
	go func() {
		defer s.wg.Done()
		serve := s.httpServer.Serve
		if cfg.TLS != nil {
			// Certificates come from TLSConfig (GetCertificate).
			serve = func(l net.Listener) error { return s.httpServer.ServeTLS(l, "", "") }
		}
		if err := serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("HTTP server stopped", "error", err)
		}
	}()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.ready.Store(true)
	cfg.Logger.Info("gateway listening", "grpc", s.GRPCAddr(), "http", s.HTTPAddr(), "admin", s.AdminAddr(), "tls", cfg.TLS != nil,
		"authentication", cfg.Security.Authenticator != nil, "rate_limits", cfg.Security.Limiter != nil, "tracing", cfg.Tracer != nil)
	return s, nil
}

// SetServing publishes the health of ServiceName: whether calls can be
// served (the upstream answers the gateway). After Shutdown has started it
// is NOT_SERVING for good.
func (s *Server) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus(ServiceName, st)
}

// GRPCAddr is the gRPC listener's address (useful with port 0).
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the REST listener's address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// AdminAddr is the admin listener's address, or "" without one.
func (s *Server) AdminAddr() string {
	if s.adminLis == nil {
		return ""
	}
	return s.adminLis.Addr().String()
}

func (c Config) propagator() propagation.TextMapPropagator {
	if c.Propagator != nil {
		return c.Propagator
	}
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// StartDrain makes health NOT_SERVING for good (every service, "" too)
// and ends health Watch streams, while calls are still served: the first
// step of a shutdown, which load balancers see before anything is refused.
func (s *Server) StartDrain() {
	s.drainOnce.Do(func() {
		s.ready.Store(false)
		s.health.Shutdown()
		close(s.draining)
		s.log.Info("gateway draining")
	})
}

// Shutdown drains (after StartDrain, if not done yet): listeners stop
// accepting, and gRPC and REST let their in-flight calls finish, in
// parallel. When ctx ends first, the remaining calls are cut off and
// ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdown.Do(func() {
		s.StartDrain()
		var wg sync.WaitGroup
		var restErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			if e := s.httpServer.Shutdown(ctx); e != nil {
				restErr = e
				_ = s.httpServer.Close()
			}
		}()
		go func() {
			defer wg.Done()
			done := make(chan struct{})
			go func() { s.grpcServer.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				s.grpcServer.Stop()
				<-done
			}
		}()
		wg.Wait()
		err = restErr
		if err == nil {
			err = ctx.Err()
		}
		// The admin listener goes last: probes and scrapes see the drain.
		if s.adminServer != nil {
			_ = s.adminServer.Close()
		}
		s.wg.Wait()
		s.log.Info("gateway stopped")
	})
	return err
}
