package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// benchListOutput is an AWS List page of n jobs shaped like the emulator's.
func benchListOutput(n int) []types.PredictorBacktestExportJobSummary {
	t0 := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	out := make([]types.PredictorBacktestExportJobSummary, n)
	for i := range out {
		ct, mt := t0.Add(-time.Duration(i)*time.Minute), t0.Add(-time.Duration(i)*time.Second)
		out[i] = types.PredictorBacktestExportJobSummary{
			PredictorBacktestExportJobArn:  aws.String(fmt.Sprintf("arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/pred_%02d/job_%04d", i%25, i)),
			PredictorBacktestExportJobName: aws.String(fmt.Sprintf("job_%04d", i)),
			Destination: &types.DataDestination{S3Config: &types.S3Config{
				Path:    aws.String(fmt.Sprintf("s3://bench-bucket/backtests/job_%04d/", i)),
				RoleArn: aws.String("arn:aws:iam::123456789012:role/ForecastS3Access"),
			}},
			Status:               aws.String("ACTIVE"),
			CreationTime:         &ct,
			LastModificationTime: &mt,
		}
	}
	return out
}

// BenchmarkConvertListPage100 is the service's translation of one 100-item
// AWS List page into the proto response (the loop of
// ListPredictorBacktestExportJobs).
func BenchmarkConvertListPage100(b *testing.B) {
	items := benchListOutput(100)
	c := converter{unknown: func(string, string) {}}
	b.ReportAllocs()
	for b.Loop() {
		resp := &gatewayv1.ListPredictorBacktestExportJobsResponse{
			PredictorBacktestExportJobs: make([]*gatewayv1.PredictorBacktestExportJobSummary, len(items)),
		}
		for i, it := range items {
			resp.PredictorBacktestExportJobs[i] = c.backtestSummary(it)
		}
	}
}

// BenchmarkMarshalListPage100 is the gRPC wire encoding of that response,
// for scale next to the translation.
func BenchmarkMarshalListPage100(b *testing.B) {
	items := benchListOutput(100)
	c := converter{}
	resp := &gatewayv1.ListPredictorBacktestExportJobsResponse{NextPageToken: "t"}
	for _, it := range items {
		resp.PredictorBacktestExportJobs = append(resp.PredictorBacktestExportJobs, c.backtestSummary(it))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvertDescribe is the translation of one Describe answer.
func BenchmarkConvertDescribe(b *testing.B) {
	it := benchListOutput(1)[0]
	out := &forecast.DescribePredictorBacktestExportJobOutput{
		PredictorBacktestExportJobArn:  it.PredictorBacktestExportJobArn,
		PredictorBacktestExportJobName: it.PredictorBacktestExportJobName,
		PredictorArn:                   aws.String("arn:aws:forecast:us-east-1:123456789012:predictor/pred_00"),
		Destination:                    it.Destination,
		Format:                         aws.String("PARQUET"),
		Status:                         it.Status,
		CreationTime:                   it.CreationTime,
		LastModificationTime:           it.LastModificationTime,
	}
	c := converter{unknown: func(string, string) {}}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.describeResponse(out)
	}
}

// BenchmarkValidateDescribe is the request check before every Describe.
func BenchmarkValidateDescribe(b *testing.B) {
	r := &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/pred_00/job_0000"}
	b.ReportAllocs()
	for b.Loop() {
		if vs := validateDescribe(r); vs != nil {
			b.Fatal(vs)
		}
	}
}
