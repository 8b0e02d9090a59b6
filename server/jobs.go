package server

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// The generic core: what every job type does the same way. A type's file
// supplies only the AWS call with its own shapes.

// create validates a Create request (violations already collected by the
// type's file), applies the policy file to the roles, paths and keys it
// names, makes the AWS call with the job's tags (the client's and the
// owner's) and logs the new job. A retry of a create that in fact
// succeeded gets ALREADY_EXISTS (job names are unique per parent), so a
// client never makes two jobs by retrying.
func create(ctx context.Context, s *ForecastJobServer, t *jobtype.Type, v *violations, call func(ctx context.Context, tags []types.Tag) (*string, error)) (string, error) {
	if callerOf(ctx) != nil && len(v.tagList) >= awsrules.MaxTags {
		v.add("tags", fmt.Sprintf("must have at most %d tags: the gateway adds its %s tag (rule: count)", awsrules.MaxTags-1, OwnerTagKey))
	}
	if err := v.err(); err != nil {
		return "", err
	}
	if err := s.checkUses(ctx, v.uses); err != nil {
		return "", err
	}
	arn, err := call(ctx, jobTags(ctx, v.tagList))
	if err != nil {
		return "", s.upstreamError(ctx, t.CreateOp(), err)
	}
	s.log.InfoContext(ctx, "created "+t.Title, "arn", aws.ToString(arn))
	return aws.ToString(arn), nil
}

// describe checks that arn is a job of type t, calls AWS and converts the
// answer. A job in a terminal state may come from the describe cache.
// Every caller gets a message of its own: transports may copy a response
// struct as a whole (the REST channel does), which must not race with
// another caller's use of a shared one (proto's lazy message state and
// cached size are written atomically, a struct copy reads them plainly).
// Identical Describes in flight share one AWS call, so a hundred clients
// polling one job cost one call at a time. The call runs on the first
// caller's goroutine (singleflight.Do): DoChan's goroutine per call, whose
// stack grows through the SDK's middleware from scratch each time, cost
// 5-12 % of the gateway's CPU per Describe (BENCHMARKS.md). The price: a
// caller that joined a call in flight waits for it to end even if its own
// context ends first; the first caller's deadline and --upstream-timeout
// bound that wait.
func describe[Out any, Resp statusResponse](ctx context.Context, s *ForecastJobServer, t *jobtype.Type, arn string, call func(context.Context, *string) (Out, error), convert func(Out) Resp) (Resp, error) {
	var zero Resp
	if err := s.checkJobArn(t, arn); err != nil {
		return zero, err
	}
	if v, ok := s.describes.get(arn); ok {
		s.countDescribe("cache_hit")
		return proto.Clone(v.(proto.Message)).(Resp), nil
	}
	// ran: this caller's function is the one singleflight ran (every
	// caller of a shared call gets Shared, the first one included).
	ran := false
	v, err, _ := s.flight.Do(arn, func() (any, error) {
		ran = true
		// Not the first caller's cancellation (the others wait for the
		// call), but its deadline, which bounds what the call may wait for.
		callCtx := context.WithoutCancel(ctx)
		if d, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			callCtx, cancel = context.WithDeadline(callCtx, d)
			defer cancel()
		}
		out, err := call(callCtx, aws.String(arn))
		if err != nil {
			return nil, s.upstreamError(ctx, t.DescribeOp(), err)
		}
		resp := convert(out)
		// Set the message's lazy state before others may read it.
		resp.ProtoReflect()
		if jobtype.Terminal(resp.GetAwsStatus()) {
			s.describes.put(arn, proto.Clone(resp))
		}
		return resp, nil
	})
	if ran {
		s.countDescribe("upstream")
	} else {
		s.countDescribe("coalesced")
	}
	switch {
	case err != nil:
		return zero, err
	case !ran:
		// The message is the first caller's: this one gets a copy.
		return proto.Clone(v.(proto.Message)).(Resp), nil
	}
	return v.(Resp), nil
}

// statusResponse is what describe needs of a Describe response.
type statusResponse interface {
	proto.Message
	GetAwsStatus() string
}

// remove deletes a job of type t. AWS refuses jobs that are not ACTIVE or
// CREATE_FAILED with ResourceInUseException: FAILED_PRECONDITION with
// reason RESOURCE_IN_USE (HTTP 409).
func remove(ctx context.Context, s *ForecastJobServer, t *jobtype.Type, arn string, call func(context.Context, *string) error) error {
	if err := s.checkJobArn(t, arn); err != nil {
		return err
	}
	if err := s.checkOwner(ctx, arn); err != nil {
		return err
	}
	s.describes.invalidate(arn)
	if err := call(ctx, aws.String(arn)); err != nil {
		return s.upstreamError(ctx, t.DeleteOp(), err)
	}
	s.log.InfoContext(ctx, "deleting "+t.Title, "arn", arn)
	return nil
}

// stop stops a job of type t with AWS StopResource, which takes the ARN of
// many resource types: checking the type first means a Stop RPC can only
// ever stop a job of its own type.
func (s *ForecastJobServer) stop(ctx context.Context, t *jobtype.Type, arn string) error {
	if err := s.checkJobArn(t, arn); err != nil {
		return err
	}
	if err := s.checkOwner(ctx, arn); err != nil {
		return err
	}
	s.describes.invalidate(arn)
	if _, err := s.api.StopResource(ctx, &forecast.StopResourceInput{ResourceArn: aws.String(arn)}); err != nil {
		return s.upstreamError(ctx, jobtype.OpStopResource, err)
	}
	s.log.InfoContext(ctx, "stopping "+t.Title, "arn", arn)
	return nil
}

// list validates a List request, then fills one client page from AWS (see
// collectPage) and converts it.
func list[Req listRequest, Item, Out any](ctx context.Context, s *ForecastJobServer, t *jobtype.Type, r Req, fetch fetchFunc[Item], convert func(Item) Out) ([]Out, string, error) {
	method := t.ListOp()
	q, err := s.parseListRequest(ctx, method, s.filters[t], r)
	if err != nil {
		return nil, "", err
	}
	items, next, err := collectPage(ctx, s, method, q, fetch)
	if err != nil {
		return nil, "", err
	}
	return convertAll(items, convert), next, nil
}

// listInput is what a type's fetch function passes to its AWS List call.
type listInput struct {
	Filters    []types.Filter
	MaxResults *int32
	NextToken  *string
}

// fetcher adapts a type's AWS List call to a fetchFunc.
func fetcher[Item any](call func(context.Context, listInput) ([]Item, *string, error)) fetchFunc[Item] {
	return func(ctx context.Context, fs []types.Filter, n int32, tok *string) ([]Item, *string, error) {
		return call(ctx, listInput{Filters: fs, MaxResults: aws.Int32(n), NextToken: tok})
	}
}

// checkJobArn validates the ARN of a job of type t in its request field.
func (s *ForecastJobServer) checkJobArn(t *jobtype.Type, arn string) error {
	v := s.newViolations()
	v.arnOf(t.ArnField, arn, t.ArnType, t.LongArn)
	return v.err()
}

// done returns resp, or the zero value and err when err is set: each RPC
// ends with it.
func done[T any](resp T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return resp, nil
}
