package e2e_test

// The Grafana dashboard (ops/grafana/forecast-gateway.json) and the
// operator's guide (OPERATIONS.md) may only name metrics and labels that a
// real gateway exports. There is no Prometheus here to run their queries,
// so this file parses the PromQL itself (the subset the dashboard and the
// guide use) and checks every metric name, label name and label value
// against the /metrics of a gateway that has been made to fill every
// family. It also checks the dashboard is a well-formed Grafana dashboard,
// and that the guide's metric and flag tables match what the gateway has.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
)

const (
	dashboardFile  = "../ops/grafana/forecast-gateway.json"
	operationsFile = "../OPERATIONS.md"
)

// targetLabels are the labels Prometheus adds to every series when it
// scrapes a target; they are never in the exposition itself.
var targetLabels = []string{"job", "instance"}

// scrapeSeries are the series Prometheus itself writes for every target
// (they carry the target labels only).
var scrapeSeries = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}

// TestDashboardMetricsExist starts a gateway, makes it fill every metric
// family it has (a labelled family without samples is not exposed at all,
// so each needs its event: a retry, a refusal of each kind, ...), scrapes
// it, and checks the dashboard and the guide against the scrape.
func TestDashboardMetricsExist(t *testing.T) {
	cat := dashboardWorkloadCatalog(t)

	// Every family of the gateway's own must be in the catalog: if the
	// workload no longer fills one, say so here rather than as a puzzling
	// "unknown metric" below.
	for _, name := range []string{
		"forecast_gateway_build_info", "forecast_gateway_upstream_calls_total", "forecast_gateway_upstream_call_duration_seconds",
		"forecast_gateway_upstream_retries_total", "forecast_gateway_page_token_rejections_total", "forecast_gateway_rate_limit_refusals_total",
		"forecast_gateway_auth_refusals_total", "forecast_gateway_in_flight_calls", "forecast_gateway_http_requests_total",
		"forecast_gateway_http_request_duration_seconds", "grpc_server_started_total", "grpc_server_handled_total",
		"forecast_gateway_describes_total", "forecast_gateway_watches", "forecast_gateway_watched_jobs",
		"grpc_server_handling_seconds", "grpc_server_msg_received_total", "grpc_server_msg_sent_total",
	} {
		if cat[name] == nil {
			t.Errorf("the workload did not make the gateway expose %s", name)
		}
	}

	t.Run("dashboard", func(t *testing.T) {
		raw, err := os.ReadFile(dashboardFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range checkDashboard(raw, cat) {
			t.Error(p)
		}
	})
	t.Run("operations guide", func(t *testing.T) {
		raw, err := os.ReadFile(operationsFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range checkOperationsGuide(raw, cat) {
			t.Error(p)
		}
	})

	// The checkers must catch what they are for: each mutation of the real
	// files must produce a problem that names it.
	t.Run("mutations are caught", func(t *testing.T) {
		dash, err := os.ReadFile(dashboardFile)
		if err != nil {
			t.Fatal(err)
		}
		guide, err := os.ReadFile(operationsFile)
		if err != nil {
			t.Fatal(err)
		}
		dashCases := []struct{ name, old, new, want string }{
			{"made-up metric", "forecast_gateway_upstream_retries_total", "forecast_gateway_upstream_retry_total", "forecast_gateway_upstream_retry_total"},
			{"made-up histogram", "grpc_server_handling_seconds_bucket", "grpc_server_handling_secs_bucket", "grpc_server_handling_secs_bucket"},
			{"histogram without suffix", "forecast_gateway_upstream_call_duration_seconds_bucket", "forecast_gateway_upstream_call_duration_seconds", "_bucket"},
			{"label not on the metric", "sum by (class, limit)", "sum by (class, scope)", `"scope"`},
			{"label value never seen", `outcome=\"throttled\"`, `outcome=\"throttling\"`, `"throttling"`},
			{"legend label the query drops", "{{rule}}", "{{reason}}", "{{reason}}"},
			{"selector without $instance", `instance=~\"$instance\"`, `instance!=\"\"`, "$instance"},
			{"unknown function", "histogram_quantile(0.99", "histogram_quantil(0.99", "histogram_quantil"},
			{"datasource not the variable", `"uid": "${datasource}"`, `"uid": "prometheus-prod"`, "datasource"},
		}
		for _, c := range dashCases {
			t.Run("dashboard/"+c.name, func(t *testing.T) {
				if !strings.Contains(string(dash), c.old) {
					t.Fatalf("the dashboard no longer contains %s; pick another mutation", c.old)
				}
				mutated := strings.Replace(string(dash), c.old, c.new, 1)
				wantProblem(t, checkDashboard([]byte(mutated), cat), c.want)
			})
		}
		t.Run("dashboard/duplicate panel id", func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(dash, &d); err != nil {
				t.Fatal(err)
			}
			panels, _ := d["panels"].([]any)
			if len(panels) < 2 {
				t.Fatal("fewer than two panels")
			}
			panels[1].(map[string]any)["id"] = panels[0].(map[string]any)["id"]
			mutated, _ := json.Marshal(d)
			wantProblem(t, checkDashboard(mutated, cat), "is also the id of panel")
		})

		// Each mutation replaces the first occurrence of old after anchor.
		guideCases := []struct{ name, anchor, old, new, want string }{
			{"made-up metric in a query", "```promql", "forecast_gateway_page_token_rejections_total", "forecast_gateway_page_token_refusals_total", "forecast_gateway_page_token_refusals_total"},
			{"label not on the metric in a query", "```promql", "by (rule)", "by (reason)", `"reason"`},
			{"made-up metric in an alert", "```yaml\ngroups:", "forecast_gateway_upstream_calls_total", "forecast_gateway_upstream_throttles_total", "forecast_gateway_upstream_throttles_total"},
			{"made-up metric in the table", "", "| `forecast_gateway_auth_refusals_total` |", "| `forecast_gateway_auth_failures_total` |", "forecast_gateway_auth_failures_total"},
			{"wrong type in the table", "", "| `forecast_gateway_in_flight_calls` | gauge |", "| `forecast_gateway_in_flight_calls` | counter |", "forecast_gateway_in_flight_calls"},
		}
		for _, c := range guideCases {
			t.Run("guide/"+c.name, func(t *testing.T) {
				at := strings.Index(string(guide), c.anchor)
				i := strings.Index(string(guide[max(at, 0):]), c.old)
				if at < 0 || i < 0 {
					t.Fatalf("OPERATIONS.md no longer contains %q after %q; pick another mutation", c.old, c.anchor)
				}
				i += at
				mutated := string(guide[:i]) + c.new + string(guide[i+len(c.old):])
				wantProblem(t, checkOperationsGuide([]byte(mutated), cat), c.want)
			})
		}
	})
}

func wantProblem(t *testing.T, problems []string, want string) {
	t.Helper()
	for _, p := range problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Errorf("no problem mentions %q; got %q", want, problems)
}

// dashboardWorkloadCatalog starts a gateway with authentication and tight
// rate limits, and makes the calls that fill every metric family: calls
// over gRPC and REST, a retried upstream call, a bad page token, a call
// without credentials, a List that costs more than the read burst and a
// create over the create rate. It returns the scrape.
func dashboardWorkloadCatalog(t *testing.T) metricCatalog {
	t.Helper()
	signer := newSecSigner(t)
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	secWriteFile(t, jwks, signer.jwks)
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{
		AdminAddr: "127.0.0.1:0",
		Security: gateway.Security{
			JWKSFile: jwks, JWTIssuer: secIssuer, JWTAudience: secAudience,
			RateLimits: &ratelimit.Config{Limits: map[ratelimit.Class]ratelimit.Limit{
				ratelimit.Read:   {Rate: 1000, Burst: 5},
				ratelimit.Create: {Rate: 0.01, Burst: 1},
			}},
		},
	}})
	token := signer.token(t, "dashboard", "forecast.read forecast.write")
	authed := metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+token)
	c := env.Client

	// gRPC: a describe and a list that the SDK retries once (throttled).
	if _, err := c.DescribePredictorBacktestExportJob(authed, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: relJobArn(env)}); err != nil {
		t.Fatal(err)
	}
	env.Emu.InjectFault(emulator.OpListPredictorBacktestExportJobs, emulator.Fault{Kind: emulator.FaultThrottle, Count: 1})
	if _, err := c.ListPredictorBacktestExportJobs(authed, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 5}); err != nil {
		t.Fatal(err)
	}
	// Refusals: a bad page token, no credentials, a page that costs more
	// than the read burst, a second create within the create rate.
	_, err := c.ListPredictorBacktestExportJobs(authed, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageToken: "not-a-token"})
	wantGRPCError(t, err, codes.InvalidArgument, "INVALID_PAGE_TOKEN")
	_, err = c.ListPredictorBacktestExportJobs(ctx(t), &gatewayv1.ListPredictorBacktestExportJobsRequest{})
	wantGRPCError(t, err, codes.Unauthenticated, "UNAUTHENTICATED")
	_, err = c.ListPredictorBacktestExportJobs(authed, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 1000})
	wantGRPCError(t, err, codes.InvalidArgument, "RATE_LIMITED")
	if _, err := c.CreatePredictorBacktestExportJob(authed, relValidCreate(env, "dashboard_1")); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreatePredictorBacktestExportJob(authed, relValidCreate(env, "dashboard_2"))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted {
		t.Fatalf("second create: %v, want RESOURCE_EXHAUSTED", err)
	}
	// REST: a list.
	req, err := http.NewRequest(http.MethodGet, env.BaseURL+"/v1/"+jobtype.PredictorBacktestExportJob.Collection+"?page_size=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("REST list: %s", resp.Status)
	}
	return scrapeCatalog(t, env)
}

// ---- the scrape ----

// metricFamily is one family of the scrape: its type (COUNTER, GAUGE,
// HISTOGRAM, SUMMARY, UNTYPED), its HELP and every label with the values
// seen. Histograms' labels exclude le, summaries' exclude quantile.
type metricFamily struct {
	typ     string
	help    string
	labels  map[string]map[string]bool
	buckets map[string]bool // le values (histograms) or quantiles (summaries)
}

// metricCatalog is the scrape by family name.
type metricCatalog map[string]*metricFamily

// scrapeCatalog reads /metrics from the admin listener. The families are
// the exposition's # TYPE lines (expfmt parses them); the labels and their
// values come from the samples.
func scrapeCatalog(t *testing.T, env *testenv.Env) metricCatalog {
	t.Helper()
	families := metricFamilies(t, env)
	cat := metricCatalog{}
	for name, fam := range families {
		f := &metricFamily{typ: fam.GetType().String(), help: fam.GetHelp(), labels: map[string]map[string]bool{}, buckets: map[string]bool{}}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if f.labels[l.GetName()] == nil {
					f.labels[l.GetName()] = map[string]bool{}
				}
				f.labels[l.GetName()][l.GetValue()] = true
			}
			for _, b := range m.GetHistogram().GetBucket() {
				f.buckets[strconv.FormatFloat(b.GetUpperBound(), 'f', -1, 64)] = true
			}
			if m.GetHistogram() != nil {
				f.buckets["+Inf"] = true
			}
			for _, q := range m.GetSummary().GetQuantile() {
				f.buckets[strconv.FormatFloat(q.GetQuantile(), 'f', -1, 64)] = true
			}
		}
		cat[name] = f
	}
	return cat
}

// series resolves a name as PromQL sees it (a histogram is only its
// _bucket, _sum and _count series) to its family and the labels of its
// samples, target labels included.
func (c metricCatalog) series(name string) (*metricFamily, map[string]map[string]bool, error) {
	labels := func(f *metricFamily, extra string) map[string]map[string]bool {
		out := map[string]map[string]bool{}
		for k, v := range f.labels {
			out[k] = v
		}
		if extra != "" {
			out[extra] = f.buckets
		}
		for _, l := range targetLabels {
			out[l] = nil // any value: Prometheus sets them
		}
		return out
	}
	if slices.Contains(scrapeSeries, name) && c[name] == nil {
		return &metricFamily{typ: "GAUGE", help: "written by Prometheus for every target"}, labels(&metricFamily{}, ""), nil
	}
	if f := c[name]; f != nil {
		switch f.typ {
		case "HISTOGRAM":
			return nil, nil, fmt.Errorf("%s is a histogram: query %s_bucket, %s_sum or %s_count", name, name, name, name)
		case "SUMMARY":
			return f, labels(f, "quantile"), nil
		}
		return f, labels(f, ""), nil
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if f := c[base]; ok && f != nil {
			switch {
			case f.typ == "HISTOGRAM" && suffix == "_bucket":
				return f, labels(f, "le"), nil
			case f.typ == "HISTOGRAM" || f.typ == "SUMMARY" && suffix != "_bucket":
				return f, labels(f, ""), nil
			}
		}
	}
	return nil, nil, fmt.Errorf("unknown metric %s: the gateway exports no such family", name)
}

// ---- a PromQL subset ----

type pqKind int

const (
	pqEOF    pqKind = iota
	pqIdent         // metric, label, function, keyword
	pqNumber        // 0.99, 5m, and Grafana variables ($__rate_interval)
	pqString        // "..." '...' `...`, unquoted
	pqRange         // [5m], [$__rate_interval], [1h:1m]
	pqPunct         // ( ) { } ,
	pqOp            // + - * / % ^ == != < > <= >= = =~ !~ @
)

type pqToken struct {
	kind pqKind
	text string
	pos  int
}

func pqLex(s string) ([]pqToken, error) {
	var toks []pqToken
	isIdentStart := func(r byte) bool { return r == '_' || r == ':' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
	isIdent := func(r byte) bool { return isIdentStart(r) || '0' <= r && r <= '9' }
	for i := 0; i < len(s); {
		r := s[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i++
		case r == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case isIdentStart(r):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			toks = append(toks, pqToken{pqIdent, s[i:j], i})
			i = j
		case '0' <= r && r <= '9' || r == '.':
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '.') {
				j++ // 0.99, 1e3, 5m, 1h30m
			}
			toks = append(toks, pqToken{pqNumber, s[i:j], i})
			i = j
		case r == '$':
			j := i + 1
			if j < len(s) && s[j] == '{' {
				for j < len(s) && s[j] != '}' {
					j++
				}
				j++
			} else {
				for j < len(s) && isIdent(s[j]) {
					j++
				}
			}
			toks = append(toks, pqToken{pqNumber, s[i:min(j, len(s))], i})
			i = j
		case r == '"' || r == '\'' || r == '`':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != r; j++ {
				if s[j] == '\\' && r != '`' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, pqToken{pqString, b.String(), i})
			i = j + 1
		case r == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [ at %d", i)
			}
			if strings.TrimSpace(s[i+1:i+j]) == "" {
				return nil, fmt.Errorf("empty range at %d", i)
			}
			toks = append(toks, pqToken{pqRange, s[i : i+j+1], i})
			i += j + 1
		case strings.ContainsRune("(){},", rune(r)):
			toks = append(toks, pqToken{pqPunct, string(r), i})
			i++
		default:
			op := ""
			for _, o := range []string{"==", "!=", "<=", ">=", "=~", "!~", "+", "-", "*", "/", "%", "^", "<", ">", "=", "@"} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected %q at %d", r, i)
			}
			toks = append(toks, pqToken{pqOp, op, i})
			i += len(op)
		}
	}
	return append(toks, pqToken{pqEOF, "", len(s)}), nil
}

// pqValue is what an expression yields: a scalar, a string, or a vector
// with the labels its series may carry. unknown: the labels could not be
// worked out (an error was reported already); checks against them are
// skipped so one mistake is reported once.
type pqValue struct {
	scalar, str, unknown bool
	text                 string // a string's value
	labels               map[string]bool
}

// pqSelector is a vector selector as written.
type pqSelector struct {
	name     string
	matchers []pqMatcher
}

type pqMatcher struct{ label, op, value string }

type pqParser struct {
	toks     []pqToken
	i        int
	cat      metricCatalog
	problems []string
	sels     []pqSelector
}

var (
	pqAggregations = map[string]bool{"sum": true, "avg": true, "min": true, "max": true, "count": true, "group": true, "stddev": true,
		"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true, "limitk": true, "limit_ratio": true}
	pqParamAggregations = map[string]bool{"topk": true, "bottomk": true, "quantile": true, "count_values": true, "limitk": true, "limit_ratio": true}
	pqFunctions         = map[string]bool{}
	pqPrecedence        = map[string]int{"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<": 3, ">": 3, "<=": 3, ">=": 3,
		"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
	pqKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true}
)

func init() {
	for _, f := range strings.Fields(`abs absent absent_over_time avg_over_time ceil changes clamp clamp_max clamp_min
		count_over_time day_of_month day_of_week day_of_year days_in_month delta deriv exp floor histogram_quantile
		hour idelta increase irate label_join label_replace last_over_time ln log10 log2 max_over_time min_over_time
		minute month predict_linear present_over_time quantile_over_time rate resets round scalar sgn sort sort_desc
		stddev_over_time stdvar_over_time sum_over_time time timestamp vector year`) {
		pqFunctions[f] = true
	}
}

// checkPromQL parses expr and checks every metric, label and label value
// against cat. It returns the expression's value, its selectors and the
// problems found.
func checkPromQL(expr string, cat metricCatalog) (pqValue, []pqSelector, []string) {
	toks, err := pqLex(expr)
	if err != nil {
		return pqValue{unknown: true}, nil, []string{fmt.Sprintf("%s: %v", oneLine(expr), err)}
	}
	p := &pqParser{toks: toks, cat: cat}
	v := func() (v pqValue) {
		defer func() {
			if r := recover(); r != nil {
				msg, ok := r.(pqSyntaxError)
				if !ok {
					panic(r)
				}
				p.problems = append(p.problems, string(msg))
				v = pqValue{unknown: true}
			}
		}()
		v = p.expr(0)
		if p.peek().kind != pqEOF {
			p.fail("unexpected %q", p.peek().text)
		}
		return v
	}()
	for i, pr := range p.problems {
		p.problems[i] = oneLine(expr) + ": " + pr
	}
	return v, p.sels, p.problems
}

type pqSyntaxError string

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (p *pqParser) peek() pqToken { return p.toks[p.i] }

func (p *pqParser) next() pqToken {
	t := p.toks[p.i]
	if t.kind != pqEOF {
		p.i++
	}
	return t
}

func (p *pqParser) fail(format string, args ...any) {
	panic(pqSyntaxError(fmt.Sprintf("syntax: "+format+" at %d", append(args, p.peek().pos)...)))
}

func (p *pqParser) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *pqParser) isIdent(words ...string) bool {
	t := p.peek()
	return t.kind == pqIdent && slices.Contains(words, t.text)
}

func (p *pqParser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == pqPunct && t.text == s
}

func (p *pqParser) expect(s string) {
	if !p.isPunct(s) {
		p.fail("want %q, got %q", s, p.peek().text)
	}
	p.next()
}

// labelList reads "(a, b, ...)".
func (p *pqParser) labelList() []string {
	p.expect("(")
	var out []string
	for !p.isPunct(")") {
		t := p.next()
		if t.kind != pqIdent {
			p.fail("want a label name, got %q", t.text)
		}
		out = append(out, t.text)
		if p.isPunct(",") {
			p.next()
		}
	}
	p.next()
	return out
}

func (p *pqParser) binaryOp() (string, bool) {
	t := p.peek()
	if t.kind == pqOp && t.text != "=" && t.text != "=~" && t.text != "!~" && t.text != "@" || t.kind == pqIdent && pqPrecedence[t.text] > 0 {
		return t.text, true
	}
	return "", false
}

func (p *pqParser) expr(minPrec int) pqValue {
	lhs := p.unary()
	for {
		op, ok := p.binaryOp()
		if !ok || pqPrecedence[op] < minPrec {
			return lhs
		}
		p.next()
		if p.isIdent("bool") {
			p.next()
		}
		var match, group string
		var matchLabels, groupLabels []string
		if p.isIdent("on", "ignoring") {
			match = p.next().text
			matchLabels = p.labelList()
		}
		if p.isIdent("group_left", "group_right") {
			group = p.next().text
			if p.isPunct("(") {
				groupLabels = p.labelList()
			}
		}
		next := pqPrecedence[op] + 1
		if op == "^" {
			next = pqPrecedence[op] // right-associative
		}
		rhs := p.expr(next)
		lhs = p.combine(op, lhs, rhs, match, matchLabels, group, groupLabels)
	}
}

// combine is the value of lhs op rhs, checking vector matching.
func (p *pqParser) combine(op string, lhs, rhs pqValue, match string, matchLabels []string, group string, groupLabels []string) pqValue {
	switch {
	case lhs.scalar && rhs.scalar:
		return pqValue{scalar: true}
	case lhs.scalar:
		return rhs
	case rhs.scalar:
		return lhs
	case lhs.unknown || rhs.unknown:
		return pqValue{unknown: true}
	}
	for _, l := range matchLabels {
		if match == "on" && (!lhs.labels[l] || !rhs.labels[l]) {
			p.problem("on(%s): %q is not a label of both sides of %s (left: %s; right: %s)", strings.Join(matchLabels, ", "), l, op, pqLabels(lhs), pqLabels(rhs))
		}
	}
	one := rhs
	if group == "group_right" {
		one = lhs
	}
	for _, l := range groupLabels {
		if !one.labels[l] {
			p.problem("%s(%s): %q is not a label of the one side (%s)", group, strings.Join(groupLabels, ", "), l, pqLabels(one))
		}
	}
	if op == "and" || op == "unless" || op == "or" {
		out := pqValue{labels: map[string]bool{}}
		for l := range lhs.labels {
			out.labels[l] = true
		}
		if op == "or" {
			for l := range rhs.labels {
				out.labels[l] = true
			}
		}
		return out
	}
	if match == "" && group == "" && !equalSets(lhs.labels, rhs.labels) {
		p.problem("%s matches series one-to-one on all labels, but the sides differ (left: %s; right: %s): aggregate them to the same labels or use on(...)",
			op, pqLabels(lhs), pqLabels(rhs))
	}
	out := pqValue{labels: map[string]bool{}}
	base := lhs
	if group == "group_right" {
		base = rhs
	}
	for l := range base.labels {
		out.labels[l] = true
	}
	for _, l := range groupLabels {
		out.labels[l] = true
	}
	return out
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func pqLabels(v pqValue) string {
	var ls []string
	for l := range v.labels {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return "{" + strings.Join(ls, ", ") + "}"
}

func (p *pqParser) unary() pqValue {
	if t := p.peek(); t.kind == pqOp && (t.text == "-" || t.text == "+") {
		p.next()
		return p.unary()
	}
	v := p.primary()
	for {
		switch t := p.peek(); {
		case t.kind == pqRange:
			p.next()
		case t.kind == pqIdent && t.text == "offset":
			p.next()
			if p.peek().kind == pqOp && p.peek().text == "-" {
				p.next()
			}
			if p.next().kind != pqNumber {
				p.fail("want a duration after offset")
			}
		case t.kind == pqOp && t.text == "@":
			p.next()
			p.unary()
		default:
			return v
		}
	}
}

func (p *pqParser) primary() pqValue {
	t := p.next()
	switch t.kind {
	case pqNumber:
		return pqValue{scalar: true}
	case pqString:
		return pqValue{str: true, text: t.text}
	case pqPunct:
		switch t.text {
		case "(":
			v := p.expr(0)
			p.expect(")")
			return v
		case "{":
			p.problem("a selector without a metric name ({...}) cannot be checked; name the metric")
			p.i--
			p.matchers()
			return pqValue{unknown: true}
		}
	case pqIdent:
		switch {
		case pqAggregations[t.text]:
			return p.aggregation(t.text)
		case p.isPunct("("):
			return p.function(t.text)
		case pqKeywords[t.text]:
			p.i--
			p.fail("unexpected keyword %q", t.text)
		}
		return p.selector(t.text)
	}
	p.i--
	p.fail("unexpected %q", t.text)
	return pqValue{}
}

func (p *pqParser) args() []pqValue {
	p.expect("(")
	var out []pqValue
	for !p.isPunct(")") {
		out = append(out, p.expr(0))
		if p.isPunct(",") {
			p.next()
		} else if !p.isPunct(")") {
			p.fail("want , or ) in arguments, got %q", p.peek().text)
		}
	}
	p.next()
	return out
}

func (p *pqParser) aggregation(name string) pqValue {
	var mod string
	var labels []string
	if p.isIdent("by", "without") {
		mod = p.next().text
		labels = p.labelList()
	}
	args := p.args()
	if mod == "" && p.isIdent("by", "without") {
		mod = p.next().text
		labels = p.labelList()
	}
	want := 1
	if pqParamAggregations[name] {
		want = 2
	}
	if len(args) != want {
		p.problem("%s takes %d argument(s), got %d", name, want, len(args))
		return pqValue{unknown: true}
	}
	in := args[want-1]
	if in.scalar || in.str {
		p.problem("%s of a scalar or string", name)
		return pqValue{unknown: true}
	}
	if in.unknown {
		return pqValue{unknown: true}
	}
	for _, l := range labels {
		if !in.labels[l] {
			p.problem("%s %s (%s): %q is not a label of its input %s", name, mod, strings.Join(labels, ", "), l, pqLabels(in))
		}
	}
	out := pqValue{labels: map[string]bool{}}
	switch mod {
	case "by":
		for _, l := range labels {
			out.labels[l] = true
		}
	case "without":
		for l := range in.labels {
			if !slices.Contains(labels, l) {
				out.labels[l] = true
			}
		}
	}
	if name == "count_values" && args[0].str {
		out.labels[args[0].text] = true
	}
	return out
}

func (p *pqParser) function(name string) pqValue {
	if !pqFunctions[name] {
		p.problem("unknown function %s", name)
		p.args()
		return pqValue{unknown: true}
	}
	args := p.args()
	var vec *pqValue
	for i := range args {
		if !args[i].scalar && !args[i].str {
			vec = &args[i]
			break
		}
	}
	switch name {
	case "time", "pi":
		return pqValue{scalar: true}
	case "scalar":
		return pqValue{scalar: true}
	case "vector":
		return pqValue{labels: map[string]bool{}}
	case "absent", "absent_over_time":
		return pqValue{unknown: true}
	}
	if vec == nil {
		p.problem("%s needs a vector argument", name)
		return pqValue{unknown: true}
	}
	if vec.unknown {
		return pqValue{unknown: true}
	}
	out := pqValue{labels: map[string]bool{}}
	for l := range vec.labels {
		out.labels[l] = true
	}
	switch name {
	case "histogram_quantile":
		if !vec.labels["le"] {
			p.problem("histogram_quantile needs the le label, which its input %s does not have (sum by (le, ...) of a _bucket series)", pqLabels(*vec))
		}
		delete(out.labels, "le")
	case "label_replace", "label_join":
		if len(args) < 4 || !args[1].str {
			p.problem("%s: want (vector, \"dst\", ..., \"src\"...)", name)
			return pqValue{unknown: true}
		}
		srcs := args[3:4]
		if name == "label_join" {
			srcs = args[3:]
		}
		for _, s := range srcs {
			if s.str && s.text != "" && !vec.labels[s.text] {
				p.problem("%s: source label %q is not a label of %s", name, s.text, pqLabels(*vec))
			}
		}
		out.labels[args[1].text] = true
	}
	return out
}

// matchers reads {label op "value", ...}.
func (p *pqParser) matchers() []pqMatcher {
	p.expect("{")
	var out []pqMatcher
	for !p.isPunct("}") {
		l := p.next()
		op := p.next()
		v := p.next()
		if l.kind != pqIdent || op.kind != pqOp || !slices.Contains([]string{"=", "!=", "=~", "!~"}, op.text) || v.kind != pqString {
			p.fail("want label op \"value\" in a selector")
		}
		out = append(out, pqMatcher{l.text, op.text, v.text})
		if p.isPunct(",") {
			p.next()
		}
	}
	p.next()
	return out
}

func (p *pqParser) selector(name string) pqValue {
	sel := pqSelector{name: name}
	if p.isPunct("{") {
		sel.matchers = p.matchers()
	}
	p.sels = append(p.sels, sel)
	fam, labels, err := p.cat.series(name)
	if err != nil {
		p.problem("%v", err)
		return pqValue{unknown: true}
	}
	for _, m := range sel.matchers {
		values, ok := labels[m.label]
		switch {
		case !ok:
			p.problem("%s has no label %q (its labels: %s)", name, m.label, pqLabels(pqValue{labels: keys(labels)}))
		case m.op == "=" && values != nil && !strings.Contains(m.value, "$") && !values[m.value] &&
			!regexp.MustCompile(`\b`+regexp.QuoteMeta(m.value)+`\b`).MatchString(fam.help):
			p.problem("%s{%s=%q}: the value %q was never seen in the scrape and is not named in the metric's HELP (%q)", name, m.label, m.value, m.value, fam.help)
		}
	}
	return pqValue{labels: keys(labels)}
}

func keys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// ---- the dashboard ----

type grafanaDashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	SchemaVersion int             `json:"schemaVersion"`
	Panels        []grafanaPanel  `json:"panels"`
	Templating    json.RawMessage `json:"templating"`
}

type grafanaPanel struct {
	ID         *int            `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	GridPos    *grafanaGridPos `json:"gridPos"`
	Datasource *grafanaDataRef `json:"datasource"`
	Targets    []grafanaTarget `json:"targets"`
	Panels     []grafanaPanel  `json:"panels"` // a collapsed row's
}

type grafanaGridPos struct{ X, Y, W, H int }

type grafanaDataRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaTarget struct {
	RefID        string          `json:"refId"`
	Expr         string          `json:"expr"`
	LegendFormat string          `json:"legendFormat"`
	Datasource   *grafanaDataRef `json:"datasource"`
}

type grafanaVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *grafanaDataRef `json:"datasource"`
}

var (
	legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)
)

// checkDashboard returns every problem of a Grafana dashboard: its shape
// (schema version, variables, unique panel ids, grid positions, targets
// with expressions, the datasource variable everywhere) and every query's
// metrics, labels and values; every selector must filter by the job and
// instance variables, and every legend may use only labels its query keeps.
func checkDashboard(raw []byte, cat metricCatalog) []string {
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return []string{"the dashboard is not JSON: " + err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if d.SchemaVersion != 39 {
		bad("schemaVersion is %d, want 39", d.SchemaVersion)
	}
	if d.UID == "" || d.Title == "" {
		bad("the dashboard needs a uid and a title")
	}
	isVar := func(ds *grafanaDataRef) bool {
		return ds != nil && ds.Type == "prometheus" && (ds.UID == "${datasource}" || ds.UID == "$datasource")
	}

	// Variables: the datasource, then job and instance from the metrics.
	var tmpl struct {
		List []grafanaVariable `json:"list"`
	}
	if err := json.Unmarshal(d.Templating, &tmpl); err != nil {
		bad("templating: %v", err)
	}
	vars := map[string]grafanaVariable{}
	for _, v := range tmpl.List {
		vars[v.Name] = v
	}
	if ds, ok := vars["datasource"]; !ok || ds.Type != "datasource" || string(ds.Query) != `"prometheus"` {
		bad("no template variable datasource of type datasource with query prometheus")
	}
	for _, name := range targetLabels {
		v, ok := vars[name]
		if !ok {
			bad("no template variable %s", name)
			continue
		}
		if v.Type != "query" || !isVar(v.Datasource) {
			bad("variable %s: want type query on the datasource variable", name)
		}
		var q string
		if json.Unmarshal(v.Query, &q) != nil {
			var obj struct {
				Query string `json:"query"`
			}
			_ = json.Unmarshal(v.Query, &obj)
			q = obj.Query
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil || m[2] != name {
			bad("variable %s: query %q is not label_values(<selector>, %s)", name, q, name)
			continue
		}
		if _, _, ps := checkPromQL(m[1], cat); len(ps) > 0 {
			problems = append(problems, ps...)
		}
	}

	ids := map[int]string{}
	var walk func(panels []grafanaPanel)
	walk = func(panels []grafanaPanel) {
		for _, pn := range panels {
			name := fmt.Sprintf("panel %q", pn.Title)
			switch {
			case pn.ID == nil:
				bad("%s has no id", name)
			case ids[*pn.ID] != "":
				bad("%s: id %d is also the id of panel %q", name, *pn.ID, ids[*pn.ID])
			default:
				ids[*pn.ID] = pn.Title
			}
			if g := pn.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
				bad("%s: gridPos %+v is not within the 24-column grid", name, pn.GridPos)
			}
			if pn.Type == "row" {
				walk(pn.Panels)
				continue
			}
			if pn.Type == "" || pn.Title == "" {
				bad("%s needs a type and a title", name)
			}
			if !isVar(pn.Datasource) {
				bad("%s: datasource %+v is not the datasource variable ${datasource}", name, pn.Datasource)
			}
			if len(pn.Targets) == 0 {
				bad("%s has no targets", name)
			}
			refs := map[string]bool{}
			for _, tg := range pn.Targets {
				if tg.RefID == "" || refs[tg.RefID] {
					bad("%s: target refId %q is empty or repeated", name, tg.RefID)
				}
				refs[tg.RefID] = true
				if tg.Datasource != nil && !isVar(tg.Datasource) {
					bad("%s: target %s datasource %+v is not the datasource variable", name, tg.RefID, tg.Datasource)
				}
				if strings.TrimSpace(tg.Expr) == "" {
					bad("%s: target %s has no expr", name, tg.RefID)
					continue
				}
				v, sels, ps := checkPromQL(tg.Expr, cat)
				for _, p := range ps {
					bad("%s: %s", name, p)
				}
				for _, s := range sels {
					for _, l := range targetLabels {
						if !slices.ContainsFunc(s.matchers, func(m pqMatcher) bool { return m.label == l && m.op == "=~" && m.value == "$"+l }) {
							bad("%s: %s has no %s=~\"$%s\" matcher, so the $%s variable does not filter it", name, s.name, l, l, l)
						}
					}
				}
				for _, m := range legendLabel.FindAllStringSubmatch(tg.LegendFormat, -1) {
					if !v.unknown && !v.scalar && !v.labels[m[1]] {
						bad("%s: legend {{%s}} names a label its query does not keep %s", name, m[1], pqLabels(v))
					}
				}
			}
		}
	}
	walk(d.Panels)
	if len(ids) == 0 {
		bad("the dashboard has no panels")
	}

	// Every metric of the gateway's own is on the dashboard.
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`forecast_gateway_[a-z_]+`).FindAllString(string(raw), -1) {
		used[m] = true
	}
	for name := range cat {
		if !strings.HasPrefix(name, "forecast_gateway_") {
			continue
		}
		if !used[name] && !used[name+"_bucket"] && !used[name+"_count"] && !used[name+"_sum"] {
			bad("metric %s is on no panel", name)
		}
	}
	return problems
}

// ---- OPERATIONS.md ----

var (
	fencedBlock = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```")
	metricRow   = regexp.MustCompile("(?m)^\\| `((?:forecast_gateway|grpc_server|go|process|promhttp)_[a-z_]+)` \\|(.*)$")
)

// checkOperationsGuide checks the guide's ```promql blocks (queries
// separated by blank lines), the alerting rules in its ```yaml blocks that
// hold `groups:`, and its metrics table: every row's metric exists with
// that type and exactly those labels (runtime go_* and process_* rows
// too), and every family of the gateway and of the gRPC middleware has a
// row.
func checkOperationsGuide(raw []byte, cat metricCatalog) []string {
	var problems []string
	queries, rules := 0, 0
	for _, b := range fencedBlock.FindAllStringSubmatch(string(raw), -1) {
		switch b[1] {
		case "promql":
			for _, q := range regexp.MustCompile(`\n\s*\n`).Split(b[2], -1) {
				if tokens, err := pqLex(q); err == nil && len(tokens) == 1 {
					continue // comments only
				}
				queries++
				_, _, ps := checkPromQL(q, cat)
				problems = append(problems, ps...)
			}
		case "yaml":
			var doc struct {
				Groups []struct {
					Name  string `yaml:"name"`
					Rules []struct {
						Alert string `yaml:"alert"`
						Expr  string `yaml:"expr"`
					} `yaml:"rules"`
				} `yaml:"groups"`
			}
			if err := yaml.Unmarshal([]byte(b[2]), &doc); err != nil {
				problems = append(problems, "a yaml block is not YAML: "+err.Error())
				continue
			}
			for _, g := range doc.Groups {
				for _, r := range g.Rules {
					rules++
					if r.Alert == "" || r.Expr == "" {
						problems = append(problems, fmt.Sprintf("group %s: a rule without alert or expr", g.Name))
						continue
					}
					_, _, ps := checkPromQL(r.Expr, cat)
					for _, p := range ps {
						problems = append(problems, "alert "+r.Alert+": "+p)
					}
				}
			}
		}
	}
	if queries < 6 || rules < 3 {
		problems = append(problems, fmt.Sprintf("OPERATIONS.md has %d PromQL queries and %d alerting rules; the checks expect the example queries and the suggested alerts", queries, rules))
	}

	rows := map[string]bool{}
	for _, m := range metricRow.FindAllStringSubmatch(string(raw), -1) {
		name, cells := m[1], strings.Split(m[2], "|")
		rows[name] = true
		f := cat[name]
		if f == nil {
			problems = append(problems, fmt.Sprintf("metrics table: %s is not a metric family the gateway exports", name))
			continue
		}
		if len(cells) < 3 {
			problems = append(problems, fmt.Sprintf("metrics table: row %s wants | name | type | labels | meaning |", name))
			continue
		}
		if typ := strings.TrimSpace(cells[0]); !strings.EqualFold(typ, f.typ) {
			problems = append(problems, fmt.Sprintf("metrics table: %s is a %s, not a %s", name, strings.ToLower(f.typ), typ))
		}
		var listed []string
		for _, l := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(cells[1], -1) {
			listed = append(listed, l[1])
		}
		sort.Strings(listed)
		var have []string
		for l := range f.labels {
			have = append(have, l)
		}
		sort.Strings(have)
		if !slices.Equal(listed, have) {
			problems = append(problems, fmt.Sprintf("metrics table: %s has labels %q, the table says %q", name, have, listed))
		}
	}
	for name := range cat {
		if (strings.HasPrefix(name, "forecast_gateway_") || strings.HasPrefix(name, "grpc_server_")) && !rows[name] {
			problems = append(problems, fmt.Sprintf("metrics table: no row for %s", name))
		}
	}
	return problems
}

// TestOperationsGuideFlags: the configuration table of OPERATIONS.md has
// one row per flag of the binary's --help, with its environment variable
// and its default as --help prints it, and no row for a flag that is gone.
func TestOperationsGuideFlags(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(c, goTool, "run", "../cmd/forecast-gateway", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("forecast-gateway --help: %v\n%s", err, out)
	}
	flags := map[string]string{} // name -> default as --help prints it ("" for the zero value)
	var current string
	for _, line := range strings.Split(string(out), "\n") {
		if m := regexp.MustCompile(`^  -([a-z0-9-]+)`).FindStringSubmatch(line); m != nil {
			current = m[1]
			flags[current] = ""
			continue
		}
		if m := regexp.MustCompile(`\(default (.*)\)$`).FindStringSubmatch(line); m != nil && current != "" {
			flags[current] = strings.Trim(m[1], `"`)
		}
	}
	if len(flags) < 30 {
		t.Fatalf("read only %d flags from --help:\n%s", len(flags), out)
	}
	guide, err := os.ReadFile(operationsFile)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\|(.*)$").FindAllStringSubmatch(string(guide), -1) {
		rows[m[1]] = strings.Split(m[2], "|")
	}
	for name, want := range flags {
		cells, ok := rows[name]
		if !ok {
			t.Errorf("OPERATIONS.md: no row for --%s", name)
			continue
		}
		if len(cells) < 3 {
			t.Errorf("OPERATIONS.md: row --%s wants | flag | variable | default | meaning |", name)
			continue
		}
		env := "`FORECAST_GATEWAY_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "`"
		if name == "version" {
			env = "(none)"
		}
		if got := strings.TrimSpace(cells[0]); got != env {
			t.Errorf("OPERATIONS.md: --%s: variable %s, want %s", name, got, env)
		}
		// --help prints no default for a zero value; the table may then
		// say so, or give a computed default in parentheses.
		def := strings.Trim(strings.TrimSpace(cells[1]), "`")
		zero := def == "" || def == "false" || def == "0" || def == "0s" || strings.HasPrefix(def, "(")
		if want == "" && !zero || want != "" && def != want {
			t.Errorf("OPERATIONS.md: --%s: default %q, --help says %q", name, def, want)
		}
	}
	for name := range rows {
		if _, ok := flags[name]; !ok {
			t.Errorf("OPERATIONS.md: a row for --%s, which --help does not list", name)
		}
	}
}
