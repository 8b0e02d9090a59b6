package transport

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
)

// restMarshaler writes JSON with the proto field names (snake_case, as
// AWS's member names) and every list, empty as []; it reads protojson (the
// REST front has already checked and normalized every body).
var restMarshaler = restJSON{JSONPb: &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
}, emitEmptyLists: true}

// aip193Error is the AIP-193 JSON error body.
type aip193Error struct {
	Error aip193Body `json:"error"`
}

type aip193Body struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Status  string            `json:"status"`
	Details []json.RawMessage `json:"details,omitempty"`
}

// writeStatus writes st as an AIP-193 body with the HTTP status of its
// code (apierr.HTTPStatus), or httpCode when non-zero. A RetryInfo detail
// also becomes Retry-After.
func writeStatus(w http.ResponseWriter, st *status.Status, httpCode int) {
	if httpCode == 0 {
		httpCode = apierr.HTTPStatus(st)
	}
	body := aip193Error{Error: aip193Body{Code: httpCode, Message: st.Message(), Status: code.Code_name[int32(st.Code())]}}
	for _, any := range st.Proto().GetDetails() {
		b, err := protojson.Marshal(any)
		if err != nil {
			continue
		}
		body.Error.Details = append(body.Error.Details, b)
		var ri errdetails.RetryInfo
		if any.UnmarshalTo(&ri) == nil && ri.GetRetryDelay() != nil {
			secs := int(ri.GetRetryDelay().AsDuration().Seconds() + 0.999)
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		}
	}
	if v := wwwAuthenticate(st); v != "" {
		w.Header().Set("WWW-Authenticate", v)
	}
	if body.Error.Message == "" {
		body.Error.Message = strings.ToLower(strings.ReplaceAll(body.Error.Status, "_", " "))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages are read by people: <JWT>, not \u003cJWT\u003e
	_ = enc.Encode(body)
}

// restErrorHandler renders every gRPC error as AIP-193. The REST front
// checks paths, queries and bodies first, so grpc-gateway's own errors are
// rare; those without details get an ErrorInfo so every error has one.
func restErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	if len(st.Details()) == 0 {
		reason := apierr.ReasonInternal
		if st.Code() == codes.InvalidArgument {
			reason = apierr.ReasonInvalidArgument
		}
		st = apierr.WithDetails(st, &errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain})
	}
	writeStatus(w, st, 0)
}

// created answers a Create with 201 Created and the new job's Location:
// its collection (the route's path) and its percent-encoded ARN, which the
// response's first field holds.
func created(ctx context.Context, w http.ResponseWriter, m proto.Message) error {
	md := m.ProtoReflect().Descriptor()
	if name := string(md.Name()); !strings.HasPrefix(name, "Create") || !strings.HasSuffix(name, "Response") || md.Fields().Len() == 0 {
		return nil
	}
	if path, ok := runtime.HTTPPathPattern(ctx); ok {
		arn := m.ProtoReflect().Get(md.Fields().Get(0)).String()
		w.Header().Set("Location", path+"/"+url.PathEscape(arn))
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// wwwAuthenticate is the RFC 6750 challenge of a 401, or of a 403 for a
// missing scope; "" for other errors.
func wwwAuthenticate(st *status.Status) string {
	const realm = `Bearer realm="forecast-gateway"`
	switch reason := apierr.Reason(st); {
	case st.Code() == codes.Unauthenticated && reason == ReasonInvalidToken:
		return realm + `, error="invalid_token"`
	case st.Code() == codes.Unauthenticated:
		return realm
	case st.Code() == codes.PermissionDenied && reason == ReasonInsufficientScope:
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				return realm + `, error="insufficient_scope", scope="` + info.GetMetadata()["scope"] + `"`
			}
		}
	}
	return ""
}
