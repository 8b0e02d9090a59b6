package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/server"
)

// healthProber keeps grpc.health.v1 in step with the upstream: SERVING while
// AWS answers a minimal List call, NOT_SERVING while it does not. Any answer
// from AWS, even an error response, proves it is reachable; only transport
// failures and timeouts count as down.
type healthProber struct {
	api      server.ForecastAPI
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger
	publish  func(serving bool) // nil until the transport is up
}

// probe runs one check and publishes the result.
func (p *healthProber) probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// One attempt: the prober's own cadence is its retry policy.
	_, err := p.api.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{MaxResults: aws.Int32(1)},
		func(o *forecast.Options) { o.RetryMaxAttempts = 1 })
	up := err == nil || !isTransportFailure(err)
	if p.publish != nil {
		p.publish(up)
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
	return apierr.IsUnreachable(err) || errors.Is(err, context.DeadlineExceeded)
}
