// Package e2e_test drives the real gateway over loopback TCP: the generated
// gRPC client, net/http for REST, and the AWS SDK straight at the emulator
// as the source of truth.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantGRPCError checks code, ErrorInfo reason and (when fields are given)
// that a BadRequest names each field; it returns the status for more checks.
func wantGRPCError(t *testing.T, err error, code codes.Code, reason string, fields ...string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v error, got success", code)
	}
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("code = %v, want %v (message %q)", st.Code(), code, st.Message())
	}
	info, br, _ := relDetails(st)
	if info == nil || info.GetDomain() != "forecast-gateway" {
		t.Fatalf("no ErrorInfo with domain forecast-gateway in %v", st.Details())
	}
	if reason != "" && info.GetReason() != reason {
		t.Errorf("ErrorInfo.reason = %q, want %q", info.GetReason(), reason)
	}
	for _, f := range fields {
		found := false
		for _, v := range br.GetFieldViolations() {
			if v.GetField() == f {
				found = true
			}
		}
		if !found {
			t.Errorf("no field violation for %q in %v (message %q)", f, br.GetFieldViolations(), st.Message())
		}
	}
	return st
}

// restError is the AIP-193 body.
type restError struct {
	Error struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Status  string            `json:"status"`
		Details []json.RawMessage `json:"details"`
	} `json:"error"`
}

type detail struct {
	Type            string            `json:"@type"`
	Reason          string            `json:"reason"`
	Domain          string            `json:"domain"`
	Metadata        map[string]string `json:"metadata"`
	FieldViolations []struct {
		Field       string `json:"field"`
		Description string `json:"description"`
	} `json:"fieldViolations"`
	RetryDelay string `json:"retryDelay"`
}

func (e restError) details(t *testing.T) []detail {
	t.Helper()
	out := make([]detail, len(e.Error.Details))
	for i, raw := range e.Error.Details {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			t.Fatalf("detail %d: %v", i, err)
		}
	}
	return out
}

func (e restError) violationFields(t *testing.T) []string {
	var fs []string
	for _, d := range e.details(t) {
		for _, v := range d.FieldViolations {
			fs = append(fs, v.Field)
		}
	}
	return fs
}

func (e restError) reason(t *testing.T) string {
	for _, d := range e.details(t) {
		if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") {
			return d.Reason
		}
	}
	return ""
}

// doREST sends a request and decodes a 2xx body into out or a non-2xx body
// into the returned restError. It returns the HTTP status and headers.
func doREST(t *testing.T, c *http.Client, method, u string, body string, out any) (int, http.Header, restError) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var re restError
	if resp.StatusCode/100 == 2 {
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("decoding %s: %v", raw, err)
			}
		}
	} else {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("error Content-Type = %q, want application/json", ct)
		}
		if err := json.Unmarshal(raw, &re); err != nil {
			t.Fatalf("error body is not AIP-193 JSON: %v: %s", err, raw)
		}
		if re.Error.Code != resp.StatusCode {
			t.Errorf("error.code = %d, HTTP status %d", re.Error.Code, resp.StatusCode)
		}
	}
	return resp.StatusCode, resp.Header, re
}

func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// eventually polls cond every 10ms until it holds, or fails the test after
// d naming what it waited for.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jsonLog collects a JSON slog handler's lines, safe for the gateway's
// goroutines to write while the test reads.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *jsonLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logger writes to l at every level.
func (l *jsonLog) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *jsonLog) lines() []string { return strings.Split(strings.TrimSpace(l.String()), "\n") }

// records are the lines decoded as JSON objects.
func (l *jsonLog) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range l.lines() {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

// entries are the decoded lines whose msg is msg.
func (l *jsonLog) entries(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range l.lines() {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
