// Package gateway wires the Forecast job service into running servers: gRPC
// (with health and reflection) and REST/JSON through grpc-gateway. The REST
// side calls the same service value through the gRPC server's own
// interceptor chain (see intercepted), so validation, interceptors and error
// mapping apply once whatever the transport.
package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fullstorydev/grpchan"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"google.golang.org/protobuf/reflect/protoreflect"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/gen/openapi"
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
	set(&d.ReadHeaderTimeout, l.ReadHeaderTimeout)
	set(&d.ReadTimeout, l.ReadTimeout)
	set(&d.WriteTimeout, l.WriteTimeout)
	set(&d.IdleTimeout, l.IdleTimeout)
	set(&d.KeepaliveMinTime, l.KeepaliveMinTime)
	set(&d.MaxConnectionIdle, l.MaxConnectionIdle)
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

	// Interceptors run after the transport's own (logging, recovery), on
	// gRPC and REST alike; for example authorization, or faults in tests.
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
}

// Server is a started transport.
type Server struct {
	grpcServer *grpc.Server
	httpServer *http.Server
	health     *health.Server
	draining   chan struct{} // closed when Shutdown starts; ends health Watch streams
	grpcLis    net.Listener
	httpLis    net.Listener
	log        *slog.Logger

	wg       sync.WaitGroup
	shutdown sync.Once
}

// ServiceName is the gRPC service served, also its grpc.health.v1 name.
var ServiceName = gatewayv1.ForecastJobService_ServiceDesc.ServiceName

// Start listens on both addresses and serves until Shutdown. Health starts
// NOT_SERVING for "" and ServiceName; the caller sets it with SetServing.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Service == nil {
		return nil, errors.New("transport: Config.Service is required")
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:9090"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	lim := cfg.Limits.withDefaults()
	chain := newChain(cfg.Logger, cfg.UnaryInterceptors, cfg.StreamInterceptors)

	s := &Server{log: cfg.Logger, health: health.NewServer(), draining: make(chan struct{})}
	s.SetServing(false)
	s.grpcServer = grpc.NewServer(
		grpc.ChainUnaryInterceptor(chain.unary...),
		grpc.ChainStreamInterceptor(chain.stream...),
		grpc.MaxRecvMsgSize(lim.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(lim.MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: lim.KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: lim.MaxConnectionIdle}),
		grpc.ConnectionTimeout(lim.ReadHeaderTimeout),
	)
	gatewayv1.RegisterForecastJobServiceServer(s.grpcServer, cfg.Service)
	healthpb.RegisterHealthServer(s.grpcServer, drainingHealth{Server: s.health, draining: s.draining})
	if err := registerReflection(s.grpcServer); err != nil {
		return nil, err
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
	)
	if err := gatewayv1.RegisterForecastJobServiceHandlerClient(ctx, restMux, gatewayv1.NewForecastJobServiceClient(ch)); err != nil {
		return nil, fmt.Errorf("transport: REST handlers: %w", err)
	}
	routes, err := routesFrom(openapi.Document, protoreflect.FullName(ServiceName))
	if err != nil {
		return nil, err
	}
	front := &restFront{routes: routes, maxHeaderBytes: lim.MaxHeaderBytes, maxBodyBytes: lim.MaxBodyBytes, next: restMux}
	mux := http.NewServeMux()
	docs := newAPIDocs(version.Get().Version)
	mux.HandleFunc("GET /openapi.json", docs.serveV2)
	mux.HandleFunc("GET /openapi3.json", docs.serveV3)
	mux.Handle("GET /docs/", docs.ui())
	mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	mux.Handle("/", front)
	s.httpServer = &http.Server{
		Handler:           mux,
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
	s.wg.Add(2)
	go func() { defer s.wg.Done(); _ = s.grpcServer.Serve(s.grpcLis) }()
	go func() {
		defer s.wg.Done()
		if err := s.httpServer.Serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("HTTP server stopped", "error", err)
		}
	}()
	cfg.Logger.Info("gateway listening", "grpc", s.GRPCAddr(), "http", s.HTTPAddr())
	return s, nil
}

// SetServing publishes the gateway's health for "" and ServiceName. After
// Shutdown has started it is NOT_SERVING for good.
func (s *Server) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range []string{"", ServiceName} {
		s.health.SetServingStatus(name, st)
	}
}

// GRPCAddr is the gRPC listener's address (useful with port 0).
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the REST listener's address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Shutdown drains: health goes NOT_SERVING, listeners stop accepting,
// in-flight calls finish. When ctx ends first, the remaining calls are cut
// off and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdown.Do(func() {
		s.health.Shutdown() // every service NOT_SERVING, and stays so
		close(s.draining)   // Watch streams end, so they cannot hold GracefulStop
		s.log.Info("gateway draining")
		// Refuse new gRPC connections now: GracefulStop only runs once the
		// REST side has drained, and the listener must not keep accepting
		// for that long.
		_ = s.grpcLis.Close()

		if e := s.httpServer.Shutdown(ctx); e != nil {
			err = e
			_ = s.httpServer.Close()
		}

		done := make(chan struct{})
		go func() { s.grpcServer.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.grpcServer.Stop()
			<-done
			if err == nil {
				err = ctx.Err()
			}
		}
		s.wg.Wait()
		s.log.Info("gateway stopped")
	})
	return err
}
