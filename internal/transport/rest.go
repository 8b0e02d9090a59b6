package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/forecastgw/forecast-gateway/gen/openapi"
	"github.com/forecastgw/forecast-gateway/internal/apierr"
)

// restMarshaler writes and reads JSON with the proto field names
// (snake_case, as AWS's member names) and rejects unknown fields, so a typo
// in a request body is a 400 instead of a silently dropped field.
var restMarshaler = restJSON{JSONPb: &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
}}

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

// writeStatus writes st as an AIP-193 body with the HTTP status that
// grpc-gateway maps its code to (or httpCode when non-zero).
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
	if st.Code() == codes.InvalidArgument && st.Message() == "" {
		body.Error.Message = "invalid request"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	_ = json.NewEncoder(w).Encode(body)
}

// restErrorHandler renders every gRPC error, including grpc-gateway's own
// (bad JSON, bad query parameter, unknown route), as AIP-193. grpc-gateway's
// own parsing errors come without details; they get a BadRequest so REST
// clients see the same shape as for the service's validation errors.
func restErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	if st.Code() == codes.InvalidArgument && len(st.Details()) == 0 {
		st = badRequest(st.Message(), parsedField(st.Message()), st.Message())
	}
	writeStatus(w, st, 0)
}

// parsedField names the field of a grpc-gateway parsing error
// (`parsing field "page_size": strconv.ParseInt: ...`), or "".
func parsedField(msg string) string {
	rest, ok := strings.CutPrefix(msg, `parsing field "`)
	if !ok {
		return ""
	}
	field, _, _ := strings.Cut(rest, `"`)
	return field
}

// requireUTF8 answers 400 for a query parameter or path that is not valid
// UTF-8 once decoded: proto strings must be UTF-8, and grpc-gateway would
// otherwise fail to marshal the request and answer 500.
func requireUTF8(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad := func(field string) {
			msg := "invalid request: " + field + ": must be valid UTF-8 (rule: utf8)"
			writeStatus(w, badRequest(msg, field, "must be valid UTF-8 (rule: utf8)"), 0)
		}
		if !utf8.ValidString(r.URL.Path) {
			field := "path"
			if strings.HasPrefix(r.URL.Path, "/v1/predictor-backtest-export-jobs/") {
				field = "predictor_backtest_export_job_arn"
			}
			bad(field)
			return
		}
		if q := r.URL.RawQuery; !strings.Contains(q, "%") && utf8.ValidString(q) {
			next.ServeHTTP(w, r) // nothing escaped: decoding cannot make it invalid
			return
		}
		for k, vs := range r.URL.Query() {
			if !utf8.ValidString(k) {
				bad("query")
				return
			}
			for _, v := range vs {
				if !utf8.ValidString(v) {
					bad(k)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func badRequest(msg, field, description string) *status.Status {
	st, err := status.New(codes.InvalidArgument, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: apierr.ReasonInvalidArgument, Domain: apierr.Domain},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}},
	)
	if err != nil {
		return status.New(codes.InvalidArgument, msg)
	}
	return st
}

// limitBody buffers at most max bytes of a request body and answers 413 for
// anything larger, before grpc-gateway decodes it.
func limitBody(maxBytes int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		tooLarge := func() {
			msg := fmt.Sprintf("request body is larger than %d bytes", maxBytes)
			writeStatus(w, badRequest(msg, "", msg), http.StatusRequestEntityTooLarge)
		}
		if r.ContentLength > maxBytes {
			tooLarge()
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
		if err != nil {
			writeStatus(w, badRequest("could not read the request body", "", err.Error()), 0)
			return
		}
		if int64(len(body)) > maxBytes {
			tooLarge()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapi.Document)
}

var _ proto.Message = (*errdetails.BadRequest)(nil)
