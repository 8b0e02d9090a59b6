// Package gateway wires the Forecast job service into running servers: gRPC
// (with health and reflection) and REST/JSON through grpc-gateway. The REST
// side calls the same service value through the gRPC server's own
// interceptor chain (see intercepted), so validation, interceptors and error
// mapping apply once whatever the transport.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/server"
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

	Forecast server.ForecastAPI
	Tokens   *pagetoken.Codec
	Logger   *slog.Logger

	// HealthInterval is how often the upstream is probed (default 10s);
	// HealthTimeout bounds one probe (default 3s).
	HealthInterval time.Duration
	HealthTimeout  time.Duration

	Limits Limits

	// Unary interceptors run after the gateway's own (recovery, logging),
	// for example to inject faults in tests.
	ExtraUnaryInterceptors []grpc.UnaryServerInterceptor
}

// Gateway is a started gateway.
type Gateway struct {
	grpcServer *grpc.Server
	httpServer *http.Server
	health     *health.Server
	draining   chan struct{} // closed when Shutdown starts; ends health Watch streams
	grpcLis    net.Listener
	httpLis    net.Listener
	log        *slog.Logger

	stopProbe context.CancelFunc
	wg        sync.WaitGroup
	shutdown  sync.Once
}

// Start listens on both addresses and serves until Shutdown.
func Start(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:9090"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 10 * time.Second
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 3 * time.Second
	}
	lim := cfg.Limits.withDefaults()

	svc, err := server.NewForecastJobServer(server.Options{Forecast: cfg.Forecast, Tokens: cfg.Tokens, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}

	g := &Gateway{log: cfg.Logger, health: health.NewServer(), draining: make(chan struct{})}
	interceptors := append([]grpc.UnaryServerInterceptor{recoverUnary(cfg.Logger), logUnary(cfg.Logger)}, cfg.ExtraUnaryInterceptors...)
	g.grpcServer = grpc.NewServer(
		grpc.UnaryInterceptor(chainUnary(interceptors)),
		grpc.MaxRecvMsgSize(lim.MaxRecvMsgBytes),
		grpc.MaxConcurrentStreams(lim.MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: lim.KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: lim.MaxConnectionIdle}),
		grpc.ConnectionTimeout(lim.ReadHeaderTimeout),
	)
	gatewayv1.RegisterForecastJobServiceServer(g.grpcServer, svc)
	healthpb.RegisterHealthServer(g.grpcServer, drainingHealth{Server: g.health, draining: g.draining})
	reflection.Register(g.grpcServer)

	// Health starts NOT_SERVING and flips after the first probe, so nothing
	// routes traffic here before the upstream has answered once.
	prober := &healthProber{hs: g.health, api: cfg.Forecast, interval: cfg.HealthInterval, timeout: cfg.HealthTimeout, log: cfg.Logger}
	prober.set(healthpb.HealthCheckResponse_NOT_SERVING)
	up := prober.probe(ctx)
	if !up {
		cfg.Logger.Warn("upstream not reachable at start; health is NOT_SERVING until it answers")
	}

	if g.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("gateway: gRPC listener: %w", err)
	}
	if g.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		g.grpcLis.Close()
		return nil, fmt.Errorf("gateway: HTTP listener: %w", err)
	}

	restMux := runtime.NewServeMux(
		runtime.WithErrorHandler(restErrorHandler),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, restMarshaler),
		// ARNs contain '/' and ':'. The describe route binds the rest of the
		// path ({arn=**}) and this mode decodes it after routing, so the ARN
		// works percent-encoded as one segment (%2F, %3A) and also raw.
		runtime.WithUnescapingMode(runtime.UnescapingModeAllCharacters),
		// Without this, {arn=**} also matches zero segments, and the
		// describe route (registered later, tried first) swallows
		// GET /v1/predictor-backtest-export-jobs, the list route.
		runtime.WithStrictDeepWildcardMatching(),
	)
	rest := &intercepted{svc: svc, chain: chainUnary(interceptors)}
	if err := gatewayv1.RegisterForecastJobServiceHandlerServer(ctx, restMux, rest); err != nil {
		g.grpcLis.Close()
		g.httpLis.Close()
		return nil, fmt.Errorf("gateway: REST handlers: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.Handle("/", requireUTF8(limitBody(lim.MaxBodyBytes, restMux)))
	g.httpServer = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}

	probeCtx, cancel := context.WithCancel(context.Background())
	g.stopProbe = cancel
	g.wg.Add(3)
	go func() { defer g.wg.Done(); _ = g.grpcServer.Serve(g.grpcLis) }()
	go func() {
		defer g.wg.Done()
		if err := g.httpServer.Serve(g.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("HTTP server stopped", "error", err)
		}
	}()
	go func() { defer g.wg.Done(); prober.run(probeCtx, up) }()

	cfg.Logger.Info("gateway listening", "grpc", g.GRPCAddr(), "http", g.HTTPAddr())
	return g, nil
}

// GRPCAddr is the gRPC listener's address (useful with port 0).
func (g *Gateway) GRPCAddr() string { return g.grpcLis.Addr().String() }

// HTTPAddr is the REST listener's address.
func (g *Gateway) HTTPAddr() string { return g.httpLis.Addr().String() }

// Shutdown drains the gateway: health goes NOT_SERVING, listeners stop
// accepting, in-flight calls finish. When ctx ends first, the remaining
// calls are cut off and ctx's error is returned.
func (g *Gateway) Shutdown(ctx context.Context) error {
	var err error
	g.shutdown.Do(func() {
		g.stopProbe()
		g.health.Shutdown() // every service NOT_SERVING, and stays so
		close(g.draining)   // Watch streams end, so they cannot hold GracefulStop
		g.log.Info("gateway draining")
		// Refuse new gRPC connections now: GracefulStop only runs once the
		// REST side has drained, and the listener must not keep accepting
		// for that long.
		_ = g.grpcLis.Close()

		if e := g.httpServer.Shutdown(ctx); e != nil {
			err = e
			_ = g.httpServer.Close()
		}

		done := make(chan struct{})
		go func() { g.grpcServer.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			g.grpcServer.Stop()
			<-done
			if err == nil {
				err = ctx.Err()
			}
		}
		g.wg.Wait()
		g.log.Info("gateway stopped")
	})
	return err
}
