package e2e_test

// Helpers of the reliability tests (issue 6). They are prefixed rel so they
// never collide with the functional tests' helpers in the same package.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func relCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// relDetails splits a status' details into ErrorInfo, BadRequest, RetryInfo.
func relDetails(st *status.Status) (*errdetails.ErrorInfo, *errdetails.BadRequest, *errdetails.RetryInfo) {
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	var ri *errdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		case *errdetails.RetryInfo:
			ri = d
		}
	}
	return info, br, ri
}

// relWantInvalid asserts INVALID_ARGUMENT with a BadRequest that has at
// least one field violation (and the named one when field != "").
func relWantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v (%q), want InvalidArgument", st.Code(), st.Message())
	}
	info, br, _ := relDetails(st)
	if info.GetDomain() != "forecast-gateway" {
		t.Errorf("ErrorInfo domain = %q, want forecast-gateway", info.GetDomain())
	}
	if len(br.GetFieldViolations()) == 0 {
		t.Fatalf("no field violation in %q", st.Message())
	}
	if field == "" {
		return
	}
	for _, v := range br.GetFieldViolations() {
		if v.GetField() == field {
			return
		}
	}
	t.Errorf("no violation for field %q in %v", field, br.GetFieldViolations())
}

// relREST is one decoded REST answer.
type relREST struct {
	Code   int
	Header http.Header
	Raw    []byte
	Err    relAIP193
}

type relAIP193 struct {
	Error struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Status  string            `json:"status"`
		Details []json.RawMessage `json:"details"`
	} `json:"error"`
}

type relDetail struct {
	Type            string            `json:"@type"`
	Reason          string            `json:"reason"`
	Domain          string            `json:"domain"`
	Metadata        map[string]string `json:"metadata"`
	RetryDelay      string            `json:"retryDelay"`
	FieldViolations []struct {
		Field       string `json:"field"`
		Description string `json:"description"`
	} `json:"fieldViolations"`
}

func (e relAIP193) details() []relDetail {
	out := make([]relDetail, 0, len(e.Error.Details))
	for _, raw := range e.Error.Details {
		var d relDetail
		if json.Unmarshal(raw, &d) == nil {
			out = append(out, d)
		}
	}
	return out
}

func (e relAIP193) fields() []string {
	var fs []string
	for _, d := range e.details() {
		for _, v := range d.FieldViolations {
			fs = append(fs, v.Field)
		}
	}
	return fs
}

func (e relAIP193) reason() string {
	for _, d := range e.details() {
		if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") {
			return d.Reason
		}
	}
	return ""
}

// relDo sends one REST request; a non-2xx body must be AIP-193 JSON whose
// error.code is the HTTP status.
func relDo(t *testing.T, c *http.Client, ctx context.Context, method, url, contentType string, body []byte) relREST {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	out := relREST{Code: resp.StatusCode, Header: resp.Header, Raw: raw}
	if resp.StatusCode/100 != 2 {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: error Content-Type %q, want application/json", method, url, ct)
		}
		if err := json.Unmarshal(raw, &out.Err); err != nil {
			t.Fatalf("%s %s: %d body is not AIP-193 JSON: %v: %s", method, url, resp.StatusCode, err, raw)
		}
		if out.Err.Error.Code != resp.StatusCode || out.Err.Error.Status == "" {
			t.Errorf("%s %s: AIP-193 code %d status %q for HTTP %d", method, url, out.Err.Error.Code, out.Err.Error.Status, resp.StatusCode)
		}
	}
	return out
}

// relValidCreate is a Create the emulator accepts.
func relValidCreate(env *testenv.Env, name string) *gatewayv1.CreatePredictorBacktestExportJobRequest {
	return &gatewayv1.CreatePredictorBacktestExportJobRequest{
		PredictorBacktestExportJobName: name,
		PredictorArn:                   env.Emu.PredictorArns()[0],
		Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{
			Path:    "s3://bucket/exports/" + name,
			RoleArn: fmt.Sprintf("arn:aws:iam::%s:role/ForecastExport", env.Emu.Options().Account),
		}},
		Format: gatewayv1.ExportFormat_EXPORT_FORMAT_CSV,
	}
}

// relValidCreateJSON is the same Create as a REST body.
func relValidCreateJSON(env *testenv.Env, name string) []byte {
	b, _ := json.Marshal(map[string]any{
		"predictor_backtest_export_job_name": name,
		"predictor_arn":                      env.Emu.PredictorArns()[0],
		"destination": map[string]any{"s3_config": map[string]any{
			"path":     "s3://bucket/exports/" + name,
			"role_arn": fmt.Sprintf("arn:aws:iam::%s:role/ForecastExport", env.Emu.Options().Account),
		}},
	})
	return b
}

// relJobArn is an ARN of a fixture backtest export job.
func relJobArn(env *testenv.Env) string {
	return env.Emu.Jobs(jobtype.PredictorBacktestExportJob)[0].Arn
}

// relUpstreamCalls is the emulator's count of every operation.
func relUpstreamCalls(env *testenv.Env) int64 { return env.Emu.CallCount("") }

// relGauge tracks how many calls are in a region at once, and the peak.
type relGauge struct{ cur, peak atomic.Int64 }

func (g *relGauge) enter() {
	n := g.cur.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (g *relGauge) leave() { g.cur.Add(-1) }
