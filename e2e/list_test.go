package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/grpc/codes"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
)

// page is one client page, whatever the operation.
type page struct {
	arns, statuses []string
	next           string
}

// listOp describes one list operation end to end: through the gateway over
// gRPC and REST, and straight at the emulator with the SDK's paginator.
type listOp struct {
	name      string // AWS operation, also the emulator's op name
	restPath  string
	restItems string // JSON array member of the REST response
	parentKey string // filter field naming the parent ARN
	parentAWS string // its AWS filter key
	parents   func(*emulator.Server) []string
	grpc      func(ctx context.Context, c gatewayv1.ForecastJobServiceClient, size int32, token, filter string) (page, error)
	sdkAll    func(ctx context.Context, c *forecast.Client, fs []types.Filter) ([]string, error)
}

var listOps = []listOp{
	{
		name: "ListExplainabilityExports", restPath: "/v1/explainability-exports", restItems: "explainability_exports",
		parentKey: "resource_arn", parentAWS: "ResourceArn", parents: (*emulator.Server).ExplainabilityArns,
		grpc: func(ctx context.Context, c gatewayv1.ForecastJobServiceClient, size int32, token, filter string) (page, error) {
			r, err := c.ListExplainabilityExports(ctx, &gatewayv1.ListExplainabilityExportsRequest{PageSize: size, PageToken: token, Filter: filter})
			var p page
			for _, j := range r.GetExplainabilityExports() {
				p.arns, p.statuses = append(p.arns, j.GetExplainabilityExportArn()), append(p.statuses, j.GetAwsStatus())
			}
			p.next = r.GetNextPageToken()
			return p, err
		},
		sdkAll: func(ctx context.Context, c *forecast.Client, fs []types.Filter) ([]string, error) {
			var arns []string
			pg := forecast.NewListExplainabilityExportsPaginator(c, &forecast.ListExplainabilityExportsInput{Filters: fs})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, j := range out.ExplainabilityExports {
					arns = append(arns, aws.ToString(j.ExplainabilityExportArn))
				}
			}
			return arns, nil
		},
	},
	{
		// The filter key is the export's own ARN: the "parents" are exports
		// that are not ACTIVE, so each filter case matches something.
		name: "ListWhatIfForecastExports", restPath: "/v1/what-if-forecast-exports", restItems: "what_if_forecast_exports",
		parentKey: "what_if_forecast_export_arn", parentAWS: "WhatIfForecastExportArn",
		parents: func(e *emulator.Server) []string {
			var arns []string
			for _, j := range e.Jobs(jobtype.WhatIfForecastExport) {
				if j.Status != "ACTIVE" {
					arns = append(arns, j.Arn)
				}
			}
			return arns
		},
		grpc: func(ctx context.Context, c gatewayv1.ForecastJobServiceClient, size int32, token, filter string) (page, error) {
			r, err := c.ListWhatIfForecastExports(ctx, &gatewayv1.ListWhatIfForecastExportsRequest{PageSize: size, PageToken: token, Filter: filter})
			var p page
			for _, j := range r.GetWhatIfForecastExports() {
				p.arns, p.statuses = append(p.arns, j.GetWhatIfForecastExportArn()), append(p.statuses, j.GetAwsStatus())
			}
			p.next = r.GetNextPageToken()
			return p, err
		},
		sdkAll: func(ctx context.Context, c *forecast.Client, fs []types.Filter) ([]string, error) {
			var arns []string
			pg := forecast.NewListWhatIfForecastExportsPaginator(c, &forecast.ListWhatIfForecastExportsInput{Filters: fs})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, j := range out.WhatIfForecastExports {
					arns = append(arns, aws.ToString(j.WhatIfForecastExportArn))
				}
			}
			return arns, nil
		},
	},
	{
		name: "ListPredictorBacktestExportJobs", restPath: "/v1/predictor-backtest-export-jobs", restItems: "predictor_backtest_export_jobs",
		parentKey: "predictor_arn", parentAWS: "PredictorArn", parents: (*emulator.Server).PredictorArns,
		grpc: func(ctx context.Context, c gatewayv1.ForecastJobServiceClient, size int32, token, filter string) (page, error) {
			r, err := c.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: size, PageToken: token, Filter: filter})
			var p page
			for _, j := range r.GetPredictorBacktestExportJobs() {
				p.arns, p.statuses = append(p.arns, j.GetPredictorBacktestExportJobArn()), append(p.statuses, j.GetAwsStatus())
			}
			p.next = r.GetNextPageToken()
			return p, err
		},
		sdkAll: func(ctx context.Context, c *forecast.Client, fs []types.Filter) ([]string, error) {
			var arns []string
			pg := forecast.NewListPredictorBacktestExportJobsPaginator(c, &forecast.ListPredictorBacktestExportJobsInput{Filters: fs})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, j := range out.PredictorBacktestExportJobs {
					arns = append(arns, aws.ToString(j.PredictorBacktestExportJobArn))
				}
			}
			return arns, nil
		},
	},
	{
		name: "ListForecastExportJobs", restPath: "/v1/forecast-export-jobs", restItems: "forecast_export_jobs",
		parentKey: "forecast_arn", parentAWS: "ForecastArn", parents: (*emulator.Server).ForecastArns,
		grpc: func(ctx context.Context, c gatewayv1.ForecastJobServiceClient, size int32, token, filter string) (page, error) {
			r, err := c.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: size, PageToken: token, Filter: filter})
			var p page
			for _, j := range r.GetForecastExportJobs() {
				p.arns, p.statuses = append(p.arns, j.GetForecastExportJobArn()), append(p.statuses, j.GetAwsStatus())
			}
			p.next = r.GetNextPageToken()
			return p, err
		},
		sdkAll: func(ctx context.Context, c *forecast.Client, fs []types.Filter) ([]string, error) {
			var arns []string
			pg := forecast.NewListForecastExportJobsPaginator(c, &forecast.ListForecastExportJobsInput{Filters: fs})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, j := range out.ForecastExportJobs {
					arns = append(arns, aws.ToString(j.ForecastExportJobArn))
				}
			}
			return arns, nil
		},
	},
	{
		name: "ListDatasetImportJobs", restPath: "/v1/dataset-import-jobs", restItems: "dataset_import_jobs",
		parentKey: "dataset_arn", parentAWS: "DatasetArn", parents: (*emulator.Server).DatasetArns,
		grpc: func(ctx context.Context, c gatewayv1.ForecastJobServiceClient, size int32, token, filter string) (page, error) {
			r, err := c.ListDatasetImportJobs(ctx, &gatewayv1.ListDatasetImportJobsRequest{PageSize: size, PageToken: token, Filter: filter})
			var p page
			for _, j := range r.GetDatasetImportJobs() {
				p.arns, p.statuses = append(p.arns, j.GetDatasetImportJobArn()), append(p.statuses, j.GetAwsStatus())
			}
			p.next = r.GetNextPageToken()
			return p, err
		},
		sdkAll: func(ctx context.Context, c *forecast.Client, fs []types.Filter) ([]string, error) {
			var arns []string
			pg := forecast.NewListDatasetImportJobsPaginator(c, &forecast.ListDatasetImportJobsInput{Filters: fs})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, j := range out.DatasetImportJobs {
					arns = append(arns, aws.ToString(j.DatasetImportJobArn))
				}
			}
			return arns, nil
		},
	},
}

// walk lists everything through the gateway at one page size.
func walk(t *testing.T, env *testenv.Env, op listOp, size int32, filter string) (arns []string, pages int) {
	t.Helper()
	token := ""
	for {
		p, err := op.grpc(ctx(t), env.Client, size, token, filter)
		if err != nil {
			t.Fatalf("%s page %d (size %d, filter %q): %v", op.name, pages+1, size, filter, err)
		}
		pages++
		if want := int(size); size > 0 && len(p.arns) > min(want, 1000) {
			t.Fatalf("page of %d items at page_size %d", len(p.arns), size)
		}
		if p.next != "" && len(p.arns) == 0 {
			t.Fatalf("empty page with a next_page_token")
		}
		arns = append(arns, p.arns...)
		if p.next == "" {
			return arns, pages
		}
		token = p.next
		if pages > 10000 {
			t.Fatal("runaway pagination")
		}
	}
}

type filterCase struct {
	name   string
	filter func(op listOp, parent string) string
	aws    func(op listOp, parent string) []types.Filter
}

var filterCases = []filterCase{
	{"none", func(listOp, string) string { return "" }, func(listOp, string) []types.Filter { return nil }},
	{"status", func(listOp, string) string { return `status = "ACTIVE"` }, func(listOp, string) []types.Filter {
		return []types.Filter{{Key: aws.String("Status"), Value: aws.String("ACTIVE"), Condition: types.FilterConditionStringIs}}
	}},
	{"parent_and_not_status", func(op listOp, parent string) string {
		return fmt.Sprintf(`%s = "%s" AND status != "ACTIVE"`, op.parentKey, parent)
	}, func(op listOp, parent string) []types.Filter {
		return []types.Filter{
			{Key: aws.String(op.parentAWS), Value: aws.String(parent), Condition: types.FilterConditionStringIs},
			{Key: aws.String("Status"), Value: aws.String("ACTIVE"), Condition: types.FilterConditionStringIsNot},
		}
	}},
	{"not_parent", func(op listOp, parent string) string {
		return fmt.Sprintf(`%s != "%s"`, op.parentKey, parent)
	}, func(op listOp, parent string) []types.Filter {
		return []types.Filter{{Key: aws.String(op.parentAWS), Value: aws.String(parent), Condition: types.FilterConditionStringIsNot}}
	}},
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// backtestListOp is ListPredictorBacktestExportJobs, the list the tests of
// page sizes and tokens use.
func backtestListOp() listOp {
	for _, op := range listOps {
		if op.name == "ListPredictorBacktestExportJobs" {
			return op
		}
	}
	panic("no ListPredictorBacktestExportJobs in listOps")
}

// TestListWalksMatchSDK walks every list at page sizes 1, 7, 100, 250 and
// 1000, with and without filters, and requires exactly the jobs (in the
// same order) that the SDK's own paginator gets from the emulator, with no
// more upstream calls than the page arithmetic allows.
func TestListWalksMatchSDK(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, op := range listOps {
		parent := op.parents(env.Emu)[1]
		for _, fc := range filterCases {
			want, err := op.sdkAll(ctx(t), env.SDK, fc.aws(op, parent))
			if err != nil {
				t.Fatal(err)
			}
			if fc.name == "none" && len(want) <= 100 {
				t.Fatalf("%s: fixtures give %d jobs; need more than one AWS page", op.name, len(want))
			}
			if len(want) == 0 {
				t.Fatalf("%s/%s: the filter matches nothing; the test would prove nothing", op.name, fc.name)
			}
			for _, size := range []int32{1, 7, 100, 250, 1000} {
				t.Run(fmt.Sprintf("%s/%s/size%d", op.name, fc.name, size), func(t *testing.T) {
					env.Emu.ResetCallCounts()
					got, pages := walk(t, env, op, size, fc.filter(op, parent))
					if !slices.Equal(got, want) {
						t.Fatalf("gateway listed %d jobs, SDK %d; first difference at %d", len(got), len(want), firstDiff(got, want))
					}
					calls := int(env.Emu.CallCount(op.name))
					perPage := ceilDiv(int(size), 100)
					if ideal := ceilDiv(len(want), min(int(size), 100)); size != 250 && calls != ideal {
						t.Errorf("%d upstream calls for %d jobs at page_size %d, want ceil = %d", calls, len(want), size, ideal)
					}
					if calls > pages*perPage {
						t.Errorf("%d upstream calls over %d pages: more than %d a page", calls, pages, perPage)
					}
				})
			}
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestListFilterSemantics checks what = and != select, over gRPC, for
// every list.
func TestListFilterSemantics(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, op := range listOps {
		t.Run(op.name, func(t *testing.T) {
			all, _ := walk(t, env, op, 1000, "")
			active, _ := walk(t, env, op, 1000, `status = "ACTIVE"`)
			notActive, _ := walk(t, env, op, 1000, `status != "ACTIVE"`)
			if len(active) == 0 || len(notActive) == 0 || len(active)+len(notActive) != len(all) {
				t.Fatalf("ACTIVE %d + not ACTIVE %d != all %d", len(active), len(notActive), len(all))
			}
			p, err := op.grpc(ctx(t), env.Client, 1000, "", `status != "ACTIVE"`)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, s := range p.statuses {
				if s == "ACTIVE" {
					t.Fatal("status != ACTIVE returned an ACTIVE job")
				}
				seen[s] = true
			}
			if len(seen) < 5 {
				t.Errorf("fixtures show only statuses %v; want most of the lifecycle", seen)
			}
			parent := op.parents(env.Emu)[0]
			mine, _ := walk(t, env, op, 1000, fmt.Sprintf("%s = %q", op.parentKey, parent))
			if len(mine) == 0 {
				t.Fatalf("no jobs for %s", parent)
			}
			for _, arn := range mine {
				name := parent[strings.LastIndex(parent, "/")+1:]
				if arn != parent && !strings.Contains(arn, "/"+name+"/") {
					t.Fatalf("job %s is not selected by %s = %s", arn, op.parentKey, parent)
				}
			}
		})
	}
}

// TestRESTWalkMatchesGRPC walks each list over REST and requires the same
// jobs as over gRPC, with the filter and token passed in the query string.
func TestRESTWalkMatchesGRPC(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, op := range listOps {
		t.Run(op.name, func(t *testing.T) {
			filter := `status != "CREATE_FAILED"`
			want, _ := walk(t, env, op, 1000, filter)
			var got []string
			token := ""
			for {
				var body map[string]any
				code, _, re := doREST(t, env.HTTP, http.MethodGet, env.BaseURL+op.restPath+query("page_size", "30", "filter", filter, "page_token", token), "", &body)
				if code != http.StatusOK {
					t.Fatalf("HTTP %d: %+v", code, re)
				}
				items, _ := body[op.restItems].([]any)
				for _, it := range items {
					got = append(got, it.(map[string]any)[strings.TrimSuffix(op.restItems, "s")+"_arn"].(string))
				}
				token, _ = body["next_page_token"].(string)
				if token == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("REST listed %d, gRPC %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

// TestPageSizeRules covers AIP-158's page_size: 0 is the default (100), above
// 1000 is lowered to 1000, negative is INVALID_ARGUMENT with no upstream call.
func TestPageSizeRules(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Emulator: emulator.Options{Predictors: 12, BacktestJobsPerPredictor: 100}})
	op := backtestListOp()
	for _, tc := range []struct {
		size int32
		want int
	}{{0, 100}, {1, 1}, {1000, 1000}, {5000, 1000}, {2147483647, 1000}} {
		p, err := op.grpc(ctx(t), env.Client, tc.size, "", "")
		if err != nil {
			t.Fatalf("page_size %d: %v", tc.size, err)
		}
		if len(p.arns) != tc.want || p.next == "" {
			t.Errorf("page_size %d: %d items (next %t), want %d and a next token", tc.size, len(p.arns), p.next != "", tc.want)
		}
	}
	env.Emu.ResetCallCounts()
	_, err := op.grpc(ctx(t), env.Client, -1, "", "")
	wantGRPCError(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "page_size")
	if n := env.Emu.CallCount(op.name); n != 0 {
		t.Errorf("%d upstream calls for an invalid page_size", n)
	}
}

// TestPageTokens covers the gateway's own tokens: AWS NextTokens never reach
// clients; tampered, truncated, foreign, cross-filter, cross-method and
// expired tokens are INVALID_ARGUMENT naming page_token, before any call.
func TestPageTokens(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env := testenv.Start(t, testenv.Options{TokenNow: clock})
	op := backtestListOp()

	p, err := op.grpc(ctx(t), env.Client, 5, "", `status = "ACTIVE"`)
	if err != nil {
		t.Fatal(err)
	}
	token := p.next
	up, err := env.SDK.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{
		MaxResults: aws.Int32(5),
		Filters:    []types.Filter{{Key: aws.String("Status"), Value: aws.String("ACTIVE"), Condition: types.FilterConditionStringIs}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.NextToken == nil || strings.Contains(token, *up.NextToken) {
		t.Fatalf("the page token must not carry the AWS NextToken in the clear")
	}
	// A token from another deployment: same method and filter, other key.
	otherKeys, err := pagetoken.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := pagetoken.NewCodec(otherKeys, pagetoken.Options{}).Seal(op.name, `status = "ACTIVE"`, "", *up.NextToken)
	if err != nil {
		t.Fatal(err)
	}
	// Change one ciphertext character to another valid base64 character.
	flipped := []byte(token)
	if flipped[len(flipped)/2] == 'A' {
		flipped[len(flipped)/2] = 'B'
	} else {
		flipped[len(flipped)/2] = 'A'
	}

	env.Emu.ResetCallCounts()
	for _, tc := range []struct {
		name, token, filter, rule string
		call                      func(token, filter string) error
	}{
		{"tampered", string(flipped), `status = "ACTIVE"`, "tampered", nil},
		{"truncated", token[:len(token)-7], `status = "ACTIVE"`, "", nil},
		{"garbage", "not a token!", `status = "ACTIVE"`, "malformed", nil},
		{"foreign", foreign, `status = "ACTIVE"`, "foreign", nil},
		{"other filter", token, `status = "CREATE_FAILED"`, "filter_mismatch", nil},
		{"filter dropped", token, "", "filter_mismatch", nil},
		{"other method", token, `status = "ACTIVE"`, "method_mismatch", func(tok, f string) error {
			_, err := env.Client.ListForecastExportJobs(ctx(t), &gatewayv1.ListForecastExportJobsRequest{PageSize: 5, PageToken: tok, Filter: f})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.call != nil {
				err = tc.call(tc.token, tc.filter)
			} else {
				_, err = op.grpc(ctx(t), env.Client, 5, tc.token, tc.filter)
			}
			st := wantGRPCError(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN", "page_token")
			if tc.rule != "" && !strings.Contains(st.Message(), "(rule: "+tc.rule+")") {
				t.Errorf("message %q does not name rule %q", st.Message(), tc.rule)
			}
		})
	}
	if n := env.Emu.CallCount(op.name) + env.Emu.CallCount("ListForecastExportJobs"); n != 0 {
		t.Errorf("%d upstream calls for bad tokens, want 0", n)
	}

	// The same filter written differently is the same filter.
	if _, err := op.grpc(ctx(t), env.Client, 5, token, `status="ACTIVE"`); err != nil {
		t.Errorf("equivalent filter spelling rejected: %v", err)
	}

	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	_, err = op.grpc(ctx(t), env.Client, 5, token, `status = "ACTIVE"`)
	st := wantGRPCError(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN", "page_token")
	if !strings.Contains(st.Message(), "expired") {
		t.Errorf("expired token message %q does not say expired", st.Message())
	}
}
