package e2e_test

// Browser attacks on the REST surface, played by a real headless browser
// (chromium over the DevTools protocol, as in docs_browser_test.go):
//
//  1. cross-site request forgery from a page of another origin: "simple"
//     fetches (no preflight) with text/plain and form bodies, and HTML
//     forms auto-submitted into hidden frames and at the top level,
//     including a field-less form to a job's :stop route;
//  2. a fetch with Content-Type: application/json from that page, which
//     needs a CORS preflight;
//  3. DNS rebinding: chromium maps rebind.test to 127.0.0.1, so a page of
//     origin http://rebind.test:<gateway port> is same-origin with the
//     gateway; only the Host check stands between its script and the API.
//
// After each attack the emulator's counters must show no upstream create,
// stop, delete or tag call, and a List through the gateway must show no job
// of the attack's name. What the gateway answered each request is read
// from the browser's own network events. Positive controls show the set-up
// is not simply broken: the gateway's own /docs page can create a job, the
// raw rules are checked with net/http, and a second gateway configured
// with --allowed-hosts rebind.test accepts the rebinding host.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

const (
	// baRebindHost is the name chromium resolves to 127.0.0.1
	// (--host-resolver-rules), playing a rebound attacker domain.
	baRebindHost = "rebind.test"
	baRole       = "arn:aws:iam::123456789012:role/ForecastRole"
	baCollection = "/v1/predictor-backtest-export-jobs"
	// baSessionTimeout bounds the whole browser session; baStep one wait.
	baSessionTimeout = 60 * time.Second
	baStep           = 10 * time.Second
)

// baCreate is a valid CreatePredictorBacktestExportJob body (proto field
// names, as REST takes them) for a job called name.
func baCreate(predictor, name string) string {
	b, err := json.Marshal(map[string]any{
		"predictor_backtest_export_job_name": name,
		"predictor_arn":                      predictor,
		"destination":                        map[string]any{"s3_config": map[string]string{"path": "s3://bucket/exports/" + name + "/", "role_arn": baRole}},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// baSmuggled splits a valid create body into the name and value of one
// text/plain form field: the browser sends "name=value\r\n", which is the
// whole body again, valid JSON (the '=' lands inside a tag value).
func baSmuggled(predictor, name string) (field, value string) {
	body := strings.TrimSuffix(baCreate(predictor, name), "}") + `,"tags":[{"key":"k","value":"`
	return body, `v"}]}`
}

// baMutatingOps are the upstream operations that change anything.
func baMutatingOps() []string {
	ops := []string{emulator.OpStopResource, emulator.OpTagResource, emulator.OpUntagResource}
	for _, t := range jobtype.All {
		ops = append(ops, t.CreateOp(), t.DeleteOp())
	}
	return ops
}

func baCounts(emu *emulator.Server) map[string]int64 {
	m := map[string]int64{}
	for _, op := range baMutatingOps() {
		m[op] = emu.CallCount(op)
	}
	return m
}

// baJobNames lists every predictor backtest export job through the gateway.
func baJobNames(t *testing.T, env *testenv.Env) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	token := ""
	for range 100 {
		var page struct {
			Jobs []struct {
				Name string `json:"predictor_backtest_export_job_name"`
			} `json:"predictor_backtest_export_jobs"`
			Next string `json:"next_page_token"`
		}
		code, _, re := doREST(t, env.HTTP, http.MethodGet, env.BaseURL+baCollection+query("page_size", "1000", "page_token", token), "", &page)
		if code != http.StatusOK {
			t.Fatalf("listing jobs through the gateway: HTTP %d %s", code, re.Error.Message)
		}
		for _, j := range page.Jobs {
			names[j.Name] = true
		}
		if token = page.Next; token == "" {
			return names
		}
	}
	t.Fatal("listing jobs: more than 100 pages")
	return nil
}

// baNothingChanged fails t when an upstream state-changing call happened
// since before, or a job of one of names is listed.
func baNothingChanged(t *testing.T, env *testenv.Env, before map[string]int64, names ...string) {
	t.Helper()
	after := baCounts(env.Emu)
	for _, op := range baMutatingOps() {
		if d := after[op] - before[op]; d != 0 {
			t.Errorf("the attack reached the upstream: %d %s call(s)", d, op)
		}
	}
	listed := baJobNames(t, env)
	for _, n := range names {
		if listed[n] {
			t.Errorf("a job named %q exists: the attack created it", n)
		}
	}
}

// baRequest is one request of the browser to a gateway, as its DevTools
// network events tell it.
type baRequest struct {
	id          network.RequestID
	method, url string
	kind        network.ResourceType
	contentType string
	origin      string
	status      int64  // 0: no response
	failure     string // the network or CORS error
	settled     bool
	reason      string // ErrorInfo reason of the answer's AIP-193 body
}

func (r baRequest) String() string {
	s := fmt.Sprintf("%s %s [%s] Content-Type=%q Origin=%q -> ", r.method, r.url, r.kind, r.contentType, r.origin)
	switch {
	case r.status != 0:
		s += fmt.Sprint(r.status)
		if r.reason != "" {
			s += " " + r.reason
		}
		if r.failure != "" {
			s += " (then " + r.failure + ")"
		}
	case r.failure != "":
		s += "not answered: " + r.failure
	default:
		s += "pending"
	}
	return s
}

// baNetLog records the browser's requests to the gateways' ports; it is a
// chromedp.Listen func, so it only stores and signals.
type baNetLog struct {
	ports map[string]bool

	mu      sync.Mutex
	reqs    []*baRequest
	byID    map[network.RequestID]*baRequest
	extra   map[network.RequestID]network.Headers // raw request headers
	extraSt map[network.RequestID]int64           // raw response status
	changed chan struct{}
}

func newBANetLog(ports ...string) *baNetLog {
	l := &baNetLog{ports: map[string]bool{}, byID: map[network.RequestID]*baRequest{},
		extra: map[network.RequestID]network.Headers{}, extraSt: map[network.RequestID]int64{}, changed: make(chan struct{})}
	for _, p := range ports {
		l.ports[p] = true
	}
	return l
}

func baHeader(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

func (l *baNetLog) handle(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		u, err := url.Parse(ev.Request.URL)
		if err != nil || !l.ports[u.Port()] || ev.RedirectResponse != nil {
			return
		}
		r := &baRequest{id: ev.RequestID, method: ev.Request.Method, url: ev.Request.URL, kind: ev.Type,
			contentType: baHeader(ev.Request.Headers, "Content-Type"), origin: baHeader(ev.Request.Headers, "Origin")}
		l.reqs = append(l.reqs, r)
		l.byID[ev.RequestID] = r
	case *network.EventRequestWillBeSentExtraInfo:
		l.extra[ev.RequestID] = ev.Headers
	case *network.EventResponseReceivedExtraInfo:
		l.extraSt[ev.RequestID] = ev.StatusCode
	case *network.EventResponseReceived:
		if r := l.byID[ev.RequestID]; r != nil {
			r.status = ev.Response.Status
		}
	case *network.EventLoadingFinished:
		if r := l.byID[ev.RequestID]; r != nil {
			r.settled = true
		}
	case *network.EventLoadingFailed:
		if r := l.byID[ev.RequestID]; r != nil {
			r.settled = true
			r.failure = ev.ErrorText
			if ev.CorsErrorStatus != nil {
				r.failure += " (CORS: " + string(ev.CorsErrorStatus.CorsError) + ")"
			}
			if ev.BlockedReason != "" {
				r.failure += " (blocked: " + string(ev.BlockedReason) + ")"
			}
		}
	default:
		return
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// mark is where the next attack's requests start.
func (l *baNetLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// since returns copies of the requests after mark, completed with the raw
// headers and status the browser's network stack reported separately.
func (l *baNetLog) since(mark int) []baRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []baRequest
	for _, r := range l.reqs[mark:] {
		c := *r
		if h := l.extra[r.id]; h != nil {
			if o := baHeader(h, "Origin"); o != "" {
				c.origin = o
			}
			if ct := baHeader(h, "Content-Type"); ct != "" {
				c.contentType = ct
			}
		}
		if c.status == 0 {
			c.status = l.extraSt[r.id]
		}
		out = append(out, c)
	}
	return out
}

// waitSettled waits (bounded by ctx) until at least n requests after mark
// matching keep exist and all of those have finished or failed.
func (l *baNetLog) waitSettled(ctx context.Context, mark, n int, keep func(baRequest) bool) error {
	for {
		l.mu.Lock()
		seen, open := 0, 0
		for _, r := range l.reqs[mark:] {
			if keep(*r) {
				seen++
				if !r.settled {
					open++
				}
			}
		}
		ch := l.changed
		l.mu.Unlock()
		if seen >= n && open == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d requests seen, %d unfinished: %w", seen, n, open, ctx.Err())
		}
	}
}

// baPages is the attacker's web server content, by path.
type baPages map[string]string

func (p baPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	page, ok := p[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = fmt.Fprint(w, page)
}

// baFetchPage runs the fetches of requests on load; window.__attack is a
// promise of how each one ended, as the page itself sees it.
func baFetchPage(requests []map[string]any) string {
	cfg, err := json.Marshal(requests) // escapes <, > and &: safe in <script>
	if err != nil {
		panic(err)
	}
	return `<!doctype html><title>attacker</title><script>
const requests = ` + string(cfg) + `;
window.__attack = Promise.allSettled(requests.map(r => fetch(r.url, r.init))).then(rs => rs.map((r, i) =>
  requests[i].name + ": " + (r.status === "fulfilled" ? "resolved, " + r.value.type + " response, status " + r.value.status : "rejected, " + r.reason)));
</script>`
}

// baFormPage submits each form on load, into its own hidden frame;
// window.__attack resolves when every frame has loaded the answer.
func baFormPage(forms []string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><title>attacker</title><body>\n")
	for i, f := range forms {
		fmt.Fprintf(&b, "<iframe name=\"sink%d\"></iframe>\n%s\n", i, strings.Replace(f, "<form ", fmt.Sprintf("<form target=\"sink%d\" ", i), 1))
	}
	b.WriteString(`<script>
window.__attack = new Promise(resolve => window.addEventListener("load", () => {
  const frames = [...document.querySelectorAll("iframe")], loaded = [];
  for (const f of frames) f.addEventListener("load", () => { loaded.push(f.name); if (loaded.length === frames.length) resolve(loaded); }, {once: true});
  for (const form of document.forms) form.submit();
}));
</script></body>`)
	return b.String()
}

func baForm(action, enctype string, fields [][2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<form method="POST" action="%s"`, html.EscapeString(action))
	if enctype != "" {
		fmt.Fprintf(&b, ` enctype="%s"`, enctype)
	}
	b.WriteString(">")
	for _, f := range fields {
		fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(f[0]), html.EscapeString(f[1]))
	}
	b.WriteString("</form>")
	return b.String()
}

// baJS is v as a JavaScript literal.
func baJS(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// baEval evaluates js in the page, awaiting a promise, within baStep.
func baEval[T any](t *testing.T, browser context.Context, what, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, baStep)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func baDo(t *testing.T, browser context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, baStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// baRawPost sends a create with the given Host, Origin and Content-Type
// ("" leaves each as net/http sets it) and returns the answer.
func baRawPost(t *testing.T, env *testenv.Env, host, origin, contentType, body string) (int, restError, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, env.BaseURL+baCollection, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	var re restError
	var ok map[string]any
	dec := json.NewDecoder(resp.Body)
	if resp.StatusCode/100 == 2 {
		err = dec.Decode(&ok)
	} else {
		err = dec.Decode(&re)
	}
	if err != nil {
		t.Fatalf("POST (Host %q, Origin %q): HTTP %d, body is not JSON: %v", host, origin, resp.StatusCode, err)
	}
	return resp.StatusCode, re, ok
}

// baFirstReason is error.details[0].reason of an AIP-193 body.
func baFirstReason(t *testing.T, re restError) string {
	t.Helper()
	ds := re.details(t)
	if len(ds) == 0 {
		return ""
	}
	return ds[0].Reason
}

func TestBrowserAttacks(t *testing.T) {
	chromePath := needChromium(t)
	started := time.Now()
	env := testenv.Start(t, testenv.Options{})
	gw := env.BaseURL
	_, gwPort, err := net.SplitHostPort(strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	predictor := env.Emu.PredictorArns()[0]
	create := func(name string) string { return baCreate(predictor, name) }

	// A job a forged :stop could stop: one in progress.
	victim := env.Emu.Jobs(jobtype.PredictorBacktestExportJob)[0].Arn
	if err := env.Emu.SetJobStatus(victim, "CREATE_IN_PROGRESS"); err != nil {
		t.Fatal(err)
	}
	stopURL := gw + baCollection + "/" + url.PathEscape(victim) + ":stop"
	victimStatus := func() string {
		job, ok := env.Emu.Job(victim)
		if !ok {
			t.Fatalf("job %s is gone", victim)
		}
		return job.Status
	}

	// The raw rules, with net/http (conformance-checked by env.HTTP).
	t.Run("raw rules", func(t *testing.T) {
		before := baCounts(env.Emu)
		code, re, _ := baRawPost(t, env, "", "null", "application/json", create("raw_origin_null"))
		if code != http.StatusForbidden || baFirstReason(t, re) != "ORIGIN_NOT_ALLOWED" {
			t.Errorf("Origin: null: HTTP %d %v, want 403 ORIGIN_NOT_ALLOWED", code, re.Error)
		}
		code, re, _ = baRawPost(t, env, "", "http://127.0.0.1:1", "application/json", create("raw_origin_foreign"))
		if code != http.StatusForbidden || baFirstReason(t, re) != "ORIGIN_NOT_ALLOWED" {
			t.Errorf("a foreign Origin: HTTP %d %v, want 403 ORIGIN_NOT_ALLOWED", code, re.Error)
		}
		code, re, _ = baRawPost(t, env, "evil.example", "", "application/json", create("raw_evil_host"))
		if code != http.StatusMisdirectedRequest || baFirstReason(t, re) != "HOST_NOT_ALLOWED" || re.Error.Code != 421 {
			t.Errorf("Host: evil.example: HTTP %d %+v, want 421 with error.details[0].reason HOST_NOT_ALLOWED", code, re.Error)
		}
		code, re, _ = baRawPost(t, env, baRebindHost+":"+gwPort, "http://"+baRebindHost+":"+gwPort, "application/json", create("raw_rebind_host"))
		if code != http.StatusMisdirectedRequest || baFirstReason(t, re) != "HOST_NOT_ALLOWED" {
			t.Errorf("Host: %s (same-origin Origin): HTTP %d %v, want 421 HOST_NOT_ALLOWED", baRebindHost, code, re.Error)
		}
		plainField, plainValue := baSmuggled(predictor, "raw_text_plain")
		code, re, _ = baRawPost(t, env, "", "", "text/plain", plainField+"="+plainValue+"\r\n")
		if code != http.StatusUnsupportedMediaType || baFirstReason(t, re) != "UNSUPPORTED_MEDIA_TYPE" {
			t.Errorf("text/plain without Origin: HTTP %d %v, want 415 UNSUPPORTED_MEDIA_TYPE", code, re.Error)
		}
		baNothingChanged(t, env, before, "raw_origin_null", "raw_origin_foreign", "raw_evil_host", "raw_rebind_host", "raw_text_plain")

		// Allowed: the gateway's own origin (its /docs page), and the
		// form-smuggled body itself when sent as JSON (so the text/plain
		// form below carries a real create).
		code, re, ok := baRawPost(t, env, "", gw, "application/json", create("raw_own_origin"))
		if code != http.StatusCreated || ok[jobtype.PredictorBacktestExportJob.ArnField] == nil {
			t.Errorf("Origin of the gateway itself: HTTP %d %v %v, want 201", code, re.Error, ok)
		}
		smField, smValue := baSmuggled(predictor, "raw_smuggled_as_json")
		if code, re, _ = baRawPost(t, env, "", "", "application/json", smField+"="+smValue+"\r\n"); code != http.StatusCreated {
			t.Errorf("the text/plain form's body sent as JSON: HTTP %d %v, want 201", code, re.Error)
		}
		if d := env.Emu.CallCount(jobtype.PredictorBacktestExportJob.CreateOp()) - before[jobtype.PredictorBacktestExportJob.CreateOp()]; d != 2 {
			t.Errorf("%d upstream creates for the two allowed posts, want 2", d)
		}
		if names := baJobNames(t, env); !names["raw_own_origin"] || !names["raw_smuggled_as_json"] {
			t.Errorf("the allowed creates are not listed")
		}
	})

	// The Host rule is configurable: a second gateway allowing rebind.test.
	// It runs before the browser starts and nothing touches the first
	// gateway meanwhile, so its goroutine check sees only its own.
	t.Run("allowed hosts are configurable", func(t *testing.T) {
		env2 := testenv.Start(t, testenv.Options{Gateway: gateway.Config{Security: gateway.Security{AllowedHosts: []string{baRebindHost}}}})
		_, port2, _ := net.SplitHostPort(strings.TrimPrefix(env2.BaseURL, "http://"))
		host := baRebindHost + ":" + port2
		code, re, ok := baRawPost(t, env2, host, "http://"+host, "application/json", baCreate(env2.Emu.PredictorArns()[0], "allowed_rebind_host"))
		if code != http.StatusCreated || ok[jobtype.PredictorBacktestExportJob.ArnField] == nil {
			t.Errorf("Host %s with --allowed-hosts %s: HTTP %d %v, want 201", host, baRebindHost, code, re.Error)
		}
		code, re, _ = baRawPost(t, env2, "evil.example", "", "application/json", baCreate(env2.Emu.PredictorArns()[0], "still_evil"))
		if code != http.StatusMisdirectedRequest || baFirstReason(t, re) != "HOST_NOT_ALLOWED" {
			t.Errorf("Host evil.example with --allowed-hosts %s: HTTP %d %v, want 421 HOST_NOT_ALLOWED", baRebindHost, code, re.Error)
		}
		if n := env2.Emu.CallCount(jobtype.PredictorBacktestExportJob.CreateOp()); n != 1 {
			t.Errorf("%d upstream creates on the second gateway, want 1", n)
		}
	})

	// The attacker's web server: another port of 127.0.0.1 is another
	// origin. Its pages are all written before it starts.
	noFields := [][2]string{}
	smField, smValue := baSmuggled(predictor, "attack_form_text_plain")
	noCors := func(name, contentType, body string) map[string]any {
		return map[string]any{"name": name, "url": gw + baCollection,
			"init": map[string]any{"method": "POST", "mode": "no-cors", "headers": map[string]string{"Content-Type": contentType}, "body": body}}
	}
	cors := func(name, target, body string) map[string]any {
		return map[string]any{"name": name, "url": target + baCollection,
			"init": map[string]any{"method": "POST", "headers": map[string]string{"Content-Type": "application/json"}, "body": body}}
	}
	rebindGW := "http://" + baRebindHost + ":" + gwPort
	pages := baPages{
		"/simple": baFetchPage([]map[string]any{
			noCors("text/plain", "text/plain", create("attack_fetch_text_plain")),
			noCors("form-urlencoded", "application/x-www-form-urlencoded", create("attack_fetch_urlencoded")),
			// In no-cors mode the browser drops a non-simple
			// Content-Type and sends text/plain;charset=UTF-8.
			noCors("JSON type, dropped", "application/json", create("attack_fetch_json_dropped")),
		}),
		"/forms": baFormPage([]string{
			baForm(gw+baCollection, "text/plain", [][2]string{{smField, smValue}}),
			baForm(gw+baCollection, "", [][2]string{
				{"predictor_backtest_export_job_name", "attack_form_urlencoded"}, {"predictor_arn", predictor},
				{"destination.s3_config.path", "s3://bucket/x/"}, {"destination.s3_config.role_arn", baRole},
			}),
			baForm(stopURL, "", noFields),
		}),
		"/stop": `<!doctype html><title>attacker</title><body onload="document.forms[0].submit()">` + baForm(stopURL, "", noFields) + `</body>`,
		"/preflight": baFetchPage([]map[string]any{
			cors("JSON", gw, create("attack_fetch_json_preflight")),
		}),
		"/rebind": baFetchPage([]map[string]any{
			{"name": "text/plain", "url": rebindGW + baCollection,
				"init": map[string]any{"method": "POST", "mode": "no-cors", "headers": map[string]string{"Content-Type": "text/plain"}, "body": create("attack_rebind_text_plain")}},
			cors("JSON", rebindGW, create("attack_rebind_json")),
		}),
	}
	attacker := httptest.NewServer(pages)
	t.Cleanup(attacker.Close) // after the browser's Cleanup, before the stack's
	_, attackerPort, _ := net.SplitHostPort(strings.TrimPrefix(attacker.URL, "http://"))

	// The browser, as in docs_browser_test.go, with rebind.test mapped to
	// 127.0.0.1.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromePath),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium-profile")),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP "+baRebindHost+" 127.0.0.1"),
		chromedp.WindowSize(1280, 1024),
	)
	sessionCtx, cancelSession := context.WithTimeout(context.Background(), baSessionTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(sessionCtx, opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		cancelBrowser()
		cancelAlloc()
		cancelSession()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", chromePath, err)
	}
	netLog := newBANetLog(gwPort)
	if err := chromedp.Listen(browser, netLog.handle); err != nil {
		t.Fatal(err)
	}

	// answered fills in the reasons of the AIP-193 answers and logs what
	// the gateway answered to each request since mark.
	answered := func(t *testing.T, what string, mark int) []baRequest {
		t.Helper()
		reqs := netLog.since(mark)
		for i := range reqs {
			if reqs[i].status < 400 || !reqs[i].settled {
				continue
			}
			ctx, cancel := context.WithTimeout(browser, 3*time.Second)
			body, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: reqs[i].id})
			cancel()
			var re restError
			if err == nil && !body.Base64encoded && json.Unmarshal([]byte(body.Body), &re) == nil && len(re.Error.Details) > 0 {
				reqs[i].reason = baFirstReason(t, re)
			}
		}
		lines := make([]string, len(reqs))
		for i, r := range reqs {
			lines[i] = "  " + r.String()
		}
		t.Logf("%s: the browser's requests to the gateway:\n%s", what, strings.Join(lines, "\n"))
		return reqs
	}
	// isAPI: a request to an API route, not a CORS preflight.
	isAPI := func(r baRequest) bool {
		return r.method != http.MethodOptions && r.kind != network.ResourceTypePreflight && strings.Contains(r.url, "/v1/")
	}
	isPreflight := func(r baRequest) bool { return r.method == http.MethodOptions }
	// expect checks the answers to the API requests: at least n reached
	// the gateway, and each that did got status (and reason, when the
	// body could be read). One the browser did not send because its
	// preflight failed is fine, when the gateway answered that preflight.
	expect := func(t *testing.T, reqs []baRequest, n int, status int64, reason string) {
		t.Helper()
		got := 0
		preflights := 0
		for _, r := range reqs {
			if isPreflight(r) && r.status != 0 {
				preflights++
			}
		}
		for _, r := range reqs {
			if !isAPI(r) {
				continue
			}
			if r.status == 0 {
				if !strings.Contains(r.failure, "CORS") || preflights == 0 {
					t.Errorf("neither answered by the gateway nor stopped by a preflight it answered: %v", r)
				}
				continue
			}
			got++
			if r.status != status || (r.reason != "" && r.reason != reason) {
				t.Errorf("the gateway answered %v; want %d %s", r, status, reason)
			}
		}
		if got < n {
			t.Errorf("%d attack requests reached the gateway, want %d: the browser did not play the attack", got, n)
		}
	}

	t.Run("foreign page, simple fetches", func(t *testing.T) {
		before, mark := baCounts(env.Emu), netLog.mark()
		baDo(t, browser, "loading the attacker's page", chromedp.Navigate(attacker.URL+"/simple"))
		outcome := baEval[[]string](t, browser, "waiting for the attack's fetches", `window.__attack`)
		t.Logf("as the attacker's page saw it: %q", outcome)
		ctx, cancel := context.WithTimeout(browser, baStep)
		defer cancel()
		if err := netLog.waitSettled(ctx, mark, 3, isAPI); err != nil {
			t.Errorf("waiting for the requests: %v", err)
		}
		reqs := answered(t, "simple fetches", mark)
		expect(t, reqs, 3, http.StatusForbidden, "ORIGIN_NOT_ALLOWED")
		for _, r := range reqs {
			if r.origin != attacker.URL {
				t.Errorf("the browser sent Origin %q, want the attacker's %q: %v", r.origin, attacker.URL, r)
			}
		}
		baNothingChanged(t, env, before, "attack_fetch_text_plain", "attack_fetch_urlencoded", "attack_fetch_json_dropped")
	})

	t.Run("foreign page, auto-submitted forms", func(t *testing.T) {
		before, mark := baCounts(env.Emu), netLog.mark()
		baDo(t, browser, "loading the attacker's forms", chromedp.Navigate(attacker.URL+"/forms"))
		frames := baEval[[]string](t, browser, "waiting for the forms' answers to load", `window.__attack`)
		t.Logf("frames loaded: %q", frames)
		ctx, cancel := context.WithTimeout(browser, baStep)
		defer cancel()
		if err := netLog.waitSettled(ctx, mark, 3, isAPI); err != nil {
			t.Errorf("waiting for the requests: %v", err)
		}
		reqs := answered(t, "forms into hidden frames", mark)
		expect(t, reqs, 3, http.StatusForbidden, "ORIGIN_NOT_ALLOWED")

		// The field-less :stop form again, submitted at the top level.
		mark = netLog.mark()
		baDo(t, browser, "loading the attacker's :stop form", chromedp.Navigate(attacker.URL+"/stop"))
		isStop := func(r baRequest) bool { return isAPI(r) && strings.HasSuffix(r.url, ":stop") }
		if err := netLog.waitSettled(ctx, mark, 1, isStop); err != nil {
			t.Errorf("waiting for the :stop form's request: %v", err)
		}
		reqs = answered(t, "top-level :stop form", mark)
		expect(t, reqs, 1, http.StatusForbidden, "ORIGIN_NOT_ALLOWED")
		baNothingChanged(t, env, before, "attack_form_text_plain", "attack_form_urlencoded")
		if s := victimStatus(); s != "CREATE_IN_PROGRESS" {
			t.Errorf("the job the forms tried to stop is %s, want CREATE_IN_PROGRESS", s)
		}
	})

	t.Run("foreign page, JSON fetch needs a preflight", func(t *testing.T) {
		before, mark := baCounts(env.Emu), netLog.mark()
		baDo(t, browser, "loading the attacker's page", chromedp.Navigate(attacker.URL+"/preflight"))
		outcome := baEval[[]string](t, browser, "waiting for the attack's fetch", `window.__attack`)
		t.Logf("as the attacker's page saw it: %q", outcome)
		if len(outcome) != 1 || !strings.Contains(outcome[0], "rejected") {
			t.Errorf("the cross-origin JSON fetch was not rejected by the browser: %q", outcome)
		}
		ctx, cancel := context.WithTimeout(browser, baStep)
		defer cancel()
		if err := netLog.waitSettled(ctx, mark, 1, isAPI); err != nil {
			t.Errorf("waiting for the request: %v", err)
		}
		reqs := answered(t, "JSON fetch", mark)
		// The browser asked first (OPTIONS), the gateway granted no CORS,
		// so the POST was never sent; had it been, it must be refused.
		asked, posted := false, false
		for _, r := range reqs {
			switch {
			case isPreflight(r):
				asked = asked || r.status != 0
			case isAPI(r):
				posted = true
				if r.status != 0 && r.status != http.StatusForbidden {
					t.Errorf("the JSON POST reached the gateway and was not refused: %v", r)
				}
				if r.status == 0 && !strings.Contains(r.failure, "CORS") {
					t.Errorf("the JSON POST failed, but not for CORS: %v", r)
				}
			}
		}
		if !asked || !posted {
			t.Errorf("the browser's preflight did not reach the gateway (preflight answered: %t, POST attempted: %t): the attack was not played", asked, posted)
		}
		baNothingChanged(t, env, before, "attack_fetch_json_preflight")
	})

	t.Run("DNS rebinding", func(t *testing.T) {
		before, mark := baCounts(env.Emu), netLog.mark()
		// The gateway, reached under the rebound name, refuses the page.
		ctx, cancel := context.WithTimeout(browser, baStep)
		defer cancel()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(rebindGW+"/"))
		if err != nil {
			t.Fatalf("loading %s/: %v", rebindGW, err)
		}
		if resp.Status != http.StatusMisdirectedRequest {
			t.Errorf("%s/ answered %d, want 421", rebindGW, resp.Status)
		}
		page := baEval[map[string]string](t, browser, "reading the refused page", `({origin: location.origin, text: document.documentElement.innerText})`)
		if !strings.Contains(page["text"], "HOST_NOT_ALLOWED") {
			t.Errorf("the page of %s/ shows %q, want a HOST_NOT_ALLOWED error", rebindGW, page["text"])
		}
		if page["origin"] != rebindGW {
			t.Fatalf("the page's origin is %q, want %q", page["origin"], rebindGW)
		}

		// The attacker's script, running in a page of the gateway's
		// origin under the rebound name (as it would after the name
		// moved to 127.0.0.1): same-origin, so JSON needs no preflight
		// and the answers are readable. Only the Host check refuses.
		got := baEval[[]string](t, browser, "the rebound page's same-origin calls", `(async () => {
  const out = [];
  for (const [method, init] of [["POST", {method: "POST", headers: {"Content-Type": "application/json"}, body: `+baJS(create("attack_rebound_same_origin"))+`}],
                                ["GET", {}]]) {
    const r = await fetch(`+baJS(baCollection)+`, init);
    out.push(method + " " + r.status + " " + (await r.text()));
  }
  return out;
})()`)
		t.Logf("the rebound page read: %q", got)
		for _, s := range got {
			if !strings.Contains(s, " 421 ") || !strings.Contains(s, "HOST_NOT_ALLOWED") {
				t.Errorf("a same-origin call of the rebound page got %q, want 421 HOST_NOT_ALLOWED", s)
			}
		}

		// A page of the attacker's server under the rebound name.
		if _, err := chromedp.Run(ctx, chromedp.NavigateResponse("http://"+baRebindHost+":"+attackerPort+"/rebind")); err != nil {
			t.Fatalf("loading the attacker's rebinding page: %v", err)
		}
		outcome := baEval[[]string](t, browser, "waiting for the attack's fetches", `window.__attack`)
		t.Logf("as the attacker's page on %s saw it: %q", baRebindHost, outcome)
		if err := netLog.waitSettled(ctx, mark, 4, isAPI); err != nil {
			t.Errorf("waiting for the requests: %v", err)
		}
		reqs := answered(t, "DNS rebinding", mark)
		for _, r := range reqs {
			if r.status != 0 && r.status != http.StatusMisdirectedRequest {
				t.Errorf("under the rebound name the gateway answered %v, want 421", r)
			}
		}
		expect(t, reqs, 3, http.StatusMisdirectedRequest, "HOST_NOT_ALLOWED")
		baNothingChanged(t, env, before, "attack_rebound_same_origin", "attack_rebind_text_plain", "attack_rebind_json")
	})

	// Positive control: the gateway's own /docs page posts JSON and
	// creates the job, so the refusals above are the gateway's doing, not
	// a browser that cannot post.
	t.Run("positive control: the gateway's own page", func(t *testing.T) {
		before := baCounts(env.Emu)
		baDo(t, browser, "loading /docs/", chromedp.Navigate(gw+"/docs/"))
		got := baEval[[]string](t, browser, "posting from /docs/", `(async () => {
  const out = [];
  for (const [type, body] of [["application/json", `+baJS(create("docs_positive_control"))+`], ["text/plain", `+baJS(create("docs_text_plain"))+`]]) {
    const r = await fetch(`+baJS(baCollection)+`, {method: "POST", headers: {"Content-Type": type}, body});
    out.push(type + " " + r.status + " " + (await r.text()));
  }
  return out;
})()`)
		t.Logf("the /docs page read: %q", got)
		if len(got) != 2 || !strings.Contains(got[0], " 201 ") || !strings.Contains(got[0], "predictor-backtest-export-job/") {
			t.Errorf("a JSON create from the gateway's own page got %q, want 201", got)
		}
		if len(got) == 2 && (!strings.Contains(got[1], " 415 ") || !strings.Contains(got[1], "UNSUPPORTED_MEDIA_TYPE")) {
			t.Errorf("a text/plain create from the gateway's own page got %q, want 415 UNSUPPORTED_MEDIA_TYPE", got[1])
		}
		op := jobtype.PredictorBacktestExportJob.CreateOp()
		if d := env.Emu.CallCount(op) - before[op]; d != 1 {
			t.Errorf("%d upstream %s calls from the /docs page, want 1", d, op)
		}
		names := baJobNames(t, env)
		if !names["docs_positive_control"] {
			t.Errorf("the job the /docs page created is not listed")
		}
		if names["docs_text_plain"] {
			t.Errorf("the text/plain post from /docs created a job")
		}
	})
	t.Logf("browser attacks played in %v", time.Since(started).Round(time.Millisecond))
}
