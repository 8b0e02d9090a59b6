package e2e_test

// REST conformance: every REST response any end-to-end test receives is
// validated against the OpenAPI document the gateway serves (converted to
// OpenAPI 3 from the same source), with kin-openapi: its status must be
// documented for the operation, and its body and headers must match the
// schema, which has no undocumented members (additionalProperties false) and
// requires what the gateway always sends. A mismatch fails the test that
// made the call. After a full run, TestMain also requires that every
// operation was seen succeeding and every documented error status was seen
// somewhere; TestRESTConformance makes sure of that with one row per case.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/gen/openapi"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// conformance validates responses against one OpenAPI 3 document.
type conformance struct {
	doc    *openapi3.T
	routes []docRoute

	mu   sync.Mutex
	seen map[string]map[int]bool // operation id -> statuses seen
}

// docRoute is one operation of the document, with its path template
// parsed as the gateway matches it (the parameter may contain '/').
type docRoute struct {
	path, method          string
	prefix, param, suffix string
	item                  *openapi3.PathItem
	op                    *openapi3.Operation
	successStatus         int
	documented            []int
}

func newConformance(doc []byte) (*conformance, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the served OpenAPI 3 document is not valid: %w", err)
	}
	c := &conformance{doc: t, seen: map[string]map[int]bool{}}
	for path, item := range t.Paths.Map() {
		for method, op := range item.Operations() {
			r := docRoute{path: path, method: method, prefix: path, item: item, op: op}
			if open := strings.IndexByte(path, '{'); open >= 0 {
				end := strings.IndexByte(path, '}')
				r.prefix, r.param, r.suffix = path[:open], path[open+1:end], path[end+1:]
			}
			for code := range op.Responses.Map() {
				n, err := strconv.Atoi(code)
				if err != nil {
					return nil, fmt.Errorf("%s %s: response %q is not a status", method, path, code)
				}
				r.documented = append(r.documented, n)
				if n == 200 || n == 201 {
					r.successStatus = n
				}
			}
			sort.Ints(r.documented)
			c.routes = append(c.routes, r)
		}
	}
	return c, nil
}

// find returns the operation of a request (by its decoded path) as the
// gateway routes it: a route whose path ends in a verb (":stop") wins over
// one whose parameter would swallow it; nil when the path's route has no
// such method (the gateway answers 405 then, which no operation documents).
func (c *conformance) find(method, path string) (*docRoute, string) {
	type hit struct {
		r     *docRoute
		value string
	}
	var hits []hit
	verb := false
	for i := range c.routes {
		if v, ok := c.routes[i].match(path); ok {
			hits = append(hits, hit{&c.routes[i], v})
			verb = verb || c.routes[i].suffix != ""
		}
	}
	for _, h := range hits {
		if h.r.method == method && (!verb || h.r.suffix != "" || h.r.param == "") {
			return h.r, h.value
		}
	}
	return nil, ""
}

func (r *docRoute) match(path string) (string, bool) {
	if r.param == "" {
		return "", path == r.prefix
	}
	rest, ok := strings.CutPrefix(path, r.prefix)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, r.suffix)
	return rest, ok && rest != ""
}

// validate checks one response; it returns "" or what is wrong.
func (c *conformance) validate(req *http.Request, resp *http.Response, body []byte) string {
	r, value := c.find(req.Method, req.URL.Path)
	if r == nil {
		return "" // not an operation (an unknown route, a wrong method, /docs): other tests check those
	}
	c.mu.Lock()
	if c.seen[r.op.OperationID] == nil {
		c.seen[r.op.OperationID] = map[int]bool{}
	}
	c.seen[r.op.OperationID][resp.StatusCode] = true
	c.mu.Unlock()

	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK &&
		(strings.HasPrefix(ct, "application/x-ndjson") || strings.HasPrefix(ct, "text/event-stream")) {
		return validateStream(req, r.op, ct, body)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: map[string]string{},
		Route:      &routers.Route{Spec: c.doc, Path: r.path, PathItem: r.item, Method: r.method, Operation: r.op},
	}
	if r.param != "" {
		in.PathParams[r.param] = value
	}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		return fmt.Sprintf("%s %s (%s) answered HTTP %d, which the OpenAPI document does not allow: %v\nbody: %.2000s",
			req.Method, req.URL.Path, r.op.OperationID, resp.StatusCode, err, body)
	}
	return ""
}

// validateStream checks each object of a stream (a line of NDJSON, the
// data of an event) against the schema the document gives the stream's
// media type.
func validateStream(req *http.Request, op *openapi3.Operation, ct string, body []byte) string {
	media := strings.TrimSpace(strings.Split(ct, ";")[0])
	resp := op.Responses.Status(http.StatusOK)
	if resp == nil || resp.Value.Content.Get(media) == nil {
		return fmt.Sprintf("%s %s (%s) streamed %s, which the OpenAPI document does not list", req.Method, req.URL.Path, op.OperationID, media)
	}
	schema := resp.Value.Content.Get(media).Schema.Value
	var objects []string
	for line := range strings.SplitSeq(string(body), "\n") {
		switch {
		case media == "application/x-ndjson" && strings.TrimSpace(line) != "":
			objects = append(objects, line)
		case media == "text/event-stream" && strings.HasPrefix(line, "data: "):
			objects = append(objects, strings.TrimPrefix(line, "data: "))
		}
	}
	for _, o := range objects {
		var v any
		if err := json.Unmarshal([]byte(o), &v); err != nil {
			return fmt.Sprintf("%s %s streamed a line that is not JSON: %.300s", req.Method, req.URL.Path, o)
		}
		if err := schema.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			return fmt.Sprintf("%s %s (%s) streamed an object the OpenAPI document does not allow: %v\nobject: %.1000s", req.Method, req.URL.Path, op.OperationID, err, o)
		}
	}
	return ""
}

// missing lists what a full run did not see: an operation's success, and
// each error status documented for some operation.
func (c *conformance) missing() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	errorsSeen, errorsDocumented := map[int]bool{}, map[int]bool{}
	for _, r := range c.routes {
		if !c.seen[r.op.OperationID][r.successStatus] {
			out = append(out, fmt.Sprintf("%s (%s %s) was never seen answering %d", r.op.OperationID, r.method, r.path, r.successStatus))
		}
		for _, s := range r.documented {
			if s >= 300 {
				errorsDocumented[s] = true
				if c.seen[r.op.OperationID][s] {
					errorsSeen[s] = true
				}
			}
		}
	}
	for s := range errorsDocumented {
		if !errorsSeen[s] {
			out = append(out, fmt.Sprintf("no documented HTTP %d was ever seen", s))
		}
	}
	slices.Sort(out)
	return out
}

var conf *conformance

func TestMain(m *testing.M) {
	var err error
	if conf, err = newConformance(openapi.Document3); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
	testenv.ResponseCheck = func(tb testing.TB, req *http.Request, resp *http.Response, body []byte) {
		if problem := conf.validate(req, resp, body); problem != "" {
			tb.Errorf("REST conformance: %s", problem)
		}
	}
	code := m.Run()
	// Coverage is judged on a whole run only (not with -run, -short or
	// -fuzz, which run part of the suite).
	if code == 0 && fullRun() {
		if missing := conf.missing(); len(missing) > 0 {
			fmt.Fprintln(os.Stderr, "REST conformance: the suite does not cover the whole document:")
			for _, m := range missing {
				fmt.Fprintln(os.Stderr, "  -", m)
			}
			code = 1
		}
	}
	os.Exit(code)
}

func fullRun() bool {
	for _, arg := range os.Args[1:] {
		for _, partial := range []string{"-test.run", "-test.short", "-test.fuzz", "-test.bench", "-test.skip"} {
			if strings.HasPrefix(arg, partial) && !strings.HasSuffix(arg, "=") {
				return false
			}
		}
	}
	return true
}

// TestConformanceCatchesDrift shows the check is sharp: a real Describe
// response is accepted by the served document, and refused by a copy in
// which one field of the response was renamed (what a proto rename without
// regenerating the document would leave), or in which its status was not
// documented.
func TestConformanceCatchesDrift(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	backtest := jobtype.PredictorBacktestExportJob
	arn := env.Emu.Jobs(backtest)[0].Arn
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, env.BaseURL+"/v1/"+backtest.Collection+"/"+url.PathEscape(arn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if problem := conf.validate(req, resp, body); problem != "" {
		t.Fatalf("the real response does not conform: %s", problem)
	}
	renamed := strings.ReplaceAll(string(openapi.Document3), `"predictor_backtest_export_job_name": {`, `"predictor_backtest_export_job_title": {`)
	for name, doc := range map[string]string{
		"a field renamed":           renamed,
		"the status not documented": removeDescribe200(t, openapi.Document3),
	} {
		t.Run(name, func(t *testing.T) {
			if doc == string(openapi.Document3) {
				t.Fatal("the mutation changed nothing")
			}
			c, err := newConformance([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			problem := c.validate(req, resp, body)
			if problem == "" {
				t.Fatal("a response that no longer matches the document passed")
			}
			t.Logf("refused as expected: %.300s", problem)
		})
	}
}

// removeDescribe200 drops the 200 response of DescribePredictorBacktestExportJob.
func removeDescribe200(t *testing.T, doc []byte) string {
	t.Helper()
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range d.Paths.Map() {
		if op := item.Get; op != nil && op.OperationID == "DescribePredictorBacktestExportJob" {
			op.Responses.Delete("200")
		}
	}
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConformanceCoverageReportsGaps: a run that saw nothing is told what
// it missed, operation by operation and status by status.
func TestConformanceCoverageReportsGaps(t *testing.T) {
	c, err := newConformance(openapi.Document3)
	if err != nil {
		t.Fatal(err)
	}
	missing := strings.Join(c.missing(), "\n")
	for _, want := range []string{"CreateDatasetImportJob (POST /v1/dataset-import-jobs) was never seen answering 201", "no documented HTTP 409 was ever seen", "no documented HTTP 304 was ever seen"} {
		if !strings.Contains(missing, want) {
			t.Errorf("gaps lack %q:\n%s", want, missing)
		}
	}
}
