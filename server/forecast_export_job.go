package server

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Forecast export jobs: what is specific to them.

var forecastExportJobs = jobtype.ForecastExportJob

type forecastExportJobAPI interface {
	CreateForecastExportJob(ctx context.Context, in *forecast.CreateForecastExportJobInput, optFns ...func(*forecast.Options)) (*forecast.CreateForecastExportJobOutput, error)
	DescribeForecastExportJob(ctx context.Context, in *forecast.DescribeForecastExportJobInput, optFns ...func(*forecast.Options)) (*forecast.DescribeForecastExportJobOutput, error)
	ListForecastExportJobs(ctx context.Context, in *forecast.ListForecastExportJobsInput, optFns ...func(*forecast.Options)) (*forecast.ListForecastExportJobsOutput, error)
	DeleteForecastExportJob(ctx context.Context, in *forecast.DeleteForecastExportJobInput, optFns ...func(*forecast.Options)) (*forecast.DeleteForecastExportJobOutput, error)
}

// CreateForecastExportJob implements AWS CreateForecastExportJob.
func (s *ForecastJobServer) CreateForecastExportJob(ctx context.Context, r *gatewayv1.CreateForecastExportJobRequest) (*gatewayv1.CreateForecastExportJobResponse, error) {
	arn, err := create(ctx, s, forecastExportJobs, s.validateForecastExportCreate(r), func(ctx context.Context, tags []types.Tag) (*string, error) {
		out, err := s.api.CreateForecastExportJob(ctx, &forecast.CreateForecastExportJobInput{
			ForecastExportJobName: aws.String(r.GetForecastExportJobName()),
			ForecastArn:           aws.String(r.GetForecastArn()),
			Destination:           destinationToAWS(r.GetDestination()),
			Format:                exportFormatToAWSPtr(r.GetFormat()),
			Tags:                  tags,
		})
		if err != nil {
			return nil, err
		}
		return out.ForecastExportJobArn, nil
	})
	return done(&gatewayv1.CreateForecastExportJobResponse{ForecastExportJobArn: arn}, err)
}

func (s *ForecastJobServer) validateForecastExportCreate(r *gatewayv1.CreateForecastExportJobRequest) *violations {
	v := s.newViolations()
	v.exportJob(forecastExportJobs, r.GetForecastExportJobName(), r.GetForecastArn(), r.GetDestination(), r.GetFormat(), r.GetTags())
	return v
}

// DescribeForecastExportJob implements AWS DescribeForecastExportJob.
func (s *ForecastJobServer) DescribeForecastExportJob(ctx context.Context, r *gatewayv1.DescribeForecastExportJobRequest) (*gatewayv1.DescribeForecastExportJobResponse, error) {
	return describe(ctx, s, forecastExportJobs, r.GetForecastExportJobArn(), func(ctx context.Context, arn *string) (*forecast.DescribeForecastExportJobOutput, error) {
		return s.api.DescribeForecastExportJob(ctx, &forecast.DescribeForecastExportJobInput{ForecastExportJobArn: arn})
	}, s.conv.forecastExportJob)
}

func (c converter) forecastExportJob(o *forecast.DescribeForecastExportJobOutput) *gatewayv1.DescribeForecastExportJobResponse {
	st, rawSt := c.status(o.Status)
	f, rawF := c.exportFormat(o.Format)
	return &gatewayv1.DescribeForecastExportJobResponse{
		ForecastExportJobArn:  aws.ToString(o.ForecastExportJobArn),
		ForecastExportJobName: aws.ToString(o.ForecastExportJobName),
		ForecastArn:           aws.ToString(o.ForecastArn),
		Destination:           destinationFromAWS(o.Destination),
		Format:                f,
		AwsFormat:             rawF,
		Status:                st,
		AwsStatus:             rawSt,
		Message:               aws.ToString(o.Message),
		CreationTime:          timestamp(o.CreationTime),
		LastModificationTime:  timestamp(o.LastModificationTime),
	}
}

// ListForecastExportJobs implements AWS ListForecastExportJobs.
func (s *ForecastJobServer) ListForecastExportJobs(ctx context.Context, r *gatewayv1.ListForecastExportJobsRequest) (*gatewayv1.ListForecastExportJobsResponse, error) {
	items, next, err := list(ctx, s, forecastExportJobs, r, fetcher(func(ctx context.Context, in listInput) ([]types.ForecastExportJobSummary, *string, error) {
		out, err := s.api.ListForecastExportJobs(ctx, &forecast.ListForecastExportJobsInput{Filters: in.Filters, MaxResults: in.MaxResults, NextToken: in.NextToken})
		if err != nil {
			return nil, nil, err
		}
		return out.ForecastExportJobs, out.NextToken, nil
	}), s.conv.forecastExportSummary)
	return done(&gatewayv1.ListForecastExportJobsResponse{ForecastExportJobs: items, NextPageToken: next}, err)
}

func (c converter) forecastExportSummary(j types.ForecastExportJobSummary) *gatewayv1.ForecastExportJobSummary {
	st, raw := c.status(j.Status)
	return &gatewayv1.ForecastExportJobSummary{
		ForecastExportJobArn:  aws.ToString(j.ForecastExportJobArn),
		ForecastExportJobName: aws.ToString(j.ForecastExportJobName),
		Destination:           destinationFromAWS(j.Destination),
		Status:                st,
		AwsStatus:             raw,
		Message:               aws.ToString(j.Message),
		CreationTime:          timestamp(j.CreationTime),
		LastModificationTime:  timestamp(j.LastModificationTime),
	}
}

// DeleteForecastExportJob implements AWS DeleteForecastExportJob.
func (s *ForecastJobServer) DeleteForecastExportJob(ctx context.Context, r *gatewayv1.DeleteForecastExportJobRequest) (*gatewayv1.DeleteForecastExportJobResponse, error) {
	return done(&gatewayv1.DeleteForecastExportJobResponse{}, remove(ctx, s, forecastExportJobs, r.GetForecastExportJobArn(), func(ctx context.Context, arn *string) error {
		_, err := s.api.DeleteForecastExportJob(ctx, &forecast.DeleteForecastExportJobInput{ForecastExportJobArn: arn})
		return err
	}))
}

// StopForecastExportJob implements AWS StopResource for this type.
func (s *ForecastJobServer) StopForecastExportJob(ctx context.Context, r *gatewayv1.StopForecastExportJobRequest) (*gatewayv1.StopForecastExportJobResponse, error) {
	return done(&gatewayv1.StopForecastExportJobResponse{}, s.stop(ctx, forecastExportJobs, r.GetForecastExportJobArn()))
}
