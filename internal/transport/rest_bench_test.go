package transport

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/apierr"
)

func benchListResponse(n int) *gatewayv1.ListPredictorBacktestExportJobsResponse {
	t0 := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	resp := &gatewayv1.ListPredictorBacktestExportJobsResponse{NextPageToken: "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz"}
	for i := range n {
		resp.PredictorBacktestExportJobs = append(resp.PredictorBacktestExportJobs, &gatewayv1.PredictorBacktestExportJobSummary{
			PredictorBacktestExportJobArn:  fmt.Sprintf("arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/pred_%02d/job_%04d", i%25, i),
			PredictorBacktestExportJobName: fmt.Sprintf("job_%04d", i),
			Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{
				Path: fmt.Sprintf("s3://bench-bucket/backtests/job_%04d/", i), RoleArn: "arn:aws:iam::123456789012:role/ForecastS3Access",
			}},
			Status:               gatewayv1.JobStatus_JOB_STATUS_ACTIVE,
			AwsStatus:            "ACTIVE",
			CreationTime:         timestamppb.New(t0.Add(-time.Duration(i) * time.Minute)),
			LastModificationTime: timestamppb.New(t0.Add(-time.Duration(i) * time.Second)),
		})
	}
	return resp
}

// BenchmarkRESTMarshalListPage100 is the REST surface's JSON encoding of
// one 100-job page (grpc-gateway's JSONPb with the gateway's options).
func BenchmarkRESTMarshalListPage100(b *testing.B) {
	resp := benchListResponse(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := restMarshaler.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRESTErrorRendering is one AIP-193 error body (a validation error
// with ErrorInfo and BadRequest details), as restErrorHandler writes it.
func BenchmarkRESTErrorRendering(b *testing.B) {
	st := apierr.InvalidArgumentStatus(apierr.ReasonInvalidArgument, apierr.FieldViolation{Field: "page_size", Description: "must not be negative, got -1 (rule: range)"})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		writeStatus(w, st, 0)
	}
}

// BenchmarkRESTMarshalListPage100Protojson is the same page through plain
// protojson (what restJSON falls back to), for a side-by-side figure.
func BenchmarkRESTMarshalListPage100Protojson(b *testing.B) {
	resp := benchListResponse(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := restMarshaler.JSONPb.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}
