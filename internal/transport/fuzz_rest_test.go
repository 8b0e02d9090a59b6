package transport_test

// Fuzzing of the REST surface through the real handler chain over loopback
// TCP: net/http server, limits, grpc-gateway decoding, the in-memory gRPC
// hop, validation, and the emulator as upstream. One stack per fuzz target
// (per fuzzing worker). Properties, whatever the input: never a 5xx (a
// recovered panic would be a 500), and every non-2xx answer is AIP-193 JSON
// whose error.code is the HTTP status; every 400 names at least one field
// violation.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
)

func fuzzEnv(f *testing.F) *testenv.Env {
	// Fuzzing workers run many inputs; the leak check at the end of a
	// long run is not what is being tested here.
	env := testenv.Start(f, testenv.Options{SkipLeakCheck: true})
	env.HTTP.Timeout = 20 * time.Second
	return env
}

// checkREST sends req and checks the properties above.
func checkREST(t *testing.T, env *testenv.Env, req *http.Request) {
	t.Helper()
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %q: HTTP %d: %s", req.Method, req.URL.String(), resp.StatusCode, raw)
	}
	if resp.StatusCode/100 == 2 {
		if !json.Valid(raw) {
			t.Fatalf("2xx body is not JSON: %q", raw)
		}
		return
	}
	var body struct {
		Error struct {
			Code    int               `json:"code"`
			Message string            `json:"message"`
			Status  string            `json:"status"`
			Details []json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("HTTP %d with Content-Type %q: %q", resp.StatusCode, ct, raw)
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code != resp.StatusCode || body.Error.Status == "" || body.Error.Message == "" {
		t.Fatalf("HTTP %d body is not AIP-193 (%v): %q", resp.StatusCode, err, raw)
	}
	// The gateway's own 400s name the field; AWS's InvalidInputException
	// (rules only AWS can check, e.g. a role in another account) does not.
	if resp.StatusCode == http.StatusBadRequest && !bytes.Contains(raw, []byte(`"fieldViolations"`)) && !bytes.Contains(raw, []byte(`"AWS_INVALID_INPUT"`)) {
		t.Fatalf("400 without a field violation: %s", raw)
	}
}

var fuzzListPaths = []string{"/v1/predictor-backtest-export-jobs", "/v1/forecast-export-jobs", "/v1/dataset-import-jobs"}

// FuzzRESTListQuery: arbitrary query strings on the three list routes.
func FuzzRESTListQuery(f *testing.F) {
	for _, q := range []string{
		"", "page_size=5", "page_size=-1", "page_size=1001", "page_size=2147483648", "page_size=abc", "page_size=1e3",
		"page_token=", "page_token=AAAA", "page_token=%00%ff", "filter=status%20%3D%20%22ACTIVE%22",
		"filter=status%3DACTIVE%20AND%20status!%3DCREATE_FAILED", "filter=%22", "filter=status%20%3D%20%22%C3%28%22",
		"filter=predictor_arn%20%3D%20arn%3Aaws%3Aforecast%3Aus-east-1%3A123456789012%3Apredictor%2Fretail_demand_predictor_01",
		"page_size=5&page_size=6", "unknown=1", "filter.x=1", "page_size[]=1", "%zz", "&&&=", "page_size=%2B5",
	} {
		for i := range fuzzListPaths {
			f.Add(uint8(i), q)
		}
	}
	env := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, which uint8, rawQuery string) {
		// Only what can be put on an HTTP request line; anything else is
		// net/http's business, not the gateway's.
		if strings.ContainsAny(rawQuery, " #\x7f") || strings.IndexFunc(rawQuery, func(r rune) bool { return r < 0x20 || r >= 0x80 }) >= 0 {
			return
		}
		u := env.BaseURL + fuzzListPaths[int(which)%len(fuzzListPaths)]
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = rawQuery
		checkREST(t, env, req)
	})
}

// FuzzRESTCreateBody: arbitrary bodies for POST /v1/predictor-backtest-export-jobs.
func FuzzRESTCreateBody(f *testing.F) {
	valid := `{"predictor_backtest_export_job_name":"fuzz_seed","predictor_arn":"arn:aws:forecast:us-east-1:123456789012:predictor/retail_demand_predictor_01",` +
		`"destination":{"s3_config":{"path":"s3://bucket/x","role_arn":"arn:aws:iam::123456789012:role/R"}},"format":"EXPORT_FORMAT_PARQUET","tags":[{"key":"k","value":"v"}]}`
	for _, b := range []string{
		valid, "", "{}", "[]", "null", "1", `"x"`, "{", `{"predictor_backtest_export_job_name":5}`,
		`{"unknown":1}`, `{"format":"EXPORT_FORMAT_XML"}`, `{"format":9}`, `{"format":4294967296}`, `{"format":-1}`,
		`{"tags":{"k":"v"}}`, `{"tags":[null]}`, `{"destination":null}`, `{"destination":{"s3_config":"s3://x"}}`,
		`{"predictor_backtest_export_job_name":"\ud800"}`, "{\"predictor_backtest_export_job_name\":\"\xff\"}",
		`{"predictor_arn":"arn:aws:forecast:us-east-1:123456789012:dataset/d"}`,
		strings.Replace(valid, "fuzz_seed", "AWS_reserved", 1), strings.Replace(valid, `"k"`, `"aws:k"`, 1),
		strings.Replace(valid, "123456789012:role", "999999999999:role", 1),
		`{"predictor_backtest_export_job_name":"a","predictor_backtest_export_job_name":"b"}`,
		`{"predictorBacktestExportJobName":"camel"}`,
	} {
		f.Add([]byte(b))
	}
	env := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest(http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		checkREST(t, env, req)
	})
}

// FuzzRESTDescribeArn: arbitrary ARN path segments, percent-encoded as one
// segment and, when they are a valid path, raw.
func FuzzRESTDescribeArn(f *testing.F) {
	for _, s := range []string{
		"arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/retail_demand_predictor_01/backtest_export_001",
		"arn:aws:forecast:us-east-1:123456789012:predictor/retail_demand_predictor_01", "", "/", "//", "..", "../..", "%", "%2F",
		"arn:aws:forecast:::predictor-backtest-export-job/", "arn", "\x00", "\xff", "a/b/c/d/e/f/g", strings.Repeat("x", 300),
		"arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j?x=1", "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j#f",
	} {
		f.Add(s)
	}
	env := fuzzEnv(f)
	base := env.BaseURL + "/v1/predictor-backtest-export-jobs/"
	f.Fuzz(func(t *testing.T, arn string) {
		req, err := http.NewRequest(http.MethodGet, base+url.PathEscape(arn), nil)
		if err != nil {
			t.Fatal(err)
		}
		checkREST(t, env, req)
		if utf8.ValidString(arn) && !strings.ContainsAny(arn, "?#% \x7f") && strings.IndexFunc(arn, func(r rune) bool { return r < 0x20 || r >= 0x80 }) < 0 {
			raw, err := http.NewRequest(http.MethodGet, base+arn, nil)
			if err != nil {
				return // not a URL; nothing the gateway sees
			}
			// Go's client would clean ".." segments; send them as typed.
			if strings.Contains(arn, "..") || strings.Contains(arn, "//") {
				return
			}
			checkREST(t, env, raw)
		}
	})
}
