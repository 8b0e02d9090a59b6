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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/grpc"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/internal/transport"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
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

	// Extra interceptors, after the transport's own, on gRPC and REST.
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
}

// Gateway is a started gateway.
type Gateway struct {
	transport *transport.Server
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
	g := &Gateway{log: cfg.Logger}
	defer func() {
		if err != nil {
			g.closeUpstream()
		}
	}()

	api, region, err := g.startUpstream(ctx, cfg)
	if err != nil {
		return nil, err
	}
	tokens := cfg.Tokens
	if tokens == nil {
		if tokens, err = newTokenCodec(cfg.PageTokens, cfg.Logger); err != nil {
			return nil, err
		}
	}
	svc, err := server.NewForecastJobServer(server.Options{Forecast: api, Tokens: tokens, Region: region, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}

	// Health starts NOT_SERVING and flips after the first probe, so nothing
	// routes traffic here before the upstream has answered once.
	prober := &healthProber{api: api, interval: cfg.HealthInterval, timeout: cfg.HealthTimeout, log: cfg.Logger}
	up := prober.probe(ctx)
	if !up {
		cfg.Logger.Warn("upstream not reachable at start; health is NOT_SERVING until it answers")
	}
	g.transport, err = transport.Start(ctx, transport.Config{
		GRPCAddr: cfg.GRPCAddr, HTTPAddr: cfg.HTTPAddr,
		Service: svc, Logger: cfg.Logger, Limits: cfg.Limits,
		UnaryInterceptors: cfg.UnaryInterceptors, StreamInterceptors: cfg.StreamInterceptors,
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
	opts := upstream.Options{Region: u.Region, EndpointURL: u.EndpointURL, RetryMaxAttempts: u.RetryMaxAttempts, Emulator: u.Kind == UpstreamEmulator}
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

// GRPCAddr is the gRPC listener's address (useful with port 0).
func (g *Gateway) GRPCAddr() string { return g.transport.GRPCAddr() }

// HTTPAddr is the REST listener's address.
func (g *Gateway) HTTPAddr() string { return g.transport.HTTPAddr() }

// Emulator is the embedded emulator, or nil when the upstream is elsewhere.
func (g *Gateway) Emulator() *emulator.Server { return g.emu }

// Shutdown drains the gateway (see transport.Server.Shutdown), then stops
// the embedded emulator and drops upstream connections.
func (g *Gateway) Shutdown(ctx context.Context) error {
	var err error
	g.shutdown.Do(func() {
		g.stopProbe()
		err = g.transport.Shutdown(ctx)
		g.wg.Wait()
		g.closeUpstream()
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
