package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"github.com/aws/smithy-go"
)

var addrRE = regexp.MustCompile(`msg="forecast emulator listening" addr=(\S+)`)

// waitAddr reads log lines until the listen address appears.
func waitAddr(t *testing.T, r io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case a := <-found:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("no listen address logged")
		return ""
	}
}

// sdk is a plain SDK client that makes one attempt per call, so injected
// faults show.
func sdk(addr string) *forecast.Client {
	return forecast.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String("http://" + addr),
	}, func(o *forecast.Options) { o.RetryMaxAttempts = 1 })
}

// sdkRetrying is sdk with the SDK's standard retries: under load, net/http
// may close a kept-alive connection while a response is read ("use of
// closed network connection"; see internal/upstream's
// bufferedBodyTransport), which the SDK retries. The errors the tests
// expect (AccessDenied) are not retryable, so they still show.
func sdkRetrying(addr string) *forecast.Client {
	return forecast.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String("http://" + addr),
	})
}

// TestRunWiresFlags runs the command in-process: flags reach the emulator
// (region, fixture sizes, faults) and it stops when the context ends.
func TestRunWiresFlags(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--region", "eu-west-1", "--predictors", "2", "--backtest-jobs-per-predictor", "3",
			"--explainabilities", "1", "--exports-per-explainability", "2", "--what-if-forecasts", "2", "--what-if-exports", "4",
			"--job-duration", "1h", "--pending-duration", "10m", "--stop-duration", "2m", "--delete-duration", "4m",
			"--fault", "op=ListForecastExportJobs,kind=throttle,count=1"}, pw)
		pw.Close()
	}()
	addr := waitAddr(t, pr)
	c := sdk(addr)
	out, err := c.ListPredictorBacktestExportJobs(context.Background(), &forecast.ListPredictorBacktestExportJobsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.PredictorBacktestExportJobs); n != 6 || out.NextToken != nil {
		t.Fatalf("%d jobs, want 6 and no NextToken", n)
	}
	if arn := *out.PredictorBacktestExportJobs[0].PredictorBacktestExportJobArn; arn[:29] != "arn:aws:forecast:eu-west-1:12" {
		t.Fatalf("region flag ignored: %s", arn)
	}
	_, err = c.ListForecastExportJobs(context.Background(), &forecast.ListForecastExportJobsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Fatalf("fault flag ignored: %v", err)
	}
	ex, err := c.ListExplainabilityExports(context.Background(), &forecast.ListExplainabilityExportsInput{})
	if err != nil || len(ex.ExplainabilityExports) != 2 {
		t.Fatalf("explainability flags: %v %v", err, ex)
	}
	wi, err := c.ListWhatIfForecastExports(context.Background(), &forecast.ListWhatIfForecastExportsInput{})
	if err != nil || len(wi.WhatIfForecastExports) != 4 {
		t.Fatalf("what-if flags: %v %v", err, wi)
	}
	// The lifecycle flags: 10m pending, then 50m in progress (of 1h).
	created, err := c.CreateDatasetImportJob(context.Background(), &forecast.CreateDatasetImportJobInput{
		DatasetImportJobName: aws.String("flagged"), DatasetArn: aws.String("arn:aws:forecast:eu-west-1:123456789012:dataset/retail_demand_dataset_01"),
		DataSource: &types.DataSource{S3Config: &types.S3Config{Path: aws.String("s3://b/in/"), RoleArn: aws.String("arn:aws:iam::123456789012:role/R")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	describe := func() *forecast.DescribeDatasetImportJobOutput {
		d, err := c.DescribeDatasetImportJob(context.Background(), &forecast.DescribeDatasetImportJobInput{DatasetImportJobArn: created.DatasetImportJobArn})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := describe(); aws.ToString(d.Status) != "CREATE_PENDING" || aws.ToInt64(d.EstimatedTimeRemainingInMinutes) != 60 {
		t.Fatalf("--job-duration: %s, %d minutes left", aws.ToString(d.Status), aws.ToInt64(d.EstimatedTimeRemainingInMinutes))
	}
	advance := func(d string) {
		resp, err := http.Post("http://"+addr+"/_emulator/clock?advance="+d, "", nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("control endpoint: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	advance("10m")
	if d := describe(); aws.ToString(d.Status) != "CREATE_IN_PROGRESS" || aws.ToInt64(d.EstimatedTimeRemainingInMinutes) != 50 {
		t.Fatalf("--pending-duration: %s, %d minutes left", aws.ToString(d.Status), aws.ToInt64(d.EstimatedTimeRemainingInMinutes))
	}
	if _, err := c.StopResource(context.Background(), &forecast.StopResourceInput{ResourceArn: created.DatasetImportJobArn}); err != nil {
		t.Fatal(err)
	}
	advance("2m")
	if d := describe(); aws.ToString(d.Status) != "CREATE_STOPPED" {
		t.Fatalf("--stop-duration: %s", aws.ToString(d.Status))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--fault", "kind=nope"},
		{"--log-level", "loud"},
		{"--job-duration", "soon"},
		{"--nope"},
		{"extra"},
		{"--credentials-file", "/nonexistent/credentials.json"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestRunCredentialsFile: --credentials-file makes the emulator accept only
// the listed keys, with verified signatures.
func TestRunCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "creds.json")
	if err := os.WriteFile(good, []byte(`[{"AccessKeyID":"AKID","SecretAccessKey":"SECRET","Deny":["ListDatasetImportJobs"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"AccessKeyID":"AKID"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"--credentials-file", bad}, io.Discard); err == nil {
		t.Fatal("an entry without a secret was accepted")
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--region", "eu-west-1", "--credentials-file", good}, pw)
		pw.Close()
	}()
	addr := waitAddr(t, pr)
	if _, err := sdkRetrying(addr).ListForecastExportJobs(context.Background(), &forecast.ListForecastExportJobsInput{}); err != nil {
		t.Fatal(err)
	}
	var ae smithy.APIError
	if _, err := sdkRetrying(addr).ListDatasetImportJobs(context.Background(), &forecast.ListDatasetImportJobsInput{}); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("Deny ignored: %v", err)
	}
	other := forecast.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "WRONG", ""),
		BaseEndpoint: aws.String("http://" + addr),
	}, func(o *forecast.Options) { o.RetryMaxAttempts = 1 })
	if _, err := other.ListForecastExportJobs(context.Background(), &forecast.ListForecastExportJobsInput{}); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("signature not verified: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

// TestBinary builds the real binary, starts it on port 0, finds the port
// in its log, calls it with the SDK and stops it with SIGINT.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "forecast-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--region", "eu-west-1", "--datasets", "1", "--import-jobs-per-dataset", "2")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := waitAddr(t, stderr)
	out, err := sdkRetrying(addr).ListDatasetImportJobs(context.Background(), &forecast.ListDatasetImportJobsInput{})
	if err != nil || len(out.DatasetImportJobs) != 2 {
		t.Fatalf("%v %v", err, out)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful exit on SIGINT")
	}
}
