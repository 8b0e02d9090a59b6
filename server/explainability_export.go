package server

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Explainability exports: what is specific to them.

var explainabilityExports = jobtype.ExplainabilityExport

type explainabilityExportAPI interface {
	CreateExplainabilityExport(ctx context.Context, in *forecast.CreateExplainabilityExportInput, optFns ...func(*forecast.Options)) (*forecast.CreateExplainabilityExportOutput, error)
	DescribeExplainabilityExport(ctx context.Context, in *forecast.DescribeExplainabilityExportInput, optFns ...func(*forecast.Options)) (*forecast.DescribeExplainabilityExportOutput, error)
	ListExplainabilityExports(ctx context.Context, in *forecast.ListExplainabilityExportsInput, optFns ...func(*forecast.Options)) (*forecast.ListExplainabilityExportsOutput, error)
	DeleteExplainabilityExport(ctx context.Context, in *forecast.DeleteExplainabilityExportInput, optFns ...func(*forecast.Options)) (*forecast.DeleteExplainabilityExportOutput, error)
}

// CreateExplainabilityExport implements AWS CreateExplainabilityExport.
func (s *ForecastJobServer) CreateExplainabilityExport(ctx context.Context, r *gatewayv1.CreateExplainabilityExportRequest) (*gatewayv1.CreateExplainabilityExportResponse, error) {
	arn, err := create(ctx, s, explainabilityExports, s.validateExplainabilityExportCreate(r), func(ctx context.Context, tags []types.Tag) (*string, error) {
		out, err := s.api.CreateExplainabilityExport(ctx, &forecast.CreateExplainabilityExportInput{
			ExplainabilityExportName: aws.String(r.GetExplainabilityExportName()),
			ExplainabilityArn:        aws.String(r.GetExplainabilityArn()),
			Destination:              destinationToAWS(r.GetDestination()),
			Format:                   exportFormatToAWSPtr(r.GetFormat()),
			Tags:                     tags,
		})
		if err != nil {
			return nil, err
		}
		return out.ExplainabilityExportArn, nil
	})
	return done(&gatewayv1.CreateExplainabilityExportResponse{ExplainabilityExportArn: arn}, err)
}

func (s *ForecastJobServer) validateExplainabilityExportCreate(r *gatewayv1.CreateExplainabilityExportRequest) *violations {
	v := s.newViolations()
	v.exportJob(explainabilityExports, r.GetExplainabilityExportName(), r.GetExplainabilityArn(), r.GetDestination(), r.GetFormat(), r.GetTags())
	return v
}

// DescribeExplainabilityExport implements AWS DescribeExplainabilityExport.
func (s *ForecastJobServer) DescribeExplainabilityExport(ctx context.Context, r *gatewayv1.DescribeExplainabilityExportRequest) (*gatewayv1.DescribeExplainabilityExportResponse, error) {
	return describe(ctx, s, explainabilityExports, r.GetExplainabilityExportArn(), func(ctx context.Context, arn *string) (*forecast.DescribeExplainabilityExportOutput, error) {
		return s.api.DescribeExplainabilityExport(ctx, &forecast.DescribeExplainabilityExportInput{ExplainabilityExportArn: arn})
	}, s.conv.explainabilityExport)
}

func (c converter) explainabilityExport(o *forecast.DescribeExplainabilityExportOutput) *gatewayv1.DescribeExplainabilityExportResponse {
	st, rawSt := c.status(o.Status)
	f, rawF := c.exportFormat(o.Format)
	return &gatewayv1.DescribeExplainabilityExportResponse{
		ExplainabilityExportArn:  aws.ToString(o.ExplainabilityExportArn),
		ExplainabilityExportName: aws.ToString(o.ExplainabilityExportName),
		ExplainabilityArn:        aws.ToString(o.ExplainabilityArn),
		Destination:              destinationFromAWS(o.Destination),
		Format:                   f,
		AwsFormat:                rawF,
		Status:                   st,
		AwsStatus:                rawSt,
		Message:                  aws.ToString(o.Message),
		CreationTime:             timestamp(o.CreationTime),
		LastModificationTime:     timestamp(o.LastModificationTime),
	}
}

// ListExplainabilityExports implements AWS ListExplainabilityExports.
func (s *ForecastJobServer) ListExplainabilityExports(ctx context.Context, r *gatewayv1.ListExplainabilityExportsRequest) (*gatewayv1.ListExplainabilityExportsResponse, error) {
	items, next, err := list(ctx, s, explainabilityExports, r, fetcher(func(ctx context.Context, in listInput) ([]types.ExplainabilityExportSummary, *string, error) {
		out, err := s.api.ListExplainabilityExports(ctx, &forecast.ListExplainabilityExportsInput{Filters: in.Filters, MaxResults: in.MaxResults, NextToken: in.NextToken})
		if err != nil {
			return nil, nil, err
		}
		return out.ExplainabilityExports, out.NextToken, nil
	}), s.conv.explainabilitySummary)
	return done(&gatewayv1.ListExplainabilityExportsResponse{ExplainabilityExports: items, NextPageToken: next}, err)
}

func (c converter) explainabilitySummary(j types.ExplainabilityExportSummary) *gatewayv1.ExplainabilityExportSummary {
	st, raw := c.status(j.Status)
	return &gatewayv1.ExplainabilityExportSummary{
		ExplainabilityExportArn:  aws.ToString(j.ExplainabilityExportArn),
		ExplainabilityExportName: aws.ToString(j.ExplainabilityExportName),
		Destination:              destinationFromAWS(j.Destination),
		Status:                   st,
		AwsStatus:                raw,
		Message:                  aws.ToString(j.Message),
		CreationTime:             timestamp(j.CreationTime),
		LastModificationTime:     timestamp(j.LastModificationTime),
	}
}

// DeleteExplainabilityExport implements AWS DeleteExplainabilityExport.
func (s *ForecastJobServer) DeleteExplainabilityExport(ctx context.Context, r *gatewayv1.DeleteExplainabilityExportRequest) (*gatewayv1.DeleteExplainabilityExportResponse, error) {
	return done(&gatewayv1.DeleteExplainabilityExportResponse{}, remove(ctx, s, explainabilityExports, r.GetExplainabilityExportArn(), func(ctx context.Context, arn *string) error {
		_, err := s.api.DeleteExplainabilityExport(ctx, &forecast.DeleteExplainabilityExportInput{ExplainabilityExportArn: arn})
		return err
	}))
}

// StopExplainabilityExport implements AWS StopResource for this type.
func (s *ForecastJobServer) StopExplainabilityExport(ctx context.Context, r *gatewayv1.StopExplainabilityExportRequest) (*gatewayv1.StopExplainabilityExportResponse, error) {
	return done(&gatewayv1.StopExplainabilityExportResponse{}, s.stop(ctx, explainabilityExports, r.GetExplainabilityExportArn()))
}
