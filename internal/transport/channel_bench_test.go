package transport

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fullstorydev/grpchan"
	"github.com/fullstorydev/grpchan/inprocgrpc"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/auth"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
)

// describeStub answers Describe at once, so the benchmarks measure the REST
// plumbing alone.
type describeStub struct {
	gatewayv1.UnimplementedForecastJobServiceServer
}

func (describeStub) DescribePredictorBacktestExportJob(_ context.Context, r *gatewayv1.DescribePredictorBacktestExportJobRequest) (*gatewayv1.DescribePredictorBacktestExportJobResponse, error) {
	return &gatewayv1.DescribePredictorBacktestExportJobResponse{PredictorBacktestExportJobArn: r.GetPredictorBacktestExportJobArn(), AwsStatus: "ACTIVE", Status: gatewayv1.JobStatus_JOB_STATUS_ACTIVE}, nil
}

func benchRESTMux() *runtime.ServeMux {
	return runtime.NewServeMux(runtime.WithErrorHandler(restErrorHandler), runtime.WithMarshalerOption(runtime.MIMEWildcard, restMarshaler),
		runtime.WithUnescapingMode(runtime.UnescapingModeAllCharacters), runtime.WithStrictDeepWildcardMatching())
}

func benchDescribe(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, "/v1/predictor-backtest-export-jobs/arn%3Aaws%3Aforecast%3Aus-east-1%3A123456789012%3Apredictor-backtest-export-job%2Fp%2Fj", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkRESTInProcess is one REST Describe through grpc-gateway with a
// service that answers at once, by the way REST reaches the service:
//   - HandlerServer: grpc-gateway's direct form (no interceptors, no
//     streams; what the gateway used before).
//   - inprocgrpc: a client over grpchan's in-process channel, which runs
//     each unary call on a goroutine of its own.
//   - channel: this package's channel (unary on the caller's goroutine,
//     streams through inprocgrpc), without and with the interceptor chain.
func BenchmarkRESTInProcess(b *testing.B) {
	b.Run("HandlerServer", func(b *testing.B) {
		mux := benchRESTMux()
		_ = gatewayv1.RegisterForecastJobServiceHandlerServer(context.Background(), mux, describeStub{})
		benchDescribe(b, mux)
	})
	b.Run("inprocgrpc", func(b *testing.B) {
		mux := benchRESTMux()
		ch := new(inprocgrpc.Channel).WithCloner(noCopy)
		gatewayv1.RegisterForecastJobServiceServer(ch, describeStub{})
		_ = gatewayv1.RegisterForecastJobServiceHandlerClient(context.Background(), mux, gatewayv1.NewForecastJobServiceClient(ch))
		benchDescribe(b, mux)
	})
	b.Run("channel", func(b *testing.B) {
		mux := benchRESTMux()
		ch := newChannel()
		gatewayv1.RegisterForecastJobServiceServer(ch, describeStub{})
		_ = gatewayv1.RegisterForecastJobServiceHandlerClient(context.Background(), mux, gatewayv1.NewForecastJobServiceClient(ch))
		benchDescribe(b, mux)
	})
	b.Run("channel+chain", func(b *testing.B) {
		mux := benchRESTMux()
		ch := newChannel()
		c := newChain(slog.New(slog.DiscardHandler), nil, &guard{}, nil, nil)
		gatewayv1.RegisterForecastJobServiceServer(grpchan.WithUnaryInterceptors(grpchan.WithStreamInterceptors(ch, c.stream...), c.unary...), describeStub{})
		_ = gatewayv1.RegisterForecastJobServiceHandlerClient(context.Background(), mux, gatewayv1.NewForecastJobServiceClient(ch))
		benchDescribe(b, mux)
	})
	// The same with the guard on: an authenticator that knows the caller
	// (the cost of a cached JWT, ~1 us, is in internal/auth's
	// BenchmarkVerify) and rate limits that never refuse.
	b.Run("channel+chain+guard", func(b *testing.B) {
		mux := benchRESTMux()
		ch := newChannel()
		rules, err := methodRules(gatewayv1.File_forecast_gateway_v1_forecast_job_service_proto.Services().ByName("ForecastJobService"))
		if err != nil {
			b.Fatal(err)
		}
		lim, err := ratelimit.New(ratelimit.Config{Limits: map[ratelimit.Class]ratelimit.Limit{
			ratelimit.Read: {Rate: 1e9, Burst: 1e9, Concurrency: 1 << 20}}})
		if err != nil {
			b.Fatal(err)
		}
		g := &guard{rules: rules, sec: Security{Authenticator: staticAuth{}, Limiter: lim, Audit: slog.New(slog.DiscardHandler)}}
		c := newChain(slog.New(slog.DiscardHandler), nil, g, nil, nil)
		gatewayv1.RegisterForecastJobServiceServer(grpchan.WithUnaryInterceptors(grpchan.WithStreamInterceptors(ch, c.stream...), c.unary...), describeStub{})
		_ = gatewayv1.RegisterForecastJobServiceHandlerClient(context.Background(), mux, gatewayv1.NewForecastJobServiceClient(ch))
		benchDescribe(b, mux)
	})
}

// staticAuth authenticates every call as one reader.
type staticAuth struct{}

var benchCaller = &auth.Caller{ID: "jwt:https://idp|bench", Kind: auth.KindJWT, Scopes: []string{auth.ScopeRead}}

func (staticAuth) Authenticate(context.Context, []string, *tls.ConnectionState) (*auth.Caller, error) {
	return benchCaller, nil
}
