package e2e_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/server"
)

// BenchmarkDescribe runs the direct SDK call, the same call through the
// gateway over gRPC, and a health check on the gateway (the hop's floor)
// side by side in one process, for profiling the gateway's own cost:
//
//	go test -run '^$' -bench Describe -cpuprofile cpu.out ./e2e
func BenchmarkDescribe(b *testing.B) {
	env := testenv.Start(b, testenv.Options{SkipLeakCheck: true})
	arn := env.Emu.Jobs(jobtype.PredictorBacktestExportJob)[0].Arn
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		in := &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(arn)}
		for b.Loop() {
			if _, err := env.SDK.DescribePredictorBacktestExportJob(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gateway", func(b *testing.B) {
		in := &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn}
		for b.Loop() {
			if _, err := env.Client.DescribePredictorBacktestExportJob(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rest", func(b *testing.B) {
		u := env.BaseURL + "/v1/predictor-backtest-export-jobs/" + url.PathEscape(arn)
		for b.Loop() {
			resp, err := env.HTTP.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d", resp.StatusCode)
			}
		}
	})
	b.Run("restlist100", func(b *testing.B) {
		u := env.BaseURL + "/v1/predictor-backtest-export-jobs?page_size=100"
		for b.Loop() {
			resp, err := env.HTTP.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d", resp.StatusCode)
			}
		}
	})
	b.Run("grpclist100", func(b *testing.B) {
		in := &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 100}
		for b.Loop() {
			if _, err := env.Client.ListPredictorBacktestExportJobs(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handler", func(b *testing.B) {
		// The service method without gRPC: what the gateway itself adds.
		svc, err := server.NewForecastJobServer(server.Options{Forecast: env.SDK, Tokens: env.Tokens})
		if err != nil {
			b.Fatal(err)
		}
		in := &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn}
		for b.Loop() {
			if _, err := svc.DescribePredictorBacktestExportJob(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		hc := healthpb.NewHealthClient(env.Conn)
		for b.Loop() {
			if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
