package server

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Dataset import jobs: what is specific to them (a data source instead of a
// destination, time zone and timestamp settings, field statistics).

var datasetImportJobs = jobtype.DatasetImportJob

type datasetImportJobAPI interface {
	CreateDatasetImportJob(ctx context.Context, in *forecast.CreateDatasetImportJobInput, optFns ...func(*forecast.Options)) (*forecast.CreateDatasetImportJobOutput, error)
	DescribeDatasetImportJob(ctx context.Context, in *forecast.DescribeDatasetImportJobInput, optFns ...func(*forecast.Options)) (*forecast.DescribeDatasetImportJobOutput, error)
	ListDatasetImportJobs(ctx context.Context, in *forecast.ListDatasetImportJobsInput, optFns ...func(*forecast.Options)) (*forecast.ListDatasetImportJobsOutput, error)
	DeleteDatasetImportJob(ctx context.Context, in *forecast.DeleteDatasetImportJobInput, optFns ...func(*forecast.Options)) (*forecast.DeleteDatasetImportJobOutput, error)
}

// CreateDatasetImportJob implements AWS CreateDatasetImportJob.
func (s *ForecastJobServer) CreateDatasetImportJob(ctx context.Context, r *gatewayv1.CreateDatasetImportJobRequest) (*gatewayv1.CreateDatasetImportJobResponse, error) {
	arn, err := create(ctx, s, datasetImportJobs, s.validateDatasetImportCreate(r), func(ctx context.Context, tags []types.Tag) (*string, error) {
		out, err := s.api.CreateDatasetImportJob(ctx, &forecast.CreateDatasetImportJobInput{
			DatasetImportJobName:      aws.String(r.GetDatasetImportJobName()),
			DatasetArn:                aws.String(r.GetDatasetArn()),
			DataSource:                &types.DataSource{S3Config: s3ConfigToAWS(r.GetDataSource().GetS3Config())},
			TimeZone:                  optionalString(r.GetTimeZone()),
			UseGeolocationForTimeZone: r.GetUseGeolocationForTimeZone(),
			GeolocationFormat:         optionalString(geoFormatToAWS[int32(r.GetGeolocationFormat())]),
			TimestampFormat:           optionalString(r.GetTimestampFormat()),
			Format:                    optionalString(importFormatToAWS[int32(r.GetFormat())]),
			ImportMode:                types.ImportMode(importModeToAWS[int32(r.GetImportMode())]),
			Tags:                      tags,
		})
		if err != nil {
			return nil, err
		}
		return out.DatasetImportJobArn, nil
	})
	return done(&gatewayv1.CreateDatasetImportJobResponse{DatasetImportJobArn: arn}, err)
}

func (s *ForecastJobServer) validateDatasetImportCreate(r *gatewayv1.CreateDatasetImportJobRequest) *violations {
	v := s.newViolations()
	v.name("dataset_import_job_name", r.GetDatasetImportJobName())
	v.arn("dataset_arn", r.GetDatasetArn(), datasetImportJobs.Parent.ArnType)
	v.s3Config("data_source", r.GetDataSource() != nil, r.GetDataSource().GetS3Config())
	v.rule("time_zone", awsrules.CheckTimeZone(r.GetTimeZone()))
	v.rule("timestamp_format", awsrules.CheckTimestampFormat(r.GetTimestampFormat()))
	v.enum("geolocation_format", int32(r.GetGeolocationFormat()), gatewayv1.GeolocationFormat_name)
	v.enum("format", int32(r.GetFormat()), gatewayv1.ImportFormat_name)
	v.enum("import_mode", int32(r.GetImportMode()), gatewayv1.ImportMode_name)
	// One time zone for every item, or one per item from its location: AWS
	// takes one or the other, and the second needs the location's format
	// (awsrules.CheckGeolocationTimeZone, here reporting both at once).
	if r.GetUseGeolocationForTimeZone() {
		if r.GetTimeZone() != "" {
			v.add("time_zone", "must be empty when use_geolocation_for_time_zone is true (rule: "+awsrules.RuleConflict+")")
		}
		if r.GetGeolocationFormat() == gatewayv1.GeolocationFormat_GEOLOCATION_FORMAT_UNSPECIFIED {
			v.add("geolocation_format", "is required when use_geolocation_for_time_zone is true (rule: "+awsrules.RuleRequired+")")
		}
	}
	v.tags("tags", r.GetTags())
	return v
}

// DescribeDatasetImportJob implements AWS DescribeDatasetImportJob.
func (s *ForecastJobServer) DescribeDatasetImportJob(ctx context.Context, r *gatewayv1.DescribeDatasetImportJobRequest) (*gatewayv1.DescribeDatasetImportJobResponse, error) {
	return describe(ctx, s, datasetImportJobs, r.GetDatasetImportJobArn(), func(ctx context.Context, arn *string) (*forecast.DescribeDatasetImportJobOutput, error) {
		return s.api.DescribeDatasetImportJob(ctx, &forecast.DescribeDatasetImportJobInput{DatasetImportJobArn: arn})
	}, s.conv.datasetImportJob)
}

func (c converter) datasetImportJob(o *forecast.DescribeDatasetImportJobOutput) *gatewayv1.DescribeDatasetImportJobResponse {
	st, rawSt := c.status(o.Status)
	f, rawF := c.importFormat(o.Format)
	mode, rawMode := c.importMode(o.ImportMode)
	geo, rawGeo := c.geolocationFormat(o.GeolocationFormat)
	out := &gatewayv1.DescribeDatasetImportJobResponse{
		DatasetImportJobArn:             aws.ToString(o.DatasetImportJobArn),
		DatasetImportJobName:            aws.ToString(o.DatasetImportJobName),
		DatasetArn:                      aws.ToString(o.DatasetArn),
		DataSource:                      dataSourceFromAWS(o.DataSource),
		TimeZone:                        aws.ToString(o.TimeZone),
		UseGeolocationForTimeZone:       o.UseGeolocationForTimeZone,
		GeolocationFormat:               geo,
		AwsGeolocationFormat:            rawGeo,
		TimestampFormat:                 aws.ToString(o.TimestampFormat),
		Format:                          f,
		AwsFormat:                       rawF,
		ImportMode:                      mode,
		AwsImportMode:                   rawMode,
		DataSize:                        o.DataSize,
		EstimatedTimeRemainingInMinutes: o.EstimatedTimeRemainingInMinutes,
		Status:                          st,
		AwsStatus:                       rawSt,
		Message:                         aws.ToString(o.Message),
		CreationTime:                    timestamp(o.CreationTime),
		LastModificationTime:            timestamp(o.LastModificationTime),
	}
	if len(o.FieldStatistics) > 0 {
		out.FieldStatistics = make(map[string]*gatewayv1.Statistics, len(o.FieldStatistics))
		for name, st := range o.FieldStatistics {
			out.FieldStatistics[name] = &gatewayv1.Statistics{
				Count: st.Count, CountDistinct: st.CountDistinct, CountNull: st.CountNull, CountNan: st.CountNan,
				Min: aws.ToString(st.Min), Max: aws.ToString(st.Max), Avg: st.Avg, Stddev: st.Stddev,
				CountLong: st.CountLong, CountDistinctLong: st.CountDistinctLong, CountNullLong: st.CountNullLong, CountNanLong: st.CountNanLong,
			}
		}
	}
	return out
}

// ListDatasetImportJobs implements AWS ListDatasetImportJobs.
func (s *ForecastJobServer) ListDatasetImportJobs(ctx context.Context, r *gatewayv1.ListDatasetImportJobsRequest) (*gatewayv1.ListDatasetImportJobsResponse, error) {
	items, next, err := list(ctx, s, datasetImportJobs, r, fetcher(func(ctx context.Context, in listInput) ([]types.DatasetImportJobSummary, *string, error) {
		out, err := s.api.ListDatasetImportJobs(ctx, &forecast.ListDatasetImportJobsInput{Filters: in.Filters, MaxResults: in.MaxResults, NextToken: in.NextToken})
		if err != nil {
			return nil, nil, err
		}
		return out.DatasetImportJobs, out.NextToken, nil
	}), s.conv.datasetImportSummary)
	return done(&gatewayv1.ListDatasetImportJobsResponse{DatasetImportJobs: items, NextPageToken: next}, err)
}

func (c converter) datasetImportSummary(j types.DatasetImportJobSummary) *gatewayv1.DatasetImportJobSummary {
	st, raw := c.status(j.Status)
	mode, rawMode := c.importMode(j.ImportMode)
	return &gatewayv1.DatasetImportJobSummary{
		DatasetImportJobArn:  aws.ToString(j.DatasetImportJobArn),
		DatasetImportJobName: aws.ToString(j.DatasetImportJobName),
		DataSource:           dataSourceFromAWS(j.DataSource),
		Status:               st,
		AwsStatus:            raw,
		Message:              aws.ToString(j.Message),
		CreationTime:         timestamp(j.CreationTime),
		LastModificationTime: timestamp(j.LastModificationTime),
		ImportMode:           mode,
		AwsImportMode:        rawMode,
	}
}

// DeleteDatasetImportJob implements AWS DeleteDatasetImportJob.
func (s *ForecastJobServer) DeleteDatasetImportJob(ctx context.Context, r *gatewayv1.DeleteDatasetImportJobRequest) (*gatewayv1.DeleteDatasetImportJobResponse, error) {
	return done(&gatewayv1.DeleteDatasetImportJobResponse{}, remove(ctx, s, datasetImportJobs, r.GetDatasetImportJobArn(), func(ctx context.Context, arn *string) error {
		_, err := s.api.DeleteDatasetImportJob(ctx, &forecast.DeleteDatasetImportJobInput{DatasetImportJobArn: arn})
		return err
	}))
}

// StopDatasetImportJob implements AWS StopResource for this type.
func (s *ForecastJobServer) StopDatasetImportJob(ctx context.Context, r *gatewayv1.StopDatasetImportJobRequest) (*gatewayv1.StopDatasetImportJobResponse, error) {
	return done(&gatewayv1.StopDatasetImportJobResponse{}, s.stop(ctx, datasetImportJobs, r.GetDatasetImportJobArn()))
}
