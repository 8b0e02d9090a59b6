package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/grpc/codes"

	"github.com/forecastgw/forecast-gateway/internal/pagetoken"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// ptNoUpstream is a ForecastAPI that fails the test if it is ever called:
// the functions under test here must not reach AWS by themselves.
type ptNoUpstream struct{ t *testing.T }

func (f ptNoUpstream) fail(op string) { f.t.Errorf("unexpected upstream call %s", op) }

func (f ptNoUpstream) ListPredictorBacktestExportJobs(context.Context, *forecast.ListPredictorBacktestExportJobsInput, ...func(*forecast.Options)) (*forecast.ListPredictorBacktestExportJobsOutput, error) {
	f.fail("ListPredictorBacktestExportJobs")
	return nil, errors.New("unexpected call")
}

func (f ptNoUpstream) CreatePredictorBacktestExportJob(context.Context, *forecast.CreatePredictorBacktestExportJobInput, ...func(*forecast.Options)) (*forecast.CreatePredictorBacktestExportJobOutput, error) {
	f.fail("CreatePredictorBacktestExportJob")
	return nil, errors.New("unexpected call")
}

func (f ptNoUpstream) DescribePredictorBacktestExportJob(context.Context, *forecast.DescribePredictorBacktestExportJobInput, ...func(*forecast.Options)) (*forecast.DescribePredictorBacktestExportJobOutput, error) {
	f.fail("DescribePredictorBacktestExportJob")
	return nil, errors.New("unexpected call")
}

func (f ptNoUpstream) ListForecastExportJobs(context.Context, *forecast.ListForecastExportJobsInput, ...func(*forecast.Options)) (*forecast.ListForecastExportJobsOutput, error) {
	f.fail("ListForecastExportJobs")
	return nil, errors.New("unexpected call")
}

func (f ptNoUpstream) ListDatasetImportJobs(context.Context, *forecast.ListDatasetImportJobsInput, ...func(*forecast.Options)) (*forecast.ListDatasetImportJobsOutput, error) {
	f.fail("ListDatasetImportJobs")
	return nil, errors.New("unexpected call")
}

var ptStart = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// ptClock is a settable clock for the codec.
type ptClock struct{ now time.Time }

func (c *ptClock) Now() time.Time { return c.now }

func ptKeyring(t *testing.T, b byte) *pagetoken.Keyring {
	t.Helper()
	kr, err := pagetoken.NewKeyring([]byte(strings.Repeat(string(rune(b)), 32)))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// ptServer returns a server whose upstream must not be called, and the
// codec and clock its page tokens use.
func ptServer(t *testing.T) (*ForecastJobServer, *pagetoken.Codec, *ptClock) {
	t.Helper()
	clk := &ptClock{now: ptStart}
	codec := pagetoken.NewCodec(ptKeyring(t, 'k'), pagetoken.Options{TTL: time.Hour, Now: clk.Now})
	s, err := NewForecastJobServer(Options{
		Forecast: ptNoUpstream{t},
		Tokens:   codec,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, codec, clk
}

// ptCall is one recorded fetch.
type ptCall struct {
	maxResults int32
	token      string // "" for nil
	filters    []types.Filter
}

// ptUpstream simulates an AWS listing of total items (item i is i) that
// returns at most perCall items a call whatever MaxResults says, with
// NextTokens "tok-<offset>".
type ptUpstream struct {
	total, perCall int
	calls          []ptCall
	failOnCall     int // 1-based call that fails; 0 never
	failWith       error
	emptyEndToken  bool // end the listing with "" instead of nil
	tokenPad       int  // pad tokens to make them long
}

func (u *ptUpstream) token(off int) string {
	return fmt.Sprintf("tok-%d", off) + strings.Repeat("p", u.tokenPad)
}

func (u *ptUpstream) fetch(_ context.Context, fs []types.Filter, maxResults int32, tok *string) ([]int, *string, error) {
	c := ptCall{maxResults: maxResults, filters: fs}
	off := 0
	if tok != nil {
		c.token = *tok
		if _, err := fmt.Sscanf(*tok, "tok-%d", &off); err != nil {
			return nil, nil, fmt.Errorf("fake upstream: bad token %q", *tok)
		}
	}
	u.calls = append(u.calls, c)
	if len(u.calls) == u.failOnCall {
		return nil, nil, u.failWith
	}
	n := min(int(maxResults), u.total-off)
	if u.perCall > 0 {
		n = min(n, u.perCall)
	}
	items := make([]int, n)
	for i := range items {
		items[i] = off + i
	}
	if off+n >= u.total {
		if u.emptyEndToken {
			return items, aws.String(""), nil
		}
		return items, nil, nil
	}
	return items, aws.String(u.token(off + n)), nil
}

func TestCollectPage(t *testing.T) {
	const method = methodListBacktest
	filters := []types.Filter{{Key: aws.String("Status"), Value: aws.String("ACTIVE"), Condition: types.FilterConditionStringIs}}
	tests := []struct {
		name      string
		pageSize  int
		start     string // q.upstream; "" for the first page
		up        ptUpstream
		wantMax   []int32
		wantItems int
		wantFirst int    // first item
		wantNext  string // upstream token the next_page_token must carry; "" for none
	}{
		{name: "page 7", pageSize: 7, up: ptUpstream{total: 1000},
			wantMax: []int32{7}, wantItems: 7, wantNext: "tok-7"},
		{name: "page 1", pageSize: 1, up: ptUpstream{total: 1000},
			wantMax: []int32{1}, wantItems: 1, wantNext: "tok-1"},
		{name: "page 100 one call", pageSize: 100, up: ptUpstream{total: 1000},
			wantMax: []int32{100}, wantItems: 100, wantNext: "tok-100"},
		{name: "page 101", pageSize: 101, up: ptUpstream{total: 1000},
			wantMax: []int32{100, 1}, wantItems: 101, wantNext: "tok-101"},
		{name: "page 250", pageSize: 250, up: ptUpstream{total: 1000},
			wantMax: []int32{100, 100, 50}, wantItems: 250, wantNext: "tok-250"},
		{name: "page 1000", pageSize: 1000, up: ptUpstream{total: 5000},
			wantMax: []int32{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, wantItems: 1000, wantNext: "tok-1000"},
		{name: "resume from token", pageSize: 250, start: "tok-500", up: ptUpstream{total: 1000},
			wantMax: []int32{100, 100, 50}, wantItems: 250, wantFirst: 500, wantNext: "tok-750"},
		{name: "listing ends inside first call", pageSize: 100, up: ptUpstream{total: 40},
			wantMax: []int32{100}, wantItems: 40},
		{name: "listing ends exactly at page end", pageSize: 250, up: ptUpstream{total: 250},
			wantMax: []int32{100, 100, 50}, wantItems: 250},
		{name: "listing ends in second call", pageSize: 250, up: ptUpstream{total: 150},
			wantMax: []int32{100, 100}, wantItems: 150},
		{name: "empty listing", pageSize: 100, up: ptUpstream{total: 0},
			wantMax: []int32{100}, wantItems: 0},
		{name: "empty string token ends listing", pageSize: 250, up: ptUpstream{total: 150, emptyEndToken: true},
			wantMax: []int32{100, 100}, wantItems: 150},
		{name: "short pages keep the call budget", pageSize: 250, up: ptUpstream{total: 1000, perCall: 10},
			wantMax: []int32{100, 100, 100}, wantItems: 30, wantNext: "tok-30"},
		{name: "short pages page 7", pageSize: 7, up: ptUpstream{total: 1000, perCall: 3},
			wantMax: []int32{7}, wantItems: 3, wantNext: "tok-3"},
		{name: "short pages page 1000", pageSize: 1000, up: ptUpstream{total: 5000, perCall: 1},
			wantMax: []int32{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, wantItems: 10, wantNext: "tok-10"},
		{name: "short pages then ask for the rest", pageSize: 150, up: ptUpstream{total: 1000, perCall: 60},
			wantMax: []int32{100, 90}, wantItems: 120, wantNext: "tok-120"},
		{name: "longest upstream token", pageSize: 5, up: ptUpstream{total: 100, tokenPad: pagetoken.MaxUpstreamLen - len("tok-5")},
			wantMax: []int32{5}, wantItems: 5, wantNext: "tok-5" + strings.Repeat("p", pagetoken.MaxUpstreamLen-len("tok-5"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, codec, _ := ptServer(t)
			up := tt.up
			q := listQuery{pageSize: tt.pageSize, filters: filters, canon: `status = "ACTIVE"`}
			if tt.start != "" {
				q.upstream = aws.String(tt.start)
			}
			items, next, err := collectPage(context.Background(), s, method, q, up.fetch)
			if err != nil {
				t.Fatalf("collectPage: %v", err)
			}

			gotMax := make([]int32, len(up.calls))
			for i, c := range up.calls {
				gotMax[i] = c.maxResults
			}
			if !reflect.DeepEqual(gotMax, tt.wantMax) {
				t.Errorf("MaxResults per call = %v, want %v", gotMax, tt.wantMax)
			}
			if budget := (tt.pageSize + 99) / 100; len(up.calls) > budget {
				t.Errorf("%d upstream calls for page_size %d, budget %d", len(up.calls), tt.pageSize, budget)
			}
			// Each call resumes exactly where the previous one stopped, and
			// carries the filters.
			prev := tt.start
			for i, c := range up.calls {
				if c.token != prev {
					t.Errorf("call %d token = %q, want %q", i, c.token, prev)
				}
				if !reflect.DeepEqual(c.filters, filters) {
					t.Errorf("call %d filters = %v, want %v", i, c.filters, filters)
				}
				if c.maxResults < 1 || c.maxResults > 100 {
					t.Errorf("call %d MaxResults = %d, outside AWS's 1..100", i, c.maxResults)
				}
				prev = up.token(tt.wantFirst + sumItems(up, i))
			}

			if len(items) != tt.wantItems {
				t.Fatalf("got %d items, want %d", len(items), tt.wantItems)
			}
			if len(items) > tt.pageSize {
				t.Errorf("page has %d items, more than page_size %d", len(items), tt.pageSize)
			}
			for i, it := range items {
				if it != tt.wantFirst+i {
					t.Fatalf("item %d = %d, want %d (an upstream page was skipped or fetched twice)", i, it, tt.wantFirst+i)
				}
			}

			if tt.wantNext == "" {
				if next != "" {
					t.Errorf("next_page_token = %q, want empty at the end of the listing", next)
				}
				return
			}
			if next == "" {
				t.Fatal("next_page_token is empty, want one")
			}
			if strings.Contains(next, "tok-") {
				t.Errorf("next_page_token %q exposes the upstream token", next)
			}
			got, err := codec.Open(next, method, q.canon)
			if err != nil {
				t.Fatalf("opening next_page_token: %v", err)
			}
			if got != tt.wantNext {
				t.Errorf("next_page_token carries %q, want %q", got, tt.wantNext)
			}
			if _, err := codec.Open(next, methodListForecastExport, q.canon); !errors.Is(err, pagetoken.ErrWrongMethod) {
				t.Errorf("next_page_token opened for another method: %v, want ErrWrongMethod", err)
			}
			if _, err := codec.Open(next, method, ""); !errors.Is(err, pagetoken.ErrWrongFilter) {
				t.Errorf("next_page_token opened for another filter: %v, want ErrWrongFilter", err)
			}
		})
	}
}

// sumItems is how many items the upstream returned in calls 0..i.
func sumItems(u ptUpstream, i int) int {
	n := 0
	for j := 0; j <= i; j++ {
		want := int(u.calls[j].maxResults)
		if u.perCall > 0 {
			want = min(want, u.perCall)
		}
		n += want
	}
	return n
}

func TestCollectPageErrors(t *testing.T) {
	tests := []struct {
		name     string
		up       ptUpstream
		pageSize int
		code     codes.Code
		reason   string
		calls    int
	}{
		{name: "first call fails", pageSize: 250,
			up:   ptUpstream{total: 1000, failOnCall: 1, failWith: &types.InvalidNextTokenException{Message: aws.String("expired")}},
			code: codes.InvalidArgument, reason: ReasonAWSInvalidNextToken, calls: 1},
		{name: "second call fails", pageSize: 250,
			up:   ptUpstream{total: 1000, failOnCall: 2, failWith: etOp(&types.ResourceNotFoundException{Message: aws.String("gone")})},
			code: codes.NotFound, reason: ReasonResourceNotFound, calls: 2},
		{name: "deadline", pageSize: 10,
			up:   ptUpstream{total: 1000, failOnCall: 1, failWith: etOp(context.DeadlineExceeded)},
			code: codes.DeadlineExceeded, reason: ReasonDeadlineExceeded, calls: 1},
		{name: "upstream token too long to seal", pageSize: 5,
			up:   ptUpstream{total: 100, tokenPad: pagetoken.MaxUpstreamLen},
			code: codes.Internal, reason: ReasonInternal, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := ptServer(t)
			up := tt.up
			q := listQuery{pageSize: tt.pageSize}
			items, next, err := collectPage(context.Background(), s, methodListDatasetImport, q, up.fetch)
			if items != nil || next != "" {
				t.Errorf("got items %v and next %q with an error, want nil and empty", items, next)
			}
			d := etDecode(t, err)
			if d.st.Code() != tt.code || d.info.GetReason() != tt.reason {
				t.Errorf("error = %v / %q, want %v / %q", d.st.Code(), d.info.GetReason(), tt.code, tt.reason)
			}
			if tt.code != codes.Internal {
				if op := d.info.GetMetadata()["operation"]; op != methodListDatasetImport {
					t.Errorf("metadata operation = %q, want %q", op, methodListDatasetImport)
				}
			}
			if len(up.calls) != tt.calls {
				t.Errorf("%d upstream calls, want %d (no call after a failure)", len(up.calls), tt.calls)
			}
		})
	}
}

// ptViolations returns the BadRequest field names and descriptions of err.
func ptViolations(t *testing.T, err error) (fields []string, descs []string, reason string) {
	t.Helper()
	d := etDecode(t, err)
	if d.st.Code() != codes.InvalidArgument {
		t.Errorf("code = %v, want InvalidArgument", d.st.Code())
	}
	if d.bad == nil {
		t.Fatal("no BadRequest detail")
	}
	for _, v := range d.bad.GetFieldViolations() {
		fields = append(fields, v.GetField())
		descs = append(descs, v.GetDescription())
	}
	return fields, descs, d.info.GetReason()
}

func TestParseListRequestValid(t *testing.T) {
	const arn = "arn:aws:forecast:us-east-1:123456789012:predictor/p1"
	tests := []struct {
		name      string
		req       *gatewayv1.ListPredictorBacktestExportJobsRequest
		wantSize  int
		wantCanon string
		wantFs    []types.Filter
	}{
		{name: "empty", req: &gatewayv1.ListPredictorBacktestExportJobsRequest{}, wantSize: 100},
		{name: "nil request", req: nil, wantSize: 100},
		{name: "page size clamped", req: &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 5000}, wantSize: 1000},
		{name: "status filter", req: &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 7, Filter: "status=ACTIVE"},
			wantSize: 7, wantCanon: `status = "ACTIVE"`,
			wantFs: []types.Filter{{Key: aws.String("Status"), Value: aws.String("ACTIVE"), Condition: types.FilterConditionStringIs}}},
		{name: "two terms", req: &gatewayv1.ListPredictorBacktestExportJobsRequest{Filter: `predictor_arn != "` + arn + `" AND status = "CREATE_FAILED"`},
			wantSize: 100, wantCanon: `predictor_arn != "` + arn + `" AND status = "CREATE_FAILED"`,
			wantFs: []types.Filter{
				{Key: aws.String("PredictorArn"), Value: aws.String(arn), Condition: types.FilterConditionStringIsNot},
				{Key: aws.String("Status"), Value: aws.String("CREATE_FAILED"), Condition: types.FilterConditionStringIs},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := ptServer(t)
			q, err := s.parseListRequest(methodListBacktest, backtestFilterFields, tt.req)
			if err != nil {
				t.Fatalf("parseListRequest: %v", err)
			}
			if q.pageSize != tt.wantSize || q.canon != tt.wantCanon || q.upstream != nil {
				t.Errorf("query = {size %d canon %q upstream %v}, want {size %d canon %q upstream nil}",
					q.pageSize, q.canon, q.upstream, tt.wantSize, tt.wantCanon)
			}
			if !reflect.DeepEqual(q.filters, tt.wantFs) {
				t.Errorf("filters = %s, want %s", ctJSON(q.filters), ctJSON(tt.wantFs))
			}
		})
	}
}

func TestParseListRequestToken(t *testing.T) {
	const canon = `status = "ACTIVE"`
	s, codec, clk := ptServer(t)
	seal := func(method, filter, upstream string) string {
		t.Helper()
		tok, err := codec.Seal(method, filter, upstream)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := seal(methodListBacktest, canon, "upstream-xyz")

	// A valid token, with the same filter written differently.
	for _, f := range []string{canon, "status=ACTIVE", `  status  =  "ACTIVE"  `, "status = ACTIVE AND status = ACTIVE"} {
		q, err := s.parseListRequest(methodListBacktest, backtestFilterFields,
			&gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 3, Filter: f, PageToken: good})
		if err != nil {
			t.Errorf("filter %q: %v", f, err)
			continue
		}
		if q.upstream == nil || *q.upstream != "upstream-xyz" {
			t.Errorf("filter %q: upstream = %v, want upstream-xyz", f, q.upstream)
		}
		if q.pageSize != 3 {
			t.Errorf("filter %q: page size %d, want 3 (page_size may change between pages)", f, q.pageSize)
		}
	}

	otherCodec := pagetoken.NewCodec(ptKeyring(t, 'o'), pagetoken.Options{Now: clk.Now})
	foreign, err := otherCodec.Seal(methodListBacktest, canon, "upstream-xyz")
	if err != nil {
		t.Fatal(err)
	}
	// Flip one character well inside the ciphertext (not the header, not
	// the last character whose spare bits the strict decoder rejects).
	b := []byte(good)
	i := len(b) - 6
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	tampered := string(b)

	tests := []struct {
		name   string
		method string
		filter string
		token  string
		rule   string
	}{
		{name: "different filter", method: methodListBacktest, filter: `status = "CREATE_FAILED"`, token: good, rule: "filter_mismatch"},
		{name: "filter dropped", method: methodListBacktest, filter: "", token: good, rule: "filter_mismatch"},
		{name: "different method", method: methodListForecastExport, filter: canon, token: good, rule: "method_mismatch"},
		{name: "malformed", method: methodListBacktest, filter: canon, token: "not a token!", rule: "malformed"},
		{name: "truncated", method: methodListBacktest, filter: canon, token: good[:20], rule: "malformed"},
		{name: "tampered", method: methodListBacktest, filter: canon, token: tampered, rule: "tampered"},
		{name: "foreign key", method: methodListBacktest, filter: canon, token: foreign, rule: "foreign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := forecastExportFilterFields
			if tt.method == methodListBacktest {
				fields = backtestFilterFields
			}
			_, err := s.parseListRequest(tt.method, fields,
				&gatewayv1.ListPredictorBacktestExportJobsRequest{Filter: tt.filter, PageToken: tt.token})
			gotFields, descs, reason := ptViolations(t, err)
			if !reflect.DeepEqual(gotFields, []string{"page_token"}) {
				t.Fatalf("violations = %v (%v), want [page_token]", gotFields, descs)
			}
			if want := "(rule: " + tt.rule + ")"; !strings.Contains(descs[0], want) {
				t.Errorf("description %q does not contain %q", descs[0], want)
			}
			if reason != ReasonInvalidPageToken {
				t.Errorf("reason = %q, want %q", reason, ReasonInvalidPageToken)
			}
			if strings.HasPrefix(descs[0], "page token:") || strings.HasPrefix(descs[0], "page_token:") {
				t.Errorf("description %q repeats the field name", descs[0])
			}
			if strings.Contains(descs[0], "upstream-xyz") {
				t.Errorf("description %q leaks the upstream token", descs[0])
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		clk.now = ptStart.Add(2 * time.Hour)
		defer func() { clk.now = ptStart }()
		_, err := s.parseListRequest(methodListBacktest, backtestFilterFields,
			&gatewayv1.ListPredictorBacktestExportJobsRequest{Filter: canon, PageToken: good})
		gotFields, descs, reason := ptViolations(t, err)
		if !reflect.DeepEqual(gotFields, []string{"page_token"}) || !strings.Contains(descs[0], "(rule: expired)") {
			t.Errorf("violations = %v %v, want page_token (rule: expired)", gotFields, descs)
		}
		if reason != ReasonInvalidPageToken {
			t.Errorf("reason = %q, want %q", reason, ReasonInvalidPageToken)
		}
	})
}

func TestParseListRequestAllViolations(t *testing.T) {
	s, codec, _ := ptServer(t)
	good, err := codec.Seal(methodListBacktest, `status = "ACTIVE"`, "u")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		req        *gatewayv1.ListPredictorBacktestExportJobsRequest
		wantFields []string
		wantReason string
	}{
		{name: "negative page size",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: -1},
			wantFields: []string{"page_size"}, wantReason: ReasonInvalidArgument},
		{name: "bad filter",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{Filter: "status = BOGUS"},
			wantFields: []string{"filter"}, wantReason: ReasonInvalidArgument},
		{name: "unknown filter field",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{Filter: `forecast_arn = "x"`},
			wantFields: []string{"filter"}, wantReason: ReasonInvalidArgument},
		{name: "negative page size and bad token",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: -5, PageToken: "garbage"},
			wantFields: []string{"page_size", "page_token"}, wantReason: ReasonInvalidArgument},
		{name: "negative page size and valid token",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: -5, Filter: `status = "ACTIVE"`, PageToken: good},
			wantFields: []string{"page_size"}, wantReason: ReasonInvalidArgument},
		{name: "negative page size and bad filter",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: -1, Filter: "status OR x"},
			wantFields: []string{"page_size", "filter"}, wantReason: ReasonInvalidArgument},
		// A well-formed token cannot be judged against a filter that did
		// not parse: no page_token violation (certainly no filter_mismatch).
		{name: "bad filter and otherwise valid token",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{Filter: "status = BOGUS", PageToken: good},
			wantFields: []string{"filter"}, wantReason: ReasonInvalidArgument},
		// A malformed token is malformed whatever the filter: the client
		// must learn all three problems from one call.
		{name: "bad filter, negative page size and bad token together",
			req:        &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: -1, Filter: "status = BOGUS", PageToken: "garbage"},
			wantFields: []string{"page_size", "filter", "page_token"}, wantReason: ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.parseListRequest(methodListBacktest, backtestFilterFields, tt.req)
			fields, descs, reason := ptViolations(t, err)
			if !reflect.DeepEqual(fields, tt.wantFields) {
				t.Errorf("violations = %q, want %q\n(descriptions: %q)", fields, tt.wantFields, descs)
			}
			if reason != tt.wantReason {
				t.Errorf("reason = %q, want %q", reason, tt.wantReason)
			}
		})
	}
}

func TestParseListRequestOtherLists(t *testing.T) {
	s, _, _ := ptServer(t)
	const farn = "arn:aws:forecast:us-east-1:123456789012:forecast/f1"
	const darn = "arn:aws:forecast:us-east-1:123456789012:dataset/d1"
	q, err := s.parseListRequest(methodListForecastExport, forecastExportFilterFields,
		&gatewayv1.ListForecastExportJobsRequest{Filter: "forecast_arn = " + farn})
	if err != nil {
		t.Fatalf("forecast export: %v", err)
	}
	if len(q.filters) != 1 || aws.ToString(q.filters[0].Key) != "ForecastArn" || aws.ToString(q.filters[0].Value) != farn {
		t.Errorf("forecast export filters = %s", ctJSON(q.filters))
	}
	q, err = s.parseListRequest(methodListDatasetImport, datasetImportFilterFields,
		&gatewayv1.ListDatasetImportJobsRequest{Filter: "dataset_arn = " + darn})
	if err != nil {
		t.Fatalf("dataset import: %v", err)
	}
	if len(q.filters) != 1 || aws.ToString(q.filters[0].Key) != "DatasetArn" || aws.ToString(q.filters[0].Value) != darn {
		t.Errorf("dataset import filters = %s", ctJSON(q.filters))
	}
	// An ARN of the wrong resource type is a filter violation.
	_, err = s.parseListRequest(methodListDatasetImport, datasetImportFilterFields,
		&gatewayv1.ListDatasetImportJobsRequest{Filter: "dataset_arn = " + farn})
	fields, descs, _ := ptViolations(t, err)
	if !reflect.DeepEqual(fields, []string{"filter"}) || !strings.Contains(descs[0], "resource_type") {
		t.Errorf("wrong-type ARN: violations %v %v, want filter (resource_type)", fields, descs)
	}
}
