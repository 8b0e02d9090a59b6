package upstream

import (
	"context"
	"errors"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// Call is one upstream operation as the gateway's operators see it: its
// retries are inside it, not separate calls.
type Call struct {
	Operation string // "ListDatasetImportJobs"
	Origin    string // who asked: OriginRequest, OriginHealth, OriginWatch
	Duration  time.Duration
	Attempts  int    // 1 when the first attempt answered
	RequestID string // AWS's, when it answered
	Outcome   string // see Outcome*
	Err       error  // the SDK's error, nil on success
}

// Outcomes of a call, a small fixed set (a metric label).
const (
	OutcomeOK          = "ok"
	OutcomeClientError = "client_error" // AWS refused the request (4xx): validation, not found, in use...
	OutcomeThrottled   = "throttled"    // still throttled after the retries
	OutcomeServerError = "server_error" // AWS 5xx
	OutcomeAuth        = "auth_error"   // the gateway's own credentials (see Diagnose)
	OutcomeUnreachable = "unreachable"  // no answer: connection, DNS, TLS, timeout
	OutcomeCanceled    = "canceled"     // the caller went away
)

// Origins of calls.
const (
	OriginRequest = "request" // a client's call
	OriginHealth  = "health"  // the health prober
	OriginStartup = "startup" // the start-up credential check
	OriginWatch   = "watch"   // a job watcher's poll
)

type originKey struct{}

// WithOrigin marks the upstream calls made under ctx as made for origin
// (default OriginRequest).
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

func originOf(ctx context.Context) string {
	if o, ok := ctx.Value(originKey{}).(string); ok {
		return o
	}
	return OriginRequest
}

// Observer receives every upstream call when it ends, with the context of
// the call (so the gateway can add it to the client call it belongs to).
type Observer func(ctx context.Context, c Call)

// WithObserver is an SDK API option that reports each operation to obs. It
// runs after the operation's metadata is set (so it knows the operation's
// name) and around the retries.
func WithObserver(obs Observer) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ForecastGatewayObserver",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				c := Call{
					Operation: awsmiddleware.GetOperationName(ctx),
					Origin:    originOf(ctx),
					Duration:  time.Since(start),
					Attempts:  1,
					Outcome:   outcome(err),
					Err:       err,
				}
				if res, ok := retry.GetAttemptResults(md); ok && len(res.Results) > 0 {
					c.Attempts = len(res.Results)
				}
				c.RequestID, _ = awsmiddleware.GetRequestIDMetadata(md)
				var respErr *awshttp.ResponseError
				if c.RequestID == "" && errors.As(err, &respErr) {
					c.RequestID = respErr.ServiceRequestID()
				}
				obs(ctx, c)
				return out, md, err
			}), middleware.After)
	}
}

func outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	if errors.Is(err, context.Canceled) {
		return OutcomeCanceled
	}
	var budget *ErrBudget
	if errors.As(err, &budget) {
		return OutcomeThrottled
	}
	switch p := Diagnose(err); {
	case p.IsAuth():
		return OutcomeAuth
	case p == Unreachable:
		return OutcomeUnreachable
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if _, ok := retry.DefaultThrottleErrorCodes[apiErr.ErrorCode()]; ok {
			return OutcomeThrottled
		}
		if apiErr.ErrorFault() == smithy.FaultServer {
			return OutcomeServerError
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return OutcomeServerError
	}
	return OutcomeClientError
}
