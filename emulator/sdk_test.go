package emulator_test

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// The SDK adapter: one row per job type mapping the generic test
// vocabulary (create, describe, list, paginate, delete) onto the typed
// aws-sdk-go-v2 calls, so every test below is a table over jobtype.All
// and exercises the real client's (de)serialization of each type.

// createArgs are the Create members. Empty strings are absent members.
type createArgs struct {
	name, parent    string
	whatIf          []string
	path, role, kms string
	format          string
	tags            map[string]string
	// Dataset import jobs only.
	importMode                     types.ImportMode
	timeZone, timestampFormat, geo string
	useGeo                         bool
}

// view is a Describe output or a List summary, normalized. Members a
// shape does not have stay zero.
type view struct {
	arn, name, parent string
	whatIf            []string
	status, message   string
	created, lastMod  time.Time
	s3                types.S3Config
	format            string
	eta               *int64
	// Dataset import jobs only.
	importMode                     string
	timeZone, timestampFormat, geo string
	useGeo                         bool
	dataSize                       *float64
	stats                          map[string]types.Statistics
}

type listArgs struct {
	filters    []types.Filter
	maxResults *int32
	nextToken  *string
}

type api struct {
	create   func(context.Context, *forecast.Client, createArgs) (string, error)
	describe func(context.Context, *forecast.Client, string) (view, error)
	list     func(context.Context, *forecast.Client, listArgs) ([]view, *string, error)
	// paginate walks every page with the SDK's paginator.
	paginate func(context.Context, *forecast.Client, listArgs) (arns []string, pages int, err error)
	del      func(context.Context, *forecast.Client, string) error
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func s3In(a createArgs) *types.S3Config {
	return &types.S3Config{Path: opt(a.path), RoleArn: opt(a.role), KMSKeyArn: opt(a.kms)}
}

func tagsIn(m map[string]string) []types.Tag {
	if m == nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, len(keys))
	for i, k := range keys {
		out[i] = types.Tag{Key: aws.String(k), Value: aws.String(m[k])}
	}
	return out
}

func s3Out(c *types.S3Config) types.S3Config {
	if c == nil {
		return types.S3Config{}
	}
	return *c
}

func dest(d *types.DataDestination) types.S3Config {
	if d == nil {
		return types.S3Config{}
	}
	return s3Out(d.S3Config)
}

func src(d *types.DataSource) types.S3Config {
	if d == nil {
		return types.S3Config{}
	}
	return s3Out(d.S3Config)
}

func tm(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// walk is the body of every paginate: it counts pages and collects ARNs.
func walk[O any](ctx context.Context, p interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*forecast.Options)) (O, error)
}, arnsOf func(O) []string) (arns []string, pages int, err error) {
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return arns, pages, err
		}
		if pages++; pages > 10000 {
			panic("paginator does not terminate")
		}
		arns = append(arns, arnsOf(out)...)
	}
	return arns, pages, nil
}

var apis = map[*jobtype.Type]api{
	jobtype.DatasetImportJob: {
		create: func(ctx context.Context, c *forecast.Client, a createArgs) (string, error) {
			out, err := c.CreateDatasetImportJob(ctx, &forecast.CreateDatasetImportJobInput{
				DatasetImportJobName: opt(a.name), DatasetArn: opt(a.parent), DataSource: &types.DataSource{S3Config: s3In(a)},
				Format: opt(a.format), Tags: tagsIn(a.tags), ImportMode: a.importMode, TimeZone: opt(a.timeZone),
				TimestampFormat: opt(a.timestampFormat), GeolocationFormat: opt(a.geo), UseGeolocationForTimeZone: a.useGeo,
			})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.DatasetImportJobArn), nil
		},
		describe: func(ctx context.Context, c *forecast.Client, arn string) (view, error) {
			d, err := c.DescribeDatasetImportJob(ctx, &forecast.DescribeDatasetImportJobInput{DatasetImportJobArn: aws.String(arn)})
			if err != nil {
				return view{}, err
			}
			return view{
				arn: aws.ToString(d.DatasetImportJobArn), name: aws.ToString(d.DatasetImportJobName), parent: aws.ToString(d.DatasetArn),
				status: aws.ToString(d.Status), message: aws.ToString(d.Message), created: tm(d.CreationTime), lastMod: tm(d.LastModificationTime),
				s3: src(d.DataSource), format: aws.ToString(d.Format), eta: d.EstimatedTimeRemainingInMinutes,
				importMode: string(d.ImportMode), timeZone: aws.ToString(d.TimeZone), timestampFormat: aws.ToString(d.TimestampFormat),
				geo: aws.ToString(d.GeolocationFormat), useGeo: d.UseGeolocationForTimeZone, dataSize: d.DataSize, stats: d.FieldStatistics,
			}, nil
		},
		list: func(ctx context.Context, c *forecast.Client, a listArgs) ([]view, *string, error) {
			out, err := c.ListDatasetImportJobs(ctx, &forecast.ListDatasetImportJobsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
			if err != nil {
				return nil, nil, err
			}
			var vs []view
			for _, s := range out.DatasetImportJobs {
				vs = append(vs, view{
					arn: aws.ToString(s.DatasetImportJobArn), name: aws.ToString(s.DatasetImportJobName), status: aws.ToString(s.Status),
					message: aws.ToString(s.Message), created: tm(s.CreationTime), lastMod: tm(s.LastModificationTime), s3: src(s.DataSource),
					importMode: string(s.ImportMode),
				})
			}
			return vs, out.NextToken, nil
		},
		paginate: func(ctx context.Context, c *forecast.Client, a listArgs) ([]string, int, error) {
			p := forecast.NewListDatasetImportJobsPaginator(c, &forecast.ListDatasetImportJobsInput{Filters: a.filters, MaxResults: a.maxResults})
			return walk(ctx, p, func(o *forecast.ListDatasetImportJobsOutput) (arns []string) {
				for _, s := range o.DatasetImportJobs {
					arns = append(arns, aws.ToString(s.DatasetImportJobArn))
				}
				return arns
			})
		},
		del: func(ctx context.Context, c *forecast.Client, arn string) error {
			_, err := c.DeleteDatasetImportJob(ctx, &forecast.DeleteDatasetImportJobInput{DatasetImportJobArn: aws.String(arn)})
			return err
		},
	},
	jobtype.ForecastExportJob: {
		create: func(ctx context.Context, c *forecast.Client, a createArgs) (string, error) {
			out, err := c.CreateForecastExportJob(ctx, &forecast.CreateForecastExportJobInput{
				ForecastExportJobName: opt(a.name), ForecastArn: opt(a.parent), Destination: &types.DataDestination{S3Config: s3In(a)},
				Format: opt(a.format), Tags: tagsIn(a.tags),
			})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.ForecastExportJobArn), nil
		},
		describe: func(ctx context.Context, c *forecast.Client, arn string) (view, error) {
			d, err := c.DescribeForecastExportJob(ctx, &forecast.DescribeForecastExportJobInput{ForecastExportJobArn: aws.String(arn)})
			if err != nil {
				return view{}, err
			}
			return view{
				arn: aws.ToString(d.ForecastExportJobArn), name: aws.ToString(d.ForecastExportJobName), parent: aws.ToString(d.ForecastArn),
				status: aws.ToString(d.Status), message: aws.ToString(d.Message), created: tm(d.CreationTime), lastMod: tm(d.LastModificationTime),
				s3: dest(d.Destination), format: aws.ToString(d.Format),
			}, nil
		},
		list: func(ctx context.Context, c *forecast.Client, a listArgs) ([]view, *string, error) {
			out, err := c.ListForecastExportJobs(ctx, &forecast.ListForecastExportJobsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
			if err != nil {
				return nil, nil, err
			}
			var vs []view
			for _, s := range out.ForecastExportJobs {
				vs = append(vs, view{
					arn: aws.ToString(s.ForecastExportJobArn), name: aws.ToString(s.ForecastExportJobName), status: aws.ToString(s.Status),
					message: aws.ToString(s.Message), created: tm(s.CreationTime), lastMod: tm(s.LastModificationTime), s3: dest(s.Destination),
				})
			}
			return vs, out.NextToken, nil
		},
		paginate: func(ctx context.Context, c *forecast.Client, a listArgs) ([]string, int, error) {
			p := forecast.NewListForecastExportJobsPaginator(c, &forecast.ListForecastExportJobsInput{Filters: a.filters, MaxResults: a.maxResults})
			return walk(ctx, p, func(o *forecast.ListForecastExportJobsOutput) (arns []string) {
				for _, s := range o.ForecastExportJobs {
					arns = append(arns, aws.ToString(s.ForecastExportJobArn))
				}
				return arns
			})
		},
		del: func(ctx context.Context, c *forecast.Client, arn string) error {
			_, err := c.DeleteForecastExportJob(ctx, &forecast.DeleteForecastExportJobInput{ForecastExportJobArn: aws.String(arn)})
			return err
		},
	},
	jobtype.PredictorBacktestExportJob: {
		create: func(ctx context.Context, c *forecast.Client, a createArgs) (string, error) {
			out, err := c.CreatePredictorBacktestExportJob(ctx, &forecast.CreatePredictorBacktestExportJobInput{
				PredictorBacktestExportJobName: opt(a.name), PredictorArn: opt(a.parent), Destination: &types.DataDestination{S3Config: s3In(a)},
				Format: opt(a.format), Tags: tagsIn(a.tags),
			})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.PredictorBacktestExportJobArn), nil
		},
		describe: func(ctx context.Context, c *forecast.Client, arn string) (view, error) {
			d, err := c.DescribePredictorBacktestExportJob(ctx, &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(arn)})
			if err != nil {
				return view{}, err
			}
			return view{
				arn: aws.ToString(d.PredictorBacktestExportJobArn), name: aws.ToString(d.PredictorBacktestExportJobName), parent: aws.ToString(d.PredictorArn),
				status: aws.ToString(d.Status), message: aws.ToString(d.Message), created: tm(d.CreationTime), lastMod: tm(d.LastModificationTime),
				s3: dest(d.Destination), format: aws.ToString(d.Format),
			}, nil
		},
		list: func(ctx context.Context, c *forecast.Client, a listArgs) ([]view, *string, error) {
			out, err := c.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
			if err != nil {
				return nil, nil, err
			}
			var vs []view
			for _, s := range out.PredictorBacktestExportJobs {
				vs = append(vs, view{
					arn: aws.ToString(s.PredictorBacktestExportJobArn), name: aws.ToString(s.PredictorBacktestExportJobName), status: aws.ToString(s.Status),
					message: aws.ToString(s.Message), created: tm(s.CreationTime), lastMod: tm(s.LastModificationTime), s3: dest(s.Destination),
				})
			}
			return vs, out.NextToken, nil
		},
		paginate: func(ctx context.Context, c *forecast.Client, a listArgs) ([]string, int, error) {
			p := forecast.NewListPredictorBacktestExportJobsPaginator(c, &forecast.ListPredictorBacktestExportJobsInput{Filters: a.filters, MaxResults: a.maxResults})
			return walk(ctx, p, func(o *forecast.ListPredictorBacktestExportJobsOutput) (arns []string) {
				for _, s := range o.PredictorBacktestExportJobs {
					arns = append(arns, aws.ToString(s.PredictorBacktestExportJobArn))
				}
				return arns
			})
		},
		del: func(ctx context.Context, c *forecast.Client, arn string) error {
			_, err := c.DeletePredictorBacktestExportJob(ctx, &forecast.DeletePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(arn)})
			return err
		},
	},
	jobtype.ExplainabilityExport: {
		create: func(ctx context.Context, c *forecast.Client, a createArgs) (string, error) {
			out, err := c.CreateExplainabilityExport(ctx, &forecast.CreateExplainabilityExportInput{
				ExplainabilityExportName: opt(a.name), ExplainabilityArn: opt(a.parent), Destination: &types.DataDestination{S3Config: s3In(a)},
				Format: opt(a.format), Tags: tagsIn(a.tags),
			})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.ExplainabilityExportArn), nil
		},
		describe: func(ctx context.Context, c *forecast.Client, arn string) (view, error) {
			d, err := c.DescribeExplainabilityExport(ctx, &forecast.DescribeExplainabilityExportInput{ExplainabilityExportArn: aws.String(arn)})
			if err != nil {
				return view{}, err
			}
			return view{
				arn: aws.ToString(d.ExplainabilityExportArn), name: aws.ToString(d.ExplainabilityExportName), parent: aws.ToString(d.ExplainabilityArn),
				status: aws.ToString(d.Status), message: aws.ToString(d.Message), created: tm(d.CreationTime), lastMod: tm(d.LastModificationTime),
				s3: dest(d.Destination), format: aws.ToString(d.Format),
			}, nil
		},
		list: func(ctx context.Context, c *forecast.Client, a listArgs) ([]view, *string, error) {
			out, err := c.ListExplainabilityExports(ctx, &forecast.ListExplainabilityExportsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
			if err != nil {
				return nil, nil, err
			}
			var vs []view
			for _, s := range out.ExplainabilityExports {
				vs = append(vs, view{
					arn: aws.ToString(s.ExplainabilityExportArn), name: aws.ToString(s.ExplainabilityExportName), status: aws.ToString(s.Status),
					message: aws.ToString(s.Message), created: tm(s.CreationTime), lastMod: tm(s.LastModificationTime), s3: dest(s.Destination),
				})
			}
			return vs, out.NextToken, nil
		},
		paginate: func(ctx context.Context, c *forecast.Client, a listArgs) ([]string, int, error) {
			p := forecast.NewListExplainabilityExportsPaginator(c, &forecast.ListExplainabilityExportsInput{Filters: a.filters, MaxResults: a.maxResults})
			return walk(ctx, p, func(o *forecast.ListExplainabilityExportsOutput) (arns []string) {
				for _, s := range o.ExplainabilityExports {
					arns = append(arns, aws.ToString(s.ExplainabilityExportArn))
				}
				return arns
			})
		},
		del: func(ctx context.Context, c *forecast.Client, arn string) error {
			_, err := c.DeleteExplainabilityExport(ctx, &forecast.DeleteExplainabilityExportInput{ExplainabilityExportArn: aws.String(arn)})
			return err
		},
	},
	jobtype.WhatIfForecastExport: {
		create: func(ctx context.Context, c *forecast.Client, a createArgs) (string, error) {
			out, err := c.CreateWhatIfForecastExport(ctx, &forecast.CreateWhatIfForecastExportInput{
				WhatIfForecastExportName: opt(a.name), WhatIfForecastArns: a.whatIf, Destination: &types.DataDestination{S3Config: s3In(a)},
				Format: opt(a.format), Tags: tagsIn(a.tags),
			})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.WhatIfForecastExportArn), nil
		},
		describe: func(ctx context.Context, c *forecast.Client, arn string) (view, error) {
			d, err := c.DescribeWhatIfForecastExport(ctx, &forecast.DescribeWhatIfForecastExportInput{WhatIfForecastExportArn: aws.String(arn)})
			if err != nil {
				return view{}, err
			}
			return view{
				arn: aws.ToString(d.WhatIfForecastExportArn), name: aws.ToString(d.WhatIfForecastExportName), whatIf: d.WhatIfForecastArns,
				status: aws.ToString(d.Status), message: aws.ToString(d.Message), created: tm(d.CreationTime), lastMod: tm(d.LastModificationTime),
				s3: dest(d.Destination), format: aws.ToString(d.Format), eta: d.EstimatedTimeRemainingInMinutes,
			}, nil
		},
		list: func(ctx context.Context, c *forecast.Client, a listArgs) ([]view, *string, error) {
			out, err := c.ListWhatIfForecastExports(ctx, &forecast.ListWhatIfForecastExportsInput{Filters: a.filters, MaxResults: a.maxResults, NextToken: a.nextToken})
			if err != nil {
				return nil, nil, err
			}
			var vs []view
			for _, s := range out.WhatIfForecastExports {
				vs = append(vs, view{
					arn: aws.ToString(s.WhatIfForecastExportArn), name: aws.ToString(s.WhatIfForecastExportName), whatIf: s.WhatIfForecastArns,
					status: aws.ToString(s.Status), message: aws.ToString(s.Message), created: tm(s.CreationTime),
					lastMod: tm(s.LastModificationTime), s3: dest(s.Destination),
				})
			}
			return vs, out.NextToken, nil
		},
		paginate: func(ctx context.Context, c *forecast.Client, a listArgs) ([]string, int, error) {
			p := forecast.NewListWhatIfForecastExportsPaginator(c, &forecast.ListWhatIfForecastExportsInput{Filters: a.filters, MaxResults: a.maxResults})
			return walk(ctx, p, func(o *forecast.ListWhatIfForecastExportsOutput) (arns []string) {
				for _, s := range o.WhatIfForecastExports {
					arns = append(arns, aws.ToString(s.WhatIfForecastExportArn))
				}
				return arns
			})
		},
		del: func(ctx context.Context, c *forecast.Client, arn string) error {
			_, err := c.DeleteWhatIfForecastExport(ctx, &forecast.DeleteWhatIfForecastExportInput{WhatIfForecastExportArn: aws.String(arn)})
			return err
		},
	},
}
