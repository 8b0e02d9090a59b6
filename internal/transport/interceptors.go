package transport

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
)

// chain is the one interceptor chain of the gateway. The gRPC server and the
// in-process channel that REST calls through are both built from it, so a
// rule added here applies once, to both transports.
type chain struct {
	unary  []grpc.UnaryServerInterceptor
	stream []grpc.StreamServerInterceptor
}

// newChain builds the chain, outermost first: call info (request id, peer),
// logging (it sees every outcome, recovered panics included), recovery,
// the guard (authentication, authorization, rate limits, audit), then
// extra (for example fault injection in tests).
func newChain(log *slog.Logger, g *guard, extraUnary []grpc.UnaryServerInterceptor, extraStream []grpc.StreamServerInterceptor) chain {
	logger := slogAdapter(log)
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithLevels(callLevel),
	}
	rec := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "handler panicked", "panic", p, "stack", string(debug.Stack()))
		return apierr.Internal()
	})
	var ci callInfo
	c := chain{
		unary: []grpc.UnaryServerInterceptor{ci.unary, logging.UnaryServerInterceptor(logger, logOpts...),
			recovery.UnaryServerInterceptor(rec), g.unary},
		stream: []grpc.StreamServerInterceptor{ci.stream, logging.StreamServerInterceptor(logger, logOpts...),
			recovery.StreamServerInterceptor(rec), g.stream},
	}
	c.unary = append(c.unary, extraUnary...)
	c.stream = append(c.stream, extraStream...)
	return c
}

// callLevel logs client mistakes at debug (they are the client's business
// and could flood the log) and server-side failures at warn. Requests and
// responses are never logged: they may carry ARNs of customers and the page
// tokens that wrap AWS NextTokens.
func callLevel(code codes.Code) logging.Level {
	switch code {
	case codes.Internal, codes.Unknown, codes.Unavailable, codes.DataLoss:
		return logging.LevelWarn
	}
	return logging.LevelDebug
}

// slogAdapter is go-grpc-middleware's documented adapter from its Logger to
// log/slog.
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}
