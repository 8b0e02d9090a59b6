package upstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Budget is the rate of calls the gateway allows itself per AWS operation,
// shared by every caller of the process: clients' requests, the health
// prober and the job watchers' pollers. Each attempt (retries included)
// takes a token, waiting for one within its context; AWS's own quotas are
// per operation, so a burst of one kind of call cannot starve another.
type Budget struct {
	Rate  float64 // attempts per second per operation; 0: no budget
	Burst int
}

// ErrBudget is returned when an attempt cannot get a token before its
// context ends: the gateway's own share of AWS is spent.
type ErrBudget struct {
	Operation string
	Wait      time.Duration // how long a token would have taken
}

// UpstreamBudgetSpent marks the error for internal/apierr (UNAVAILABLE,
// throttled), which does not import this package.
func (e *ErrBudget) UpstreamBudgetSpent() {}

func (e *ErrBudget) Error() string {
	return fmt.Sprintf("upstream budget for %s spent: the next attempt could start in %v", e.Operation, e.Wait.Round(time.Millisecond))
}

// WithBudget is an SDK API option that makes each attempt of an operation
// wait for a token of that operation's bucket.
func WithBudget(b Budget) func(*middleware.Stack) error {
	var mu sync.Mutex
	buckets := map[string]*rate.Limiter{}
	bucket := func(op string) *rate.Limiter {
		mu.Lock()
		defer mu.Unlock()
		l := buckets[op]
		if l == nil {
			l = rate.NewLimiter(rate.Limit(b.Rate), max(b.Burst, 1))
			buckets[op] = l
		}
		return l
	}
	return func(stack *middleware.Stack) error {
		// Finalize, after the retry middleware: every attempt pays.
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("ForecastGatewayBudget",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetOperationName(ctx)
				r := bucket(op).Reserve()
				wait := r.Delay()
				if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
					r.Cancel()
					return middleware.FinalizeOutput{}, middleware.Metadata{}, &ErrBudget{Operation: op, Wait: wait}
				}
				if wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						r.Cancel()
						return middleware.FinalizeOutput{}, middleware.Metadata{}, ctx.Err()
					}
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}
