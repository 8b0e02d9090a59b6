package e2e_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// TestReliabilityGracefulShutdownUnderLoad: Shutdown with calls in flight
// flips health to NOT_SERVING (seen by a Watch stream, which then ends
// rather than holding the drain up), stops accepting connections, lets
// every in-flight gRPC and REST call finish successfully, and returns
// within the drain timeout.
func TestReliabilityGracefulShutdownUnderLoad(t *testing.T) {
	const (
		latency  = 600 * time.Millisecond
		grpcN    = 20
		restN    = 10
		drainMax = 10 * time.Second
	)
	env := testenv.Start(t, testenv.Options{})
	env.Emu.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultLatency, Latency: latency})
	ctx := relCtx(t, 60*time.Second)

	// A health watcher, as grpc client-side health checking opens one.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	watch, err := healthpb.NewHealthClient(env.Conn).Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch before shutdown: %v %v", r, err)
	}
	watched := make(chan []healthpb.HealthCheckResponse_ServingStatus, 1)
	go func() {
		var seen []healthpb.HealthCheckResponse_ServingStatus
		for {
			r, err := watch.Recv()
			if err != nil {
				watched <- seen
				return
			}
			seen = append(seen, r.GetStatus())
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, grpcN+restN)
	for range grpcN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.Client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 3})
			errs <- err
		}()
	}
	codes := make(chan int, restN)
	for range restN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.BaseURL+"/v1/forecast-export-jobs?page_size=3", nil)
			resp, err := env.HTTP.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	// Every call is in flight, waiting on the upstream.
	eventually(t, 10*time.Second, "calls did not all reach the upstream",
		func() bool { return env.Emu.CallCount(emulator.OpListForecastExportJobs) == grpcN+restN })

	sctx, scancel := context.WithTimeout(context.Background(), drainMax)
	defer scancel()
	start := time.Now()
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- env.Gateway.Shutdown(sctx) }()

	// Stops accepting: new connections are refused while the old drain.
	eventually(t, 5*time.Second, "the gRPC listener still accepts after Shutdown", func() bool {
		c, err := net.DialTimeout("tcp", env.Gateway.GRPCAddr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	eventually(t, 5*time.Second, "the HTTP listener still accepts after Shutdown", func() bool {
		c, err := net.DialTimeout("tcp", env.Gateway.HTTPAddr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})

	wg.Wait()
	close(errs)
	close(codes)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			t.Errorf("in-flight call failed during drain: %v", err)
		}
	}
	for c := range codes {
		if c != http.StatusOK {
			failed++
			t.Errorf("in-flight REST call: HTTP %d", c)
		}
	}
	select {
	case err := <-shutdownErr:
		if err != nil {
			t.Errorf("Shutdown: %v, want a clean drain", err)
		}
	case <-time.After(drainMax + time.Second):
		t.Fatal("Shutdown did not return within the drain timeout")
	}
	took := time.Since(start)
	t.Logf("drained %d in-flight calls (%d failed) in %v", grpcN+restN, failed, took)
	if took >= drainMax {
		t.Errorf("drain took %v: it waited for the drain timeout instead of the calls", took)
	}
	select {
	case seen := <-watched:
		if len(seen) == 0 || seen[len(seen)-1] != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health watcher saw %v, want NOT_SERVING last", seen)
		}
	case <-time.After(5 * time.Second):
		t.Error("health Watch stream still open after Shutdown")
	}
}

// TestReliabilityShutdownIdleWatcher: a client-side health watcher alone
// (no calls) must not make Shutdown wait for its drain timeout.
func TestReliabilityShutdownIdleWatcher(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	conn, err := grpc.NewClient(env.Gateway.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	w, err := healthpb.NewHealthClient(conn).Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := env.Gateway.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with an idle health watcher: %v after %v", err, time.Since(start))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Shutdown took %v with only a health watcher open", took)
	}

}
