package server

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/forecast"
)

// ForecastAPI is the seam to AWS: exactly the operations the gateway fronts,
// with the aws-sdk-go-v2 signatures, so *forecast.Client satisfies it and
// tests can hand in anything that speaks these calls. Each job type's file
// declares the part it uses.
type ForecastAPI interface {
	datasetImportJobAPI
	forecastExportJobAPI
	predictorBacktestExportJobAPI
	explainabilityExportAPI
	whatIfForecastExportAPI
	tagsAPI
	StopResource(ctx context.Context, in *forecast.StopResourceInput, optFns ...func(*forecast.Options)) (*forecast.StopResourceOutput, error)
}

var _ ForecastAPI = (*forecast.Client)(nil)
