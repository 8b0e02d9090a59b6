package server

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Predictor backtest export jobs: what is specific to them.

var backtestJobs = jobtype.PredictorBacktestExportJob

type predictorBacktestExportJobAPI interface {
	CreatePredictorBacktestExportJob(ctx context.Context, in *forecast.CreatePredictorBacktestExportJobInput, optFns ...func(*forecast.Options)) (*forecast.CreatePredictorBacktestExportJobOutput, error)
	DescribePredictorBacktestExportJob(ctx context.Context, in *forecast.DescribePredictorBacktestExportJobInput, optFns ...func(*forecast.Options)) (*forecast.DescribePredictorBacktestExportJobOutput, error)
	ListPredictorBacktestExportJobs(ctx context.Context, in *forecast.ListPredictorBacktestExportJobsInput, optFns ...func(*forecast.Options)) (*forecast.ListPredictorBacktestExportJobsOutput, error)
	DeletePredictorBacktestExportJob(ctx context.Context, in *forecast.DeletePredictorBacktestExportJobInput, optFns ...func(*forecast.Options)) (*forecast.DeletePredictorBacktestExportJobOutput, error)
}

// CreatePredictorBacktestExportJob implements AWS CreatePredictorBacktestExportJob.
func (s *ForecastJobServer) CreatePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.CreatePredictorBacktestExportJobRequest) (*gatewayv1.CreatePredictorBacktestExportJobResponse, error) {
	arn, err := create(ctx, s, backtestJobs, s.validateBacktestCreate(r), func(ctx context.Context, tags []types.Tag) (*string, error) {
		out, err := s.api.CreatePredictorBacktestExportJob(ctx, &forecast.CreatePredictorBacktestExportJobInput{
			PredictorBacktestExportJobName: aws.String(r.GetPredictorBacktestExportJobName()),
			PredictorArn:                   aws.String(r.GetPredictorArn()),
			Destination:                    destinationToAWS(r.GetDestination()),
			Format:                         exportFormatToAWSPtr(r.GetFormat()),
			Tags:                           tags,
		})
		if err != nil {
			return nil, err
		}
		return out.PredictorBacktestExportJobArn, nil
	})
	return done(&gatewayv1.CreatePredictorBacktestExportJobResponse{PredictorBacktestExportJobArn: arn}, err)
}

func (s *ForecastJobServer) validateBacktestCreate(r *gatewayv1.CreatePredictorBacktestExportJobRequest) *violations {
	v := s.newViolations()
	v.exportJob(backtestJobs, r.GetPredictorBacktestExportJobName(), r.GetPredictorArn(), r.GetDestination(), r.GetFormat(), r.GetTags())
	return v
}

// DescribePredictorBacktestExportJob implements AWS DescribePredictorBacktestExportJob.
func (s *ForecastJobServer) DescribePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.DescribePredictorBacktestExportJobRequest) (*gatewayv1.DescribePredictorBacktestExportJobResponse, error) {
	return describe(ctx, s, backtestJobs, r.GetPredictorBacktestExportJobArn(), func(ctx context.Context, arn *string) (*forecast.DescribePredictorBacktestExportJobOutput, error) {
		return s.api.DescribePredictorBacktestExportJob(ctx, &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: arn})
	}, s.conv.backtestJob)
}

func (c converter) backtestJob(o *forecast.DescribePredictorBacktestExportJobOutput) *gatewayv1.DescribePredictorBacktestExportJobResponse {
	st, rawSt := c.status(o.Status)
	f, rawF := c.exportFormat(o.Format)
	return &gatewayv1.DescribePredictorBacktestExportJobResponse{
		PredictorBacktestExportJobArn:  aws.ToString(o.PredictorBacktestExportJobArn),
		PredictorBacktestExportJobName: aws.ToString(o.PredictorBacktestExportJobName),
		PredictorArn:                   aws.ToString(o.PredictorArn),
		Destination:                    destinationFromAWS(o.Destination),
		Format:                         f,
		AwsFormat:                      rawF,
		Status:                         st,
		AwsStatus:                      rawSt,
		Message:                        aws.ToString(o.Message),
		CreationTime:                   timestamp(o.CreationTime),
		LastModificationTime:           timestamp(o.LastModificationTime),
	}
}

// ListPredictorBacktestExportJobs implements AWS ListPredictorBacktestExportJobs.
func (s *ForecastJobServer) ListPredictorBacktestExportJobs(ctx context.Context, r *gatewayv1.ListPredictorBacktestExportJobsRequest) (*gatewayv1.ListPredictorBacktestExportJobsResponse, error) {
	items, next, err := list(ctx, s, backtestJobs, r, fetcher(func(ctx context.Context, in listInput) ([]types.PredictorBacktestExportJobSummary, *string, error) {
		out, err := s.api.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{Filters: in.Filters, MaxResults: in.MaxResults, NextToken: in.NextToken})
		if err != nil {
			return nil, nil, err
		}
		return out.PredictorBacktestExportJobs, out.NextToken, nil
	}), s.conv.backtestSummary)
	return done(&gatewayv1.ListPredictorBacktestExportJobsResponse{PredictorBacktestExportJobs: items, NextPageToken: next}, err)
}

func (c converter) backtestSummary(j types.PredictorBacktestExportJobSummary) *gatewayv1.PredictorBacktestExportJobSummary {
	st, raw := c.status(j.Status)
	return &gatewayv1.PredictorBacktestExportJobSummary{
		PredictorBacktestExportJobArn:  aws.ToString(j.PredictorBacktestExportJobArn),
		PredictorBacktestExportJobName: aws.ToString(j.PredictorBacktestExportJobName),
		Destination:                    destinationFromAWS(j.Destination),
		Status:                         st,
		AwsStatus:                      raw,
		Message:                        aws.ToString(j.Message),
		CreationTime:                   timestamp(j.CreationTime),
		LastModificationTime:           timestamp(j.LastModificationTime),
	}
}

// DeletePredictorBacktestExportJob implements AWS DeletePredictorBacktestExportJob.
func (s *ForecastJobServer) DeletePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.DeletePredictorBacktestExportJobRequest) (*gatewayv1.DeletePredictorBacktestExportJobResponse, error) {
	return done(&gatewayv1.DeletePredictorBacktestExportJobResponse{}, remove(ctx, s, backtestJobs, r.GetPredictorBacktestExportJobArn(), func(ctx context.Context, arn *string) error {
		_, err := s.api.DeletePredictorBacktestExportJob(ctx, &forecast.DeletePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: arn})
		return err
	}))
}

// StopPredictorBacktestExportJob implements AWS StopResource for this type.
func (s *ForecastJobServer) StopPredictorBacktestExportJob(ctx context.Context, r *gatewayv1.StopPredictorBacktestExportJobRequest) (*gatewayv1.StopPredictorBacktestExportJobResponse, error) {
	return done(&gatewayv1.StopPredictorBacktestExportJobResponse{}, s.stop(ctx, backtestJobs, r.GetPredictorBacktestExportJobArn()))
}
