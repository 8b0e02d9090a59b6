package emulator_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

type flt struct {
	key, value string
	not        bool
}

func sdkFilters(fs []flt) []types.Filter {
	var out []types.Filter
	for _, f := range fs {
		c := types.FilterConditionStringIs
		if f.not {
			c = types.FilterConditionStringIsNot
		}
		out = append(out, types.Filter{Key: aws.String(f.key), Value: aws.String(f.value), Condition: c})
	}
	return out
}

// expected computes a filtered list from the Go API view: Status compares
// the status, the type's key its parent (ExplainabilityExport: ResourceArn
// = the Explainability) or, for WhatIfForecastExportArn, the job itself.
func expected(srv *emulator.Server, typ *jobtype.Type, fs []flt) []string {
	var out []string
	for _, j := range srv.Jobs(typ) {
		ok := true
		for _, f := range fs {
			v := j.Status
			if f.key == typ.Filter.AWSKey {
				v = refValue(typ, j)
			}
			if (v == f.value) == f.not {
				ok = false
			}
		}
		if ok {
			out = append(out, j.Arn)
		}
	}
	return out
}

func TestPaginatorsWalkEverything(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	for _, typ := range jobtype.All {
		// A forced unknown status, to check string matching in a walk.
		jobs := srv.Jobs(typ)
		if err := srv.SetJobStatus(jobs[3].Arn, "CREATE_QUEUED"); err != nil {
			t.Fatal(err)
		}
		k := typ.Filter.AWSKey
		// Two values of the type's key: parents, or (what-if forecast
		// exports) two export ARNs.
		v0, v1 := refValue(typ, jobs[0]), refValue(typ, jobs[1])
		if v0 == v1 {
			v1 = refValue(typ, jobs[len(jobs)-1])
		}
		cases := []struct {
			name     string
			filters  []flt
			pageSize int32
		}{
			{"all default pages", nil, 0},
			{"all pages of 7", nil, 7},
			{"own key, pages of 1", []flt{{k, v1, false}}, 1},
			{"own key", []flt{{k, v0, false}}, 4},
			{"status", []flt{{"Status", "ACTIVE", false}}, 5},
			{"own key and status", []flt{{k, v1, false}, {"Status", jobs[1].Status, false}}, 2},
			{"not status", []flt{{"Status", "ACTIVE", true}}, 0},
			{"not own key", []flt{{k, v0, true}}, 30},
			{"two not status", []flt{{"Status", "ACTIVE", true}, {"Status", "CREATE_FAILED", true}}, 9},
			{"own key is, status not", []flt{{k, v0, false}, {"Status", "ACTIVE", true}}, 3},
			{"own key twice same", []flt{{k, v0, false}, {k, v0, false}}, 0},
			{"own key conflicting", []flt{{k, v0, false}, {k, v1, false}}, 0},
			{"unknown status", []flt{{"Status", "CREATE_QUEUED", false}}, 0},
			{"unknown own key", []flt{{k, v0 + "x", false}}, 0},
		}
		for _, tc := range cases {
			t.Run(typ.Noun+"/"+tc.name, func(t *testing.T) {
				want := expected(srv, typ, tc.filters)
				var max *int32
				if tc.pageSize > 0 {
					max = aws.Int32(tc.pageSize)
				}
				got, pages, err := apis[typ].paginate(ctx(t), c, listArgs{filters: sdkFilters(tc.filters), maxResults: max})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("got %d jobs, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("job %d = %s, want %s", i, got[i], want[i])
					}
				}
				size := int(tc.pageSize)
				if size == 0 {
					size = 100
				}
				// No trailing empty page: NextToken appears only if more remain.
				if wantPages := max1((len(want) + size - 1) / size); pages != wantPages {
					t.Fatalf("%d pages, want %d", pages, wantPages)
				}
			})
		}
		if n := len(expected(srv, typ, nil)); n <= 100 {
			t.Fatalf("%s: %d jobs is not more than one page", typ.Noun, n)
		}
		if n := len(expected(srv, typ, []flt{{k, v0, false}})); n == 0 || (typ.Filter.Self && n != 1) {
			t.Fatalf("%s: the %s filter matches %d jobs", typ.Noun, k, n)
		}
	}
}

func max1(n int) int { return max(n, 1) }

func TestOrderIsCreationTimeDescThenArn(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	for _, typ := range jobtype.All {
		jobs := srv.Jobs(typ)
		ties := 0
		for i := 1; i < len(jobs); i++ {
			a, b := jobs[i-1], jobs[i]
			switch {
			case a.CreationTime.Before(b.CreationTime):
				t.Fatalf("%s: %s before %s out of time order", typ.Noun, a.Arn, b.Arn)
			case a.CreationTime.Equal(b.CreationTime):
				ties++
				if a.Arn >= b.Arn {
					t.Fatalf("%s: tie not ordered by ARN: %s, %s", typ.Noun, a.Arn, b.Arn)
				}
			}
		}
		if ties == 0 {
			t.Fatalf("%s: fixtures have no CreationTime ties to exercise the tie-break", typ.Noun)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	srv, clk := start(t, emulator.Options{})
	c := client(srv)
	pred := srv.PredictorArns()[0]
	status := []types.Filter{{Key: aws.String("Status"), Value: aws.String("ACTIVE"), Condition: types.FilterConditionStringIsNot}}
	first, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: status, MaxResults: aws.Int32(5)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("%v %v", err, first)
	}
	tok := first.NextToken
	reordered := append([]types.Filter{}, status...)
	reordered = append(reordered, types.Filter{Key: aws.String("Status"), Value: aws.String("ZZZ"), Condition: types.FilterConditionStringIsNot})
	list := func(in *forecast.ListPredictorBacktestExportJobsInput) error {
		_, err := c.ListPredictorBacktestExportJobs(ctx(t), in)
		return err
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"garbage", func() error {
			return list(&forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: aws.String("garbage")})
		}},
		{"tampered", func() error {
			b := []byte(*tok)
			b[3] ^= 1
			return list(&forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: aws.String(string(b))})
		}},
		{"no filters", func() error { return list(&forecast.ListPredictorBacktestExportJobsInput{NextToken: tok}) }},
		{"other filters", func() error {
			return list(&forecast.ListPredictorBacktestExportJobsInput{NextToken: tok, Filters: []types.Filter{
				{Key: aws.String("PredictorArn"), Value: aws.String(pred), Condition: types.FilterConditionStringIs}}})
		}},
		{"extra filter", func() error {
			return list(&forecast.ListPredictorBacktestExportJobsInput{NextToken: tok, Filters: reordered})
		}},
		{"other operation", func() error {
			_, err := c.ListWhatIfForecastExports(ctx(t), &forecast.ListWhatIfForecastExportsInput{Filters: status, NextToken: tok})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var nt *types.InvalidNextTokenException
			if err := tc.call(); !errors.As(err, &nt) {
				t.Fatalf("got %v, want InvalidNextTokenException", err)
			}
		})
	}
	// Still valid with the same filters (in any order) and another page size.
	if err := list(&forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: tok, MaxResults: aws.Int32(50)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour)
	if err := list(&forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: tok}); err != nil {
		t.Fatalf("token exactly 24h old rejected: %v", err)
	}
	clk.Advance(time.Second)
	var nt *types.InvalidNextTokenException
	if err := list(&forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: tok}); !errors.As(err, &nt) {
		t.Fatalf("expired token: got %v", err)
	}
}

// TestWalkWhileCreating creates jobs (and lets them and the fixtures move
// on the clock) between pages: the walk returns every job that existed at
// its start exactly once, unless it was deleted meanwhile.
func TestWalkWhileCreating(t *testing.T) {
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, clk := start(t, emulator.Options{JobDuration: 6 * time.Second})
			c := client(srv)
			a := apis[typ]
			want := map[string]bool{}
			for _, j := range srv.Jobs(typ) {
				want[j.Arn] = true
			}
			seen := map[string]int{}
			var next *string
			for i := 0; ; i++ {
				if i > 1000 {
					t.Fatal("walk does not terminate")
				}
				vs, tok, err := a.list(ctx(t), c, listArgs{maxResults: aws.Int32(10), nextToken: next})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					seen[v.arn]++
				}
				for n := 0; n < 2; n++ {
					if _, err := a.create(ctx(t), c, defaultArgs(srv, typ, fmt.Sprintf("during_walk_%d_%d", i, n))); err != nil {
						t.Fatal(err)
					}
				}
				clk.Advance(time.Second) // created jobs and fixtures change status mid-walk
				if next = tok; next == nil {
					break
				}
			}
			still := map[string]bool{}
			for _, j := range srv.Jobs(typ) {
				still[j.Arn] = true
			}
			for arn := range want {
				if seen[arn] != 1 && still[arn] {
					t.Fatalf("%s seen %d times", arn, seen[arn])
				}
			}
			for arn, n := range seen {
				if !want[arn] || n != 1 {
					t.Fatalf("unexpected %s (%d)", arn, n)
				}
			}
		})
	}
}
