package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/fullstorydev/grpchan/inprocgrpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/auth"
	"github.com/forecastgw/forecast-gateway/internal/callinfo"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
)

// Authenticator says who is calling, from the call's authorization values
// (gRPC "authorization" metadata, or the HTTP Authorization header) and
// its TLS state (a verified client certificate). It returns
// auth.ErrNoCredentials when the call carries neither, and a
// *auth.CredentialError for a credential it refuses.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization []string, tls *tls.ConnectionState) (*auth.Caller, error)
}

// Security is what the guard enforces. The zero value enforces nothing:
// every caller is anonymous and unlimited (loopback development).
type Security struct {
	// Authenticator, when set, makes every API call authenticate and
	// carry the scope its method needs (see methodClass).
	Authenticator Authenticator
	// Limiter, when set, limits each caller's calls per class.
	Limiter *ratelimit.Limiter
	// Audit receives one line per write call and per refused call.
	// Default: the transport's logger.
	Audit *slog.Logger
}

// Reasons of the guard's refusals (google.rpc.ErrorInfo).
const (
	ReasonUnauthenticated          = "UNAUTHENTICATED"
	ReasonInvalidToken             = "INVALID_TOKEN"
	ReasonInvalidClientCertificate = "INVALID_CLIENT_CERTIFICATE"
	ReasonInsufficientScope        = "INSUFFICIENT_SCOPE"
	ReasonRateLimited              = "RATE_LIMITED"
)

// methodRule is what a method of the API needs: a scope, and the class of
// its rate limit.
type methodRule struct {
	scope string
	class ratelimit.Class
	write bool // audited whatever the outcome
}

// methodRules classifies every method of the service by its name: reads
// (List*, Describe*, ListTagsForResource, Watch*, Wait*) need
// forecast.read, writes (Create*, Delete*, Stop*, TagResource,
// UntagResource) need forecast.write. A method that fits neither is an
// error at start, so a new RPC cannot slip through unguarded.
func methodRules(sd protoreflect.ServiceDescriptor) (map[string]methodRule, error) {
	rules := map[string]methodRule{}
	methods := sd.Methods()
	for i := 0; i < methods.Len(); i++ {
		name := string(methods.Get(i).Name())
		var r methodRule
		switch {
		case hasAnyPrefix(name, "List", "Describe", "Watch", "Wait"):
			r = methodRule{scope: auth.ScopeRead, class: ratelimit.Read}
		case strings.HasPrefix(name, "Create"):
			r = methodRule{scope: auth.ScopeWrite, class: ratelimit.Create, write: true}
		case hasAnyPrefix(name, "Delete", "Stop") || name == "TagResource" || name == "UntagResource":
			r = methodRule{scope: auth.ScopeWrite, class: ratelimit.Write, write: true}
		default:
			return nil, fmt.Errorf("transport: method %s is neither a read nor a write; classify it in methodRules", name)
		}
		rules["/"+string(sd.FullName())+"/"+name] = r
	}
	return rules, nil
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// guard enforces Security on the service's methods, once for gRPC and REST
// (both run the same chain). Other services (health, reflection) pass
// untouched. Every refusal happens before the handler, so it reaches no
// upstream.
type guard struct {
	sec   Security
	rules map[string]methodRule
}

func (g *guard) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	rule, ok := g.rules[info.FullMethod]
	if !ok {
		return handler(ctx, req)
	}
	ctx, caller, release, err := g.admit(ctx, info.FullMethod, rule, req)
	if err != nil {
		g.audit(ctx, info.FullMethod, caller, req, nil, err)
		return nil, err
	}
	defer release() // also when the handler panics (recovery is outside)
	resp, err := handler(ctx, req)
	if rule.write || isRefusal(err) {
		g.audit(ctx, info.FullMethod, caller, req, resp, err)
	}
	return resp, err
}

func (g *guard) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	rule, ok := g.rules[info.FullMethod]
	if !ok {
		return handler(srv, ss)
	}
	// A stream's request is its first message, which the handler reads; a
	// stream costs one token when it opens.
	ctx, caller, release, err := g.admit(ss.Context(), info.FullMethod, rule, nil)
	if err != nil {
		g.audit(ctx, info.FullMethod, caller, nil, nil, err)
		return err
	}
	defer release()
	err = handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	if rule.write || isRefusal(err) {
		g.audit(ctx, info.FullMethod, caller, nil, nil, err)
	}
	return err
}

// admit authenticates, authorizes and rate-limits one call. On success the
// returned context carries the caller (auth.FromContext) and release must
// be called when the call ends.
func (g *guard) admit(ctx context.Context, method string, rule methodRule, req any) (context.Context, *auth.Caller, func(), error) {
	var caller *auth.Caller
	if g.sec.Authenticator != nil {
		md, _ := metadata.FromIncomingContext(ctx)
		bearer := md.Get("authorization")
		c, err := g.sec.Authenticator.Authenticate(ctx, bearer, tlsState(ctx))
		if err != nil {
			return ctx, nil, nil, unauthenticated(err, len(bearer) > 0)
		}
		caller = c
		ctx = auth.NewContext(ctx, caller)
		if info := callinfo.FromContext(ctx); info != nil {
			info.SetCaller(caller.ID)
		}
		if !caller.HasScope(rule.scope) {
			return ctx, caller, nil, insufficientScope(method, rule.scope)
		}
	}
	if g.sec.Limiter == nil {
		return ctx, caller, func() {}, nil
	}
	cost := 1
	if ps, ok := req.(interface{ GetPageSize() int32 }); ok {
		cost = listCost(ps.GetPageSize())
	}
	release, err := g.sec.Limiter.Acquire(limitKey(ctx, caller), rule.class, cost)
	if err != nil {
		return ctx, caller, nil, rateLimited(err)
	}
	return ctx, caller, release, nil
}

// listCost is what a List call costs upstream: one AWS call per 100 items
// of its page (page_size 0 is the default 100, above 1000 is 1000; see
// server.effectivePageSize).
func listCost(pageSize int32) int {
	switch {
	case pageSize <= 0:
		return 1
	case pageSize > 1000:
		pageSize = 1000
	}
	return int(pageSize+99) / 100
}

// limitKey is whose budget a call spends: the caller's, or with
// authentication off the client host's (the best there is).
func limitKey(ctx context.Context, caller *auth.Caller) string {
	if caller != nil {
		return caller.ID
	}
	addr := ""
	if info := callinfo.FromContext(ctx); info != nil {
		addr = info.PeerAddr
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	return "peer:" + addr
}

// tlsState is the TLS state of the call's connection, or nil.
func tlsState(ctx context.Context) *tls.ConnectionState {
	if info := callinfo.FromContext(ctx); info != nil {
		return info.TLS
	}
	return nil
}

// unauthenticated is the refusal of a call's credentials: INVALID_TOKEN
// for a bearer token (REST adds error="invalid_token" to the challenge),
// INVALID_CLIENT_CERTIFICATE for a certificate the authz file does not
// know, UNAUTHENTICATED when there were none.
func unauthenticated(err error, bearerSent bool) error {
	var ce *auth.CredentialError
	if errors.As(err, &ce) {
		reason := ReasonInvalidClientCertificate
		if bearerSent {
			reason = ReasonInvalidToken
		}
		return apierr.WithDetails(status.New(codes.Unauthenticated, "invalid credentials: "+ce.Reason),
			&errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain}).Err()
	}
	return apierr.WithDetails(status.New(codes.Unauthenticated,
		"this call needs credentials: a bearer token (authorization: Bearer <JWT>) or a client certificate"),
		&errdetails.ErrorInfo{Reason: ReasonUnauthenticated, Domain: apierr.Domain}).Err()
}

func insufficientScope(method, scope string) error {
	name := method[strings.LastIndexByte(method, '/')+1:]
	return apierr.WithDetails(status.New(codes.PermissionDenied, fmt.Sprintf("%s needs scope %s, which the caller was not granted", name, scope)),
		&errdetails.ErrorInfo{Reason: ReasonInsufficientScope, Domain: apierr.Domain, Metadata: map[string]string{"scope": scope}}).Err()
}

func rateLimited(err error) error {
	var r *ratelimit.Refusal
	if !errors.As(err, &r) {
		return apierr.Internal()
	}
	if r.RetryAfter <= 0 {
		// It costs more than the bucket can ever hold: retrying cannot
		// help, a smaller page can.
		return apierr.InvalidArgument(ReasonRateLimited, apierr.FieldViolation{
			Field: "page_size", Description: r.Limit + " (rule: rate_limit_burst)"})
	}
	return apierr.WithDetails(status.New(codes.ResourceExhausted,
		fmt.Sprintf("rate limited: %s calls are limited to %s per caller; retry after %v", r.Class, r.Limit, r.RetryAfter.Round(time.Millisecond))),
		&errdetails.ErrorInfo{Reason: ReasonRateLimited, Domain: apierr.Domain,
			Metadata: map[string]string{"class": string(r.Class), "limit": r.Reason}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(r.RetryAfter)}).Err()
}

// isRefusal reports whether err refuses the caller (as opposed to a failed
// call): those are audited for reads too.
func isRefusal(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return true
	case codes.ResourceExhausted:
		return apierr.Reason(status.Convert(err)) == ReasonRateLimited
	}
	return false
}

// audit writes the audit line of a call: when, who, what, on which job,
// with what outcome, under which request id. Never a token, a credential
// or a request body: only the request's top-level names and ARNs (the job,
// its parent), and a create's new ARN.
func (g *guard) audit(ctx context.Context, method string, caller *auth.Caller, req, resp any, err error) {
	attrs := []slog.Attr{
		slog.String("method", method[strings.LastIndexByte(method, '/')+1:]),
		slog.String("outcome", status.Code(err).String()),
		slog.String("request_id", callinfo.RequestID(ctx)),
	}
	if caller != nil {
		attrs = append(attrs, slog.String("caller", caller.ID))
	} else {
		attrs = append(attrs, slog.String("caller", "anonymous"))
	}
	if info := callinfo.FromContext(ctx); info != nil {
		attrs = append(attrs, slog.String("peer", info.PeerAddr), slog.String("transport", info.Transport))
	}
	attrs = append(attrs, jobFields(req)...)
	attrs = append(attrs, jobFields(resp)...)
	if err != nil {
		if r := apierr.Reason(status.Convert(err)); r != "" {
			attrs = append(attrs, slog.String("reason", r))
		}
	}
	level := slog.LevelInfo
	if isRefusal(err) {
		level = slog.LevelWarn
	}
	g.sec.Audit.LogAttrs(ctx, level, "audit", attrs...)
}

// jobFields are the top-level string fields of m named *_arn or *_name:
// the job's name or ARN and its parent's. Nested messages (destinations
// with role ARNs and paths) and tags are left out.
func jobFields(m any) []slog.Attr {
	pm, ok := m.(proto.Message)
	if !ok || pm == nil {
		return nil
	}
	r := pm.ProtoReflect()
	if !r.IsValid() {
		return nil
	}
	var out []slog.Attr
	fields := r.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		name := string(f.Name())
		if f.Kind() != protoreflect.StringKind || f.IsList() || !(strings.HasSuffix(name, "_arn") || strings.HasSuffix(name, "_name")) {
			continue
		}
		if v := r.Get(f).String(); v != "" {
			out = append(out, slog.String(name, v))
		}
	}
	return out
}

// contextStream is a ServerStream with a derived context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// callInfo is the first interceptor: it makes sure every call has its
// callinfo.Info (the REST front made one already; for gRPC it is built
// from the connection and metadata here) and tells the client the request
// id in the x-request-id header.
type callInfo struct{}

func (callInfo) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, ci, fresh := withCallInfo(ctx)
	if fresh {
		_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", ci.RequestID))
	}
	return handler(ctx, req)
}

func (callInfo) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, ci, fresh := withCallInfo(ss.Context())
	if fresh {
		_ = ss.SetHeader(metadata.Pairs("x-request-id", ci.RequestID))
	}
	return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
}

// withCallInfo returns ctx with the call's Info, and whether it was made
// here (a gRPC call) rather than by the REST front.
func withCallInfo(ctx context.Context) (context.Context, *callinfo.Info, bool) {
	if ci := callinfo.FromContext(ctx); ci != nil {
		return ctx, ci, false
	}
	// A REST stream runs on inprocgrpc, whose server context is a fresh
	// one; the REST front's Info is on the client side.
	if cc := inprocgrpc.ClientContext(ctx); cc != nil {
		if ci := callinfo.FromContext(cc); ci != nil {
			return callinfo.NewContext(ctx, ci), ci, false
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	ci := &callinfo.Info{Transport: callinfo.GRPC, RequestID: callinfo.RequestIDFrom(first(md.Get("x-request-id")))}
	if p, ok := peer.FromContext(ctx); ok {
		if p.Addr != nil {
			ci.PeerAddr = p.Addr.String()
		}
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			ci.TLS = &ti.State
		}
	}
	return callinfo.NewContext(ctx, ci), ci, true
}

func first(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return ""
}
