// Package upstream builds the aws-sdk-go-v2 Forecast client the gateway
// calls, for real AWS (the SDK's default configuration chain) or for an
// emulator at a fixed endpoint (static dummy credentials, so no credential
// lookup can stall or leak a real key to a local process).
package upstream

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
)

// Options configure the client.
type Options struct {
	// Region is the AWS region; for AWS it may also come from the chain.
	Region string
	// EndpointURL overrides the service endpoint (emulator, VPC endpoint).
	EndpointURL string
	// Emulator selects static dummy credentials instead of the AWS chain.
	Emulator bool
	// RetryMaxAttempts bounds the SDK's attempts per call, throttling
	// included (default 3, the SDK's standard retryer).
	RetryMaxAttempts int
	// MaxIdleConnsPerHost sizes the keep-alive pool to the upstream; the Go
	// default of 2 would open and close connections under concurrency.
	MaxIdleConnsPerHost int
}

// NewForecastClient builds the client.
func NewForecastClient(ctx context.Context, o Options) (*forecast.Client, error) {
	if o.RetryMaxAttempts <= 0 {
		o.RetryMaxAttempts = 3
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 256
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(0). // per-call deadlines come from each request's context
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = o.MaxIdleConnsPerHost * 2
			tr.MaxIdleConnsPerHost = o.MaxIdleConnsPerHost
			tr.IdleConnTimeout = 90 * time.Second
		})

	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryMaxAttempts(o.RetryMaxAttempts),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Emulator {
		opts = append(opts,
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("EMULATOR", "EMULATOR", "")),
			// Keep the emulator setup hermetic: no shared config files.
			config.WithSharedConfigFiles([]string{}),
			config.WithSharedCredentialsFiles([]string{}),
		)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("upstream: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("upstream: no AWS region: pass --region or set AWS_REGION")
	}
	return forecast.NewFromConfig(cfg, func(fo *forecast.Options) {
		if o.EndpointURL != "" {
			fo.BaseEndpoint = aws.String(o.EndpointURL)
		}
	}), nil
}
