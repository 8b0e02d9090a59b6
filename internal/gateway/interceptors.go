package gateway

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/server"
)

// recoverUnary turns a handler panic into INTERNAL, logs it with its stack
// and keeps the server serving: one bad request must not take down the rest.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				log.Error("handler panicked", "method", info.FullMethod, "panic", p, "stack", string(debug.Stack()))
				st, _ := status.New(codes.Internal, "internal error").WithDetails(
					&errdetails.ErrorInfo{Reason: server.ReasonInternal, Domain: server.ErrorDomain})
				resp, err = nil, st.Err()
			}
		}()
		return handler(ctx, req)
	}
}

// logUnary records every call: client mistakes at debug level (they are the
// client's business and could flood the log), server-side failures at warn.
// Requests and responses are never logged: they may carry ARNs of customers
// and the page tokens that wrap AWS NextTokens.
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		level := slog.LevelDebug
		switch code {
		case codes.Internal, codes.Unknown, codes.Unavailable, codes.DataLoss:
			level = slog.LevelWarn
		}
		if log.Enabled(ctx, level) {
			log.Log(ctx, level, "rpc", "method", info.FullMethod, "code", code.String(),
				"duration", time.Since(start), "error", errMessage(err))
		}
		return resp, err
	}
}

func errMessage(err error) string {
	if err == nil {
		return ""
	}
	return status.Convert(err).Message()
}
