// Package gateway assembles the running gateway: the upstream (the embedded
// Forecast emulator, an external one, or AWS), the page-token codec, the
// service (server/), the transport (gRPC, REST, health, drain) and the
// health prober. cmd/forecast-gateway, cmd/forecast-bench,
// cmd/forecast-load and the end-to-end tests all start the gateway through
// Start; nothing else builds the stack.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/grpc"

	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/otel/trace"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/callinfo"
	"github.com/forecastgw/forecast-gateway/internal/metrics"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/internal/transport"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
	"github.com/forecastgw/forecast-gateway/internal/version"
	"github.com/forecastgw/forecast-gateway/server"
)

// Upstream kinds.
const (
	UpstreamEmulator = "emulator"
	UpstreamAWS      = "aws"
)

// Upstream says where the gateway's Forecast is.
type Upstream struct {
	// Kind is UpstreamEmulator (the default) or UpstreamAWS.
	Kind string
	// Region is the AWS region; for AWS it may also come from the AWS
	// configuration chain. Default for the emulator: its own region.
	Region string
	// EndpointURL means one thing per kind: for the emulator, an emulator
	// already running elsewhere (no embedded one is started); for AWS, an
	// override of the Forecast endpoint (a VPC endpoint, a proxy).
	EndpointURL string
	// RetryMaxAttempts bounds the SDK's attempts per call (default 3).
	RetryMaxAttempts int
	// CallTimeout bounds each upstream call, retries included, whatever
	// the client's deadline (default upstream.DefaultCallTimeout).
	CallTimeout time.Duration
	// SkipStartupCheck skips, for AWS, the one read call Start makes to
	// fail fast on missing, expired or refused credentials.
	SkipStartupCheck bool
	// Budget bounds the gateway's attempts per second per AWS operation,
	// shared by clients' calls, the health prober and job watchers (zero:
	// none).
	Budget upstream.Budget
	// EmulatorAddr is the listen address of the embedded emulator (default
	// 127.0.0.1:0) and Emulator its options.
	EmulatorAddr string
	Emulator     emulator.Options
}

// Config is everything Start needs. Zero values take the defaults.
type Config struct {
	GRPCAddr string // default 127.0.0.1:9090
	HTTPAddr string // default 127.0.0.1:8080

	Upstream Upstream
	// Forecast, when set, is the upstream client instead of one built from
	// Upstream (tests that put a fault at the SDK seam).
	Forecast server.ForecastAPI

	// PageTokens configures the page-token codec; Tokens, when set, is used
	// as is instead.
	PageTokens PageTokenConfig
	Tokens     *pagetoken.Codec

	Logger *slog.Logger

	// HealthInterval is how often the upstream is probed (default 10s);
	// HealthTimeout bounds one probe (default 3s).
	HealthInterval time.Duration
	HealthTimeout  time.Duration

	Limits transport.Limits

	// Security: TLS, authentication, authorization, policy, rate limits,
	// browsers.
	Security Security

	// ShutdownDelay is how long Shutdown keeps serving with health
	// NOT_SERVING before it drains, so load balancers stop sending first.
	ShutdownDelay time.Duration

	// AdminAddr is the admin listener (health, readiness, metrics; pprof
	// with Pprof); "" for none.
	AdminAddr string
	Pprof     bool
	// Tracer, when set, traces calls and their upstream calls (see
	// TracingFromEnv).
	Tracer trace.TracerProvider

	// Watch configures WatchJob and WaitJob; DescribeCacheTTL the Describe
	// cache of terminal jobs (see server.Options).
	Watch            server.WatchOptions
	DescribeCacheTTL time.Duration

	// Extra interceptors, after the transport's own, on gRPC and REST.
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
}

// Gateway is a started gateway.
type Gateway struct {
	transport *transport.Server
	service   *server.ForecastJobServer
	tokenKeys *tokenKeys // reloads the page-token keys file, or nil
	security  *security
	metrics   *metrics.Metrics
	delay     time.Duration
	emu       *emulator.Server // the embedded emulator, or nil
	client    *forecast.Client // the upstream client built here, or nil
	log       *slog.Logger

	stopProbe context.CancelFunc
	wg        sync.WaitGroup
	shutdown  sync.Once
}

// Start builds and starts the gateway. On error nothing is left running.
func Start(ctx context.Context, cfg Config) (_ *Gateway, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 10 * time.Second
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 3 * time.Second
	}
	v := version.Get()
	g := &Gateway{log: cfg.Logger, delay: cfg.ShutdownDelay, metrics: metrics.New(v.Version, v.Commit)}
	defer func() {
		if err != nil {
			if g.service != nil {
				g.service.Drain()
			}
			g.closeUpstream()
			g.tokenKeys.close()
			if g.security != nil {
				g.security.close()
			}
		}
	}()

	grpcAddr, httpAddr := cfg.GRPCAddr, cfg.HTTPAddr
	if grpcAddr == "" {
		grpcAddr = transport.DefaultGRPCAddr
	}
	if httpAddr == "" {
		httpAddr = transport.DefaultHTTPAddr
	}
	tokensConfigured := cfg.Tokens != nil || cfg.PageTokens.KeysFile != "" || strings.TrimSpace(cfg.PageTokens.Keys) != ""
	if g.security, err = buildSecurity(ctx, cfg.Security, []string{grpcAddr, httpAddr}, cfg.Upstream.Kind == UpstreamAWS, tokensConfigured, cfg.Logger); err != nil {
		return nil, err
	}

	api, region, err := g.startUpstream(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Upstream.Kind == UpstreamAWS && !cfg.Upstream.SkipStartupCheck {
		if err := startupCheck(upstream.WithOrigin(ctx, upstream.OriginStartup), api); err != nil {
			return nil, err
		}
	}
	tokens := cfg.Tokens
	if tokens == nil {
		if tokens, g.tokenKeys, err = openTokenCodec(cfg.PageTokens, cfg.Logger); err != nil {
			return nil, err
		}
	}
	var pol server.Policy
	if g.security.policy != nil {
		pol = g.security.policy
	}
	svc, err := server.NewForecastJobServer(server.Options{Forecast: api, Tokens: tokens, Region: region, Logger: cfg.Logger, Policy: pol,
		Watch: cfg.Watch, DescribeCacheTTL: cfg.DescribeCacheTTL, Metrics: g.metrics})
	if err != nil {
		return nil, err
	}
	g.service = svc
	g.metrics.WatchGauges(svc.Watching)

	// The service's health starts NOT_SERVING and flips after the first
	// probe, so nothing routes traffic here before the upstream has
	// answered once.
	prober := &healthProber{api: api, interval: cfg.HealthInterval, timeout: cfg.HealthTimeout, log: cfg.Logger}
	up := prober.probe(ctx)
	if !up {
		cfg.Logger.Warn("upstream not reachable at start; health is NOT_SERVING until it answers")
	}
	g.transport, err = transport.Start(ctx, transport.Config{
		GRPCAddr: grpcAddr, HTTPAddr: httpAddr,
		Service: svc, Logger: cfg.Logger, Limits: cfg.Limits,
		Security: g.security.transport, Browser: g.security.browser, TLS: g.security.tls,
		DisableReflection:  cfg.Security.DisableReflection,
		AdminAddr:          cfg.AdminAddr,
		Pprof:              cfg.Pprof,
		Metrics:            g.metrics,
		Tracer:             cfg.Tracer,
		UnaryInterceptors:  cfg.UnaryInterceptors,
		StreamInterceptors: cfg.StreamInterceptors,
	})
	if err != nil {
		return nil, err
	}
	prober.publish = g.transport.SetServing
	prober.publish(up)

	probeCtx, cancel := context.WithCancel(context.Background())
	g.stopProbe = cancel
	g.wg.Add(1)
	go func() { defer g.wg.Done(); prober.run(probeCtx, up) }()
	return g, nil
}

// startUpstream starts the embedded emulator when asked to, and builds the
// SDK client. It returns the client and the region ARNs must be in.
func (g *Gateway) startUpstream(ctx context.Context, cfg Config) (server.ForecastAPI, string, error) {
	u := cfg.Upstream
	if u.Kind == "" {
		u.Kind = UpstreamEmulator
	}
	if u.Kind != UpstreamEmulator && u.Kind != UpstreamAWS {
		return nil, "", fmt.Errorf("gateway: upstream must be %s or %s, got %q", UpstreamEmulator, UpstreamAWS, u.Kind)
	}
	opts := upstream.Options{Region: u.Region, EndpointURL: u.EndpointURL, RetryMaxAttempts: u.RetryMaxAttempts,
		CallTimeout: u.CallTimeout, Emulator: u.Kind == UpstreamEmulator, Budget: u.Budget,
		Observer: g.observeUpstream, Logger: cfg.Logger.With("component", "aws-sdk")}
	if cfg.Tracer != nil {
		otelaws.AppendMiddlewares(&opts.APIOptions, otelaws.WithTracerProvider(cfg.Tracer))
	}
	if opts.Emulator && u.EndpointURL == "" && cfg.Forecast == nil {
		eo := u.Emulator
		if eo.Region == "" {
			eo.Region = u.Region
		}
		if eo.Logger == nil {
			eo.Logger = cfg.Logger.With("component", "emulator")
		}
		g.emu = emulator.New(eo)
		addr := u.EmulatorAddr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if err := g.emu.Start(addr); err != nil {
			return nil, "", fmt.Errorf("gateway: starting the embedded emulator: %w", err)
		}
		cfg.Logger.Info("embedded Forecast emulator started", "url", g.emu.URL())
		opts.EndpointURL = g.emu.URL()
		if opts.Region == "" {
			opts.Region = g.emu.Options().Region
		}
	} else if opts.Emulator && opts.Region == "" {
		opts.Region = emulator.DefaultRegion
	}
	if cfg.Forecast != nil {
		return cfg.Forecast, opts.Region, nil
	}
	client, err := upstream.NewForecastClient(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	g.client = client
	return client, client.Options().Region, nil
}

// observeUpstream accounts for one upstream call: its metrics, the client
// call it belongs to (the access log's upstream_calls and upstream_ms), and
// a debug line with the AWS request id.
func (g *Gateway) observeUpstream(ctx context.Context, c upstream.Call) {
	g.metrics.UpstreamCalls.WithLabelValues(c.Operation, c.Outcome, c.Origin).Inc()
	g.metrics.UpstreamDuration.WithLabelValues(c.Operation, c.Origin).Observe(c.Duration.Seconds())
	if c.Attempts > 1 {
		g.metrics.UpstreamRetries.WithLabelValues(c.Operation).Add(float64(c.Attempts - 1))
	}
	info := callinfo.FromContext(ctx)
	if info != nil {
		info.AddUpstream(c.Duration)
	}
	if g.log.Enabled(ctx, slog.LevelDebug) {
		g.log.DebugContext(ctx, "upstream call", "operation", c.Operation, "origin", c.Origin, "outcome", c.Outcome,
			"attempts", c.Attempts, "aws_request_id", c.RequestID, "duration_ms", float64(c.Duration.Microseconds())/1000,
			"request_id", callinfo.RequestID(ctx))
	}
}

// Metrics is the gateway's Prometheus registry and collectors.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// AdminAddr is the admin listener's address, or "".
func (g *Gateway) AdminAddr() string { return g.transport.AdminAddr() }

// GRPCAddr is the gRPC listener's address (useful with port 0).
func (g *Gateway) GRPCAddr() string { return g.transport.GRPCAddr() }

// HTTPAddr is the REST listener's address.
func (g *Gateway) HTTPAddr() string { return g.transport.HTTPAddr() }

// Emulator is the embedded emulator, or nil when the upstream is elsewhere.
func (g *Gateway) Emulator() *emulator.Server { return g.emu }

// Shutdown drains the gateway: health goes NOT_SERVING at once, calls are
// still served for ShutdownDelay (load balancers take a while to notice),
// then the transport drains (see transport.Server.Shutdown); last the
// embedded emulator stops and upstream connections are dropped.
func (g *Gateway) Shutdown(ctx context.Context) error {
	var err error
	g.shutdown.Do(func() {
		g.stopProbe()
		g.transport.StartDrain()
		if g.delay > 0 {
			g.log.Info("shutdown delay: serving while load balancers notice NOT_SERVING", "delay", g.delay)
			t := time.NewTimer(g.delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		// Watch streams end now (a last message, then UNAVAILABLE), so their
		// clients reconnect to another replica instead of holding the drain.
		g.service.Drain()
		err = g.transport.Shutdown(ctx)
		g.wg.Wait()
		g.closeUpstream()
		g.tokenKeys.close()
		g.security.close()
	})
	return err
}

func (g *Gateway) closeUpstream() {
	if g.client != nil {
		if ic, ok := g.client.Options().HTTPClient.(interface{ CloseIdleConnections() }); ok {
			ic.CloseIdleConnections()
		}
	}
	if g.emu != nil {
		if err := g.emu.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Warn("closing the embedded emulator", "error", err)
		}
	}
}
