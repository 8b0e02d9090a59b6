package emulator_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/smithy-go/middleware"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
)

// t0 is the fake-clock start used by most tests: a few days after the
// newest fixture.
var t0 = emulator.DefaultFixtureEnd.Add(72 * time.Hour)

const (
	roleArn = "arn:aws:iam::123456789012:role/ForecastRole"
	kmsArn  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// start runs an emulator on 127.0.0.1:0 with a fake clock at t0.
func start(t testing.TB, opts emulator.Options) (*emulator.Server, *emulator.FakeClock) {
	t.Helper()
	clk, _ := opts.Clock.(*emulator.FakeClock)
	if clk == nil {
		clk = emulator.NewFakeClock(t0)
		opts.Clock = clk
	}
	srv := emulator.New(opts)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, clk
}

// noBackoff keeps SDK retries instant so retry tests stay fast.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// client is the real SDK client pointed at srv, with the static
// credentials the gateway uses against the emulator.
func client(srv *emulator.Server, optFns ...func(*forecast.Options)) *forecast.Client {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("EMULATOR", "EMULATOR", ""),
		BaseEndpoint: aws.String(srv.URL()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
		},
		// The SDK's own body stream races net/http under load: the
		// connection can be closed while the response is read ("use of
		// closed network connection"); see internal/upstream.
		HTTPClient: &http.Client{Transport: upstream.BufferBodies(http.DefaultTransport.(*http.Transport).Clone())},
	}
	return forecast.NewFromConfig(cfg, optFns...)
}

// noClientValidation removes the SDK's client-side required-member check
// so the emulator's own validation of missing members can be exercised.
func noClientValidation(o *forecast.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Initialize.Remove("OperationInputValidation")
		return err
	})
}

// maxAttempts sets the SDK's attempt limit.
func maxAttempts(n int) func(*forecast.Options) {
	return func(o *forecast.Options) { o.RetryMaxAttempts = n }
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// small are fixture sizes for tests that need only a few jobs of each type.
func small(o emulator.Options) emulator.Options {
	o.Predictors, o.BacktestJobsPerPredictor = 2, 2
	o.Forecasts, o.ExportJobsPerForecast = 2, 2
	o.Datasets, o.ImportJobsPerDataset = 2, 2
	o.Explainabilities, o.ExportsPerExplainability = 2, 2
	o.WhatIfForecasts, o.WhatIfExports = 3, 2
	return o
}

// defaultArgs are the Create members of a valid job of t, made from the
// second fixture parent (what-if forecast exports: the first two what-if
// forecasts).
func defaultArgs(srv *emulator.Server, t *jobtype.Type, name string) createArgs {
	a := createArgs{
		name: name, path: "s3://my-bucket/out/", role: roleArn, kms: kmsArn, format: "PARQUET",
		tags: map[string]string{"team": "demand"},
	}
	parents := srv.ParentArns(t)
	if t == jobtype.WhatIfForecastExport {
		a.whatIf = parents[:2]
	} else {
		a.parent = parents[1]
	}
	return a
}
