package emulator

import (
	"log/slog"
	"time"
)

// Defaults. The fixture sizes give every list operation more than one
// 100-item AWS page, spread over several parents and every status.
const (
	DefaultRegion                   = "us-east-1"
	DefaultAccount                  = "123456789012"
	DefaultPredictors               = 6
	DefaultBacktestJobsPerPredictor = 30
	DefaultForecasts                = 5
	DefaultExportJobsPerForecast    = 40
	DefaultDatasets                 = 4
	DefaultImportJobsPerDataset     = 50
	DefaultPendingDuration          = 30 * time.Second
	DefaultInProgressDuration       = 5 * time.Minute
	DefaultTokenTTL                 = 24 * time.Hour
	DefaultMaxBodyBytes             = 1 << 20
)

// DefaultFixtureEnd is the newest fixture CreationTime unless
// Options.FixtureEnd says otherwise; fixed so fixtures are reproducible.
var DefaultFixtureEnd = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// Options configures a Server. Zero values mean the defaults above; for the
// fixture sizes a negative value means "none".
type Options struct {
	Region  string // default us-east-1
	Account string // default 123456789012
	Clock   Clock  // default the wall clock

	// Fixtures (deterministic for a given Seed and sizes).
	Seed                     int64
	Predictors               int
	BacktestJobsPerPredictor int
	Forecasts                int
	ExportJobsPerForecast    int
	Datasets                 int
	ImportJobsPerDataset     int
	FixtureEnd               time.Time // newest fixture CreationTime

	// Lifecycle of jobs made by CreatePredictorBacktestExportJob:
	// CREATE_PENDING for PendingDuration, then CREATE_IN_PROGRESS for
	// InProgressDuration, then ACTIVE. A negative duration means zero.
	PendingDuration    time.Duration
	InProgressDuration time.Duration

	// MaxInProgressJobs > 0 makes Create fail with LimitExceededException
	// while that many created jobs are still pending or in progress.
	MaxInProgressJobs int

	TokenTTL     time.Duration // NextToken lifetime, default 24h
	MaxBodyBytes int64         // request body cap, default 1 MiB

	// Latency is added to every request (honouring cancellation), to make
	// the emulator feel like a remote service in benchmarks.
	Latency time.Duration

	FaultSeed int64        // seeds the RNG of rate-based faults
	Logger    *slog.Logger // default discards
}

func sizeOr(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

func durOr(v, def time.Duration) time.Duration {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

func (o Options) withDefaults() Options {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	o.Predictors = sizeOr(o.Predictors, DefaultPredictors)
	o.BacktestJobsPerPredictor = sizeOr(o.BacktestJobsPerPredictor, DefaultBacktestJobsPerPredictor)
	o.Forecasts = sizeOr(o.Forecasts, DefaultForecasts)
	o.ExportJobsPerForecast = sizeOr(o.ExportJobsPerForecast, DefaultExportJobsPerForecast)
	o.Datasets = sizeOr(o.Datasets, DefaultDatasets)
	o.ImportJobsPerDataset = sizeOr(o.ImportJobsPerDataset, DefaultImportJobsPerDataset)
	if o.FixtureEnd.IsZero() {
		o.FixtureEnd = DefaultFixtureEnd
	}
	o.PendingDuration = durOr(o.PendingDuration, DefaultPendingDuration)
	o.InProgressDuration = durOr(o.InProgressDuration, DefaultInProgressDuration)
	o.TokenTTL = durOr(o.TokenTTL, DefaultTokenTTL)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
