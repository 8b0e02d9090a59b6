package transport

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

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
