package server

// Lists: filters to AWS Filters, page tokens bound to the List method and
// the filter, page sizes, and collectPage's call budget (ceil(page_size/100)
// AWS calls, never an AWS page fetched twice).

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc/codes"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
)

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

// opErr wraps err the way the SDK does.
func opErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "forecast", OperationName: op, Err: err}
}

func TestCollectPage(t *testing.T) {
	method := backtestJobs.ListOp()
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
			e := newStrictEnv(t, tRegion)
			up := tt.up
			q := listQuery{pageSize: tt.pageSize, filters: filters, canon: `status = "ACTIVE"`}
			if tt.start != "" {
				q.upstream = aws.String(tt.start)
			}
			items, next, err := collectPage(context.Background(), e.s, method, q, up.fetch)
			if err != nil {
				t.Fatalf("collectPage: %v", err)
			}

			gotMax := make([]int32, len(up.calls))
			for i, c := range up.calls {
				gotMax[i] = c.maxResults
			}
			if !slices.Equal(gotMax, tt.wantMax) {
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
			got, err := e.codec.Open(next, method, q.canon, "")
			if err != nil {
				t.Fatalf("opening next_page_token: %v", err)
			}
			if got != tt.wantNext {
				t.Errorf("next_page_token carries %q, want %q", got, tt.wantNext)
			}
			if _, err := e.codec.Open(next, forecastExportJobs.ListOp(), q.canon, ""); !errors.Is(err, pagetoken.ErrWrongMethod) {
				t.Errorf("next_page_token opened for another method: %v, want ErrWrongMethod", err)
			}
			if _, err := e.codec.Open(next, method, "", ""); !errors.Is(err, pagetoken.ErrWrongFilter) {
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
	method := datasetImportJobs.ListOp()
	tests := []struct {
		name     string
		up       ptUpstream
		pageSize int
		code     codes.Code
		reason   string
		calls    int
	}{
		{name: "first call fails", pageSize: 250,
			up:   ptUpstream{total: 1000, failOnCall: 1, failWith: opErr(method, &types.InvalidNextTokenException{Message: aws.String("expired")})},
			code: codes.InvalidArgument, reason: apierr.ReasonAWSInvalidNextToken, calls: 1},
		{name: "second call fails", pageSize: 250,
			up:   ptUpstream{total: 1000, failOnCall: 2, failWith: opErr(method, &types.ResourceNotFoundException{Message: aws.String("gone")})},
			code: codes.NotFound, reason: apierr.ReasonResourceNotFound, calls: 2},
		{name: "deadline", pageSize: 10,
			up:   ptUpstream{total: 1000, failOnCall: 1, failWith: opErr(method, context.DeadlineExceeded)},
			code: codes.DeadlineExceeded, reason: apierr.ReasonDeadlineExceeded, calls: 1},
		{name: "upstream token too long to seal", pageSize: 5,
			up:   ptUpstream{total: 100, tokenPad: pagetoken.MaxUpstreamLen},
			code: codes.Internal, reason: apierr.ReasonInternal, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newStrictEnv(t, tRegion)
			up := tt.up
			q := listQuery{pageSize: tt.pageSize}
			items, next, err := collectPage(context.Background(), e.s, method, q, up.fetch)
			if items != nil || next != "" {
				t.Errorf("got items %v and next %q with an error, want nil and empty", items, next)
			}
			d := decode(t, err)
			if d.st.Code() != tt.code || d.info.GetReason() != tt.reason {
				t.Errorf("error = %v / %q, want %v / %q", d.st.Code(), d.info.GetReason(), tt.code, tt.reason)
			}
			if tt.code != codes.Internal {
				if op := d.info.GetMetadata()["operation"]; op != method {
					t.Errorf("metadata operation = %q, want %q", op, method)
				}
			}
			if len(up.calls) != tt.calls {
				t.Errorf("%d upstream calls, want %d (no call after a failure)", len(up.calls), tt.calls)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// parseListRequest.

func TestParseListRequestValid(t *testing.T) {
	const arn = "arn:aws:forecast:us-east-1:123456789012:predictor/p1"
	tests := []struct {
		name      string
		pageSize  int32
		filter    string
		wantSize  int
		wantCanon string
		wantFs    []types.Filter
	}{
		{name: "empty", wantSize: 100},
		{name: "page size clamped", pageSize: 5000, wantSize: 1000},
		{name: "status filter", pageSize: 7, filter: "status=ACTIVE",
			wantSize: 7, wantCanon: `status = "ACTIVE"`,
			wantFs: []types.Filter{{Key: aws.String("Status"), Value: aws.String("ACTIVE"), Condition: types.FilterConditionStringIs}}},
		{name: "two terms", filter: `status = "CREATE_FAILED" AND predictor_arn != "` + arn + `"`,
			wantSize: 100, wantCanon: `predictor_arn != "` + arn + `" AND status = "CREATE_FAILED"`,
			wantFs: []types.Filter{
				{Key: aws.String("PredictorArn"), Value: aws.String(arn), Condition: types.FilterConditionStringIsNot},
				{Key: aws.String("Status"), Value: aws.String("CREATE_FAILED"), Condition: types.FilterConditionStringIs},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newStrictEnv(t, tRegion)
			req := newReq(t, backtestJobs.ListOp())
			pset(t, req, "page_size", int(tt.pageSize))
			pset(t, req, "filter", tt.filter)
			q, err := e.s.parseListRequest(context.Background(), backtestJobs.ListOp(), e.s.filters[backtestJobs], req.(listRequest))
			if err != nil {
				t.Fatalf("parseListRequest: %v", err)
			}
			if q.pageSize != tt.wantSize || q.canon != tt.wantCanon || q.upstream != nil {
				t.Errorf("query = {size %d canon %q upstream %v}, want {size %d canon %q upstream nil}",
					q.pageSize, q.canon, q.upstream, tt.wantSize, tt.wantCanon)
			}
			if !reflect.DeepEqual(q.filters, tt.wantFs) {
				t.Errorf("filters = %s, want %s", tJSON(q.filters), tJSON(tt.wantFs))
			}
		})
	}
}

// listReq is a List request of t.
func listReq(t *testing.T, jt *jobtype.Type, pageSize int, token, filter string) listRequest {
	t.Helper()
	req := newReq(t, jt.ListOp())
	pset(t, req, "page_size", pageSize)
	pset(t, req, "page_token", token)
	pset(t, req, "filter", filter)
	return req.(listRequest)
}

func TestParseListRequestToken(t *testing.T) {
	const canon = `status = "ACTIVE"`
	e := newStrictEnv(t, tRegion)
	s := e.s
	method := backtestJobs.ListOp()
	good, err := e.codec.Seal(method, canon, "", "upstream-xyz")
	if err != nil {
		t.Fatal(err)
	}

	// A valid token, with the same filter written differently.
	for _, f := range []string{canon, "status=ACTIVE", `  status  =  "ACTIVE"  `, "status = ACTIVE AND status = ACTIVE"} {
		q, err := s.parseListRequest(context.Background(), method, s.filters[backtestJobs], listReq(t, backtestJobs, 3, good, f))
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

	otherCodec := pagetoken.NewCodec(tKeyring(t, 'o'), pagetoken.Options{Now: e.clock.Now})
	foreign, err := otherCodec.Seal(method, canon, "", "upstream-xyz")
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
		jt     *jobtype.Type
		filter string
		token  string
		rule   string
	}{
		{name: "different filter", jt: backtestJobs, filter: `status = "CREATE_FAILED"`, token: good, rule: "filter_mismatch"},
		{name: "filter dropped", jt: backtestJobs, filter: "", token: good, rule: "filter_mismatch"},
		{name: "different method", jt: forecastExportJobs, filter: canon, token: good, rule: "method_mismatch"},
		{name: "malformed", jt: backtestJobs, filter: canon, token: "not a token!", rule: "malformed"},
		{name: "truncated", jt: backtestJobs, filter: canon, token: good[:20], rule: "malformed"},
		{name: "tampered", jt: backtestJobs, filter: canon, token: tampered, rule: "tampered"},
		{name: "foreign key", jt: backtestJobs, filter: canon, token: foreign, rule: "foreign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.parseListRequest(context.Background(), tt.jt.ListOp(), s.filters[tt.jt], listReq(t, tt.jt, 0, tt.token, tt.filter))
			checkTokenRefused(t, err, tt.rule)
			if descs := violationDescs(t, err); strings.Contains(descs[0], "upstream-xyz") {
				t.Errorf("description %q leaks the upstream token", descs[0])
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		e.clock.Set(tStart.Add(2 * time.Hour))
		defer e.clock.Set(tStart)
		_, err := s.parseListRequest(context.Background(), method, s.filters[backtestJobs], listReq(t, backtestJobs, 0, good, canon))
		checkTokenRefused(t, err, "expired")
	})
}

func violationDescs(t *testing.T, err error) []string {
	t.Helper()
	_, descs, _ := gotViolations(t, err)
	return descs
}

// checkTokenRefused: err refuses page_token alone, for rule, with reason
// INVALID_PAGE_TOKEN.
func checkTokenRefused(t *testing.T, err error, rule string) {
	t.Helper()
	vs, descs, reason := gotViolations(t, err)
	if !slices.Equal(violStrings(vs), []string{viol{"page_token", rule}.String()}) {
		t.Fatalf("violations = %v (%q), want page_token (rule: %s)", vs, descs, rule)
	}
	if reason != apierr.ReasonInvalidPageToken {
		t.Errorf("reason = %q, want %q", reason, apierr.ReasonInvalidPageToken)
	}
	if strings.HasPrefix(descs[0], "page token:") || strings.HasPrefix(descs[0], "page_token:") {
		t.Errorf("description %q repeats the field name", descs[0])
	}
}

func TestParseListRequestAllViolations(t *testing.T) {
	e := newStrictEnv(t, tRegion)
	method := backtestJobs.ListOp()
	good, err := e.codec.Seal(method, `status = "ACTIVE"`, "", "u")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		pageSize      int
		token, filter string
		want          []viol
	}{
		{name: "negative page size", pageSize: -1, want: []viol{{"page_size", "range"}}},
		{name: "bad filter", filter: "status = BOGUS", want: []viol{{"filter", "enum"}}},
		{name: "unknown filter field", filter: `forecast_arn = "x"`, want: []viol{{"filter", "unknown_field"}}},
		{name: "negative page size and bad token", pageSize: -5, token: "garbage", want: []viol{{"page_size", "range"}, {"page_token", "malformed"}}},
		{name: "negative page size and valid token", pageSize: -5, filter: `status = "ACTIVE"`, token: good, want: []viol{{"page_size", "range"}}},
		{name: "negative page size and bad filter", pageSize: -1, filter: "status OR x", want: []viol{{"page_size", "range"}, {"filter", "syntax"}}},
		// A well-formed token cannot be judged against a filter that did
		// not parse: no page_token violation (certainly no filter_mismatch).
		{name: "bad filter and otherwise valid token", filter: "status = BOGUS", token: good, want: []viol{{"filter", "enum"}}},
		// A malformed token is malformed whatever the filter: the client
		// must learn all three problems from one call.
		{name: "everything wrong", pageSize: -1, filter: "status = BOGUS", token: "garbage",
			want: []viol{{"page_size", "range"}, {"filter", "enum"}, {"page_token", "malformed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.parseListRequest(context.Background(), method, e.s.filters[backtestJobs], listReq(t, backtestJobs, tt.pageSize, tt.token, tt.filter))
			wantViolations(t, err, tt.want)
		})
	}
}

// ---------------------------------------------------------------------------
// Lists of every type, through the RPCs.

func sortFilters(fs []types.Filter) []string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Key)+" "+string(f.Condition)+" "+aws.ToString(f.Value))
	}
	slices.Sort(out)
	return out
}

// listInput is the input of the i-th recorded upstream List call.
func listIn(t *testing.T, c fakeCall) (filters []types.Filter, maxResults int32, token *string) {
	t.Helper()
	v := reflect.ValueOf(c.in).Elem()
	return v.FieldByName("Filters").Interface().([]types.Filter),
		aws.ToInt32(v.FieldByName("MaxResults").Interface().(*int32)),
		v.FieldByName("NextToken").Interface().(*string)
}

// TestListFilters: status and the type's own key become AWS Filters with
// IS / IS_NOT, for every type.
func TestListFilters(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			key := c.t.Filter
			arn := tArn(key.ArnType, "p_1/x")
			f := func(k, cond, v string) string { return k + " " + cond + " " + v }
			tests := []struct {
				filter string
				want   []string
			}{
				{"", nil},
				{"status = ACTIVE", []string{f("Status", "IS", "ACTIVE")}},
				{`status != "CREATE_FAILED"`, []string{f("Status", "IS_NOT", "CREATE_FAILED")}},
				{fmt.Sprintf("%s = %q", key.Field, arn), []string{f(key.AWSKey, "IS", arn)}},
				{fmt.Sprintf("%s != %s", key.Field, arn), []string{f(key.AWSKey, "IS_NOT", arn)}},
				{fmt.Sprintf("status = DELETE_FAILED AND %s = %q", key.Field, arn), []string{f(key.AWSKey, "IS", arn), f("Status", "IS", "DELETE_FAILED")}},
			}
			for _, tt := range tests {
				e := newEnv(t, tRegion)
				e.api.total = 3
				resp, err := rpcWith(t, e.s, c.list(), map[string]any{"filter": tt.filter})
				if err != nil {
					t.Errorf("filter %q: %v", tt.filter, err)
					continue
				}
				items, next := listItems(t, resp)
				if len(items) != 3 || next != "" {
					t.Errorf("filter %q: %d items, next %q; want 3 and none", tt.filter, len(items), next)
				}
				calls := e.api.Calls()
				if len(calls) != 1 || calls[0].op != c.t.ListOp() {
					t.Fatalf("upstream calls %v, want one %s", e.api.Ops(), c.t.ListOp())
				}
				fs, maxResults, tok := listIn(t, calls[0])
				slices.Sort(tt.want)
				if got := sortFilters(fs); !slices.Equal(got, tt.want) {
					t.Errorf("filter %q: AWS Filters %v, want %v", tt.filter, got, tt.want)
				}
				if tt.filter == "" && fs != nil {
					t.Errorf("no filter: AWS Filters %v, want nil", fs)
				}
				if maxResults != 100 || tok != nil {
					t.Errorf("first page: MaxResults %d NextToken %v, want 100 and nil", maxResults, tok)
				}
			}
		})
	}
}

// TestListFilterErrors: keys other than status and the type's own are
// refused naming the allowed fields; ARN values of the wrong type or
// region are refused; nothing reaches AWS.
func TestListFilterErrors(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			key := c.t.Filter
			type row struct {
				filter   string
				contains []string
			}
			rows := []row{
				{"foo = x", []string{`unknown field "foo"`, "allowed fields: status, " + key.Field, "(rule: unknown_field)"}},
				{"Status = ACTIVE", []string{"allowed fields: status, " + key.Field, "(rule: unknown_field)"}},
				{"status = BOGUS", []string{"ACTIVE", "CREATE_FAILED", "(rule: enum)"}},
				{"status = active", []string{"ACTIVE", "(rule: enum)"}},
				{"status = ACTIVE OR status = CREATE_FAILED", []string{"OR is not supported", "(rule: unsupported)"}},
				{fmt.Sprintf("%s = x", key.Field), []string{"(rule: pattern)"}},
				{fmt.Sprintf("%s = %q", key.Field, tArn("dataset-group", "g")), []string{"(rule: resource_type)", key.ArnType}},
				{fmt.Sprintf("%s = %q", key.Field, c.jobArn()), []string{"(rule: resource_type)"}},
				{fmt.Sprintf("%s = %q", key.Field, tArnIn(tOtherRegion, key.ArnType, "p/x")), []string{"(rule: region)", tOtherRegion}},
			}
			if key.Self {
				// The key is the job's own ARN: a parent's is refused.
				rows[7] = row{fmt.Sprintf("%s = %q", key.Field, tWhatIf(1)), []string{"(rule: resource_type)"}}
			}
			for _, o := range jobtype.All {
				if o.Filter.Field != key.Field {
					rows = append(rows, row{fmt.Sprintf("%s = %q", o.Filter.Field, tArn(o.Filter.ArnType, "p")), []string{"allowed fields: status, " + key.Field, "(rule: unknown_field)"}})
				}
			}
			for _, r := range rows {
				e := newStrictEnv(t, tRegion)
				_, err := rpcWith(t, e.s, c.list(), map[string]any{"filter": r.filter})
				descs := wantViolations(t, err, []viol{{"filter", ruleOf(r.contains)}})
				for _, s := range r.contains {
					if len(descs) == 1 && !strings.Contains(descs[0], s) {
						t.Errorf("filter %q: description %q does not contain %q", r.filter, descs[0], s)
					}
				}
			}
		})
	}
}

// ruleOf is the rule the expected texts name, "" for none.
func ruleOf(texts []string) string {
	for _, s := range texts {
		if m := ruleSuffix.FindStringSubmatch(s); m != nil {
			return m[1]
		}
	}
	return ""
}

// firstPage lists jobs of c (page_size 10, filter) from an upstream of 250
// and returns the next_page_token.
func firstPage(t *testing.T, e *tEnv, c jobCase, filter string) string {
	t.Helper()
	e.api.total = 250
	resp, err := rpcWith(t, e.s, c.list(), map[string]any{"page_size": 10, "filter": filter})
	if err != nil {
		t.Fatal(err)
	}
	items, next := listItems(t, resp)
	if len(items) != 10 || next == "" {
		t.Fatalf("first page: %d items, next %q", len(items), next)
	}
	return next
}

// TestListTokensBoundToMethod: a page token of one List is refused by
// every other (rule method_mismatch, reason INVALID_PAGE_TOKEN) before any
// upstream call, and resumes its own listing where it stopped.
func TestListTokensBoundToMethod(t *testing.T) {
	for _, from := range jobCases {
		for _, to := range jobCases {
			t.Run(from.name()+"->"+to.name(), func(t *testing.T) {
				e := newEnv(t, tRegion)
				tok := firstPage(t, e, from, "")
				e.api.Reset()
				resp, err := rpcWith(t, e.s, to.list(), map[string]any{"page_size": 10, "page_token": tok})
				if from.t != to.t {
					checkTokenRefused(t, err, "method_mismatch")
					if n := len(e.api.Calls()); n > 0 {
						t.Errorf("%d upstream calls with a refused token", n)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				items, _ := listItems(t, resp)
				if len(items) != 10 || pstr(t, items[0], to.t.ArnField) != tItemArn(to.t, 10) {
					t.Errorf("second page does not start at item 10: %v", items)
				}
				if _, _, tk := listIn(t, e.api.Calls()[0]); aws.ToString(tk) != "tok-10" {
					t.Errorf("upstream NextToken %q, want tok-10", aws.ToString(tk))
				}
			})
		}
	}
}

// TestListTokensBoundToFilter: a page token only continues the listing of
// the filter it was issued for (however that filter is written).
func TestListTokensBoundToFilter(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			tok := firstPage(t, e, c, "status = ACTIVE")
			for _, f := range []string{`status = "CREATE_FAILED"`, "", "status != ACTIVE", fmt.Sprintf("status = ACTIVE AND %s = %q", c.t.Filter.Field, tArn(c.t.Filter.ArnType, "p/x"))} {
				e.api.Reset()
				_, err := rpcWith(t, e.s, c.list(), map[string]any{"page_token": tok, "filter": f})
				checkTokenRefused(t, err, "filter_mismatch")
				if n := len(e.api.Calls()); n > 0 {
					t.Errorf("filter %q: %d upstream calls with a refused token", f, n)
				}
			}
			for _, f := range []string{`status="ACTIVE"`, "status = ACTIVE AND status = ACTIVE"} {
				if _, err := rpcWith(t, e.s, c.list(), map[string]any{"page_token": tok, "filter": f}); err != nil {
					t.Errorf("filter %q, the same as the token's: %v", f, err)
				}
			}
		})
	}
}

// TestListPageSizes: page_size rules, for every type: 0 is 100, above 1000
// is 1000, negative is refused; each page takes ceil(page_size/100) calls
// asking for exactly what it still needs.
func TestListPageSizes(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newStrictEnv(t, tRegion)
			_, err := rpcWith(t, e.s, c.list(), map[string]any{"page_size": -1})
			wantViolations(t, err, []viol{{"page_size", "range"}})

			for _, tt := range []struct {
				size  int
				items int
				max   []int32
			}{
				{0, 100, []int32{100}},
				{1, 1, []int32{1}},
				{250, 250, []int32{100, 100, 50}},
				{1000, 1000, []int32{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}},
				{1001, 1000, []int32{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}},
				{1 << 30, 1000, []int32{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}},
			} {
				e := newEnv(t, tRegion)
				e.api.total = 5000
				resp, err := rpcWith(t, e.s, c.list(), map[string]any{"page_size": tt.size})
				if err != nil {
					t.Fatal(err)
				}
				items, next := listItems(t, resp)
				var max []int32
				for _, call := range e.api.Calls() {
					_, m, _ := listIn(t, call)
					max = append(max, m)
				}
				if len(items) != tt.items || next == "" || !slices.Equal(max, tt.max) {
					t.Errorf("page_size %d: %d items, next %q, MaxResults %v; want %d items, a next page, %v", tt.size, len(items), next, max, tt.items, tt.max)
				}
			}
		})
	}
}

// TestListWalk: walking a whole listing through the RPC, with AWS
// returning short pages, sees every job exactly once and in order, never
// asks AWS for a page twice, and keeps every page within its call budget.
func TestListWalk(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			e.api.total, e.api.perCall = 1234, 37
			const pageSize = 250
			var arns []string
			tok := ""
			asked := map[string]bool{}
			for page := 0; ; page++ {
				if page > 100 {
					t.Fatal("the listing does not end")
				}
				before := len(e.api.Calls())
				resp, err := rpcWith(t, e.s, c.list(), map[string]any{"page_size": pageSize, "page_token": tok, "filter": "status = ACTIVE"})
				if err != nil {
					t.Fatal(err)
				}
				items, next := listItems(t, resp)
				calls := e.api.Calls()[before:]
				if len(calls) > (pageSize+99)/100 {
					t.Errorf("page %d took %d upstream calls, budget %d", page, len(calls), (pageSize+99)/100)
				}
				if len(items) > pageSize {
					t.Errorf("page %d has %d items", page, len(items))
				}
				for _, call := range calls {
					_, _, tk := listIn(t, call)
					k := aws.ToString(tk)
					if asked[k] {
						t.Errorf("AWS page %q fetched twice", k)
					}
					asked[k] = true
				}
				for _, it := range items {
					arns = append(arns, pstr(t, it, c.t.ArnField))
				}
				if next == "" {
					break
				}
				if next == tok {
					t.Fatal("next_page_token equals page_token")
				}
				tok = next
			}
			if len(arns) != 1234 {
				t.Fatalf("walked %d jobs, want 1234", len(arns))
			}
			for i, a := range arns {
				if a != tItemArn(c.t, i) {
					t.Fatalf("job %d = %s, want %s", i, a, tItemArn(c.t, i))
				}
			}
		})
	}
}

// TestPageTokenProblem: every codec error names its rule.
func TestPageTokenProblem(t *testing.T) {
	for kind, rule := range map[error]string{
		pagetoken.ErrMalformed: "malformed", pagetoken.ErrExpired: "expired", pagetoken.ErrWrongFilter: "filter_mismatch",
		pagetoken.ErrWrongMethod: "method_mismatch", pagetoken.ErrUnknownKey: "foreign", pagetoken.ErrTampered: "tampered",
	} {
		got := pageTokenProblem(&pagetoken.Error{Kind: kind, Msg: "msg " + strconv.Quote(rule)})
		if want := "msg " + strconv.Quote(rule) + " (rule: " + rule + ")"; got != want {
			t.Errorf("pageTokenProblem(%v) = %q, want %q", kind, got, want)
		}
	}
}

// TestFilterViolationsNameTheirRule: the API promises (common.proto,
// apierr.FieldViolation) that every BadRequest violation names the rule it
// broke as "(rule: <rule>)", filter violations included.
func TestFilterViolationsNameTheirRule(t *testing.T) {
	for _, c := range jobCases {
		for _, f := range []string{"foo = x", "status = BOGUS", "status OR x", `status = "ACTIVE`} {
			e := newStrictEnv(t, tRegion)
			_, err := rpcWith(t, e.s, c.list(), map[string]any{"filter": f})
			for _, d := range violationDescs(t, err) {
				if !ruleSuffix.MatchString(d) {
					t.Errorf("%s filter %q: description %q names no rule", c.list(), f, d)
				}
			}
		}
	}
}
