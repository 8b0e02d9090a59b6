// Command forecast-emulator runs the Amazon Forecast emulator standalone.
//
//	go run ./cmd/forecast-emulator --addr 127.0.0.1:4566
//	aws forecast list-predictor-backtest-export-jobs --endpoint-url http://127.0.0.1:4566
//	curl -X POST 'http://127.0.0.1:4566/_emulator/clock?advance=30s'
//
// It logs the actual listen address (useful with --addr 127.0.0.1:0) and
// shuts down gracefully on SIGINT/SIGTERM. See emulator/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/forecastgw/forecast-gateway/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "forecast-emulator:", err)
		os.Exit(2)
	}
}

// faultFlags collects repeated --fault values.
type faultFlags []string

func (f *faultFlags) String() string     { return strings.Join(*f, "; ") }
func (f *faultFlags) Set(v string) error { *f = append(*f, v); return nil }

// run parses args, starts the emulator and serves until ctx is done.
func run(ctx context.Context, args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("forecast-emulator", flag.ContinueOnError)
	fs.SetOutput(logOut)
	var (
		o        emulator.Options
		faults   faultFlags
		addr     = fs.String("addr", "127.0.0.1:4566", "listen address (port 0 picks a free port; the actual address is logged)")
		logLevel = fs.String("log-level", "info", "debug, info, warn or error")
		credFile = fs.String("credentials-file", "", "JSON list of credentials to accept (AccessKeyID, SecretAccessKey, SessionToken, Expires, Deny, Principal); signatures are then verified (default: any key)")
	)
	fs.StringVar(&o.Region, "region", emulator.DefaultRegion, "region used in ARNs")
	fs.StringVar(&o.Account, "account", emulator.DefaultAccount, "account id used in ARNs")
	fs.Int64Var(&o.Seed, "seed", 0, "fixture seed")
	fs.IntVar(&o.Datasets, "datasets", emulator.DefaultDatasets, "fixture datasets (-1 for none)")
	fs.IntVar(&o.ImportJobsPerDataset, "import-jobs-per-dataset", emulator.DefaultImportJobsPerDataset, "fixture dataset import jobs per dataset")
	fs.IntVar(&o.Forecasts, "forecasts", emulator.DefaultForecasts, "fixture forecasts (-1 for none)")
	fs.IntVar(&o.ExportJobsPerForecast, "export-jobs-per-forecast", emulator.DefaultExportJobsPerForecast, "fixture forecast export jobs per forecast")
	fs.IntVar(&o.Predictors, "predictors", emulator.DefaultPredictors, "fixture predictors (-1 for none)")
	fs.IntVar(&o.BacktestJobsPerPredictor, "backtest-jobs-per-predictor", emulator.DefaultBacktestJobsPerPredictor, "fixture predictor backtest export jobs per predictor")
	fs.IntVar(&o.Explainabilities, "explainabilities", emulator.DefaultExplainabilities, "fixture Explainabilities (-1 for none)")
	fs.IntVar(&o.ExportsPerExplainability, "exports-per-explainability", emulator.DefaultExportsPerExplainability, "fixture Explainability exports per Explainability")
	fs.IntVar(&o.WhatIfForecasts, "what-if-forecasts", emulator.DefaultWhatIfForecasts, "fixture what-if forecasts (-1 for none)")
	fs.IntVar(&o.WhatIfExports, "what-if-exports", emulator.DefaultWhatIfExports, "fixture what-if forecast exports in all, each naming 1-3 what-if forecasts")
	fs.DurationVar(&o.JobDuration, "job-duration", emulator.DefaultJobDuration, "CREATE_PENDING -> CREATE_IN_PROGRESS -> ACTIVE time of a job (1/6 pending, 5/6 in progress)")
	fs.DurationVar(&o.PendingDuration, "pending-duration", 0, "CREATE_PENDING time, overriding its share of --job-duration (0 = job-duration/6, negative = none)")
	fs.DurationVar(&o.InProgressDuration, "in-progress-duration", 0, "CREATE_IN_PROGRESS time, overriding its share of --job-duration (0 = 5/6 of job-duration, negative = none)")
	fs.DurationVar(&o.StopDuration, "stop-duration", 0, "CREATE_STOPPING time after StopResource (0 = job-duration/6)")
	fs.DurationVar(&o.DeleteDuration, "delete-duration", 0, "DELETE_PENDING + DELETE_IN_PROGRESS time after Delete, split evenly (0 = job-duration/6)")
	fs.DurationVar(&o.TokenTTL, "token-ttl", emulator.DefaultTokenTTL, "NextToken lifetime")
	fs.IntVar(&o.MaxInProgressJobs, "max-in-progress-jobs", 0, "LimitExceededException beyond this many API-created jobs of one type in CREATE_PENDING or CREATE_IN_PROGRESS (0 = no limit)")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", emulator.DefaultMaxBodyBytes, "request body limit")
	fs.DurationVar(&o.Latency, "latency", 0, "latency added to every request")
	fs.Int64Var(&o.FaultSeed, "fault-seed", 0, "seed of the rate-based fault RNG")
	fs.Var(&faults, "fault", "inject a fault, repeatable: op=<Operation|*>,kind=latency|throttle|error|reset[,latency=200ms][,status=503][,count=N][,rate=0.1]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	o.Logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	if *credFile != "" {
		data, err := os.ReadFile(*credFile)
		if err != nil {
			return fmt.Errorf("--credentials-file: %w", err)
		}
		if o.Credentials, err = emulator.ParseCredentials(data); err != nil {
			return fmt.Errorf("--credentials-file %s: %w", *credFile, err)
		}
	}

	srv := emulator.New(o)
	for _, spec := range faults {
		op, f, err := emulator.ParseFault(spec)
		if err != nil {
			return err
		}
		srv.InjectFault(op, f)
	}
	if err := srv.Start(*addr); err != nil {
		return err
	}
	<-ctx.Done()
	o.Logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	return nil
}
