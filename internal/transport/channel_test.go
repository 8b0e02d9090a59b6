package transport

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fullstorydev/grpchan"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// recordingService answers Describe and records what the server side saw.
type recordingService struct {
	gatewayv1.UnimplementedForecastJobServiceServer
	method string
	md     metadata.MD
	err    error
	nilOK  bool
}

func (s *recordingService) DescribePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.DescribePredictorBacktestExportJobRequest) (*gatewayv1.DescribePredictorBacktestExportJobResponse, error) {
	s.method, _ = grpc.Method(ctx)
	s.md, _ = metadata.FromIncomingContext(ctx)
	if out, ok := metadata.FromOutgoingContext(ctx); ok && len(out) > 0 {
		return nil, errors.New("the client's outgoing metadata leaked into the server context")
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-header", "h"))
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t"))
	if s.err != nil {
		return nil, s.err
	}
	if s.nilOK {
		return nil, nil
	}
	return &gatewayv1.DescribePredictorBacktestExportJobResponse{PredictorBacktestExportJobArn: r.GetPredictorBacktestExportJobArn()}, nil
}

// TestChannelUnary: a unary call through the channel runs the chain in
// order, carries metadata in and headers and trailers out, names the
// method, and hands back the response or the error.
func TestChannelUnary(t *testing.T) {
	var trace []string
	mk := func(name string) grpc.UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			trace = append(trace, name+">"+info.FullMethod)
			resp, err := h(ctx, req)
			trace = append(trace, "<"+name)
			return resp, err
		}
	}
	svc := &recordingService{}
	ch := newChannel()
	gatewayv1.RegisterForecastJobServiceServer(grpchan.WithUnaryInterceptors(ch, mk("a"), mk("b")), svc)
	client := gatewayv1.NewForecastJobServiceClient(ch)

	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "r1")
	var header, trailer metadata.MD
	resp, err := client.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: "arn:x"},
		grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil || resp.GetPredictorBacktestExportJobArn() != "arn:x" {
		t.Fatalf("resp %v, err %v", resp, err)
	}
	m := gatewayv1.ForecastJobService_DescribePredictorBacktestExportJob_FullMethodName
	if want := []string{"a>" + m, "b>" + m, "<b", "<a"}; !slices.Equal(trace, want) {
		t.Errorf("interceptors ran %v, want %v", trace, want)
	}
	if svc.method != m {
		t.Errorf("grpc.Method = %q, want %q", svc.method, m)
	}
	if got := svc.md.Get("x-request-id"); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("incoming metadata %v", svc.md)
	}
	if header.Get("x-header")[0] != "h" || trailer.Get("x-trailer")[0] != "t" {
		t.Errorf("header %v trailer %v", header, trailer)
	}

	svc.err = status.Error(codes.NotFound, "no such job")
	if _, err := client.DescribePredictorBacktestExportJob(context.Background(), &gatewayv1.DescribePredictorBacktestExportJobRequest{}); status.Code(err) != codes.NotFound {
		t.Errorf("err %v, want the service's NOT_FOUND", err)
	}
	svc.err, svc.nilOK = nil, true
	if _, err := client.DescribePredictorBacktestExportJob(context.Background(), &gatewayv1.DescribePredictorBacktestExportJobRequest{}); status.Code(err) != codes.Internal {
		t.Errorf("a nil response: %v, want INTERNAL", err)
	}
	if _, err := client.CreateDatasetImportJob(context.Background(), &gatewayv1.CreateDatasetImportJobRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("an unimplemented method: %v", err)
	}
	if err := ch.Invoke(context.Background(), "/no.Such/Method", &gatewayv1.TagResourceRequest{}, &gatewayv1.TagResourceResponse{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("an unknown method: %v", err)
	}
	if err := ch.Invoke(context.Background(), m, &gatewayv1.TagResourceRequest{}, &gatewayv1.TagResourceResponse{}); status.Code(err) != codes.Internal {
		t.Errorf("mismatched message types: %v", err)
	}
}

// TestChannelStreams: streaming calls reach the service through inprocgrpc
// with the stream interceptors applied.
func TestChannelStreams(t *testing.T) {
	var seen []string
	ic := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		seen = append(seen, info.FullMethod)
		return h(srv, ss)
	}
	hs := health.NewServer()
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	ch := newChannel()
	healthpb.RegisterHealthServer(grpchan.WithStreamInterceptors(ch, ic), hs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := healthpb.NewHealthClient(ch).Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.Recv()
	if err != nil || msg.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first message %v, %v", msg, err)
	}
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	if msg, err = stream.Recv(); err != nil || msg.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("second message %v, %v", msg, err)
	}
	if !slices.Equal(seen, []string{"/grpc.health.v1.Health/Watch"}) {
		t.Errorf("stream interceptor saw %v", seen)
	}
	// Unary calls of the same service still work.
	if r, err := healthpb.NewHealthClient(ch).Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Check: %v %v", r, err)
	}
}
