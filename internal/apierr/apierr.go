// Package apierr builds the gateway's errors: gRPC statuses with AIP-193
// details (google.rpc.ErrorInfo with the gateway's domain and a stable
// reason, BadRequest naming each field, RequestInfo, RetryInfo), and the
// translation of AWS SDK errors into them. The server builds them, the
// transport renders them on REST; both import this one leaf package.
package apierr

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the google.rpc.ErrorInfo domain of every error this gateway
// returns (AIP-193).
const Domain = "forecast-gateway"

// ErrorInfo reasons. They are part of the API: clients may switch on them.
const (
	ReasonInvalidArgument       = "INVALID_ARGUMENT"
	ReasonInvalidPageToken      = "INVALID_PAGE_TOKEN"
	ReasonAWSInvalidInput       = "AWS_INVALID_INPUT"
	ReasonAWSInvalidNextToken   = "AWS_INVALID_NEXT_TOKEN"
	ReasonResourceNotFound      = "RESOURCE_NOT_FOUND"
	ReasonResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	ReasonResourceInUse         = "RESOURCE_IN_USE"
	ReasonLimitExceeded         = "LIMIT_EXCEEDED"
	ReasonThrottled             = "UPSTREAM_THROTTLED"
	ReasonUpstreamUnavailable   = "UPSTREAM_UNAVAILABLE"
	ReasonDeadlineExceeded      = "DEADLINE_EXCEEDED"
	ReasonCanceled              = "CANCELED"
	ReasonInternal              = "INTERNAL"
)

// throttleRetryDelay is the RetryInfo hint given when AWS still throttled
// after the SDK's own retries: long enough to let a token bucket refill.
const throttleRetryDelay = 2 * time.Second

// FieldViolation is one broken rule of a request field. Field is the
// snake_case path of the field (destination.s3_config.path, tags[2].key);
// Description says what is wrong and ends with "(rule: <rule>)".
type FieldViolation struct {
	Field, Description string
}

// InvalidArgument builds the INVALID_ARGUMENT status with a BadRequest
// detail naming every violated field, before any upstream call.
func InvalidArgument(reason string, violations ...FieldViolation) error {
	return InvalidArgumentStatus(reason, violations...).Err()
}

// InvalidArgumentStatus is InvalidArgument as a *status.Status.
func InvalidArgumentStatus(reason string, violations ...FieldViolation) *status.Status {
	msgs := make([]string, len(violations))
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, len(violations))}
	for i, v := range violations {
		msgs[i] = v.Field + ": " + v.Description
		br.FieldViolations[i] = &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description}
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	return WithDetails(st, &errdetails.ErrorInfo{Reason: reason, Domain: Domain}, br)
}

// Internal is the INTERNAL status clients get for a fault of the gateway:
// no detail beyond the reason, so nothing internal leaks.
func Internal() error {
	return WithDetails(status.New(codes.Internal, "internal error"),
		&errdetails.ErrorInfo{Reason: ReasonInternal, Domain: Domain}).Err()
}

// FromUpstream turns an error from the AWS SDK call op into the gateway's
// status. It never passes on upstream internals (endpoints, stack, raw
// bodies); only AWS's own client-facing messages for client errors, and the
// request id.
func FromUpstream(op string, err error) error {
	meta := map[string]string{"operation": op}
	var reqID string
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.ServiceRequestID() != "" {
		reqID = respErr.ServiceRequestID()
		meta["aws_request_id"] = reqID
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		meta["aws_error_code"] = apiErr.ErrorCode()
	}

	code, reason, msg := classify(err, apiErr)
	if code == codes.Internal {
		// What AWS said is the gateway's business (an access problem of
		// its own identity, say), not the client's; it is in the log.
		delete(meta, "aws_error_code")
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: meta}}
	if reqID != "" {
		details = append(details, &errdetails.RequestInfo{RequestId: reqID, ServingData: "aws"})
	}
	if reason == ReasonThrottled {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(throttleRetryDelay)})
	}
	return WithDetails(status.New(code, msg), details...).Err()
}

func classify(err error, apiErr smithy.APIError) (codes.Code, string, string) {
	var (
		invalidInput  *types.InvalidInputException
		invalidToken  *types.InvalidNextTokenException
		notFound      *types.ResourceNotFoundException
		alreadyExists *types.ResourceAlreadyExistsException
		inUse         *types.ResourceInUseException
		limit         *types.LimitExceededException
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded, ReasonDeadlineExceeded, "the request deadline passed before AWS answered"
	case errors.Is(err, context.Canceled):
		return codes.Canceled, ReasonCanceled, "the request was cancelled"
	case errors.As(err, &invalidInput):
		return codes.InvalidArgument, ReasonAWSInvalidInput, "AWS rejected the input: " + apiMessage(invalidInput)
	case errors.As(err, &invalidToken):
		return codes.InvalidArgument, ReasonAWSInvalidNextToken, "AWS rejected the continuation of this listing (its page token expired or no longer applies); restart the listing without page_token"
	case errors.As(err, &notFound):
		return codes.NotFound, ReasonResourceNotFound, apiMessage(notFound)
	case errors.As(err, &alreadyExists):
		return codes.AlreadyExists, ReasonResourceAlreadyExists, apiMessage(alreadyExists)
	case errors.As(err, &inUse):
		return codes.FailedPrecondition, ReasonResourceInUse, apiMessage(inUse)
	case errors.As(err, &limit):
		return codes.ResourceExhausted, ReasonLimitExceeded, apiMessage(limit)
	case isBudget(err):
		return codes.Unavailable, ReasonThrottled, "the gateway's share of AWS Forecast calls is spent for now; retry after the delay in RetryInfo"
	case apiErr != nil && isThrottle(apiErr.ErrorCode()):
		return codes.Unavailable, ReasonThrottled, "AWS is throttling requests and the retries were exhausted; retry after the delay in RetryInfo"
	case IsUnreachable(err):
		return codes.Unavailable, ReasonUpstreamUnavailable, "AWS Forecast is unreachable; retry later"
	case isServerSide(err):
		return codes.Unavailable, ReasonUpstreamUnavailable, "AWS Forecast answered with a server error; retry later"
	}
	return codes.Internal, ReasonInternal, "internal error while calling AWS Forecast"
}

// isBudget reports an upstream.ErrBudget, by its method set: apierr is a
// leaf and does not import the upstream package.
func isBudget(err error) bool {
	var b interface {
		error
		UpstreamBudgetSpent()
	}
	return errors.As(err, &b)
}

func isThrottle(code string) bool {
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok
}

// IsUnreachable reports whether err means AWS could not be reached at all
// (connection refused or reset, DNS, TLS), as opposed to an AWS answer.
func IsUnreachable(err error) bool {
	var sendErr *smithyhttp.RequestSendError
	var opErr *net.OpError
	return errors.As(err, &sendErr) || errors.As(err, &opErr)
}

func isServerSide(err error) bool {
	var respErr *smithyhttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500
}

func apiMessage(e smithy.APIError) string {
	if e == nil {
		return ""
	}
	if m := e.ErrorMessage(); m != "" {
		return m
	}
	return e.ErrorCode()
}

// WithDetails adds details, keeping the bare status if marshalling ever
// fails (it cannot for these well-known messages).
func WithDetails(st *status.Status, details ...protoadapt.MessageV1) *status.Status {
	if s, err := st.WithDetails(details...); err == nil {
		return s
	}
	return st
}
