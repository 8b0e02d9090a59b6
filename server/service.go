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
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/jobwatch"
	"github.com/forecastgw/forecast-gateway/internal/metrics"
	"github.com/forecastgw/forecast-gateway/internal/upstream"

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
	// Watch configures WatchJob and WaitJob.
	Watch WatchOptions
	// DescribeCacheTTL is how long the Describe of a job in a terminal
	// state is served from memory (0: DefaultDescribeCacheTTL; negative:
	// no cache). It is the staleness a change made around this gateway
	// (another replica, the console) can have; changes through this
	// gateway invalidate at once.
	DescribeCacheTTL time.Duration
	// Metrics, when set, counts Describes by how they were served.
	Metrics *metrics.Metrics
}

// DefaultDescribeCacheTTL is Options.DescribeCacheTTL's default.
const DefaultDescribeCacheTTL = 10 * time.Second

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

	watch     WatchOptions
	hub       *jobwatch.Hub
	describes *describeCache
	flight    singleflight.Group
	metrics   *metrics.Metrics
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
	s.metrics = opts.Metrics
	ttl := opts.DescribeCacheTTL
	if ttl == 0 {
		ttl = DefaultDescribeCacheTTL
	}
	s.describes = newDescribeCache(ttl, 10000)
	s.watch = opts.Watch
	if s.watch.Heartbeat <= 0 {
		s.watch.Heartbeat = 15 * time.Second
	}
	if s.watch.MaxWait <= 0 {
		s.watch.MaxWait = time.Hour
	}
	s.hub = jobwatch.New(jobwatch.Options{
		Source: jobSource{s}, MinInterval: s.watch.MinInterval, MaxInterval: s.watch.MaxInterval,
		MaxWatches: s.watch.MaxWatches, MaxWatchesPerCaller: s.watch.MaxWatchesPerCaller,
		Throttled: func(err error) bool { return apierr.Reason(status.Convert(err)) == apierr.ReasonThrottled },
		Context:   upstream.WithOrigin(context.Background(), upstream.OriginWatch),
		Logger:    s.log,
	})
	for _, t := range jobtype.All {
		s.filters[t] = s.filterFields(t)
	}
	return s, nil
}

// Drain ends every watch and wait: streams get a last message and
// UNAVAILABLE, so their clients reconnect to another replica. Call it when
// the gateway starts draining; calls in flight are not affected.
func (s *ForecastJobServer) Drain() { s.hub.Close() }

// Watching is the number of open watches (and waits) and of jobs polled.
func (s *ForecastJobServer) Watching() (watches, jobs int) { return s.hub.Stats() }

func (s *ForecastJobServer) countDescribe(how string) {
	if s.metrics != nil {
		s.metrics.Describes.WithLabelValues(how).Inc()
	}
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
