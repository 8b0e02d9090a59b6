// Package server is the gateway's translation layer: it implements the
// generated ForecastJobServiceServer by validating each call, translating it
// to aws-sdk-go-v2 and back, and keeping AWS NextTokens behind its own page
// tokens.
//
// A job type lives in one file (dataset_import_job.go, ...) holding only
// what is specific to it: its AWS shapes to and from the proto, and its
// create validation. Names, ARN types and filter keys come from
// internal/jobtype; listing, paging, describe, delete, stop and error
// mapping are the generic core in jobs.go and paging.go.
package server

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/forecastgw/forecast-gateway/internal/filter"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// Options configure a ForecastJobServer.
type Options struct {
	// Forecast is the upstream; *forecast.Client in production.
	Forecast ForecastAPI
	// Tokens seals and opens page tokens.
	Tokens *pagetoken.Codec
	// Region is the upstream's AWS region. Forecast ARNs of another region
	// (a job, a parent, a filter value) are refused before any call, since
	// AWS could only answer that they do not exist. "" accepts any region.
	Region string
	// Logger receives operational events; slog.Default() when nil.
	Logger *slog.Logger
	// Policy rules on the IAM roles, S3 paths and KMS keys a caller's
	// creates name, and turns on job ownership (only a job's owner or an
	// admin may delete, stop, tag or untag it). nil: both are off.
	Policy Policy
}

// ForecastJobServer implements gatewayv1.ForecastJobServiceServer.
type ForecastJobServer struct {
	gatewayv1.UnimplementedForecastJobServiceServer

	api     ForecastAPI
	tokens  *pagetoken.Codec
	policy  Policy
	region  string
	log     *slog.Logger
	conv    converter
	filters map[*jobtype.Type][]filter.Field // each List operation's filter fields

	unknownSeen sync.Map // "field=value" -> struct{}: log each new value once
}

var _ gatewayv1.ForecastJobServiceServer = (*ForecastJobServer)(nil)

// NewForecastJobServer checks opts and builds the service.
func NewForecastJobServer(opts Options) (*ForecastJobServer, error) {
	if opts.Forecast == nil {
		return nil, fmt.Errorf("server: Options.Forecast is required")
	}
	if opts.Tokens == nil {
		return nil, fmt.Errorf("server: Options.Tokens is required")
	}
	s := &ForecastJobServer{api: opts.Forecast, tokens: opts.Tokens, policy: opts.Policy, region: opts.Region, log: opts.Logger,
		filters: map[*jobtype.Type][]filter.Field{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.conv = converter{unknown: s.noteUnknownEnum}
	for _, t := range jobtype.All {
		s.filters[t] = s.filterFields(t)
	}
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

// filterFields are the fields t's List filter accepts: status, and the
// type's ARN key (checked to be an ARN of the right type and region).
func (s *ForecastJobServer) filterFields(t *jobtype.Type) []filter.Field {
	key := t.Filter
	return []filter.Field{
		{Name: "status", AWSKey: jobtype.StatusKey, Check: filter.StatusValue},
		{Name: key.Field, AWSKey: key.AWSKey, Check: func(v string) error {
			if msg, rule := s.arnCheck(v, key.ArnType, false); rule != "" {
				return filter.ValueError(rule, msg)
			}
			return nil
		}},
	}
}
