// Package upstream builds the aws-sdk-go-v2 Forecast client the gateway
// calls, for real AWS (the SDK's default configuration chain) or for an
// emulator at a fixed endpoint (static dummy credentials, so no credential
// lookup can stall or leak a real key to a local process).
package upstream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
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
	// CallTimeout bounds one operation, its retries included, whatever
	// deadline the caller's context has (default 30s; negative: none). A
	// client that sent no deadline must not be able to hold a gateway
	// goroutine and an upstream connection for as long as AWS stalls.
	CallTimeout time.Duration
	// Observer, when set, is told of every call (see WithObserver).
	Observer Observer
	// Budget bounds the attempts per second per AWS operation, shared by
	// every caller (see WithBudget); the zero Budget is none.
	Budget Budget
	// Logger receives the SDK's own log output (at debug; its warnings at
	// warn), instead of the SDK writing to stderr.
	Logger *slog.Logger
	// APIOptions are added to the client's (tracing middleware, say).
	APIOptions []func(*middleware.Stack) error
}

// DefaultCallTimeout is Options.CallTimeout's default.
const DefaultCallTimeout = 30 * time.Second

// NewForecastClient builds the client.
func NewForecastClient(ctx context.Context, o Options) (*forecast.Client, error) {
	if o.RetryMaxAttempts <= 0 {
		o.RetryMaxAttempts = 3
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 256
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	// A BuildableClient so the config loader can apply AWS_CA_BUNDLE; its
	// transport is then wrapped (see bufferedBodyTransport).
	buildable := awshttp.NewBuildableClient().
		WithTimeout(0). // per-call deadlines come from each request's context
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = o.MaxIdleConnsPerHost * 2
			tr.MaxIdleConnsPerHost = o.MaxIdleConnsPerHost
			tr.IdleConnTimeout = 90 * time.Second
		})

	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(buildable),
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
		if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
			fo.HTTPClient = &http.Client{Transport: BufferBodies(bc.GetTransport())}
		}
		if o.EndpointURL != "" {
			fo.BaseEndpoint = aws.String(o.EndpointURL)
		}
		if o.CallTimeout > 0 {
			fo.APIOptions = append(fo.APIOptions, WithCallTimeout(o.CallTimeout))
		}
		if o.Observer != nil {
			fo.APIOptions = append(fo.APIOptions, WithObserver(o.Observer))
		}
		if o.Budget.Rate > 0 {
			fo.APIOptions = append(fo.APIOptions, WithBudget(o.Budget))
		}
		fo.APIOptions = append(fo.APIOptions, o.APIOptions...)
		if o.Logger != nil {
			fo.Logger = sdkLogger{o.Logger}
		}
	}), nil
}

// BufferBodies wraps next so that net/http gets every request body as an
// in-memory reader (see bufferedBodyTransport). Tests that drive the
// emulator with a plain SDK client use it for the same reason.
func BufferBodies(next *http.Transport) http.RoundTripper { return bufferedBodyTransport{next} }

// bufferedBodyTransport hands net/http every request body as an in-memory
// reader with GetBody set. With the SDK's own seekable body stream, under
// load net/http sometimes closes a keep-alive connection while the response
// is still being read ("use of closed network connection"); the SDK then
// retries (it treats net.ErrClosed as retryable since aws-sdk-go-v2#2949),
// so the same AWS page is fetched twice and the caller waits for a backoff.
// Forecast request bodies are small JSON documents, so the copy is cheap.
type bufferedBodyTransport struct{ next *http.Transport }

func (t bufferedBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody || r.GetBody != nil {
		return t.next.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.ContentLength = int64(len(b))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r2.Body, _ = r2.GetBody()
	return t.next.RoundTrip(r2)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (t bufferedBodyTransport) CloseIdleConnections() { t.next.CloseIdleConnections() }

// WithCallTimeout is an SDK API option that bounds each operation, retries
// and backoff included: it sits first in the Initialize step, so the whole
// middleware stack runs under the deadline.
func WithCallTimeout(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ForecastGatewayCallTimeout",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}

// sdkLogger sends the SDK's log output to slog.
type sdkLogger struct{ l *slog.Logger }

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	s.l.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "aws-sdk")
}
