package gateway

import (
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/grpc"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// TestChainUnaryOrder: the first interceptor is outermost, as with
// grpc.ChainUnaryInterceptor, and each sees the method being called.
func TestChainUnaryOrder(t *testing.T) {
	var trace []string
	mk := func(name string) grpc.UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			trace = append(trace, name+">"+info.FullMethod)
			resp, err := h(ctx, req)
			trace = append(trace, "<"+name)
			return resp, err
		}
	}
	svc := &stubService{}
	s := &intercepted{svc: svc, chain: chainUnary([]grpc.UnaryServerInterceptor{mk("a"), mk("b")})}
	if _, err := s.DescribePredictorBacktestExportJob(context.Background(), &gatewayv1.DescribePredictorBacktestExportJobRequest{}); !errors.Is(err, errStub) {
		t.Fatalf("err = %v, want the service's error", err)
	}
	m := gatewayv1.ForecastJobService_DescribePredictorBacktestExportJob_FullMethodName
	want := []string{"a>" + m, "b>" + m, "<b", "<a"}
	if !slices.Equal(trace, want) || svc.calls != 1 {
		t.Fatalf("trace %v (service calls %d), want %v and 1 call", trace, svc.calls, want)
	}

	// An interceptor that answers by itself keeps the call from the service.
	deny := func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
		return nil, errDenied
	}
	s = &intercepted{svc: svc, chain: chainUnary([]grpc.UnaryServerInterceptor{deny})}
	if _, err := s.ListDatasetImportJobs(context.Background(), &gatewayv1.ListDatasetImportJobsRequest{}); !errors.Is(err, errDenied) || svc.calls != 1 {
		t.Fatalf("err = %v, service calls %d", err, svc.calls)
	}
}

var errStub, errDenied = errors.New("stub"), errors.New("denied")

type stubService struct {
	gatewayv1.UnimplementedForecastJobServiceServer
	calls int
}

func (s *stubService) DescribePredictorBacktestExportJob(context.Context, *gatewayv1.DescribePredictorBacktestExportJobRequest) (*gatewayv1.DescribePredictorBacktestExportJobResponse, error) {
	s.calls++
	return nil, errStub
}
