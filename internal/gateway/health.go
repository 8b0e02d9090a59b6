package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"

	"github.com/forecastgw/forecast-gateway/internal/upstream"
	"github.com/forecastgw/forecast-gateway/server"
)

// healthProber keeps the service's grpc.health.v1 status
// (forecast.gateway.v1.ForecastJobService) in step with the upstream:
// SERVING while AWS answers a minimal List call, NOT_SERVING while it
// cannot be reached or refuses the gateway's own credentials (no, expired
// or invalid credentials, access denied). Any other answer from AWS, even
// an error, proves the service works. The overall status ("") is not the
// prober's: it follows the process only, so an AWS outage does not make
// every replica look dead to its orchestrator.
type healthProber struct {
	api      server.ForecastAPI
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger
	publish  func(serving bool) // nil until the transport is up
	last     atomic.Int32       // the upstream.Problem of the last probe
}

// probe runs one check and publishes the result.
func (p *healthProber) probe(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(upstream.WithOrigin(ctx, upstream.OriginHealth), p.timeout)
	defer cancel()
	// One attempt: the prober's own cadence is its retry policy.
	_, err := p.api.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{MaxResults: aws.Int32(1)},
		func(o *forecast.Options) { o.RetryMaxAttempts = 1 })
	problem := upstream.Diagnose(err)
	p.last.Store(int32(problem))
	up := problem == upstream.NoProblem
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
			if up {
				p.log.Info("upstream health changed", "serving", true)
			} else {
				p.log.Error("upstream health changed", "serving", false, "cause", upstream.Problem(p.last.Load()).String())
			}
			last = up
		}
	}
}

// startupCheck makes one cheap read call to AWS and fails, naming the
// cause, when the gateway's credentials cannot work: none found, expired,
// not recognised, not allowed, or AWS unreachable. Anything else AWS
// answers means the credentials work.
func startupCheck(ctx context.Context, api server.ForecastAPI) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := api.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{MaxResults: aws.Int32(1)},
		func(o *forecast.Options) { o.RetryMaxAttempts = 1 })
	if p := upstream.Diagnose(err); p != upstream.NoProblem {
		return fmt.Errorf("gateway: start-up check of the AWS credentials failed: %s (%v); fix it, or pass --skip-startup-check to start anyway", p, err)
	}
	return nil
}
