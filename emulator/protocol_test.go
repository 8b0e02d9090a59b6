package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/emulator"
)

// Raw HTTP tests of the wire protocol, below the SDK.

type rawReq struct {
	method, path, contentType, target string
	body                              string
}

func do(t *testing.T, srv *emulator.Server, r rawReq) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), r.method, srv.URL()+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.target != "" {
		req.Header.Set("X-Amz-Target", r.target)
	}
	sign(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %q", b)
	}
	return resp, m
}

// sign adds a well-formed SigV4 Authorization header for now (the
// emulator checks its shape, scope and time, not the signature value).
func sign(h http.Header) {
	date := time.Now().UTC().Format(amzDate)
	h.Set("X-Amz-Date", date)
	h.Set("Authorization", authHeader(date[:8]+"/us-east-1/forecast/aws4_request"))
}

func TestRawProtocol(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	const ct = "application/x-amz-json-1.1"
	list := "AmazonForecast.ListPredictorBacktestExportJobs"
	tests := []struct {
		name    string
		req     rawReq
		status  int
		errType string // "" = success
		bodyKey string // a member the body must carry
	}{
		{"ok", rawReq{"POST", "/", ct, list, `{"MaxResults":2}`}, 200, "", "NextToken"},
		{"ok with charset", rawReq{"POST", "/", ct + "; charset=utf-8", list, `{}`}, 200, "", "PredictorBacktestExportJobs"},
		{"empty body is {}", rawReq{"POST", "/", ct, list, ``}, 200, "", "PredictorBacktestExportJobs"},
		{"unknown members ignored", rawReq{"POST", "/", ct, list, `{"Bogus":1}`}, 200, "", "PredictorBacktestExportJobs"},
		{"unknown target", rawReq{"POST", "/", ct, "AmazonForecast.CreateForecast", `{}`}, 400, "UnknownOperationException", "message"},
		{"null body member", rawReq{"POST", "/", ct, "AmazonForecast.ListTagsForResource", `{"ResourceArn":null}`}, 400, "InvalidInputException", "Message"},
		{"wrong nested type", rawReq{"POST", "/", ct, "AmazonForecast.CreateForecastExportJob", `{"Destination":{"S3Config":"x"}}`}, 400, "SerializationException", "message"},
		{"wrong list type", rawReq{"POST", "/", ct, "AmazonForecast.CreateWhatIfForecastExport", `{"WhatIfForecastArns":"x"}`}, 400, "SerializationException", "message"},
		{"wrong bool type", rawReq{"POST", "/", ct, "AmazonForecast.CreateDatasetImportJob", `{"UseGeolocationForTimeZone":"yes"}`}, 400, "SerializationException", "message"},
		{"delete of unknown job", rawReq{"POST", "/", ct, "AmazonForecast.DeleteForecastExportJob", `{"ForecastExportJobArn":"arn:aws:forecast:us-east-1:123456789012:forecast-export-job/a/b"}`}, 400, "ResourceNotFoundException", "Message"},
		{"other service prefix", rawReq{"POST", "/", ct, "AmazonSQS.ListPredictorBacktestExportJobs", `{}`}, 400, "UnknownOperationException", "message"},
		{"missing target", rawReq{"POST", "/", ct, "", `{}`}, 400, "UnknownOperationException", "message"},
		{"malformed json", rawReq{"POST", "/", ct, list, `{"MaxResults":`}, 400, "SerializationException", "message"},
		{"json array", rawReq{"POST", "/", ct, list, `[]`}, 400, "SerializationException", "message"},
		{"wrong member type", rawReq{"POST", "/", ct, list, `{"MaxResults":"ten"}`}, 400, "SerializationException", "message"},
		{"fractional int", rawReq{"POST", "/", ct, list, `{"MaxResults":1.5}`}, 400, "SerializationException", "message"},
		{"wrong content type", rawReq{"POST", "/", "application/json", list, `{}`}, 400, "SerializationException", "message"},
		{"no content type", rawReq{"POST", "/", "", list, `{}`}, 400, "SerializationException", "message"},
		{"GET", rawReq{"GET", "/", ct, list, ``}, 404, "UnknownOperationException", "message"},
		{"wrong path", rawReq{"POST", "/v1/jobs", ct, list, `{}`}, 404, "UnknownOperationException", "message"},
		{"too large", rawReq{"POST", "/", ct, list, `{"NextToken":"` + strings.Repeat("x", 1<<20) + `"}`}, 413, "SerializationException", "message"},
		{"modelled error", rawReq{"POST", "/", ct, "AmazonForecast.DescribePredictorBacktestExportJob", `{"PredictorBacktestExportJobArn":"x"}`}, 400, "InvalidInputException", "Message"},
	}
	ids := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, srv, tc.req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tc.status, body)
			}
			id := resp.Header.Get("x-amzn-RequestId")
			if len(id) != 36 || ids[id] {
				t.Fatalf("x-amzn-RequestId %q missing, malformed or reused", id)
			}
			ids[id] = true
			if got := resp.Header.Get("Content-Type"); got != ct {
				t.Fatalf("Content-Type %q", got)
			}
			if _, ok := body[tc.bodyKey]; !ok {
				t.Fatalf("body lacks %q: %v", tc.bodyKey, body)
			}
			if tc.errType == "" {
				return
			}
			if h := resp.Header.Get("X-Amzn-Errortype"); h != tc.errType {
				t.Fatalf("X-Amzn-Errortype %q, want %q", h, tc.errType)
			}
			typ, _ := body["__type"].(string)
			if !strings.HasSuffix(typ, "#"+tc.errType) {
				t.Fatalf("__type %q, want namespace#%s", typ, tc.errType)
			}
		})
	}
	if n := srv.CallCount(""); n != 17 {
		t.Fatalf("CallCount = %d: only requests for a known operation count", n)
	}
	// Timestamps are epoch seconds (JSON numbers).
	_, body := do(t, srv, rawReq{"POST", "/", ct, list, `{"MaxResults":1}`})
	jobs := body["PredictorBacktestExportJobs"].([]any)
	if _, ok := jobs[0].(map[string]any)["CreationTime"].(float64); !ok {
		t.Fatalf("CreationTime is not a number: %v", jobs[0])
	}
}
