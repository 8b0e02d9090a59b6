package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/server"
)

// healthProber keeps grpc.health.v1 in step with the upstream: SERVING while
// AWS answers a minimal List call, NOT_SERVING while it does not. Any answer
// from AWS, even an error response, proves it is reachable; only transport
// failures and timeouts count as down.
type healthProber struct {
	hs       *health.Server
	api      server.ForecastAPI
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger
}

var serviceNames = []string{"", gatewayv1.ForecastJobService_ServiceDesc.ServiceName}

func (p *healthProber) set(st healthpb.HealthCheckResponse_ServingStatus) {
	for _, name := range serviceNames {
		p.hs.SetServingStatus(name, st)
	}
}

// probe runs one check and publishes the result.
func (p *healthProber) probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// One attempt: the prober's own cadence is its retry policy.
	_, err := p.api.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{MaxResults: aws.Int32(1)},
		func(o *forecast.Options) { o.RetryMaxAttempts = 1 })
	up := err == nil || !isTransportFailure(err)
	if up {
		p.set(healthpb.HealthCheckResponse_SERVING)
	} else {
		p.set(healthpb.HealthCheckResponse_NOT_SERVING)
	}
	return up
}

// run probes until ctx ends, logging only changes of state.
func (p *healthProber) run(ctx context.Context, initial bool) {
	last := initial
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if up := p.probe(ctx); up != last && ctx.Err() == nil {
			p.log.Info("upstream health changed", "serving", up)
			last = up
		}
	}
}

func isTransportFailure(err error) bool {
	return server.IsUnreachable(err) || errors.Is(err, context.DeadlineExceeded)
}

// watchDrainGrace bounds how long a Watch stream outlives the start of a
// drain when its NOT_SERVING update cannot be delivered (a stuck client).
const watchDrainGrace = time.Second

// drainingHealth is the health service with Watch streams that end when the
// gateway drains. A Watch never ends by itself, and GracefulStop waits for
// every open stream, so a single client-side health checker would otherwise
// hold every shutdown until its drain timeout (and make it fail). Each
// watcher first receives NOT_SERVING, then its stream ends UNAVAILABLE.
type drainingHealth struct {
	*health.Server
	draining <-chan struct{}
}

func (h drainingHealth) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	go func() {
		select {
		case <-h.draining:
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(watchDrainGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := h.Server.Watch(req, &drainingWatch{Health_WatchServer: stream, ctx: ctx, cancel: cancel, draining: h.draining})
	if ctx.Err() != nil && stream.Context().Err() == nil {
		return status.Error(codes.Unavailable, "the gateway is shutting down")
	}
	return err
}

// drainingWatch ends the stream right after it has carried NOT_SERVING
// during a drain.
type drainingWatch struct {
	healthpb.Health_WatchServer
	ctx      context.Context
	cancel   context.CancelFunc
	draining <-chan struct{}
}

func (w *drainingWatch) Context() context.Context { return w.ctx }

func (w *drainingWatch) Send(r *healthpb.HealthCheckResponse) error {
	err := w.Health_WatchServer.Send(r)
	select {
	case <-w.draining:
		if r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			w.cancel()
		}
	default:
	}
	return err
}
