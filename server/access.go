package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/auth"
	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/policy"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Access rules that depend on what a request asks for, beyond the scope
// its method needs (the transport's authorization checks that): which IAM
// roles, S3 paths and KMS keys a caller's creates may hand to the gateway's
// AWS identity (the confused deputy), and who may change a job.

// OwnerTagKey is the tag the gateway puts on every job an authenticated
// caller creates: the caller's id. Keys with the prefix ReservedTagPrefix
// are the gateway's: clients can neither set nor remove them.
const (
	ReservedTagPrefix = "forecast-gateway:"
	OwnerTagKey       = ReservedTagPrefix + "owner"
)

// Reasons of the refusals here.
const (
	ReasonPolicyDenied = "POLICY_DENIED"
	ReasonNotOwner     = "NOT_OWNER"
)

// Policy decides which resources a caller's creates may use;
// *policy.File is the production one.
type Policy interface {
	Check(who policy.Principal, uses ...policy.Use) error
}

const ruleReserved = "reserved"

// callerOf is the authenticated caller of ctx, or nil (authentication off).
func callerOf(ctx context.Context) *auth.Caller {
	c, _ := auth.FromContext(ctx)
	return c
}

// callerID is what page tokens and jobs are bound to: "" for everyone when
// authentication is off.
func callerID(ctx context.Context) string {
	if c := callerOf(ctx); c != nil {
		return c.ID
	}
	return ""
}

// checkUses applies the policy file to the resources a create names. With
// no policy file every use is allowed.
func (s *ForecastJobServer) checkUses(ctx context.Context, uses []policy.Use) error {
	if s.policy == nil || len(uses) == 0 {
		return nil
	}
	who := policy.Principal{}
	if c := callerOf(ctx); c != nil {
		who = policy.Principal{ID: c.ID, Groups: c.Groups}
	}
	err := s.policy.Check(who, uses...)
	if err == nil {
		return nil
	}
	var d *policy.Denial
	if !errors.As(err, &d) {
		s.log.ErrorContext(ctx, "policy check failed", "error", err)
		return apierr.Internal()
	}
	return apierr.WithDetails(status.New(codes.PermissionDenied, d.Error()),
		&errdetails.ErrorInfo{Reason: ReasonPolicyDenied, Domain: apierr.Domain,
			Metadata: map[string]string{"field": d.Field, "resource_kind": d.Kind.String()}}).Err()
}

// jobTags is what a create sends AWS as the job's tags: the client's, and
// the owner tag when the caller is authenticated.
func jobTags(ctx context.Context, tags []*gatewayv1.Tag) []types.Tag {
	out := tagsToAWS(tags)
	if c := callerOf(ctx); c != nil {
		out = append(out, types.Tag{Key: aws.String(OwnerTagKey), Value: aws.String(ownerValue(c.ID))})
	}
	return out
}

// ownerValue writes a caller id as a tag value, which AWS limits to 256
// characters of letters, digits, spaces and _ . : / = + - @. Other bytes
// (the '|' of "jwt:iss|sub") become =XX, and '=' itself =3D, so distinct
// ids stay distinct and the value stays readable; an id too long for that
// becomes "sha256:" and its hash.
func ownerValue(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.:/+-@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	if b.Len() > awsrules.TagValueMaxLen {
		sum := sha256.Sum256([]byte(id))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return b.String()
}

// checkOwner lets only a job's owner, or a caller with scope
// forecast.admin, change it (Delete, Stop, Tag, Untag). A job without an
// owner tag (made outside the gateway, or before authentication was on)
// belongs to admins only. The check costs one ListTagsForResource call. It
// applies only with a policy file, like the other rules here.
func (s *ForecastJobServer) checkOwner(ctx context.Context, arn string) error {
	if s.policy == nil {
		return nil
	}
	c := callerOf(ctx)
	if c != nil && c.HasScope(auth.ScopeAdmin) {
		return nil
	}
	out, err := s.api.ListTagsForResource(ctx, &forecast.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return s.upstreamError(ctx, jobtype.OpListTagsForResource, err)
	}
	owner := ""
	for _, t := range out.Tags {
		if aws.ToString(t.Key) == OwnerTagKey {
			owner = aws.ToString(t.Value)
		}
	}
	if c != nil && owner != "" && owner == ownerValue(c.ID) {
		return nil
	}
	msg := fmt.Sprintf("%s belongs to another caller; only its owner or a caller with scope %s may change it", arn, auth.ScopeAdmin)
	if owner == "" {
		msg = fmt.Sprintf("%s has no %s tag (it was not created through the gateway by an authenticated caller); only a caller with scope %s may change it", arn, OwnerTagKey, auth.ScopeAdmin)
	}
	return apierr.WithDetails(status.New(codes.PermissionDenied, msg),
		&errdetails.ErrorInfo{Reason: ReasonNotOwner, Domain: apierr.Domain}).Err()
}

// reservedKey reports whether a tag key is the gateway's.
func reservedKey(key string) bool {
	return len(key) >= len(ReservedTagPrefix) && strings.EqualFold(key[:len(ReservedTagPrefix)], ReservedTagPrefix)
}
