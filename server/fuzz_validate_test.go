package server_test

// Fuzzing of request validation against the emulator as the model of
// AWS's input rules. The service is called directly (no transport) with an
// SDK client whose HTTP transport runs the emulator's handler in memory, so
// each input costs microseconds. Properties, whatever the input:
//   - no panic, and never INTERNAL / UNKNOWN / UNAVAILABLE;
//   - INVALID_ARGUMENT from the gateway carries a BadRequest with at least
//     one field violation and made no upstream call;
//   - what the gateway lets through, AWS's rules accept too: the upstream
//     never answers InvalidInputException (reason AWS_INVALID_INPUT), except
//     for the one rule the gateway cannot know (a role in another account);
//   - a list costs at most ceil(page_size/100) upstream calls.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/server"
)

// inMemory runs an http.Handler for each request, without a socket.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

type fuzzStack struct {
	emu *emulator.Server
	svc *server.ForecastJobServer
}

func newFuzzStack(tb testing.TB) *fuzzStack {
	emu := emulator.New(emulator.Options{Predictors: 2, BacktestJobsPerPredictor: 120, Forecasts: 1, ExportJobsPerForecast: 150, Datasets: 1, ImportJobsPerDataset: 30})
	client := forecast.New(forecast.Options{
		Region:           emu.Options().Region,
		BaseEndpoint:     aws.String("http://emulator.invalid"),
		Credentials:      credentials.NewStaticCredentialsProvider("EMULATOR", "EMULATOR", ""),
		HTTPClient:       &http.Client{Transport: inMemory{emu.Handler()}},
		RetryMaxAttempts: 1,
	})
	kr, err := pagetoken.RandomKeyring()
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := server.NewForecastJobServer(server.Options{
		Forecast: client,
		Tokens:   pagetoken.NewCodec(kr, pagetoken.Options{}),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzStack{emu: emu, svc: svc}
}

// check applies the common properties to the outcome of one call that
// made `calls` upstream calls.
func (s *fuzzStack) check(t *testing.T, err error, calls int64, roleArn string) {
	t.Helper()
	if err == nil {
		return
	}
	st := status.Convert(err)
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		}
	}
	switch st.Code() {
	case codes.Internal, codes.Unknown, codes.Unavailable, codes.DataLoss:
		t.Fatalf("server-side failure for a client input: %v", err)
	case codes.InvalidArgument:
		switch info.GetReason() {
		case server.ReasonInvalidArgument, server.ReasonInvalidPageToken:
			if len(br.GetFieldViolations()) == 0 {
				t.Fatalf("INVALID_ARGUMENT without field violations: %v", err)
			}
			if calls != 0 {
				t.Fatalf("%d upstream calls before rejecting the input: %v", calls, err)
			}
		case server.ReasonAWSInvalidInput:
			acct := s.emu.Options().Account
			if strings.Contains(st.Message(), "across accounts") && !strings.Contains(roleArn, ":"+acct+":") {
				return // AWS's cross-account rule: the gateway cannot know the account
			}
			t.Fatalf("the gateway let through an input AWS rejects: %v", err)
		default:
			t.Fatalf("INVALID_ARGUMENT with reason %q: %v", info.GetReason(), err)
		}
	}
	if info.GetDomain() != server.ErrorDomain {
		t.Fatalf("error without ErrorInfo of domain %s: %v", server.ErrorDomain, err)
	}
}

// FuzzCreateValidation: every field of a Create.
func FuzzCreateValidation(f *testing.F) {
	s := newFuzzStack(f)
	pred := s.emu.PredictorArns()[0]
	role := "arn:aws:iam::123456789012:role/ForecastExport"
	f.Add("job_1", pred, "s3://bucket/prefix", role, "", int32(1), "team", "forecast", uint8(1))
	f.Add("", "", "", "", "", int32(0), "", "", uint8(0))
	f.Add("1bad", "arn:aws:forecast:us-east-1:123456789012:dataset/d", "s3:/x", "arn:aws:iam::1:user/u", "key", int32(9), "aws:x", strings.Repeat("v", 300), uint8(60))
	f.Add("job_2", "arn:aws:forecast:::predictor", "s3://b", "arn:aws:iam::999999999999:role/Other", "arn:aws:kms:us-east-1:123456789012:key/k", int32(-1), "k", "", uint8(51))
	f.Add(strings.Repeat("n", 64), pred+"/x", "s3://bucket/"+strings.Repeat("p", 5000), role, "arn:aws:kms:::key/", int32(2), "dup", "v", uint8(2))
	f.Add("job_3", pred, "S3://Bucket/Upper", role, "", int32(2), "k k", "v;v", uint8(3))
	f.Fuzz(func(t *testing.T, name, predictorArn, path, roleArn, kms string, format int32, tagKey, tagValue string, nTags uint8) {
		r := &gatewayv1.CreatePredictorBacktestExportJobRequest{
			PredictorBacktestExportJobName: name,
			PredictorArn:                   predictorArn,
			Format:                         gatewayv1.ExportFormat(format),
		}
		if path != "" || roleArn != "" || kms != "" {
			r.Destination = &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{Path: path, RoleArn: roleArn, KmsKeyArn: kms}}
		}
		for i := range int(nTags) % 64 {
			k := tagKey
			if nTags%2 == 0 { // even counts get distinct keys, odd ones duplicates
				k = fmt.Sprintf("%s%d", tagKey, i)
			}
			r.Tags = append(r.Tags, &gatewayv1.Tag{Key: k, Value: tagValue})
		}
		before := s.emu.CallCount("")
		_, err := s.svc.CreatePredictorBacktestExportJob(context.Background(), r)
		s.check(t, err, s.emu.CallCount("")-before, roleArn)
	})
}

// FuzzListValidation: page_size, page_token and filter on each list.
func FuzzListValidation(f *testing.F) {
	s := newFuzzStack(f)
	pred := s.emu.PredictorArns()[0]
	for op := range uint8(3) {
		f.Add(op, int32(0), "", "")
		f.Add(op, int32(250), "", `status = "ACTIVE"`)
		f.Add(op, int32(-1), "garbage", `status = "NOPE"`)
		f.Add(op, int32(1<<30), "", `predictor_arn = "`+pred+`" AND status != CREATE_FAILED`)
		f.Add(op, int32(7), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", `status = "ACTIVE" OR status = "X"`)
		f.Add(op, int32(1), "", `forecast_arn = "arn:aws:forecast:us-east-1:123456789012:forecast/f" AND dataset_arn != d`)
		f.Add(op, int32(101), "", `status = "\"\\"`)
	}
	f.Fuzz(func(t *testing.T, op uint8, pageSize int32, token, filter string) {
		ctx := context.Background()
		before := s.emu.CallCount("")
		var err error
		var next string
		switch op % 3 {
		case 0:
			var r *gatewayv1.ListPredictorBacktestExportJobsResponse
			r, err = s.svc.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: pageSize, PageToken: token, Filter: filter})
			next = r.GetNextPageToken()
		case 1:
			var r *gatewayv1.ListForecastExportJobsResponse
			r, err = s.svc.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: pageSize, PageToken: token, Filter: filter})
			next = r.GetNextPageToken()
		default:
			var r *gatewayv1.ListDatasetImportJobsResponse
			r, err = s.svc.ListDatasetImportJobs(ctx, &gatewayv1.ListDatasetImportJobsRequest{PageSize: pageSize, PageToken: token, Filter: filter})
			next = r.GetNextPageToken()
		}
		calls := s.emu.CallCount("") - before
		s.check(t, err, calls, "")
		size := int64(pageSize)
		switch {
		case size <= 0:
			size = server.DefaultPageSize
		case size > server.MaxPageSize:
			size = server.MaxPageSize
		}
		if budget := (size + 99) / 100; calls > budget {
			t.Fatalf("page_size %d cost %d upstream calls, budget %d", pageSize, calls, budget)
		}
		if err == nil && next == token && token != "" {
			t.Fatalf("the listing does not advance: next_page_token equals page_token")
		}
	})
}

// FuzzDescribeValidation: the ARN of a Describe.
func FuzzDescribeValidation(f *testing.F) {
	s := newFuzzStack(f)
	f.Add(s.emu.Jobs(emulator.BacktestExportJob)[0].Arn)
	f.Add(s.emu.PredictorArns()[0])
	for _, a := range []string{"", "arn", "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/", "arn:aws:forecast:::predictor-backtest-export-job/x/y", strings.Repeat("a", 257), "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j\x00"} {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		before := s.emu.CallCount("")
		_, err := s.svc.DescribePredictorBacktestExportJob(context.Background(), &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
		s.check(t, err, s.emu.CallCount("")-before, "")
	})
}
