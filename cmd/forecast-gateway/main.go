// Command forecast-gateway serves the Forecast job API over gRPC and
// REST/JSON in front of Amazon Forecast, or in front of the embedded
// emulator (the default, for local use and demos).
//
// main only parses flags and wires; the behaviour lives in server/ and
// internal/gateway.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
)

// pageTokenKeysEnv names the environment variable holding page-token keys.
const pageTokenKeysEnv = "FORECAST_GATEWAY_PAGE_TOKEN_KEYS"

type flags struct {
	grpcAddr, httpAddr  string
	upstream            string
	region, endpointURL string
	emulatorAddr        string
	emulatorLatency     time.Duration
	keysFile            string
	tokenTTL            time.Duration
	healthInterval      time.Duration
	drainTimeout        time.Duration
	retryMaxAttempts    int
	logLevel            string
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("forecast-gateway", flag.ContinueOnError)
	fs.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:9090", "gRPC listen address")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "REST/JSON listen address")
	fs.StringVar(&f.upstream, "upstream", "emulator", "upstream: emulator (in-process Forecast emulator) or aws")
	fs.StringVar(&f.region, "region", "", "AWS region (default: us-east-1 for the emulator, the AWS configuration chain for aws)")
	fs.StringVar(&f.endpointURL, "endpoint-url", "", "override the Forecast endpoint (for example an emulator started with cmd/forecast-emulator)")
	fs.StringVar(&f.emulatorAddr, "emulator-addr", "127.0.0.1:0", "listen address of the embedded emulator (--upstream=emulator)")
	fs.DurationVar(&f.emulatorLatency, "emulator-latency", 0, "latency the embedded emulator adds to every call, to make it feel remote (demos, drain and load tests)")
	fs.StringVar(&f.keysFile, "page-token-keys-file", "", "file with page-token keys, newest first, one per line (base64 or hex, 32 bytes); also $"+pageTokenKeysEnv)
	fs.DurationVar(&f.tokenTTL, "page-token-ttl", pagetoken.DefaultTTL, "lifetime of page tokens (at most 24h, AWS's NextToken lifetime)")
	fs.DurationVar(&f.healthInterval, "health-interval", 10*time.Second, "how often the upstream is probed for grpc.health.v1")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 20*time.Second, "how long in-flight calls may take to finish on SIGTERM")
	fs.IntVar(&f.retryMaxAttempts, "retry-max-attempts", 3, "AWS SDK attempts per upstream call, throttling retries included")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.upstream != "emulator" && f.upstream != "aws" {
		return f, fmt.Errorf("--upstream must be emulator or aws, got %q", f.upstream)
	}
	return f, nil
}

func main() {
	f, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "--log-level:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(f, log); err != nil {
		log.Error("gateway failed", "error", err)
		os.Exit(1)
	}
}

func run(f flags, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tokens, err := tokenCodec(f, log)
	if err != nil {
		return err
	}

	up := upstream.Options{Region: f.region, EndpointURL: f.endpointURL, RetryMaxAttempts: f.retryMaxAttempts}
	if f.upstream == "emulator" {
		emu := emulator.New(emulator.Options{Region: f.region, Latency: f.emulatorLatency, Logger: log.With("component", "emulator")})
		if err := emu.Start(f.emulatorAddr); err != nil {
			return fmt.Errorf("starting the embedded emulator: %w", err)
		}
		defer emu.Close()
		log.Info("embedded Forecast emulator started", "url", emu.URL())
		up.Emulator, up.EndpointURL = true, emu.URL()
		if up.Region == "" {
			up.Region = emu.Options().Region
		}
	}
	client, err := upstream.NewForecastClient(ctx, up)
	if err != nil {
		return err
	}

	gw, err := gateway.Start(ctx, gateway.Config{
		GRPCAddr: f.grpcAddr, HTTPAddr: f.httpAddr,
		Forecast: client, Tokens: tokens, Logger: log,
		HealthInterval: f.healthInterval,
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	log.Info("signal received, draining", "timeout", f.drainTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), f.drainTimeout)
	defer cancel()
	return gw.Shutdown(drainCtx)
}

// tokenCodec loads the operator's page-token keys from --page-token-keys-file
// or the environment, or makes a random one with a warning.
func tokenCodec(f flags, log *slog.Logger) (*pagetoken.Codec, error) {
	var text, source string
	switch {
	case f.keysFile != "":
		b, err := os.ReadFile(f.keysFile)
		if err != nil {
			return nil, fmt.Errorf("--page-token-keys-file: %w", err)
		}
		text, source = string(b), f.keysFile
	case strings.TrimSpace(os.Getenv(pageTokenKeysEnv)) != "":
		text, source = os.Getenv(pageTokenKeysEnv), "$"+pageTokenKeysEnv
	}
	var kr *pagetoken.Keyring
	if source == "" {
		var err error
		if kr, err = pagetoken.RandomKeyring(); err != nil {
			return nil, err
		}
		log.Warn("no page-token keys configured: using a random per-process key; page tokens will not survive a restart or work across replicas",
			"fix", "--page-token-keys-file or $"+pageTokenKeysEnv)
	} else {
		keys, err := pagetoken.ParseKeys(text)
		if err != nil {
			return nil, fmt.Errorf("page-token keys from %s: %w", source, err)
		}
		if kr, err = pagetoken.NewKeyring(keys...); err != nil {
			return nil, fmt.Errorf("page-token keys from %s: %w", source, err)
		}
		log.Info("page-token keys loaded", "source", source, "keys", len(keys))
	}
	return pagetoken.NewCodec(kr, pagetoken.Options{TTL: f.tokenTTL}), nil
}
