package gateway

import (
	"context"

	"google.golang.org/grpc"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// chainUnary composes interceptors the way grpc.ChainUnaryInterceptor does
// (the first is outermost), so REST calls made in process pass through
// exactly the chain the gRPC server applies.
func chainUnary(ics []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var call func(i int, ctx context.Context, req any) (any, error)
		call = func(i int, ctx context.Context, req any) (any, error) {
			if i == len(ics) {
				return handler(ctx, req)
			}
			return ics[i](ctx, req, info, func(ctx context.Context, req any) (any, error) { return call(i+1, ctx, req) })
		}
		return call(0, ctx, req)
	}
}

// intercepted is the service as the REST side calls it: each method runs
// through the gRPC server's interceptor chain (recovery, logging, and any
// extra ones) before reaching the same service value, so validation, error
// mapping and metrics apply once whatever the transport, without the cost
// of a second gRPC hop (HTTP/2 framing and a protobuf round trip of every
// response) inside the process.
type intercepted struct {
	gatewayv1.UnimplementedForecastJobServiceServer
	svc   gatewayv1.ForecastJobServiceServer
	chain grpc.UnaryServerInterceptor
}

func invoke[Req, Resp any](s *intercepted, ctx context.Context, method string, req Req, h func(context.Context, Req) (Resp, error)) (Resp, error) {
	out, err := s.chain(ctx, req, &grpc.UnaryServerInfo{Server: s.svc, FullMethod: method},
		func(ctx context.Context, r any) (any, error) { return h(ctx, r.(Req)) })
	if err != nil {
		var zero Resp
		return zero, err
	}
	return out.(Resp), nil
}

func (s *intercepted) ListPredictorBacktestExportJobs(ctx context.Context, r *gatewayv1.ListPredictorBacktestExportJobsRequest) (*gatewayv1.ListPredictorBacktestExportJobsResponse, error) {
	return invoke(s, ctx, gatewayv1.ForecastJobService_ListPredictorBacktestExportJobs_FullMethodName, r, s.svc.ListPredictorBacktestExportJobs)
}

func (s *intercepted) CreatePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.CreatePredictorBacktestExportJobRequest) (*gatewayv1.CreatePredictorBacktestExportJobResponse, error) {
	return invoke(s, ctx, gatewayv1.ForecastJobService_CreatePredictorBacktestExportJob_FullMethodName, r, s.svc.CreatePredictorBacktestExportJob)
}

func (s *intercepted) DescribePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.DescribePredictorBacktestExportJobRequest) (*gatewayv1.DescribePredictorBacktestExportJobResponse, error) {
	return invoke(s, ctx, gatewayv1.ForecastJobService_DescribePredictorBacktestExportJob_FullMethodName, r, s.svc.DescribePredictorBacktestExportJob)
}

func (s *intercepted) ListForecastExportJobs(ctx context.Context, r *gatewayv1.ListForecastExportJobsRequest) (*gatewayv1.ListForecastExportJobsResponse, error) {
	return invoke(s, ctx, gatewayv1.ForecastJobService_ListForecastExportJobs_FullMethodName, r, s.svc.ListForecastExportJobs)
}

func (s *intercepted) ListDatasetImportJobs(ctx context.Context, r *gatewayv1.ListDatasetImportJobsRequest) (*gatewayv1.ListDatasetImportJobsResponse, error) {
	return invoke(s, ctx, gatewayv1.ForecastJobService_ListDatasetImportJobs_FullMethodName, r, s.svc.ListDatasetImportJobs)
}
