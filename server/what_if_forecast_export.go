package server

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// What-if forecast exports: what is specific to them (a list of what-if
// forecasts instead of one parent, no Stop).

var whatIfExports = jobtype.WhatIfForecastExport

type whatIfForecastExportAPI interface {
	CreateWhatIfForecastExport(ctx context.Context, in *forecast.CreateWhatIfForecastExportInput, optFns ...func(*forecast.Options)) (*forecast.CreateWhatIfForecastExportOutput, error)
	DescribeWhatIfForecastExport(ctx context.Context, in *forecast.DescribeWhatIfForecastExportInput, optFns ...func(*forecast.Options)) (*forecast.DescribeWhatIfForecastExportOutput, error)
	ListWhatIfForecastExports(ctx context.Context, in *forecast.ListWhatIfForecastExportsInput, optFns ...func(*forecast.Options)) (*forecast.ListWhatIfForecastExportsOutput, error)
	DeleteWhatIfForecastExport(ctx context.Context, in *forecast.DeleteWhatIfForecastExportInput, optFns ...func(*forecast.Options)) (*forecast.DeleteWhatIfForecastExportOutput, error)
}

// CreateWhatIfForecastExport implements AWS CreateWhatIfForecastExport.
func (s *ForecastJobServer) CreateWhatIfForecastExport(ctx context.Context, r *gatewayv1.CreateWhatIfForecastExportRequest) (*gatewayv1.CreateWhatIfForecastExportResponse, error) {
	arn, err := create(ctx, s, whatIfExports, s.validateWhatIfExportCreate(r), func(ctx context.Context, tags []types.Tag) (*string, error) {
		out, err := s.api.CreateWhatIfForecastExport(ctx, &forecast.CreateWhatIfForecastExportInput{
			WhatIfForecastExportName: aws.String(r.GetWhatIfForecastExportName()),
			WhatIfForecastArns:       r.GetWhatIfForecastArns(),
			Destination:              destinationToAWS(r.GetDestination()),
			Format:                   exportFormatToAWSPtr(r.GetFormat()),
			Tags:                     tags,
		})
		if err != nil {
			return nil, err
		}
		return out.WhatIfForecastExportArn, nil
	})
	return done(&gatewayv1.CreateWhatIfForecastExportResponse{WhatIfForecastExportArn: arn}, err)
}

func (s *ForecastJobServer) validateWhatIfExportCreate(r *gatewayv1.CreateWhatIfForecastExportRequest) *violations {
	v := s.newViolations()
	v.exportJob(whatIfExports, r.GetWhatIfForecastExportName(), "", r.GetDestination(), r.GetFormat(), r.GetTags())
	arns := r.GetWhatIfForecastArns()
	v.rule("what_if_forecast_arns", awsrules.CheckLongArnCount(len(arns)))
	seen := make(map[string]int, len(arns))
	for i, a := range arns {
		field := fmt.Sprintf("what_if_forecast_arns[%d]", i)
		if msg, rule := s.arnCheck(a, jobtype.WhatIfForecastArnType, true); rule != "" {
			v.add(field, fmt.Sprintf("%s (rule: %s)", msg, rule))
		} else if j, dup := seen[a]; dup {
			v.add(field, fmt.Sprintf("duplicates what_if_forecast_arns[%d] (rule: unique)", j))
		} else {
			seen[a] = i
		}
	}
	return v
}

// DescribeWhatIfForecastExport implements AWS DescribeWhatIfForecastExport.
func (s *ForecastJobServer) DescribeWhatIfForecastExport(ctx context.Context, r *gatewayv1.DescribeWhatIfForecastExportRequest) (*gatewayv1.DescribeWhatIfForecastExportResponse, error) {
	return describe(ctx, s, whatIfExports, r.GetWhatIfForecastExportArn(), func(ctx context.Context, arn *string) (*forecast.DescribeWhatIfForecastExportOutput, error) {
		return s.api.DescribeWhatIfForecastExport(ctx, &forecast.DescribeWhatIfForecastExportInput{WhatIfForecastExportArn: arn})
	}, s.conv.whatIfExport)
}

func (c converter) whatIfExport(o *forecast.DescribeWhatIfForecastExportOutput) *gatewayv1.DescribeWhatIfForecastExportResponse {
	st, rawSt := c.status(o.Status)
	f, rawF := c.exportFormat(o.Format)
	return &gatewayv1.DescribeWhatIfForecastExportResponse{
		WhatIfForecastExportArn:         aws.ToString(o.WhatIfForecastExportArn),
		WhatIfForecastExportName:        aws.ToString(o.WhatIfForecastExportName),
		WhatIfForecastArns:              o.WhatIfForecastArns,
		Destination:                     destinationFromAWS(o.Destination),
		Format:                          f,
		AwsFormat:                       rawF,
		Status:                          st,
		AwsStatus:                       rawSt,
		Message:                         aws.ToString(o.Message),
		CreationTime:                    timestamp(o.CreationTime),
		LastModificationTime:            timestamp(o.LastModificationTime),
		EstimatedTimeRemainingInMinutes: o.EstimatedTimeRemainingInMinutes,
	}
}

// ListWhatIfForecastExports implements AWS ListWhatIfForecastExports.
func (s *ForecastJobServer) ListWhatIfForecastExports(ctx context.Context, r *gatewayv1.ListWhatIfForecastExportsRequest) (*gatewayv1.ListWhatIfForecastExportsResponse, error) {
	items, next, err := list(ctx, s, whatIfExports, r, fetcher(func(ctx context.Context, in listInput) ([]types.WhatIfForecastExportSummary, *string, error) {
		out, err := s.api.ListWhatIfForecastExports(ctx, &forecast.ListWhatIfForecastExportsInput{Filters: in.Filters, MaxResults: in.MaxResults, NextToken: in.NextToken})
		if err != nil {
			return nil, nil, err
		}
		return out.WhatIfForecastExports, out.NextToken, nil
	}), s.conv.whatIfExportSummary)
	return done(&gatewayv1.ListWhatIfForecastExportsResponse{WhatIfForecastExports: items, NextPageToken: next}, err)
}

func (c converter) whatIfExportSummary(j types.WhatIfForecastExportSummary) *gatewayv1.WhatIfForecastExportSummary {
	st, raw := c.status(j.Status)
	return &gatewayv1.WhatIfForecastExportSummary{
		WhatIfForecastExportArn:  aws.ToString(j.WhatIfForecastExportArn),
		WhatIfForecastExportName: aws.ToString(j.WhatIfForecastExportName),
		WhatIfForecastArns:       j.WhatIfForecastArns,
		Destination:              destinationFromAWS(j.Destination),
		Status:                   st,
		AwsStatus:                raw,
		Message:                  aws.ToString(j.Message),
		CreationTime:             timestamp(j.CreationTime),
		LastModificationTime:     timestamp(j.LastModificationTime),
	}
}

// DeleteWhatIfForecastExport implements AWS DeleteWhatIfForecastExport.
func (s *ForecastJobServer) DeleteWhatIfForecastExport(ctx context.Context, r *gatewayv1.DeleteWhatIfForecastExportRequest) (*gatewayv1.DeleteWhatIfForecastExportResponse, error) {
	return done(&gatewayv1.DeleteWhatIfForecastExportResponse{}, remove(ctx, s, whatIfExports, r.GetWhatIfForecastExportArn(), func(ctx context.Context, arn *string) error {
		_, err := s.api.DeleteWhatIfForecastExport(ctx, &forecast.DeleteWhatIfForecastExportInput{WhatIfForecastExportArn: arn})
		return err
	}))
}
