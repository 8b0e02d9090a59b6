package apierr

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
)

// etSecret stands for upstream internals that must never reach a client.
const etSecret = "http://10.0.0.1:1234/secret"

// etDecoded is a gateway status taken apart.
type etDecoded struct {
	st      *status.Status
	info    *errdetails.ErrorInfo
	bad     *errdetails.BadRequest
	retry   *errdetails.RetryInfo
	reqInfo *errdetails.RequestInfo
	others  []any
}

// etDecode takes a gateway error apart, failing the test on anything that is
// not a status with known, non-duplicated details.
func etDecode(t *testing.T, err error) etDecoded {
	t.Helper()
	if err == nil {
		t.Fatal("error is nil")
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%T %v is not a gRPC status", err, err)
	}
	d := etDecoded{st: st}
	for _, det := range st.Details() {
		switch v := det.(type) {
		case *errdetails.ErrorInfo:
			if d.info != nil {
				t.Errorf("two ErrorInfo details")
			}
			d.info = v
		case *errdetails.BadRequest:
			if d.bad != nil {
				t.Errorf("two BadRequest details")
			}
			d.bad = v
		case *errdetails.RetryInfo:
			if d.retry != nil {
				t.Errorf("two RetryInfo details")
			}
			d.retry = v
		case *errdetails.RequestInfo:
			if d.reqInfo != nil {
				t.Errorf("two RequestInfo details")
			}
			d.reqInfo = v
		default:
			d.others = append(d.others, v)
		}
	}
	if len(d.others) > 0 {
		t.Errorf("unexpected details %v", d.others)
	}
	if d.info == nil {
		t.Fatalf("status %v has no ErrorInfo", st.Proto())
	}
	if d.info.GetDomain() != Domain {
		t.Errorf("ErrorInfo.Domain = %q, want %q", d.info.GetDomain(), Domain)
	}
	return d
}

func etResponseErr(code int, reqID string, inner error) *awshttp.ResponseError {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code, Header: http.Header{}}},
			Err:      inner,
		},
		RequestID: reqID,
	}
}

func etOp(err error) error {
	return &smithy.OperationError{ServiceID: "forecast", OperationName: "ListPredictorBacktestExportJobs", Err: err}
}

func TestUpstreamError(t *testing.T) {
	const op = "ListPredictorBacktestExportJobs"
	netErr := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1234},
		Err: errors.New("connect: connection refused to " + etSecret)}
	tests := []struct {
		name       string
		err        error
		code       codes.Code
		reason     string
		msg        string            // exact message, when set
		msgHas     string            // substring of the message, when set
		meta       map[string]string // exact ErrorInfo metadata
		retryDelay time.Duration     // RetryInfo expected when > 0
		requestID  string            // RequestInfo expected when set
		noLeak     bool              // etSecret must appear nowhere in the status
	}{
		{
			name: "invalid input", err: etOp(&types.InvalidInputException{Message: aws.String("The name is already used.")}),
			code: codes.InvalidArgument, reason: ReasonAWSInvalidInput,
			msg:  "AWS rejected the input: The name is already used.",
			meta: map[string]string{"operation": op, "aws_error_code": "InvalidInputException"},
		},
		{
			name: "invalid next token", err: etOp(&types.InvalidNextTokenException{Message: aws.String("token " + etSecret)}),
			code: codes.InvalidArgument, reason: ReasonAWSInvalidNextToken, msgHas: "without page_token",
			meta:   map[string]string{"operation": op, "aws_error_code": "InvalidNextTokenException"},
			noLeak: true,
		},
		{
			name: "not found", err: etOp(&types.ResourceNotFoundException{Message: aws.String("No such job.")}),
			code: codes.NotFound, reason: ReasonResourceNotFound, msg: "No such job.",
			meta: map[string]string{"operation": op, "aws_error_code": "ResourceNotFoundException"},
		},
		{
			name: "not found without message", err: etOp(&types.ResourceNotFoundException{}),
			code: codes.NotFound, reason: ReasonResourceNotFound, msg: "ResourceNotFoundException",
			meta: map[string]string{"operation": op, "aws_error_code": "ResourceNotFoundException"},
		},
		{
			name: "already exists", err: etOp(&types.ResourceAlreadyExistsException{Message: aws.String("Exists.")}),
			code: codes.AlreadyExists, reason: ReasonResourceAlreadyExists, msg: "Exists.",
			meta: map[string]string{"operation": op, "aws_error_code": "ResourceAlreadyExistsException"},
		},
		{
			name: "in use", err: etOp(&types.ResourceInUseException{Message: aws.String("Busy.")}),
			code: codes.FailedPrecondition, reason: ReasonResourceInUse, msg: "Busy.",
			meta: map[string]string{"operation": op, "aws_error_code": "ResourceInUseException"},
		},
		{
			name: "limit exceeded", err: etOp(&types.LimitExceededException{Message: aws.String("Too many jobs.")}),
			code: codes.ResourceExhausted, reason: ReasonLimitExceeded, msg: "Too many jobs.",
			meta: map[string]string{"operation": op, "aws_error_code": "LimitExceededException"},
		},
		{
			name: "unwrapped modeled error", err: &types.ResourceNotFoundException{Message: aws.String("gone")},
			code: codes.NotFound, reason: ReasonResourceNotFound, msg: "gone",
			meta: map[string]string{"operation": op, "aws_error_code": "ResourceNotFoundException"},
		},
		{
			name: "throttling", err: etOp(&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded " + etSecret}),
			code: codes.Unavailable, reason: ReasonThrottled, msgHas: "throttling",
			meta:       map[string]string{"operation": op, "aws_error_code": "ThrottlingException"},
			retryDelay: 2 * time.Second, noLeak: true,
		},
		{
			name: "throttling behind response error", err: etOp(etResponseErr(400, "req-thr", &smithy.GenericAPIError{Code: "ThrottlingException"})),
			code: codes.Unavailable, reason: ReasonThrottled,
			meta:       map[string]string{"operation": op, "aws_error_code": "ThrottlingException", "aws_request_id": "req-thr"},
			retryDelay: 2 * time.Second, requestID: "req-thr",
		},
		{
			name: "deadline exceeded", err: etOp(context.DeadlineExceeded),
			code: codes.DeadlineExceeded, reason: ReasonDeadlineExceeded,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			name: "deadline exceeded behind send error", err: etOp(&smithyhttp.RequestSendError{Err: fmt.Errorf("Post %q: %w", etSecret, context.DeadlineExceeded)}),
			code: codes.DeadlineExceeded, reason: ReasonDeadlineExceeded,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			name: "canceled", err: etOp(context.Canceled),
			code: codes.Canceled, reason: ReasonCanceled,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			name: "canceled as the SDK reports it", err: etOp(&smithy.CanceledError{Err: context.Canceled}),
			code: codes.Canceled, reason: ReasonCanceled,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			name: "connection refused", err: etOp(&smithyhttp.RequestSendError{Err: netErr}),
			code: codes.Unavailable, reason: ReasonUpstreamUnavailable, msgHas: "unreachable",
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			name: "bare net error", err: netErr,
			code: codes.Unavailable, reason: ReasonUpstreamUnavailable,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			name: "http 500 with request id", err: etOp(etResponseErr(500, "req-500", &smithy.GenericAPIError{Code: "InternalServerError", Message: "stack at " + etSecret})),
			code: codes.Unavailable, reason: ReasonUpstreamUnavailable, msgHas: "server error",
			meta:      map[string]string{"operation": op, "aws_error_code": "InternalServerError", "aws_request_id": "req-500"},
			requestID: "req-500", noLeak: true,
		},
		{
			name: "http 503 without api error", err: etOp(etResponseErr(503, "req-503", errors.New("body "+etSecret))),
			code: codes.Unavailable, reason: ReasonUpstreamUnavailable,
			meta:      map[string]string{"operation": op, "aws_request_id": "req-503"},
			requestID: "req-503", noLeak: true,
		},
		{
			name: "client error with request id", err: etOp(etResponseErr(400, "req-400", &types.InvalidInputException{Message: aws.String("bad")})),
			code: codes.InvalidArgument, reason: ReasonAWSInvalidInput, msg: "AWS rejected the input: bad",
			meta:      map[string]string{"operation": op, "aws_error_code": "InvalidInputException", "aws_request_id": "req-400"},
			requestID: "req-400",
		},
		{
			name: "unknown error", err: errors.New("Get " + etSecret + ": unexpected EOF"),
			code: codes.Internal, reason: ReasonInternal,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			// The gateway's own AWS identity was refused: that is for the
			// operator's log, not the client (no aws_error_code).
			name: "unknown api error", err: etOp(&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied for " + etSecret}),
			code: codes.Internal, reason: ReasonInternal,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
		{
			name: "http 404 unmodeled", err: etOp(etResponseErr(404, "", errors.New("not json: "+etSecret))),
			code: codes.Internal, reason: ReasonInternal,
			meta: map[string]string{"operation": op}, noLeak: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := FromUpstream(op, tt.err)
			d := etDecode(t, err)
			if got := d.st.Code(); got != tt.code {
				t.Errorf("code = %v, want %v (message %q)", got, tt.code, d.st.Message())
			}
			if got := d.info.GetReason(); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
			if tt.msg != "" && d.st.Message() != tt.msg {
				t.Errorf("message = %q, want %q", d.st.Message(), tt.msg)
			}
			if tt.msgHas != "" && !strings.Contains(d.st.Message(), tt.msgHas) {
				t.Errorf("message %q does not contain %q", d.st.Message(), tt.msgHas)
			}
			if d.st.Message() == "" {
				t.Error("empty message")
			}
			if !maps.Equal(d.info.GetMetadata(), tt.meta) {
				t.Errorf("metadata = %v, want %v", d.info.GetMetadata(), tt.meta)
			}
			switch {
			case tt.retryDelay > 0 && d.retry == nil:
				t.Errorf("no RetryInfo, want delay %v", tt.retryDelay)
			case tt.retryDelay > 0 && d.retry.GetRetryDelay().AsDuration() != tt.retryDelay:
				t.Errorf("RetryInfo delay = %v, want %v", d.retry.GetRetryDelay().AsDuration(), tt.retryDelay)
			case tt.retryDelay == 0 && d.retry != nil:
				t.Errorf("unexpected RetryInfo %v", d.retry)
			}
			switch {
			case tt.requestID != "" && d.reqInfo == nil:
				t.Errorf("no RequestInfo, want request id %q", tt.requestID)
			case tt.requestID != "" && (d.reqInfo.GetRequestId() != tt.requestID || d.reqInfo.GetServingData() != "aws"):
				t.Errorf("RequestInfo = %v, want {request_id %q serving_data aws}", d.reqInfo, tt.requestID)
			case tt.requestID == "" && d.reqInfo != nil:
				t.Errorf("unexpected RequestInfo %v", d.reqInfo)
			}
			if d.bad != nil {
				t.Errorf("unexpected BadRequest %v", d.bad)
			}
			// The original error text is never the client message, and
			// upstream internals appear nowhere in the status.
			if strings.Contains(d.st.Message(), tt.err.Error()) {
				t.Errorf("message %q contains the upstream error %q", d.st.Message(), tt.err.Error())
			}
			if tt.noLeak {
				if all := prototext.Format(d.st.Proto()); strings.Contains(all, "10.0.0.1") || strings.Contains(all, "secret") {
					t.Errorf("status leaks upstream internals: %s", all)
				}
			}
			// The gRPC error wraps nothing of the upstream error.
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("status error still wraps the context error")
			}
		})
	}
}

func TestIsUnreachable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"send error", &smithyhttp.RequestSendError{Err: errors.New("x")}, true},
		{"wrapped send error", etOp(&smithyhttp.RequestSendError{Err: errors.New("x")}), true},
		{"net op error", &net.OpError{Op: "read", Err: errors.New("reset")}, true},
		{"wrapped dns error", fmt.Errorf("w: %w", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host"}}), true},
		{"response error", etResponseErr(500, "r", nil), false},
		{"api error", &smithy.GenericAPIError{Code: "ThrottlingException"}, false},
		{"plain", errors.New("x"), false},
	}
	for _, tt := range tests {
		if got := IsUnreachable(tt.err); got != tt.want {
			t.Errorf("IsUnreachable(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestInvalidArgument(t *testing.T) {
	tests := []struct {
		name       string
		reason     string
		violations []FieldViolation
		msg        string
	}{
		{
			name:   "one",
			reason: ReasonInvalidArgument,
			violations: []FieldViolation{
				{"predictor_arn", "is required (rule: required)"},
			},
			msg: "invalid request: predictor_arn: is required (rule: required)",
		},
		{
			name:   "several keep their order",
			reason: ReasonInvalidArgument,
			violations: []FieldViolation{
				{"tags[3].key", "z"},
				{"destination.s3_config.role_arn", "y"},
				{"page_size", "x"},
			},
			msg: "invalid request: tags[3].key: z; destination.s3_config.role_arn: y; page_size: x",
		},
		{
			name:       "page token reason",
			reason:     ReasonInvalidPageToken,
			violations: []FieldViolation{{"page_token", "malformed (rule: malformed)"}},
			msg:        "invalid request: page_token: malformed (rule: malformed)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := etDecode(t, InvalidArgument(tt.reason, tt.violations...))
			if d.st.Code() != codes.InvalidArgument {
				t.Errorf("code = %v, want InvalidArgument", d.st.Code())
			}
			if d.st.Message() != tt.msg {
				t.Errorf("message = %q, want %q", d.st.Message(), tt.msg)
			}
			if d.info.GetReason() != tt.reason {
				t.Errorf("reason = %q, want %q", d.info.GetReason(), tt.reason)
			}
			if len(d.info.GetMetadata()) != 0 {
				t.Errorf("metadata = %v, want none", d.info.GetMetadata())
			}
			if d.bad == nil {
				t.Fatal("no BadRequest detail")
			}
			fvs := d.bad.GetFieldViolations()
			if len(fvs) != len(tt.violations) {
				t.Fatalf("BadRequest has %d violations, want %d", len(fvs), len(tt.violations))
			}
			for i, v := range tt.violations {
				if fvs[i].GetField() != v.Field || fvs[i].GetDescription() != v.Description {
					t.Errorf("violation %d = {%q, %q}, want {%q, %q}", i, fvs[i].GetField(), fvs[i].GetDescription(), v.Field, v.Description)
				}
			}
			if d.retry != nil || d.reqInfo != nil {
				t.Errorf("unexpected RetryInfo/RequestInfo: %v %v", d.retry, d.reqInfo)
			}
		})
	}
}

func TestInternalError(t *testing.T) {
	d := etDecode(t, Internal())
	if d.st.Code() != codes.Internal || d.info.GetReason() != ReasonInternal {
		t.Errorf("Internal() = %v / %q, want Internal / %q", d.st.Code(), d.info.GetReason(), ReasonInternal)
	}
}

// budgetErr stands for upstream.ErrBudget (apierr knows it by its method).
type budgetErr struct{}

func (budgetErr) Error() string        { return "upstream budget for X spent" }
func (budgetErr) UpstreamBudgetSpent() {}

func TestUpstreamBudgetIsThrottling(t *testing.T) {
	st := status.Convert(FromUpstream("DescribeX", fmt.Errorf("operation error: %w", budgetErr{})))
	if st.Code() != codes.Unavailable || Reason(st) != ReasonThrottled {
		t.Fatalf("budget spent: %v %s, want UNAVAILABLE UPSTREAM_THROTTLED", st.Code(), Reason(st))
	}
}
