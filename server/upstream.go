package server

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/forecast"
)

// ForecastAPI is the seam to AWS: exactly the operations the gateway fronts,
// with the aws-sdk-go-v2 signatures, so *forecast.Client satisfies it and
// tests can hand in anything that speaks these five calls.
type ForecastAPI interface {
	ListPredictorBacktestExportJobs(ctx context.Context, in *forecast.ListPredictorBacktestExportJobsInput, optFns ...func(*forecast.Options)) (*forecast.ListPredictorBacktestExportJobsOutput, error)
	CreatePredictorBacktestExportJob(ctx context.Context, in *forecast.CreatePredictorBacktestExportJobInput, optFns ...func(*forecast.Options)) (*forecast.CreatePredictorBacktestExportJobOutput, error)
	DescribePredictorBacktestExportJob(ctx context.Context, in *forecast.DescribePredictorBacktestExportJobInput, optFns ...func(*forecast.Options)) (*forecast.DescribePredictorBacktestExportJobOutput, error)
	ListForecastExportJobs(ctx context.Context, in *forecast.ListForecastExportJobsInput, optFns ...func(*forecast.Options)) (*forecast.ListForecastExportJobsOutput, error)
	ListDatasetImportJobs(ctx context.Context, in *forecast.ListDatasetImportJobsInput, optFns ...func(*forecast.Options)) (*forecast.ListDatasetImportJobsOutput, error)
}

var _ ForecastAPI = (*forecast.Client)(nil)
