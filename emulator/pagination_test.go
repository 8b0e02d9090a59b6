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

// expected computes a filtered list from the Go API view of the fixtures.
func expected(srv *emulator.Server, k emulator.JobKind, parentKey string, fs []flt) []string {
	var out []string
	for _, j := range srv.Jobs(k) {
		ok := true
		for _, f := range fs {
			v := j.Status
			if f.key == parentKey {
				v = j.ParentArn
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

// walk runs the SDK paginator of op and returns the ARNs in order and the
// number of pages.
func walk(t *testing.T, c *forecast.Client, k emulator.JobKind, fs []types.Filter, pageSize int32) (arns []string, pages int) {
	t.Helper()
	var max *int32
	if pageSize > 0 {
		max = aws.Int32(pageSize)
	}
	switch k {
	case emulator.BacktestExportJob:
		p := forecast.NewListPredictorBacktestExportJobsPaginator(c, &forecast.ListPredictorBacktestExportJobsInput{Filters: fs, MaxResults: max})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if pages++; pages > 1000 {
				t.Fatal("paginator does not terminate")
			}
			for _, j := range out.PredictorBacktestExportJobs {
				arns = append(arns, *j.PredictorBacktestExportJobArn)
			}
		}
	case emulator.ForecastExportJob:
		p := forecast.NewListForecastExportJobsPaginator(c, &forecast.ListForecastExportJobsInput{Filters: fs, MaxResults: max})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if pages++; pages > 1000 {
				t.Fatal("paginator does not terminate")
			}
			for _, j := range out.ForecastExportJobs {
				arns = append(arns, *j.ForecastExportJobArn)
			}
		}
	case emulator.DatasetImportJob:
		p := forecast.NewListDatasetImportJobsPaginator(c, &forecast.ListDatasetImportJobsInput{Filters: fs, MaxResults: max})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if pages++; pages > 1000 {
				t.Fatal("paginator does not terminate")
			}
			for _, j := range out.DatasetImportJobs {
				arns = append(arns, *j.DatasetImportJobArn)
			}
		}
	}
	return arns, pages
}

func TestPaginatorsWalkEverything(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	// Forced unknown status, to check string matching in a walk.
	if err := srv.SetJobStatus(srv.Jobs(emulator.ForecastExportJob)[3].Arn, "CREATE_QUEUED"); err != nil {
		t.Fatal(err)
	}
	type kindCase struct {
		k         emulator.JobKind
		parentKey string
		parents   []string
	}
	for _, kc := range []kindCase{
		{emulator.BacktestExportJob, "PredictorArn", srv.PredictorArns()},
		{emulator.ForecastExportJob, "ForecastArn", srv.ForecastArns()},
		{emulator.DatasetImportJob, "DatasetArn", srv.DatasetArns()},
	} {
		p0, p1 := kc.parents[0], kc.parents[1]
		cases := []struct {
			name     string
			filters  []flt
			pageSize int32
		}{
			{"all default pages", nil, 0},
			{"all pages of 7", nil, 7},
			{"all pages of 1", nil, 1},
			{"parent", []flt{{kc.parentKey, p0, false}}, 4},
			{"status", []flt{{"Status", "ACTIVE", false}}, 5},
			{"parent and status", []flt{{kc.parentKey, p1, false}, {"Status", "ACTIVE", false}}, 2},
			{"not status", []flt{{"Status", "ACTIVE", true}}, 0},
			{"not parent", []flt{{kc.parentKey, p0, true}}, 30},
			{"two not status", []flt{{"Status", "ACTIVE", true}, {"Status", "CREATE_FAILED", true}}, 9},
			{"parent is, status not", []flt{{kc.parentKey, p0, false}, {"Status", "ACTIVE", true}}, 3},
			{"parent twice same", []flt{{kc.parentKey, p0, false}, {kc.parentKey, p0, false}}, 0},
			{"parent conflicting", []flt{{kc.parentKey, p0, false}, {kc.parentKey, p1, false}}, 0},
			{"unknown status", []flt{{"Status", "CREATE_QUEUED", false}}, 0},
			{"unknown parent", []flt{{kc.parentKey, p0 + "x", false}}, 0},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%v/%s", kc.k, tc.name), func(t *testing.T) {
				want := expected(srv, kc.k, kc.parentKey, tc.filters)
				got, pages := walk(t, c, kc.k, sdkFilters(tc.filters), tc.pageSize)
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
				wantPages := max(1, (len(want)+size-1)/size)
				if pages != wantPages {
					t.Fatalf("%d pages, want %d", pages, wantPages)
				}
			})
		}
		if n := len(expected(srv, kc.k, "", nil)); n <= 100 {
			t.Fatalf("%v: %d jobs is not more than one page", kc.k, n)
		}
	}
}

func TestOrderIsCreationTimeDescThenArn(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	for k := emulator.BacktestExportJob; k <= emulator.DatasetImportJob; k++ {
		jobs := srv.Jobs(k)
		ties := 0
		for i := 1; i < len(jobs); i++ {
			a, b := jobs[i-1], jobs[i]
			switch {
			case a.CreationTime.Before(b.CreationTime):
				t.Fatalf("%v: %s before %s out of time order", k, a.Arn, b.Arn)
			case a.CreationTime.Equal(b.CreationTime):
				ties++
				if a.Arn >= b.Arn {
					t.Fatalf("%v: tie not ordered by ARN: %s, %s", k, a.Arn, b.Arn)
				}
			}
		}
		if ties == 0 {
			t.Fatalf("%v: fixtures have no CreationTime ties to exercise the tie-break", k)
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
	tests := []struct {
		name string
		call func() error
	}{
		{"garbage", func() error {
			_, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: aws.String("garbage")})
			return err
		}},
		{"tampered", func() error {
			b := []byte(*tok)
			b[3] ^= 1
			_, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: aws.String(string(b))})
			return err
		}},
		{"no filters", func() error {
			_, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{NextToken: tok})
			return err
		}},
		{"other filters", func() error {
			_, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{NextToken: tok, Filters: []types.Filter{
				{Key: aws.String("PredictorArn"), Value: aws.String(pred), Condition: types.FilterConditionStringIs}}})
			return err
		}},
		{"extra filter", func() error {
			_, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{NextToken: tok, Filters: reordered})
			return err
		}},
		{"other operation", func() error {
			_, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{Filters: status, NextToken: tok})
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
	if _, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: tok, MaxResults: aws.Int32(50)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour)
	if _, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: tok}); err != nil {
		t.Fatalf("token exactly 24h old rejected: %v", err)
	}
	clk.Advance(time.Second)
	_, err = c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: status, NextToken: tok})
	var nt *types.InvalidNextTokenException
	if !errors.As(err, &nt) {
		t.Fatalf("expired token: got %v", err)
	}
}

// TestWalkWhileCreating creates jobs between pages: the walk must return
// every pre-existing job exactly once.
func TestWalkWhileCreating(t *testing.T) {
	srv, clk := start(t, emulator.Options{PendingDuration: time.Second, InProgressDuration: time.Second})
	c := client(srv)
	want := map[string]bool{}
	for _, j := range srv.Jobs(emulator.BacktestExportJob) {
		want[j.Arn] = true
	}
	preds := srv.PredictorArns()
	seen := map[string]int{}
	p := forecast.NewListPredictorBacktestExportJobsPaginator(c, &forecast.ListPredictorBacktestExportJobsInput{MaxResults: aws.Int32(10)})
	for i := 0; p.HasMorePages(); i++ {
		if i > 1000 {
			t.Fatal("paginator does not terminate")
		}
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range out.PredictorBacktestExportJobs {
			seen[*j.PredictorBacktestExportJobArn]++
		}
		for n := 0; n < 3; n++ {
			if _, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(preds[n], fmt.Sprintf("during_walk_%d_%d", i, n))); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(time.Second) // lets created jobs settle into the indexes mid-walk
	}
	for arn := range want {
		if seen[arn] != 1 {
			t.Fatalf("%s seen %d times", arn, seen[arn])
		}
	}
	for arn, n := range seen {
		if !want[arn] || n != 1 {
			t.Fatalf("unexpected %s (%d)", arn, n)
		}
	}
}
