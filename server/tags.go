package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Tags on a job of any of the five types.

type tagsAPI interface {
	TagResource(ctx context.Context, in *forecast.TagResourceInput, optFns ...func(*forecast.Options)) (*forecast.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *forecast.UntagResourceInput, optFns ...func(*forecast.Options)) (*forecast.UntagResourceOutput, error)
	ListTagsForResource(ctx context.Context, in *forecast.ListTagsForResourceInput, optFns ...func(*forecast.Options)) (*forecast.ListTagsForResourceOutput, error)
}

// TagResource implements AWS TagResource on a job.
func (s *ForecastJobServer) TagResource(ctx context.Context, r *gatewayv1.TagResourceRequest) (*gatewayv1.TagResourceResponse, error) {
	v := s.newViolations()
	s.jobArn(v, r.GetResourceArn())
	if len(r.GetTags()) == 0 {
		v.add("tags", "must have at least one tag (rule: required)")
	}
	v.tags("tags", r.GetTags())
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.checkOwner(ctx, r.GetResourceArn()); err != nil {
		return nil, err
	}
	_, err := s.api.TagResource(ctx, &forecast.TagResourceInput{ResourceArn: aws.String(r.GetResourceArn()), Tags: tagsToAWS(r.GetTags())})
	return done(&gatewayv1.TagResourceResponse{}, s.upstreamError(ctx, jobtype.OpTagResource, err))
}

// UntagResource implements AWS UntagResource on a job.
func (s *ForecastJobServer) UntagResource(ctx context.Context, r *gatewayv1.UntagResourceRequest) (*gatewayv1.UntagResourceResponse, error) {
	v := s.newViolations()
	s.jobArn(v, r.GetResourceArn())
	for _, kv := range awsrules.CheckTagKeys(r.GetTagKeys()) {
		field := "tag_keys"
		if kv.Index >= 0 {
			field = fmt.Sprintf("tag_keys[%d]", kv.Index)
		}
		v.rule(field, kv.Violation)
	}
	for i, k := range r.GetTagKeys() {
		if reservedKey(k) {
			v.add(fmt.Sprintf("tag_keys[%d]", i), fmt.Sprintf("keys starting with %q are reserved for the gateway (rule: %s)", ReservedTagPrefix, ruleReserved))
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.checkOwner(ctx, r.GetResourceArn()); err != nil {
		return nil, err
	}
	_, err := s.api.UntagResource(ctx, &forecast.UntagResourceInput{ResourceArn: aws.String(r.GetResourceArn()), TagKeys: r.GetTagKeys()})
	return done(&gatewayv1.UntagResourceResponse{}, s.upstreamError(ctx, jobtype.OpUntagResource, err))
}

// ListTagsForResource implements AWS ListTagsForResource on a job.
func (s *ForecastJobServer) ListTagsForResource(ctx context.Context, r *gatewayv1.ListTagsForResourceRequest) (*gatewayv1.ListTagsForResourceResponse, error) {
	v := s.newViolations()
	s.jobArn(v, r.GetResourceArn())
	if err := v.err(); err != nil {
		return nil, err
	}
	out, err := s.api.ListTagsForResource(ctx, &forecast.ListTagsForResourceInput{ResourceArn: aws.String(r.GetResourceArn())})
	if err != nil {
		return nil, s.upstreamError(ctx, jobtype.OpListTagsForResource, err)
	}
	return &gatewayv1.ListTagsForResourceResponse{Tags: tagsFromAWS(out.Tags)}, nil
}

// jobArn checks resource_arn: the ARN of a job of one of the five types, in
// the gateway's region. AWS would tag other Forecast resources too; this
// API is about jobs.
func (s *ForecastJobServer) jobArn(v *violations, arn string) { s.anyJobArn(v, "resource_arn", arn) }

// anyJobArn checks that arn (in field) is the ARN of a job of any type.
func (s *ForecastJobServer) anyJobArn(v *violations, field, arn string) {
	t := jobtype.OfArn(arn)
	if t == nil {
		if viol := awsrules.CheckForecastArn(arn); viol != nil {
			v.rule(field, viol)
			return
		}
		v.add(field, fmt.Sprintf("must be the ARN of a job (%s), got the ARN of a %q (rule: %s)",
			strings.Join(jobtype.ArnTypes(), ", "), awsrules.ArnResourceType(arn), ruleResourceType))
		return
	}
	v.arnOf(field, arn, t.ArnType, t.LongArn)
}
