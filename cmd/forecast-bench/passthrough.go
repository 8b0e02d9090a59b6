package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
	"github.com/forecastgw/forecast-gateway/server"
)

// The pass-through anchor: a plain grpc-go server whose handler makes the
// same SDK call as the gateway's Describe (DescribePredictorBacktestExportJob,
// with an SDK client built by internal/upstream like the gateway's) and
// answers an empty message: no validation, no conversion, no interceptors.
// The gateway's gRPC Describe over it is what the gateway adds to "a gRPC
// server in front of the SDK".
//
// With --grpc-options the gateway role also starts one grpc-go server per
// server variant (grpc.ServerOption sets), each serving the anchor and the
// gateway's own service (server.ForecastJobServer, without the transport's
// interceptor chain), so the effect of each option can be measured side by
// side without touching internal/transport.

const passService = "forecastbench.PassThrough"

// Full method names of the anchor.
const (
	passDescribe       = "/" + passService + "/Describe"
	passDescribeDoChan = "/" + passService + "/DescribeDoChan"
)

type passServer struct {
	api    *forecast.Client
	flight singleflight.Group
}

func (p *passServer) describe(ctx context.Context, arn string) error {
	_, err := p.api.DescribePredictorBacktestExportJob(ctx, &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(arn)})
	return err
}

// describeDoChan is describe behind singleflight.DoChan, as the gateway's
// Describe coalescing does (server/jobs.go): the upstream call runs on a
// goroutine of its own and the handler waits for it on a channel. It
// measures that hand-off alone.
func (p *passServer) describeDoChan(ctx context.Context, arn string) error {
	ch := p.flight.DoChan(arn, func() (any, error) { return nil, p.describe(context.WithoutCancel(ctx), arn) })
	select {
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case r := <-ch:
		return r.Err
	}
}

func passHandler(call func(p *passServer, ctx context.Context, arn string) error) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := new(gatewayv1.DescribePredictorBacktestExportJobRequest)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, req any) (any, error) {
			if err := call(srv.(*passServer), ctx, req.(*gatewayv1.DescribePredictorBacktestExportJobRequest).GetPredictorBacktestExportJobArn()); err != nil {
				return nil, err
			}
			return &emptypb.Empty{}, nil
		}
		if interceptor == nil {
			return h(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: passDescribe}, h)
	}
}

var passServiceDesc = grpc.ServiceDesc{
	ServiceName: passService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Describe", Handler: passHandler((*passServer).describe)},
		{MethodName: "DescribeDoChan", Handler: passHandler((*passServer).describeDoChan)},
	},
	Metadata: "cmd/forecast-bench/passthrough.go",
}

// Server and dial option variants of the grpc-go options experiment.
var (
	serverVariantNames = []string{"default", "workers", "workers64", "window", "bufs64k", "noshared", "workers+window"}
	dialVariantNames   = []string{"default", "window", "bufs64k", "noshared"}
)

func serverVariant(name string) ([]grpc.ServerOption, error) {
	var out []grpc.ServerOption
	for _, part := range strings.Split(name, "+") {
		switch part {
		case "default":
		case "workers":
			// One worker per P, as grpc-go's comment on the option suggests.
			out = append(out, grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))))
		case "workers64":
			// As many workers as the bench's highest concurrency: a
			// handler blocked on its upstream call keeps its worker busy.
			out = append(out, grpc.NumStreamWorkers(64))
		case "window":
			// Fixed windows: turns off grpc-go's BDP estimation (and the
			// PING it sends after receiving data).
			out = append(out, grpc.InitialWindowSize(1<<20), grpc.InitialConnWindowSize(1<<20))
		case "bufs64k":
			out = append(out, grpc.WriteBufferSize(64<<10), grpc.ReadBufferSize(64<<10))
		case "nowritebuf":
			out = append(out, grpc.WriteBufferSize(0))
		case "noshared":
			out = append(out, grpc.SharedWriteBuffer(false)) //nolint:staticcheck // measured on purpose
		default:
			return nil, fmt.Errorf("unknown server variant %q (known: %s, joined with +)", part, strings.Join(serverVariantNames, ", "))
		}
	}
	return out, nil
}

func dialVariant(name string) ([]grpc.DialOption, error) {
	out := grpcDialOptions()
	for _, part := range strings.Split(name, "+") {
		switch part {
		case "default":
		case "window":
			out = append(out, grpc.WithInitialWindowSize(1<<20), grpc.WithInitialConnWindowSize(1<<20))
		case "bufs64k":
			out = append(out, grpc.WithWriteBufferSize(64<<10), grpc.WithReadBufferSize(64<<10))
		case "noshared":
			out = append(out, grpc.WithSharedWriteBuffer(false))
		default:
			return nil, fmt.Errorf("unknown dial variant %q (known: %s, joined with +)", part, strings.Join(dialVariantNames, ", "))
		}
	}
	return out, nil
}

// passThrough is the anchor's server and the experiment's servers.
type passThrough struct {
	addr     string
	variants map[string]string
	stop     func()
}

func startPassThrough(ctx context.Context, o gwRoleOptions) (*passThrough, error) {
	api, err := upstream.NewForecastClient(ctx, upstream.Options{Emulator: true, EndpointURL: o.EmulatorURL, Region: o.Region})
	if err != nil {
		return nil, err
	}
	ps := &passServer{api: api}
	pt := &passThrough{}
	var closers []func()
	pt.stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		type idleCloser interface{ CloseIdleConnections() }
		if ic, ok := api.Options().HTTPClient.(idleCloser); ok {
			ic.CloseIdleConnections()
		}
	}
	serve := func(opts []grpc.ServerOption, register func(*grpc.Server)) (string, error) {
		s := grpc.NewServer(opts...)
		s.RegisterService(&passServiceDesc, ps)
		if register != nil {
			register(s)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		go func() { _ = s.Serve(ln) }()
		closers = append(closers, s.Stop)
		return ln.Addr().String(), nil
	}
	if pt.addr, err = serve(nil, nil); err != nil {
		pt.stop()
		return nil, err
	}
	if len(o.Variants) == 0 {
		return pt, nil
	}

	// The gateway's service without the transport: same SDK client as the
	// anchor, no cache (the experiment describes unfinished jobs anyway).
	kr, err := pagetoken.RandomKeyring()
	if err != nil {
		pt.stop()
		return nil, err
	}
	svc, err := server.NewForecastJobServer(server.Options{Forecast: api, Tokens: pagetoken.NewCodec(kr, pagetoken.Options{}),
		Region: o.Region, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), DescribeCacheTTL: -1})
	if err != nil {
		pt.stop()
		return nil, err
	}
	closers = append(closers, svc.Drain)
	pt.variants = map[string]string{}
	for _, v := range o.Variants {
		opts, err := serverVariant(v)
		if err != nil {
			pt.stop()
			return nil, err
		}
		addr, err := serve(opts, func(s *grpc.Server) { gatewayv1.RegisterForecastJobServiceServer(s, svc) })
		if err != nil {
			pt.stop()
			return nil, err
		}
		pt.variants[v] = addr
	}
	return pt, nil
}
