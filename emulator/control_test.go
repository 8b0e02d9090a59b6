package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func control(t *testing.T, method, url string) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("control answer is not JSON: %q %v", b, err)
	}
	return resp.StatusCode, m
}

// TestControlClock drives the clock over HTTP from a loopback client (no
// signature needed) and sees jobs move.
func TestControlClock(t *testing.T) {
	srv, clk := start(t, lifecycleOpts(emulator.Options{}))
	c := client(srv)
	a := apis[jobtype.ForecastExportJob]
	arn, err := a.create(ctx(t), c, defaultArgs(srv, jobtype.ForecastExportJob, "via_control"))
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL() + "/_emulator/clock"
	srv.InjectFault("", emulator.Fault{Kind: emulator.FaultServerError}) // operations only
	defer srv.ClearFaults()
	code, body := control(t, http.MethodGet, url)
	if code != 200 || body["now"] != t0.Format(time.RFC3339Nano) {
		t.Fatalf("GET: %d %v", code, body)
	}
	code, body = control(t, http.MethodPost, url+"?advance=6m")
	if want := t0.Add(6 * time.Minute); code != 200 || body["now"] != want.Format(time.RFC3339Nano) || !clk.Now().Equal(want) {
		t.Fatalf("POST: %d %v", code, body)
	}
	srv.ClearFaults()
	if d, err := a.describe(ctx(t), c, arn); err != nil || d.status != "ACTIVE" {
		t.Fatalf("after advancing: %v %s", err, d.status)
	}
	for _, tc := range []struct {
		method, path string
		code         int
		msg          string
	}{
		{http.MethodPost, "/_emulator/clock", 400, "advance must be a Go duration"},
		{http.MethodPost, "/_emulator/clock?advance=soon", 400, "advance must be a Go duration"},
		{http.MethodPost, "/_emulator/clock?advance=-1h", 400, "backwards"},
		{http.MethodDelete, "/_emulator/clock", 405, "GET and POST"},
		{http.MethodGet, "/_emulator/nope", 404, "unknown control endpoint"},
	} {
		code, body := control(t, tc.method, srv.URL()+tc.path)
		if code != tc.code || !strings.Contains(body["error"], tc.msg) {
			t.Fatalf("%s %s: %d %v", tc.method, tc.path, code, body)
		}
	}
	if !clk.Now().Equal(t0.Add(6 * time.Minute)) {
		t.Fatal("a refused request moved the clock")
	}
	if n := srv.CallCount(""); n != 2 {
		t.Fatalf("control requests counted as operations: CallCount %d", n)
	}
}

// TestControlDefaultClock: with the default (wall) clock the endpoint
// moves the emulator's offset.
func TestControlDefaultClock(t *testing.T) {
	srv := emulator.New(small(emulator.Options{}))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, body := control(t, http.MethodPost, srv.URL()+"/_emulator/clock?advance=72h")
	now, err := time.Parse(time.RFC3339Nano, body["now"])
	if code != 200 || err != nil || now.Sub(time.Now()) < 71*time.Hour || srv.Now().Sub(time.Now()) < 71*time.Hour {
		t.Fatalf("%d %v %v", code, body, err)
	}
}

// TestControlLoopbackOnly: a non-loopback peer gets 403 and the clock
// stays put.
func TestControlLoopbackOnly(t *testing.T) {
	clk := emulator.NewFakeClock(t0)
	srv := emulator.New(small(emulator.Options{Clock: clk}))
	for _, tc := range []struct {
		remote string
		code   int
	}{{"10.0.0.1:1234", 403}, {"[2001:db8::1]:443", 403}, {"127.0.0.1:5555", 200}, {"[::1]:5555", 200}} {
		req := httptest.NewRequest(http.MethodPost, "/_emulator/clock?advance=1m", nil)
		req.RemoteAddr = tc.remote
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		var m map[string]string
		if rec.Code != tc.code || json.Unmarshal(rec.Body.Bytes(), &m) != nil || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", tc.remote, rec.Code, rec.Body)
		}
		if tc.code == 403 && !strings.Contains(m["error"], "loopback") {
			t.Fatalf("%s: %v", tc.remote, m)
		}
	}
	if want := t0.Add(2 * time.Minute); !clk.Now().Equal(want) {
		t.Fatalf("clock %v, want %v (only the loopback requests count)", clk.Now(), want)
	}
}
