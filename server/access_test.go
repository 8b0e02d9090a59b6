package server

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/auth"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/policy"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

const tPolicy = `version: 1
grants:
  - name: team-a
    groups: [team-a]
    role_arns: ["arn:aws:iam::123456789012:role/ForecastRole"]
    s3_prefixes: ["s3://bucket/prefix/"]
    kms_key_arns: ["arn:aws:kms:us-east-1:123456789012:key/1234abcd"]
`

var (
	alice = &auth.Caller{ID: "jwt:https://idp|alice", Kind: auth.KindJWT, Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, Groups: []string{"team-a"}}
	bob   = &auth.Caller{ID: "jwt:https://idp|bob", Kind: auth.KindJWT, Scopes: []string{auth.ScopeRead, auth.ScopeWrite}, Groups: []string{"team-a"}}
	admin = &auth.Caller{ID: "jwt:https://idp|root", Kind: auth.KindJWT, Scopes: []string{auth.ScopeAdmin, auth.ScopeRead, auth.ScopeWrite}}
)

// newPolicyEnv is newEnv with the policy file tPolicy.
func newPolicyEnv(t *testing.T) *tEnv {
	t.Helper()
	p, err := policy.Parse([]byte(tPolicy))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, tRegion)
	s, err := NewForecastJobServer(Options{Forecast: e.api, Tokens: e.codec, Region: tRegion, Logger: tDiscard, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	return e
}

func as(c *auth.Caller) context.Context { return auth.NewContext(context.Background(), c) }

func reasonOf(err error) string { return apierr.Reason(status.Convert(err)) }

// TestPolicyOnCreate: a create names only granted roles, paths and keys;
// anything else is PERMISSION_DENIED naming the field, with no AWS call.
func TestPolicyOnCreate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s3    *gatewayv1.S3Config
		field string // "" for allowed
	}{
		{"granted", tS3(), ""},
		{"other role", &gatewayv1.S3Config{Path: tPath, RoleArn: "arn:aws:iam::123456789012:role/Admin", KmsKeyArn: tKMS}, "destination.s3_config.role_arn"},
		{"other bucket", &gatewayv1.S3Config{Path: "s3://bucket-evil/prefix/", RoleArn: tRole}, "destination.s3_config.path"},
		{"other key", &gatewayv1.S3Config{Path: tPath, RoleArn: tRole, KmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/other"}, "destination.s3_config.kms_key_arn"},
		{"no key", &gatewayv1.S3Config{Path: tPath + "x/", RoleArn: tRole}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPolicyEnv(t)
			_, err := e.s.CreateForecastExportJob(as(alice), &gatewayv1.CreateForecastExportJobRequest{
				ForecastExportJobName: "x", ForecastArn: tArn("forecast", "f"), Destination: &gatewayv1.DataDestination{S3Config: tc.s3}})
			if tc.field == "" {
				if err != nil {
					t.Fatalf("allowed create refused: %v", err)
				}
				return
			}
			st := status.Convert(err)
			if st.Code() != codes.PermissionDenied || reasonOf(err) != ReasonPolicyDenied || !strings.HasPrefix(st.Message(), tc.field+":") {
				t.Fatalf("err = %v, want PERMISSION_DENIED POLICY_DENIED on %s", err, tc.field)
			}
			if ops := e.api.Ops(); len(ops) != 0 {
				t.Errorf("upstream calls after a policy refusal: %v", ops)
			}
		})
	}
	// A caller in no grant may use nothing.
	e := newPolicyEnv(t)
	_, err := e.s.CreateDatasetImportJob(as(admin), &gatewayv1.CreateDatasetImportJobRequest{
		DatasetImportJobName: "x", DatasetArn: tArn("dataset", "d"), DataSource: &gatewayv1.DataSource{S3Config: tS3()}})
	if reasonOf(err) != ReasonPolicyDenied || !strings.Contains(err.Error(), "data_source.s3_config.path") {
		t.Errorf("a caller without grants: %v", err)
	}
}

// TestOwnerTag: an authenticated caller's create carries the owner tag;
// clients can neither set nor remove the gateway's tags.
func TestOwnerTag(t *testing.T) {
	e := newEnv(t, tRegion)
	if _, err := e.s.CreateForecastExportJob(as(alice), &gatewayv1.CreateForecastExportJobRequest{
		ForecastExportJobName: "x", ForecastArn: tArn("forecast", "f"), Destination: &gatewayv1.DataDestination{S3Config: tS3()},
		Tags: []*gatewayv1.Tag{{Key: "env", Value: "prod"}}}); err != nil {
		t.Fatal(err)
	}
	in := e.api.Calls()[0].in.(*forecast.CreateForecastExportJobInput)
	got := map[string]string{}
	for _, tag := range in.Tags {
		got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if got["env"] != "prod" || got[OwnerTagKey] != "jwt:https://idp=7Calice" {
		t.Errorf("tags sent = %v", got)
	}

	// Without authentication, no owner tag.
	e.api.Reset()
	if _, err := e.s.CreateForecastExportJob(context.Background(), &gatewayv1.CreateForecastExportJobRequest{
		ForecastExportJobName: "y", ForecastArn: tArn("forecast", "f"), Destination: &gatewayv1.DataDestination{S3Config: tS3()}}); err != nil {
		t.Fatal(err)
	}
	if in := e.api.Calls()[0].in.(*forecast.CreateForecastExportJobInput); len(in.Tags) != 0 {
		t.Errorf("anonymous create sent tags %v", in.Tags)
	}

	strict := newStrictEnv(t, tRegion)
	job := tArn(jobtype.ForecastExportJob.ArnType, "f/x")
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"create", "tags[1].key", func() error {
			_, err := strict.s.CreateForecastExportJob(as(alice), &gatewayv1.CreateForecastExportJobRequest{
				ForecastExportJobName: "x", ForecastArn: tArn("forecast", "f"), Destination: &gatewayv1.DataDestination{S3Config: tS3()},
				Tags: []*gatewayv1.Tag{{Key: "env", Value: "prod"}, {Key: OwnerTagKey, Value: "jwt:https://idp=7Cmallory"}}})
			return err
		}},
		{"tag", "tags[0].key", func() error {
			_, err := strict.s.TagResource(as(alice), &gatewayv1.TagResourceRequest{ResourceArn: job, Tags: []*gatewayv1.Tag{{Key: "Forecast-Gateway:Owner", Value: "x"}}})
			return err
		}},
		{"untag", "tag_keys[0]", func() error {
			_, err := strict.s.UntagResource(as(alice), &gatewayv1.UntagResourceRequest{ResourceArn: job, TagKeys: []string{OwnerTagKey}})
			return err
		}},
		{"create with 50 tags", "tags", func() error {
			_, err := strict.s.CreateForecastExportJob(as(alice), &gatewayv1.CreateForecastExportJobRequest{
				ForecastExportJobName: "x", ForecastArn: tArn("forecast", "f"), Destination: &gatewayv1.DataDestination{S3Config: tS3()},
				Tags: tNTags(50)})
			return err
		}},
	} {
		err := tc.call()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.field+": ") {
			t.Errorf("%s: %v, want INVALID_ARGUMENT on %s", tc.name, err, tc.field)
		}
	}
}

// TestOwnership: with a policy file, only the owner or an admin changes a
// job; a refusal costs one ListTagsForResource and no change.
func TestOwnership(t *testing.T) {
	job := tArn(jobtype.ForecastExportJob.ArnType, "f/x")
	changes := map[string]func(*tEnv, context.Context) error{
		"delete": func(e *tEnv, ctx context.Context) error {
			_, err := e.s.DeleteForecastExportJob(ctx, &gatewayv1.DeleteForecastExportJobRequest{ForecastExportJobArn: job})
			return err
		},
		"stop": func(e *tEnv, ctx context.Context) error {
			_, err := e.s.StopForecastExportJob(ctx, &gatewayv1.StopForecastExportJobRequest{ForecastExportJobArn: job})
			return err
		},
		"tag": func(e *tEnv, ctx context.Context) error {
			_, err := e.s.TagResource(ctx, &gatewayv1.TagResourceRequest{ResourceArn: job, Tags: []*gatewayv1.Tag{{Key: "a", Value: "b"}}})
			return err
		},
		"untag": func(e *tEnv, ctx context.Context) error {
			_, err := e.s.UntagResource(ctx, &gatewayv1.UntagResourceRequest{ResourceArn: job, TagKeys: []string{"a"}})
			return err
		},
	}
	owned := []types.Tag{{Key: aws.String(OwnerTagKey), Value: aws.String(ownerValue(alice.ID))}}
	for name, change := range changes {
		for _, tc := range []struct {
			who     *auth.Caller
			tags    []types.Tag
			allowed bool
		}{
			{alice, owned, true},
			{bob, owned, false},
			{admin, owned, true},
			{alice, nil, false}, // no owner tag: admins only
			{admin, nil, true},
		} {
			e := newPolicyEnv(t)
			e.api.tags = tc.tags
			err := change(e, as(tc.who))
			ops := e.api.Ops()
			if tc.allowed {
				if err != nil {
					t.Errorf("%s by %s: %v", name, tc.who.ID, err)
				}
				continue
			}
			if status.Code(err) != codes.PermissionDenied || reasonOf(err) != ReasonNotOwner {
				t.Errorf("%s by %s (owner tags %v): %v, want NOT_OWNER", name, tc.who.ID, tc.tags, err)
			}
			if len(ops) != 1 || ops[0] != jobtype.OpListTagsForResource {
				t.Errorf("%s by %s refused after upstream calls %v, want only ListTagsForResource", name, tc.who.ID, ops)
			}
		}
	}
	// Without a policy file ownership is off: bob may delete alice's job,
	// with no ownership read.
	e := newEnv(t, tRegion)
	e.api.tags = owned
	if err := changes["delete"](e, as(bob)); err != nil {
		t.Fatalf("delete without a policy file: %v", err)
	}
	if ops := e.api.Ops(); len(ops) != 1 || ops[0] != jobtype.ForecastExportJob.DeleteOp() {
		t.Errorf("upstream calls %v, want just the delete", ops)
	}
}

func TestOwnerValue(t *testing.T) {
	for in, want := range map[string]string{
		"jwt:https://idp.example.com|alice":         "jwt:https://idp.example.com=7Calice",
		"mtls:spiffe://example.org/ns/a/sa/b":       "mtls:spiffe://example.org/ns/a/sa/b",
		"jwt:https://idp|a=b":                       "jwt:https://idp=7Ca=3Db",
		"jwt:https://idp|José":                      "jwt:https://idp=7CJos=C3=A9",
		"jwt:" + strings.Repeat("x", 300) + "|long": "sha256:",
	} {
		got := ownerValue(in)
		if !strings.HasPrefix(got, want) || len(got) > 256 {
			t.Errorf("ownerValue(%.40q) = %q, want %q", in, got, want)
		}
	}
	// Distinct ids stay distinct, even where escaping could collide.
	if ownerValue("jwt:a|b") == ownerValue("jwt:a=7Cb") {
		t.Error("escaping collides")
	}
}

// TestPageTokenBoundToCaller: a page token issued to one caller is refused
// for another, naming page_token and the rule.
func TestPageTokenBoundToCaller(t *testing.T) {
	e := newEnv(t, tRegion)
	e.api.total, e.api.perCall = 10, 100
	resp, err := e.s.ListForecastExportJobs(as(alice), &gatewayv1.ListForecastExportJobsRequest{PageSize: 2})
	if err != nil || resp.GetNextPageToken() == "" {
		t.Fatalf("first page: %v", err)
	}
	tok := resp.GetNextPageToken()
	if _, err := e.s.ListForecastExportJobs(as(alice), &gatewayv1.ListForecastExportJobsRequest{PageSize: 2, PageToken: tok}); err != nil {
		t.Fatalf("the owner's next page: %v", err)
	}
	for _, other := range []context.Context{as(bob), context.Background()} {
		_, err := e.s.ListForecastExportJobs(other, &gatewayv1.ListForecastExportJobsRequest{PageSize: 2, PageToken: tok})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "page_token") || !strings.Contains(err.Error(), "caller_mismatch") {
			t.Errorf("another caller's token: %v", err)
		}
	}
}
