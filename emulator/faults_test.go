package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"github.com/aws/smithy-go"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func listExports(t *testing.T, c *forecast.Client) error {
	_, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{MaxResults: aws.Int32(1)})
	return err
}

func TestThrottleRetriedBySDK(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	srv.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultThrottle, Count: 2})
	if err := listExports(t, client(srv)); err != nil {
		t.Fatalf("SDK did not ride out 2 throttles: %v", err)
	}
	if n := srv.CallCount(emulator.OpListForecastExportJobs); n != 3 {
		t.Fatalf("CallCount = %d, want 3", n)
	}
	// Without retries the typed throttle surfaces.
	srv.InjectFault("", emulator.Fault{Kind: emulator.FaultThrottle, Count: 1})
	err := listExports(t, client(srv, maxAttempts(1)))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Fatalf("got %v, want ThrottlingException", err)
	}
}

func TestServerErrorSeenBySDK(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	tests := []struct {
		status int
		code   string
	}{
		{0, "InternalFailure"}, // default 500
		{500, "InternalFailure"},
		{502, "InternalFailure"},
		{503, "ServiceUnavailable"},
	}
	for _, tc := range tests {
		srv.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultServerError, StatusCode: tc.status, Count: 1})
		err := listExports(t, client(srv, maxAttempts(1)))
		var re *awshttp.ResponseError
		var ae smithy.APIError
		want := tc.status
		if want == 0 {
			want = 500
		}
		if !errors.As(err, &re) || re.HTTPStatusCode() != want || !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
			t.Fatalf("status %d: got %v", tc.status, err)
		}
	}
	// With retries the SDK recovers from transient 5xx.
	srv.ResetCallCounts()
	srv.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultServerError, StatusCode: 503, Count: 2})
	if err := listExports(t, client(srv)); err != nil {
		t.Fatal(err)
	}
	if n := srv.CallCount(emulator.OpListForecastExportJobs); n != 3 {
		t.Fatalf("CallCount = %d, want 3", n)
	}
}

func TestConnResetSeenBySDK(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	srv.InjectFault(emulator.OpListDatasetImportJobs, emulator.Fault{Kind: emulator.FaultConnReset, Count: 1})
	_, err := client(srv, maxAttempts(1)).ListDatasetImportJobs(ctx(t), &forecast.ListDatasetImportJobsInput{})
	var ae smithy.APIError
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("got %v, want a transport error", err)
	}
	if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("unexpected transport error: %v", err)
	}
	// The SDK retries a reset connection.
	srv.InjectFault(emulator.OpListDatasetImportJobs, emulator.Fault{Kind: emulator.FaultConnReset, Count: 1})
	srv.ResetCallCounts()
	if _, err := client(srv).ListDatasetImportJobs(ctx(t), &forecast.ListDatasetImportJobsInput{}); err != nil {
		t.Fatal(err)
	}
	if n := srv.CallCount(emulator.OpListDatasetImportJobs); n != 2 {
		t.Fatalf("CallCount = %d, want 2", n)
	}
}

func TestLatencyAndCancel(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv, maxAttempts(1))
	srv.InjectFault(emulator.OpListPredictorBacktestExportJobs, emulator.Fault{Kind: emulator.FaultLatency, Latency: 30 * time.Millisecond, Count: 1})
	began := time.Now()
	if _, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 30*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	if n := srv.CanceledCount(""); n != 0 {
		t.Fatalf("CanceledCount = %d before any cancel", n)
	}

	srv.InjectFault("", emulator.Fault{Kind: emulator.FaultLatency, Latency: time.Minute})
	cctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began = time.Now()
	_, err := c.ListPredictorBacktestExportJobs(cctx, &forecast.ListPredictorBacktestExportJobsInput{})
	if err == nil {
		t.Fatal("call under a minute of latency succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.CanceledCount(emulator.OpListPredictorBacktestExportJobs) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("CanceledCount = %d, want 1", srv.CanceledCount(emulator.OpListPredictorBacktestExportJobs))
		}
		time.Sleep(2 * time.Millisecond)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("cancel not honoured promptly: %v", d)
	}
	srv.ClearFaults()
	// A fresh client: the cancelled call's keep-alive connection may be
	// the one net/http hands out next, already closed (with a single
	// attempt allowed, that would fail the call for a reason unrelated to
	// the faults).
	if _, err := client(srv, maxAttempts(1)).ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{}); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
	if n := srv.CanceledCount(""); n != 1 {
		t.Fatalf("CanceledCount total = %d", n)
	}
}

func TestCallCounters(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv, maxAttempts(1))
	_, _ = c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{})
	_, _ = c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{})
	_, _ = c.ListDatasetImportJobs(ctx(t), &forecast.ListDatasetImportJobsInput{MaxResults: aws.Int32(500)}) // invalid: still counted
	srv.InjectFault(emulator.OpDescribePredictorBacktestExportJob, emulator.Fault{Kind: emulator.FaultThrottle, Count: 1})
	_, _ = c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(srv.Jobs(jobtype.PredictorBacktestExportJob)[0].Arn)})
	// Refused by the SigV4 check: never reaches an operation, not counted.
	_, _ = client(srv, maxAttempts(1), func(o *forecast.Options) { o.Region = "eu-west-1" }).ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{})
	want := map[string]int64{
		emulator.OpListForecastExportJobs:             2,
		emulator.OpListDatasetImportJobs:              1,
		emulator.OpDescribePredictorBacktestExportJob: 1,
		emulator.OpListPredictorBacktestExportJobs:    0,
		emulator.OpCreatePredictorBacktestExportJob:   0,
		"": 4,
	}
	for op, n := range want {
		if got := srv.CallCount(op); got != n {
			t.Fatalf("CallCount(%q) = %d, want %d", op, got, n)
		}
	}
	srv.ResetCallCounts()
	if n := srv.CallCount(""); n != 0 {
		t.Fatalf("after reset: %d", n)
	}
}

// TestFaultRate checks rate faults are seeded (reproducible) and roughly
// at the requested rate, through the embeddable Handler.
func TestFaultRate(t *testing.T) {
	run := func(seed int64) []int {
		srv := emulator.New(emulator.Options{FaultSeed: seed, Predictors: 1, Forecasts: -1, Datasets: -1, Explainabilities: -1, WhatIfForecasts: -1})
		srv.InjectFault(emulator.OpListPredictorBacktestExportJobs, emulator.Fault{Kind: emulator.FaultThrottle, Rate: 0.3})
		srv.InjectFault(emulator.OpListPredictorBacktestExportJobs, emulator.Fault{Kind: emulator.FaultServerError, Rate: 0.5, Count: 10})
		var codes []int
		for i := 0; i < 400; i++ {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AmazonForecast.ListPredictorBacktestExportJobs")
			sign(req.Header)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			codes = append(codes, rec.Code)
		}
		return codes
	}
	a, b, c := run(1), run(1), run(2)
	count := map[int]int{}
	differs := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different faults at call %d", i)
		}
		differs = differs || a[i] != c[i]
		count[a[i]]++
	}
	if !differs {
		t.Fatal("fault seed has no effect")
	}
	if count[500] != 10 {
		t.Fatalf("500s = %d, want exactly Count=10", count[500])
	}
	if n := count[400]; n < 80 || n > 160 {
		t.Fatalf("throttles = %d of 400 at rate 0.3", n)
	}
}

func TestParseFault(t *testing.T) {
	tests := []struct {
		spec string
		op   string
		f    emulator.Fault
		err  bool
	}{
		{"op=ListForecastExportJobs,kind=throttle,rate=0.1", "ListForecastExportJobs", emulator.Fault{Kind: emulator.FaultThrottle, Rate: 0.1}, false},
		{"kind=latency,latency=250ms,count=3", "", emulator.Fault{Kind: emulator.FaultLatency, Latency: 250 * time.Millisecond, Count: 3}, false},
		{"op=*,kind=error,status=503", "", emulator.Fault{Kind: emulator.FaultServerError, StatusCode: 503}, false},
		{"op=ListDatasetImportJobs,kind=reset,count=1", "ListDatasetImportJobs", emulator.Fault{Kind: emulator.FaultConnReset, Count: 1}, false},
		{"kind=boom", "", emulator.Fault{}, true},
		{"op=Nope,kind=throttle", "", emulator.Fault{}, true},
		{"kind=throttle,rate=2", "", emulator.Fault{}, true},
		{"kind=error,status=404", "", emulator.Fault{}, true},
		{"rate=0.1", "", emulator.Fault{}, true},
		{"kind", "", emulator.Fault{}, true},
	}
	for _, tc := range tests {
		op, f, err := emulator.ParseFault(tc.spec)
		if (err != nil) != tc.err || (!tc.err && (op != tc.op || f != tc.f)) {
			t.Errorf("ParseFault(%q) = %q %+v %v", tc.spec, op, f, err)
		}
	}
}

// TestRestartKeepsState simulates the upstream going down and coming back
// on the same address.
func TestRestartKeepsState(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv, maxAttempts(1))
	out, err := c.CreatePredictorBacktestExportJob(ctx(t), &forecast.CreatePredictorBacktestExportJobInput{
		PredictorArn: aws.String(srv.PredictorArns()[0]), PredictorBacktestExportJobName: aws.String("survives"),
		Destination: &types.DataDestination{S3Config: &types.S3Config{Path: aws.String("s3://b/x/"), RoleArn: aws.String(roleArn)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: out.PredictorBacktestExportJobArn}); err == nil {
		t.Fatal("call to a closed emulator succeeded")
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	if srv.URL() != url {
		t.Fatalf("restarted on %s, was %s", srv.URL(), url)
	}
	if err := srv.Start(""); err == nil {
		t.Fatal("second Start while running succeeded")
	}
	if _, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: out.PredictorBacktestExportJobArn}); err != nil {
		t.Fatalf("state lost across restart: %v", err)
	}
	if n := srv.CallCount(emulator.OpDescribePredictorBacktestExportJob); n != 1 {
		t.Fatalf("CallCount = %d", n)
	}
}

// TestHandlerEmbedding serves the emulator from httptest.Server.
func TestHandlerEmbedding(t *testing.T) {
	srv := emulator.New(emulator.Options{})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c := forecast.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("EMULATOR", "EMULATOR", "")})
	_, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{
		PredictorBacktestExportJobArn: aws.String(srv.Jobs(jobtype.PredictorBacktestExportJob)[0].Arn)})
	if err != nil {
		t.Fatal(err)
	}
	var rnf *types.ResourceNotFoundException
	_, err = c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{
		PredictorBacktestExportJobArn: aws.String("arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/a/b")})
	if !errors.As(err, &rnf) {
		t.Fatal(err)
	}
}
