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
	DefaultExplainabilities         = 3
	DefaultExportsPerExplainability = 40
	DefaultWhatIfForecasts          = 6
	DefaultWhatIfExports            = 120
	DefaultTokenTTL                 = 24 * time.Hour
	DefaultMaxBodyBytes             = 1 << 20

	// DefaultJobDuration is the whole CREATE_PENDING -> CREATE_IN_PROGRESS
	// -> ACTIVE time of a job; by default 1/6 of it is pending.
	DefaultJobDuration        = 30 * time.Second
	DefaultPendingDuration    = DefaultJobDuration / 6
	DefaultInProgressDuration = DefaultJobDuration - DefaultPendingDuration
	// DefaultStopDuration (CREATE_STOPPING) and DefaultDeleteDuration
	// (DELETE_PENDING + DELETE_IN_PROGRESS) are JobDuration/6.
	DefaultStopDuration   = DefaultJobDuration / 6
	DefaultDeleteDuration = DefaultJobDuration / 6
)

// DefaultFixtureEnd is the newest fixture CreationTime unless
// Options.FixtureEnd says otherwise; fixed so fixtures are reproducible.
var DefaultFixtureEnd = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// Options configures a Server. Zero values mean the defaults above; for the
// fixture sizes a negative value means "none", for durations "zero".
type Options struct {
	Region  string // default us-east-1; SigV4 credentials must be scoped to it
	Account string // default 123456789012
	// Clock defaults to the wall clock plus an offset that AdvanceClock
	// moves; a *FakeClock can be advanced too.
	Clock Clock

	// Fixtures (deterministic for a given Seed and sizes).
	Seed                     int64
	Predictors               int // parents of predictor backtest export jobs
	BacktestJobsPerPredictor int
	Forecasts                int // parents of forecast export jobs
	ExportJobsPerForecast    int
	Datasets                 int // parents of dataset import jobs
	ImportJobsPerDataset     int
	Explainabilities         int // parents of Explainability exports
	ExportsPerExplainability int
	WhatIfForecasts          int       // what-if forecasts the what-if forecast exports read
	WhatIfExports            int       // what-if forecast exports in all, each naming 1-3 what-if forecasts
	FixtureEnd               time.Time // newest fixture CreationTime

	// Lifecycle, on the emulator clock. JobDuration is the whole
	// CREATE_PENDING -> CREATE_IN_PROGRESS -> ACTIVE time: 1/6 pending,
	// 5/6 in progress. PendingDuration and InProgressDuration, when set,
	// override their part. StopDuration is the CREATE_STOPPING time,
	// DeleteDuration the DELETE_PENDING + DELETE_IN_PROGRESS time (split
	// evenly); both default to JobDuration/6.
	JobDuration        time.Duration
	PendingDuration    time.Duration
	InProgressDuration time.Duration
	StopDuration       time.Duration
	DeleteDuration     time.Duration

	// MaxInProgressJobs > 0 makes Create<Noun> fail with
	// LimitExceededException while that many jobs of the type made through
	// the API are CREATE_PENDING or CREATE_IN_PROGRESS (fixtures do not
	// count).
	MaxInProgressJobs int

	TokenTTL     time.Duration // NextToken lifetime, default 24h
	MaxBodyBytes int64         // request body cap, default 1 MiB

	// Latency is added to every request (honouring cancellation), to make
	// the emulator feel like a remote service in benchmarks.
	Latency time.Duration

	// Credentials, when not empty, are the only access keys accepted: the
	// signature is verified with the key's secret, session tokens, expiry
	// and Deny lists apply (see Credential). Empty accepts any key without
	// verifying the signature. SetCredentials changes them at run time.
	Credentials []Credential

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
		o.Clock = &wallClock{}
	}
	o.Predictors = sizeOr(o.Predictors, DefaultPredictors)
	o.BacktestJobsPerPredictor = sizeOr(o.BacktestJobsPerPredictor, DefaultBacktestJobsPerPredictor)
	o.Forecasts = sizeOr(o.Forecasts, DefaultForecasts)
	o.ExportJobsPerForecast = sizeOr(o.ExportJobsPerForecast, DefaultExportJobsPerForecast)
	o.Datasets = sizeOr(o.Datasets, DefaultDatasets)
	o.ImportJobsPerDataset = sizeOr(o.ImportJobsPerDataset, DefaultImportJobsPerDataset)
	o.Explainabilities = sizeOr(o.Explainabilities, DefaultExplainabilities)
	o.ExportsPerExplainability = sizeOr(o.ExportsPerExplainability, DefaultExportsPerExplainability)
	o.WhatIfForecasts = sizeOr(o.WhatIfForecasts, DefaultWhatIfForecasts)
	o.WhatIfExports = sizeOr(o.WhatIfExports, DefaultWhatIfExports)
	if o.FixtureEnd.IsZero() {
		o.FixtureEnd = DefaultFixtureEnd
	}
	jd := durOr(o.JobDuration, DefaultJobDuration)
	o.PendingDuration = durOr(o.PendingDuration, jd/6)
	o.InProgressDuration = durOr(o.InProgressDuration, jd-jd/6)
	o.StopDuration = durOr(o.StopDuration, jd/6)
	o.DeleteDuration = durOr(o.DeleteDuration, jd/6)
	o.JobDuration = o.PendingDuration + o.InProgressDuration
	o.TokenTTL = durOr(o.TokenTTL, DefaultTokenTTL)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o *Options) durations() durations {
	return durations{
		pending: o.PendingDuration, inProgress: o.InProgressDuration, stop: o.StopDuration,
		delete1: o.DeleteDuration / 2, delete2: o.DeleteDuration - o.DeleteDuration/2,
	}
}
