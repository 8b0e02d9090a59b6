package server

// Upstream errors of every operation of every type are mapped to the
// gateway's statuses with the AWS operation name in ErrorInfo metadata,
// and never come with a response.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// opCase is a valid call of an RPC and the AWS operation it makes.
type opCase struct {
	method string
	op     string
	req    func(t *testing.T) proto.Message
}

func withFields(method string, f map[string]any) func(t *testing.T) proto.Message {
	return func(t *testing.T) proto.Message {
		req := newReq(t, method)
		for k, v := range f {
			pset(t, req, k, v)
		}
		return req
	}
}

// opCases is every RPC (27) with a valid request.
func opCases() []opCase {
	var out []opCase
	for _, c := range jobCases {
		arn := map[string]any{c.t.ArnField: c.jobArn()}
		out = append(out,
			opCase{c.create(), c.t.CreateOp(), func(*testing.T) proto.Message { return c.full()[0] }},
			opCase{c.describe(), c.t.DescribeOp(), withFields(c.describe(), arn)},
			opCase{c.list(), c.t.ListOp(), withFields(c.list(), nil)},
			opCase{c.del(), c.t.DeleteOp(), withFields(c.del(), arn)},
		)
		if c.stop() != "" {
			out = append(out, opCase{c.stop(), jobtype.OpStopResource, withFields(c.stop(), arn)})
		}
	}
	job := jobCases[0].jobArn()
	out = append(out,
		opCase{"TagResource", jobtype.OpTagResource, withFields("TagResource", map[string]any{"resource_arn": job, "tags": tTags()})},
		opCase{"UntagResource", jobtype.OpUntagResource, withFields("UntagResource", map[string]any{"resource_arn": job, "tag_keys": []string{"env"}})},
		opCase{"ListTagsForResource", jobtype.OpListTagsForResource, withFields("ListTagsForResource", map[string]any{"resource_arn": job})},
	)
	return out
}

func TestOpCasesCoverEveryRPC(t *testing.T) {
	var got []string
	for _, oc := range opCases() {
		got = append(got, oc.method)
	}
	var want []string
	for i := 0; i < tService.Methods().Len(); i++ {
		// The watch RPCs make no upstream call of their own: they read
		// through Describe and List (server/watch_test.go).
		if name := string(tService.Methods().Get(i).Name()); name != "WatchJob" && name != "WaitJob" {
			want = append(want, name)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("opCases %v, service %v", got, want)
	}
}

var upstreamErrors = []struct {
	name    string
	err     error
	code    codes.Code
	reason  string
	awsCode string // ErrorInfo aws_error_code; "" for none
	message string // must appear in the status message
}{
	{"ResourceInUseException", &types.ResourceInUseException{Message: aws.String("job is CREATE_IN_PROGRESS")},
		codes.FailedPrecondition, apierr.ReasonResourceInUse, "ResourceInUseException", "job is CREATE_IN_PROGRESS"},
	{"ResourceNotFoundException", &types.ResourceNotFoundException{Message: aws.String("no such job")},
		codes.NotFound, apierr.ReasonResourceNotFound, "ResourceNotFoundException", "no such job"},
	{"LimitExceededException", &types.LimitExceededException{Message: aws.String("too many tags")},
		codes.ResourceExhausted, apierr.ReasonLimitExceeded, "LimitExceededException", "too many tags"},
	{"InvalidInputException", &types.InvalidInputException{Message: aws.String("role in another account")},
		codes.InvalidArgument, apierr.ReasonAWSInvalidInput, "InvalidInputException", "role in another account"},
	{"ResourceAlreadyExistsException", &types.ResourceAlreadyExistsException{Message: aws.String("name taken")},
		codes.AlreadyExists, apierr.ReasonResourceAlreadyExists, "ResourceAlreadyExistsException", "name taken"},
	{"InvalidNextTokenException", &types.InvalidNextTokenException{Message: aws.String("expired")},
		codes.InvalidArgument, apierr.ReasonAWSInvalidNextToken, "InvalidNextTokenException", ""},
	{"ThrottlingException", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"},
		codes.Unavailable, apierr.ReasonThrottled, "ThrottlingException", ""},
	{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, apierr.ReasonDeadlineExceeded, "", ""},
	{"unknown", fmt.Errorf("something odd"), codes.Internal, apierr.ReasonInternal, "", ""},
}

// TestUpstreamErrors: every AWS error of every operation becomes the
// gateway's status for it, naming the AWS operation; the gateway makes
// exactly one call and returns no response.
func TestUpstreamErrors(t *testing.T) {
	for _, oc := range opCases() {
		t.Run(oc.method, func(t *testing.T) {
			for _, ue := range upstreamErrors {
				e := newEnv(t, tRegion)
				e.api.respond = func(op string, _, _ any) error {
					return opErr(op, ue.err)
				}
				_, err := rpc(t, e.s, oc.method, oc.req(t))
				if ops := e.api.Ops(); !slices.Equal(ops, []string{oc.op}) {
					t.Errorf("%s: upstream calls %v, want one %s", ue.name, ops, oc.op)
				}
				d := decode(t, err)
				if d.st.Code() != ue.code || d.info.GetReason() != ue.reason {
					t.Errorf("%s: %v / %s, want %v / %s", ue.name, d.st.Code(), d.info.GetReason(), ue.code, ue.reason)
				}
				md := d.info.GetMetadata()
				if md["operation"] != oc.op {
					t.Errorf("%s: metadata operation = %q, want %q", ue.name, md["operation"], oc.op)
				}
				if md["aws_error_code"] != ue.awsCode {
					t.Errorf("%s: metadata aws_error_code = %q, want %q", ue.name, md["aws_error_code"], ue.awsCode)
				}
				if !strings.Contains(d.st.Message(), ue.message) {
					t.Errorf("%s: message %q does not contain %q", ue.name, d.st.Message(), ue.message)
				}
				if d.bad != nil {
					t.Errorf("%s: an upstream error with a BadRequest %v", ue.name, d.bad)
				}
			}
		})
	}
}

// TestListErrorMidPage: an AWS error on the second call of a page fails
// the whole page (no partial page, no token).
func TestListErrorMidPage(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			e.api.total = 1000
			n := 0
			e.api.respond = func(op string, in, out any) error {
				n++
				if n == 2 {
					return opErr(op, &types.ResourceNotFoundException{Message: aws.String("gone")})
				}
				return e.api.answer(op, in, out)
			}
			resp, err := rpcWith(t, e.s, c.list(), map[string]any{"page_size": 250})
			if resp != nil {
				t.Errorf("response %v with an error", resp)
			}
			d := decode(t, err)
			if d.st.Code() != codes.NotFound || d.info.GetMetadata()["operation"] != c.t.ListOp() {
				t.Errorf("%v / %v, want NotFound from %s", d.st.Code(), d.info.GetMetadata(), c.t.ListOp())
			}
			if len(e.api.Calls()) != 2 {
				t.Errorf("%d upstream calls, want 2 (none after the failure)", len(e.api.Calls()))
			}
		})
	}
}
