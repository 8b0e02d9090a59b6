package transport

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/callinfo"
	"github.com/forecastgw/forecast-gateway/internal/metrics"
)

// chain is the one interceptor chain of the gateway. The gRPC server and the
// in-process channel that REST calls through are both built from it, so a
// rule added here applies once, to both transports.
type chain struct {
	unary  []grpc.UnaryServerInterceptor
	stream []grpc.StreamServerInterceptor
}

// newChain builds the chain, outermost first:
//   - call info: the request id, peer and TLS state every later step reads;
//   - observe: in-flight calls, the call's outcome, refusals by kind;
//   - gRPC server metrics (go-grpc-middleware's Prometheus provider);
//   - the access log (go-grpc-middleware's logging; REST calls are logged
//     by the REST edge instead, which knows their HTTP status);
//   - recovery (a panic is INTERNAL, logged with its stack);
//   - the guard (authentication, authorization, rate limits, audit);
//   - extra (for example fault injection in tests).
func newChain(log *slog.Logger, m *metrics.Metrics, g *guard, extraUnary []grpc.UnaryServerInterceptor, extraStream []grpc.StreamServerInterceptor) chain {
	var ci callInfo
	o := observe{m: m}
	c := chain{
		unary:  []grpc.UnaryServerInterceptor{ci.unary, o.unary},
		stream: []grpc.StreamServerInterceptor{ci.stream, o.stream},
	}
	if m != nil {
		c.unary = append(c.unary, m.GRPC.UnaryServerInterceptor())
		c.stream = append(c.stream, m.GRPC.StreamServerInterceptor())
	}
	logger := accessLogger(log)
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithLevels(func(codes.Code) logging.Level { return logging.LevelInfo }),
		logging.WithDurationField(func(d time.Duration) logging.Fields {
			return logging.Fields{"duration_ms", float64(d.Microseconds()) / 1000}
		}),
		logging.WithFieldsFromContext(callFields),
		logging.WithDisableLoggingFields(logging.ComponentFieldKey),
	}
	grpcOnly := selector.MatchFunc(func(ctx context.Context, _ interceptors.CallMeta) bool {
		info := callinfo.FromContext(ctx)
		return info == nil || info.Transport != callinfo.REST
	})
	rec := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "handler panicked", "panic", p, "request_id", callinfo.RequestID(ctx), "stack", string(debug.Stack()))
		return apierr.Internal()
	})
	c.unary = append(c.unary,
		selector.UnaryServerInterceptor(logging.UnaryServerInterceptor(logger, logOpts...), grpcOnly),
		recovery.UnaryServerInterceptor(rec), g.unary)
	c.stream = append(c.stream,
		selector.StreamServerInterceptor(logging.StreamServerInterceptor(logger, logOpts...), grpcOnly),
		recovery.StreamServerInterceptor(rec), g.stream)
	c.unary = append(c.unary, extraUnary...)
	c.stream = append(c.stream, extraStream...)
	return c
}

// callFields are the access log's fields about the call beyond what
// go-grpc-middleware knows: read when the call ends, so they include the
// caller (authenticated inside the chain) and the upstream calls it made.
func callFields(ctx context.Context) logging.Fields {
	info := callinfo.FromContext(ctx)
	if info == nil {
		return nil
	}
	n, total := info.Upstream()
	f := logging.Fields{"request_id", info.RequestID, "transport", info.Transport,
		"upstream_calls", n, "upstream_ms", float64(total.Microseconds()) / 1000}
	if c := info.Caller(); c != "" {
		f = append(f, "caller", c)
	}
	return f
}

// accessLogger is go-grpc-middleware's documented slog adapter, with health
// checks at debug: orchestrators call them every few seconds. Requests and
// responses are never logged: they may carry ARNs of customers and the page
// tokens that wrap AWS NextTokens.
func accessLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == logging.ServiceFieldKey && fields[i+1] == "grpc.health.v1.Health" {
				lvl = logging.LevelDebug
			}
		}
		if msg == "finished call" {
			msg = "access"
		}
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// observe keeps the call's outcome in its callinfo.Info (the REST access
// log reads it) and the metrics that need the gateway's own reasons: page
// tokens, rate limits and credentials refused, and calls in flight.
type observe struct{ m *metrics.Metrics }

func (o observe) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	done := o.begin(ctx)
	resp, err := handler(ctx, req)
	done(info.FullMethod, err)
	return resp, err
}

func (o observe) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	done := o.begin(ss.Context())
	err := handler(srv, ss)
	done(info.FullMethod, err)
	return err
}

func (o observe) begin(ctx context.Context) func(method string, err error) {
	ci := callinfo.FromContext(ctx)
	transport := callinfo.GRPC
	if ci != nil {
		transport = ci.Transport
	}
	if o.m != nil {
		o.m.InFlight.WithLabelValues(transport).Inc()
	}
	return func(method string, err error) {
		st := status.Convert(err)
		if ci != nil {
			ci.SetOutcome(method, uint32(st.Code()))
		}
		if o.m == nil {
			return
		}
		o.m.InFlight.WithLabelValues(transport).Dec()
		if err == nil {
			return
		}
		switch reason := apierr.Reason(st); reason {
		case apierr.ReasonInvalidPageToken:
			o.m.PageTokenRejections.WithLabelValues(fieldRule(st, "page_token")).Inc()
		case apierr.ReasonAWSInvalidNextToken:
			o.m.PageTokenRejections.WithLabelValues("aws").Inc()
		case ReasonRateLimited:
			class, limit := "read", "burst"
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetMetadata()["class"] != "" {
					class, limit = info.GetMetadata()["class"], info.GetMetadata()["limit"]
				}
			}
			o.m.RateLimitRefusals.WithLabelValues(class, limit).Inc()
		case ReasonUnauthenticated, ReasonInvalidToken, ReasonInvalidClientCertificate, ReasonInsufficientScope:
			o.m.AuthRefusals.WithLabelValues(reason).Inc()
		}
	}
}

// fieldRule is the rule a BadRequest names for field ("... (rule: expired)").
func fieldRule(st *status.Status, field string) string {
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			desc := v.GetDescription()
			if i := strings.LastIndex(desc, "(rule: "); v.GetField() == field && i >= 0 {
				return strings.TrimSuffix(desc[i+len("(rule: "):], ")")
			}
		}
	}
	return "unknown"
}
