package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/filter"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Method names, as bound into page tokens and reported in ErrorInfo.
const (
	methodListBacktest       = "ListPredictorBacktestExportJobs"
	methodCreateBacktest     = "CreatePredictorBacktestExportJob"
	methodDescribeBacktest   = "DescribePredictorBacktestExportJob"
	methodListForecastExport = "ListForecastExportJobs"
	methodListDatasetImport  = "ListDatasetImportJobs"
)

// Filter fields per list operation: the keys AWS allows there.
var (
	backtestFilterFields       = []filter.Field{statusField, arnField("predictor_arn", "PredictorArn", "predictor")}
	forecastExportFilterFields = []filter.Field{statusField, arnField("forecast_arn", "ForecastArn", "forecast")}
	datasetImportFilterFields  = []filter.Field{statusField, arnField("dataset_arn", "DatasetArn", "dataset")}
)

var statusField = filter.Field{Name: "status", AWSKey: "Status", Check: filter.StatusValue}

func arnField(name, awsKey, resourceType string) filter.Field {
	return filter.Field{Name: name, AWSKey: awsKey, Check: func(v string) error {
		if vs := checkArnOfType(name, v, resourceType); vs != nil {
			return fmt.Errorf("%s", vs[0].description)
		}
		return nil
	}}
}

// Options configure a ForecastJobServer.
type Options struct {
	// Forecast is the upstream; *forecast.Client in production.
	Forecast ForecastAPI
	// Tokens seals and opens page tokens.
	Tokens *pagetoken.Codec
	// Logger receives operational events; slog.Default() when nil.
	Logger *slog.Logger
}

// ForecastJobServer implements gatewayv1.ForecastJobServiceServer: it
// validates each call, translates it to aws-sdk-go-v2 and back, and keeps
// AWS NextTokens behind its own page tokens.
type ForecastJobServer struct {
	gatewayv1.UnimplementedForecastJobServiceServer

	api    ForecastAPI
	tokens *pagetoken.Codec
	log    *slog.Logger
	conv   converter

	unknownSeen sync.Map // "field=value" -> struct{}: log each new value once
}

// NewForecastJobServer checks opts and builds the service.
func NewForecastJobServer(opts Options) (*ForecastJobServer, error) {
	if opts.Forecast == nil {
		return nil, fmt.Errorf("server: Options.Forecast is required")
	}
	if opts.Tokens == nil {
		return nil, fmt.Errorf("server: Options.Tokens is required")
	}
	s := &ForecastJobServer{api: opts.Forecast, tokens: opts.Tokens, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.conv = converter{unknown: s.noteUnknownEnum}
	return s, nil
}

// noteUnknownEnum logs, once per value, that AWS sent an enum string the
// proto does not know; the value still reaches clients in aws_*.
func (s *ForecastJobServer) noteUnknownEnum(field, value string) {
	if _, seen := s.unknownSeen.LoadOrStore(field+"="+value, struct{}{}); !seen {
		s.log.Warn("AWS sent a value the API does not know yet; passing it on in the aws_* field",
			"field", field, "value", value)
	}
}

func internalError() error {
	return withDetails(status.New(codes.Internal, "internal error"),
		&errdetails.ErrorInfo{Reason: ReasonInternal, Domain: ErrorDomain}).Err()
}

// ListPredictorBacktestExportJobs implements AWS ListPredictorBacktestExportJobs.
func (s *ForecastJobServer) ListPredictorBacktestExportJobs(ctx context.Context, r *gatewayv1.ListPredictorBacktestExportJobsRequest) (*gatewayv1.ListPredictorBacktestExportJobsResponse, error) {
	q, err := s.parseListRequest(methodListBacktest, backtestFilterFields, r)
	if err != nil {
		return nil, err
	}
	items, next, err := collectPage(ctx, s, methodListBacktest, q,
		func(ctx context.Context, fs []types.Filter, n int32, tok *string) ([]types.PredictorBacktestExportJobSummary, *string, error) {
			out, err := s.api.ListPredictorBacktestExportJobs(ctx, &forecast.ListPredictorBacktestExportJobsInput{Filters: fs, MaxResults: aws.Int32(n), NextToken: tok})
			if err != nil {
				return nil, nil, err
			}
			return out.PredictorBacktestExportJobs, out.NextToken, nil
		})
	if err != nil {
		return nil, err
	}
	resp := &gatewayv1.ListPredictorBacktestExportJobsResponse{
		PredictorBacktestExportJobs: make([]*gatewayv1.PredictorBacktestExportJobSummary, len(items)),
		NextPageToken:               next,
	}
	for i, it := range items {
		resp.PredictorBacktestExportJobs[i] = s.conv.backtestSummary(it)
	}
	return resp, nil
}

// CreatePredictorBacktestExportJob implements AWS CreatePredictorBacktestExportJob.
// A retry of a create that in fact succeeded gets ALREADY_EXISTS (job names
// are unique per predictor), so a client never makes two jobs by retrying.
func (s *ForecastJobServer) CreatePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.CreatePredictorBacktestExportJobRequest) (*gatewayv1.CreatePredictorBacktestExportJobResponse, error) {
	if vs := validateCreate(r); len(vs) > 0 {
		return nil, invalidArgument(ReasonInvalidArgument, vs...)
	}
	out, err := s.api.CreatePredictorBacktestExportJob(ctx, createInput(r))
	if err != nil {
		return nil, upstreamError(methodCreateBacktest, err)
	}
	arn := aws.ToString(out.PredictorBacktestExportJobArn)
	s.log.Info("created predictor backtest export job", "arn", arn)
	return &gatewayv1.CreatePredictorBacktestExportJobResponse{PredictorBacktestExportJobArn: arn}, nil
}

// DescribePredictorBacktestExportJob implements AWS DescribePredictorBacktestExportJob.
func (s *ForecastJobServer) DescribePredictorBacktestExportJob(ctx context.Context, r *gatewayv1.DescribePredictorBacktestExportJobRequest) (*gatewayv1.DescribePredictorBacktestExportJobResponse, error) {
	if vs := validateDescribe(r); len(vs) > 0 {
		return nil, invalidArgument(ReasonInvalidArgument, vs...)
	}
	out, err := s.api.DescribePredictorBacktestExportJob(ctx, &forecast.DescribePredictorBacktestExportJobInput{
		PredictorBacktestExportJobArn: aws.String(r.GetPredictorBacktestExportJobArn()),
	})
	if err != nil {
		return nil, upstreamError(methodDescribeBacktest, err)
	}
	return s.conv.describeResponse(out), nil
}

// ListForecastExportJobs implements AWS ListForecastExportJobs.
func (s *ForecastJobServer) ListForecastExportJobs(ctx context.Context, r *gatewayv1.ListForecastExportJobsRequest) (*gatewayv1.ListForecastExportJobsResponse, error) {
	q, err := s.parseListRequest(methodListForecastExport, forecastExportFilterFields, r)
	if err != nil {
		return nil, err
	}
	items, next, err := collectPage(ctx, s, methodListForecastExport, q,
		func(ctx context.Context, fs []types.Filter, n int32, tok *string) ([]types.ForecastExportJobSummary, *string, error) {
			out, err := s.api.ListForecastExportJobs(ctx, &forecast.ListForecastExportJobsInput{Filters: fs, MaxResults: aws.Int32(n), NextToken: tok})
			if err != nil {
				return nil, nil, err
			}
			return out.ForecastExportJobs, out.NextToken, nil
		})
	if err != nil {
		return nil, err
	}
	resp := &gatewayv1.ListForecastExportJobsResponse{
		ForecastExportJobs: make([]*gatewayv1.ForecastExportJobSummary, len(items)),
		NextPageToken:      next,
	}
	for i, it := range items {
		resp.ForecastExportJobs[i] = s.conv.forecastExportSummary(it)
	}
	return resp, nil
}

// ListDatasetImportJobs implements AWS ListDatasetImportJobs.
func (s *ForecastJobServer) ListDatasetImportJobs(ctx context.Context, r *gatewayv1.ListDatasetImportJobsRequest) (*gatewayv1.ListDatasetImportJobsResponse, error) {
	q, err := s.parseListRequest(methodListDatasetImport, datasetImportFilterFields, r)
	if err != nil {
		return nil, err
	}
	items, next, err := collectPage(ctx, s, methodListDatasetImport, q,
		func(ctx context.Context, fs []types.Filter, n int32, tok *string) ([]types.DatasetImportJobSummary, *string, error) {
			out, err := s.api.ListDatasetImportJobs(ctx, &forecast.ListDatasetImportJobsInput{Filters: fs, MaxResults: aws.Int32(n), NextToken: tok})
			if err != nil {
				return nil, nil, err
			}
			return out.DatasetImportJobs, out.NextToken, nil
		})
	if err != nil {
		return nil, err
	}
	resp := &gatewayv1.ListDatasetImportJobsResponse{
		DatasetImportJobs: make([]*gatewayv1.DatasetImportJobSummary, len(items)),
		NextPageToken:     next,
	}
	for i, it := range items {
		resp.DatasetImportJobs[i] = s.conv.datasetImportSummary(it)
	}
	return resp, nil
}

var _ = awsrules.Statuses
