package emulator_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/smithy-go/middleware"

	"github.com/forecastgw/forecast-gateway/emulator"
)

// t0 is the fake-clock start used by most tests: a few days after the
// newest fixture.
var t0 = emulator.DefaultFixtureEnd.Add(72 * time.Hour)

// start runs an emulator on 127.0.0.1:0 with a fake clock.
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

// client is the real SDK client pointed at srv.
func client(srv *emulator.Server, optFns ...func(*forecast.Options)) *forecast.Client {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(srv.URL()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
		},
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

func errorsAs(err error, target any) bool { return errors.As(err, target) }
