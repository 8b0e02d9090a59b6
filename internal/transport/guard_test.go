package transport

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/auth"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
)

// TestMethodRulesClassifyEveryMethod: every RPC of the service has a
// scope and a rate-limit class, reads and writes as the issue lists them.
func TestMethodRulesClassifyEveryMethod(t *testing.T) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(ServiceName))
	if err != nil {
		t.Fatal(err)
	}
	sd := d.(protoreflect.ServiceDescriptor)
	rules, err := methodRules(sd)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != sd.Methods().Len() {
		t.Fatalf("%d rules for %d methods", len(rules), sd.Methods().Len())
	}
	for full, r := range rules {
		name := full[strings.LastIndexByte(full, '/')+1:]
		want := methodRule{scope: auth.ScopeRead, class: ratelimit.Read}
		switch {
		case strings.HasPrefix(name, "Create"):
			want = methodRule{scope: auth.ScopeWrite, class: ratelimit.Create, write: true}
		case strings.HasPrefix(name, "Delete"), strings.HasPrefix(name, "Stop"), name == "TagResource", name == "UntagResource":
			want = methodRule{scope: auth.ScopeWrite, class: ratelimit.Write, write: true}
		}
		if r != want {
			t.Errorf("%s: %+v, want %+v", name, r, want)
		}
	}
}

// TestMethodRulesRefuseUnknownMethods: a method that is neither a read
// nor a write stops the start instead of slipping through unguarded.
func TestMethodRulesRefuseUnknownMethods(t *testing.T) {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: ptr("x.proto"), Package: ptr("x"), Syntax: ptr("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: ptr("M")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: ptr("S"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: ptr("ListThings"), InputType: ptr(".x.M"), OutputType: ptr(".x.M")},
			{Name: ptr("PurgeEverything"), InputType: ptr(".x.M"), OutputType: ptr(".x.M")},
		}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := methodRules(fd.Services().Get(0)); err == nil || !strings.Contains(err.Error(), "PurgeEverything") {
		t.Fatalf("methodRules = %v, want an error naming PurgeEverything", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestListCost(t *testing.T) {
	for _, tc := range []struct {
		pageSize int32
		want     int
	}{{0, 1}, {-5, 1}, {1, 1}, {100, 1}, {101, 2}, {999, 10}, {1000, 10}, {5000, 10}} {
		if got := listCost(tc.pageSize); got != tc.want {
			t.Errorf("listCost(%d) = %d, want %d", tc.pageSize, got, tc.want)
		}
	}
}

func TestWWWAuthenticate(t *testing.T) {
	withReason := func(c codes.Code, reason string, meta map[string]string) *status.Status {
		return apierr.WithDetails(status.New(c, "x"), &errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain, Metadata: meta})
	}
	for _, tc := range []struct {
		st   *status.Status
		want string
	}{
		{withReason(codes.Unauthenticated, ReasonUnauthenticated, nil), `Bearer realm="forecast-gateway"`},
		{withReason(codes.Unauthenticated, ReasonInvalidToken, nil), `Bearer realm="forecast-gateway", error="invalid_token"`},
		{withReason(codes.PermissionDenied, ReasonInsufficientScope, map[string]string{"scope": "forecast.write"}),
			`Bearer realm="forecast-gateway", error="insufficient_scope", scope="forecast.write"`},
		{withReason(codes.PermissionDenied, "POLICY_DENIED", nil), ""},
		{withReason(codes.NotFound, "RESOURCE_NOT_FOUND", nil), ""},
	} {
		if got := wwwAuthenticate(tc.st); got != tc.want {
			t.Errorf("%v %s: %q, want %q", tc.st.Code(), apierr.Reason(tc.st), got, tc.want)
		}
	}
}

func TestRateLimitedErrors(t *testing.T) {
	st := status.Convert(rateLimited(&ratelimit.Refusal{Class: ratelimit.Read, Reason: ratelimit.ReasonRate, RetryAfter: 1500_000_000, Limit: "1 requests/s"}))
	if st.Code() != codes.ResourceExhausted || apierr.Reason(st) != ReasonRateLimited {
		t.Fatalf("rate refusal: %v", st)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration().Milliseconds() != 1500 {
		t.Errorf("RetryInfo = %v, want 1.5s", retry)
	}
	// A call that can never be admitted: INVALID_ARGUMENT on page_size.
	st = status.Convert(rateLimited(&ratelimit.Refusal{Class: ratelimit.Read, Reason: ratelimit.ReasonRate, Limit: "costs 10, burst 5"}))
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "page_size") {
		t.Errorf("never-admitted refusal: %v", st)
	}
}
