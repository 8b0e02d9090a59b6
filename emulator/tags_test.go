package emulator_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func listTags(t *testing.T, c *forecast.Client, arn string) (map[string]string, error) {
	t.Helper()
	out, err := c.ListTagsForResource(ctx(t), &forecast.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m, nil
}

func tagResource(t *testing.T, c *forecast.Client, arn string, tags map[string]string) error {
	t.Helper()
	_, err := c.TagResource(ctx(t), &forecast.TagResourceInput{ResourceArn: aws.String(arn), Tags: tagsIn(tags)})
	return err
}

func untag(t *testing.T, c *forecast.Client, arn string, keys ...string) error {
	t.Helper()
	_, err := c.UntagResource(ctx(t), &forecast.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: keys})
	return err
}

func manyTags(n int, prefix string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("%s%02d", prefix, i)] = "v"
	}
	return m
}

// TestTags: Create's tags, TagResource (adding and replacing), UntagResource,
// ListTagsForResource on every job type; the 50-tag limit after merging;
// reserved aws: keys; unknown ARNs; tags vanish with their job.
func TestTags(t *testing.T) {
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, clk := start(t, lifecycleOpts(emulator.Options{}))
			c := client(srv)
			a := apis[typ]
			arn, err := a.create(ctx(t), c, defaultArgs(srv, typ, "tagged"))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"team": "demand"}
			check := func() {
				t.Helper()
				got, err := listTags(t, c, arn)
				if err != nil || !maps.Equal(got, want) {
					t.Fatalf("tags %v (%v), want %v", got, err, want)
				}
				if j, _ := srv.Job(arn); !maps.Equal(j.Tags, want) && len(want) > 0 {
					t.Fatalf("Job().Tags %v, want %v", j.Tags, want)
				}
			}
			check()
			if err := tagResource(t, c, arn, map[string]string{"team": "supply", "env": "test", "aws_like": "aws:value ok"}); err != nil {
				t.Fatal(err)
			}
			want = map[string]string{"team": "supply", "env": "test", "aws_like": "aws:value ok"}
			check()
			if err := untag(t, c, arn, "env", "never_there"); err != nil {
				t.Fatal(err)
			}
			delete(want, "env")
			check()

			// 50 after merging is fine, 51 is LimitExceededException and
			// changes nothing.
			if err := tagResource(t, c, arn, manyTags(48, "k")); err != nil {
				t.Fatal(err)
			}
			maps.Copy(want, manyTags(48, "k"))
			check()
			if err := tagResource(t, c, arn, map[string]string{"k00": "replaced"}); err != nil {
				t.Fatalf("replacing at the limit: %v", err)
			}
			want["k00"] = "replaced"
			wantErr[*types.LimitExceededException](t, tagResource(t, c, arn, map[string]string{"one_more": "v"}), "at most 50")
			check()

			wantErr[*types.InvalidInputException](t, tagResource(t, c, arn, map[string]string{"aws:reserved": "v"}), "tags.1.member.key")
			wantErr[*types.InvalidInputException](t, tagResource(t, c, arn, map[string]string{"AWS:Reserved": "v"}), "reserved prefix")
			wantErr[*types.InvalidInputException](t, untag(t, c, arn, "team", "aws:cloudformation:stack-name"), "tagKeys.2.member")
			check()

			unknown := arn + "_nope"
			wantErr[*types.ResourceNotFoundException](t, tagResource(t, c, unknown, want), unknown)
			wantErr[*types.ResourceNotFoundException](t, untag(t, c, unknown, "team"), unknown)
			_, err = listTags(t, c, unknown)
			wantErr[*types.ResourceNotFoundException](t, err, unknown)

			// Deleting the job deletes its tags; a new job of that name
			// starts untagged.
			clk.Advance(6 * time.Minute)
			if err := a.del(ctx(t), c, arn); err != nil {
				t.Fatal(err)
			}
			clk.Advance(4 * time.Minute)
			_, err = listTags(t, c, arn)
			wantErr[*types.ResourceNotFoundException](t, err, arn)
			args := defaultArgs(srv, typ, "tagged")
			args.tags = nil
			if _, err := a.create(ctx(t), c, args); err != nil {
				t.Fatal(err)
			}
			want = map[string]string{}
			check()
		})
	}
}

// TestTagParentsAndFixtures: fixtures and their parents are taggable too.
func TestTagParentsAndFixtures(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv)
	arns := []string{srv.DatasetArns()[0], srv.ForecastArns()[0], srv.PredictorArns()[0], srv.ExplainabilityArns()[0], srv.WhatIfForecastArns()[0]}
	for _, typ := range jobtype.All {
		arns = append(arns, srv.Jobs(typ)[0].Arn)
	}
	for _, arn := range arns {
		if got, err := listTags(t, c, arn); err != nil || len(got) != 0 {
			t.Fatalf("%s: %v %v", arn, got, err)
		}
		if err := tagResource(t, c, arn, map[string]string{"owner": arn[len(arn)-5:]}); err != nil {
			t.Fatal(err)
		}
		if got, err := listTags(t, c, arn); err != nil || got["owner"] != arn[len(arn)-5:] {
			t.Fatalf("%s: %v %v", arn, got, err)
		}
	}
}
