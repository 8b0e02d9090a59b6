// Package testenv starts the real stack for end-to-end tests and
// benchmarks: the Forecast emulator and the gateway (assembled by
// internal/gateway, as the binary does) on loopback TCP port 0, with a
// generated gRPC client, a net/http client for REST and a direct AWS SDK
// client to the emulator. Everything is torn down by t.Cleanup, which also
// fails the test if goroutines leaked.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
)

// ResponseCheck, when a test package sets it (in TestMain), sees every
// response of a test environment's HTTP client with its body, for example
// to validate it against the OpenAPI document.
var ResponseCheck func(tb testing.TB, req *http.Request, resp *http.Response, body []byte)

// checkedTransport hands every complete response to ResponseCheck. A
// stream (NDJSON, server-sent events) is passed on as it arrives and
// checked whole when the client closes it.
type checkedTransport struct {
	next http.RoundTripper
	tb   testing.TB
}

func (c checkedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-ndjson") || strings.HasPrefix(ct, "text/event-stream") {
		resp.Body = &teeBody{ReadCloser: resp.Body, done: func(body []byte) { ResponseCheck(c.tb, r, resp, body) }}
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	ResponseCheck(c.tb, r, resp, body)
	return resp, nil
}

// teeBody keeps what a stream's reader read, and hands it over on Close.
type teeBody struct {
	io.ReadCloser
	buf  bytes.Buffer
	done func([]byte)
	once sync.Once
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.buf.Write(p[:n])
	return n, err
}

func (t *teeBody) Close() error {
	err := t.ReadCloser.Close()
	t.once.Do(func() { t.done(t.buf.Bytes()) })
	return err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (c checkedTransport) CloseIdleConnections() {
	if ic, ok := c.next.(interface{ CloseIdleConnections() }); ok {
		ic.CloseIdleConnections()
	}
}

// Options tune the environment; the zero value is the default stack.
type Options struct {
	Emulator emulator.Options
	// Gateway is applied over the defaults (addresses, upstream, tokens and
	// logger are filled in by Start when empty). Its Upstream always points
	// at the test's emulator.
	Gateway gateway.Config
	// TokenNow is the page-token clock (tests of expiry); nil is time.Now.
	TokenNow func() time.Time
	// TokenTTL is the page-token lifetime; 0 is the default.
	TokenTTL time.Duration
	// RetryMaxAttempts for the gateway's SDK client; 0 is the default (3).
	RetryMaxAttempts int
	// SkipLeakCheck disables the goroutine check (benchmarks in loops).
	SkipLeakCheck bool
}

// Env is a running stack.
type Env struct {
	Emu     *emulator.Server
	Gateway *gateway.Gateway
	Tokens  *pagetoken.Codec

	Conn    *grpc.ClientConn
	Client  gatewayv1.ForecastJobServiceClient
	HTTP    *http.Client
	BaseURL string           // http://127.0.0.1:port of the REST surface
	SDK     *forecast.Client // direct to the emulator, bypassing the gateway
}

// Start brings the stack up and registers its teardown with tb.Cleanup.
func Start(tb testing.TB, o Options) *Env {
	tb.Helper()
	before := runtime.NumGoroutine()
	ctx := context.Background()
	e := &Env{}

	if o.Emulator.Logger == nil {
		o.Emulator.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Emulator.Clock == nil {
		// Tests drive time: the emulator's jobs move only when a test
		// advances the clock (env.Emu.AdvanceClock), never by themselves.
		o.Emulator.Clock = emulator.NewFakeClock(time.Now().Truncate(time.Second))
	}
	e.Emu = emulator.New(o.Emulator)
	if err := e.Emu.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("starting emulator: %v", err)
	}

	var err error
	up := upstream.Options{Emulator: true, EndpointURL: e.Emu.URL(), Region: e.Emu.Options().Region}
	if e.SDK, err = upstream.NewForecastClient(ctx, up); err != nil {
		tb.Fatalf("direct SDK client: %v", err)
	}

	kr, err := pagetoken.RandomKeyring()
	if err != nil {
		tb.Fatal(err)
	}
	e.Tokens = pagetoken.NewCodec(kr, pagetoken.Options{TTL: o.TokenTTL, Now: o.TokenNow})

	cfg := o.Gateway
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	cfg.Upstream = gateway.Upstream{Kind: gateway.UpstreamEmulator, EndpointURL: e.Emu.URL(), Region: e.Emu.Options().Region, RetryMaxAttempts: o.RetryMaxAttempts}
	if cfg.Tokens == nil {
		cfg.Tokens = e.Tokens
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.DescribeCacheTTL == 0 {
		// Tests change jobs around the gateway (the SDK, the emulator's
		// clock); the cache's own tests turn it on.
		cfg.DescribeCacheTTL = -1
	}
	if cfg.Security.RateLimits == nil {
		// Tests make calls in quick bursts; rate-limit tests set their own.
		cfg.Security.RateLimits = gateway.NoRateLimits
	}
	if cfg.HealthInterval == 0 {
		// Long by default so probes do not disturb upstream call counts;
		// health tests set their own.
		cfg.HealthInterval = time.Hour
	}
	if e.Gateway, err = gateway.Start(ctx, cfg); err != nil {
		tb.Fatalf("starting gateway: %v", err)
	}

	if e.Conn, err = grpc.NewClient(e.Gateway.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		tb.Fatalf("gRPC client: %v", err)
	}
	e.Client = gatewayv1.NewForecastJobServiceClient(e.Conn)
	e.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	if ResponseCheck != nil {
		e.HTTP.Transport = checkedTransport{next: e.HTTP.Transport, tb: tb}
	}
	e.BaseURL = "http://" + e.Gateway.HTTPAddr()

	// The emulator's counters should show only what the test does.
	e.Emu.ResetCallCounts()

	tb.Cleanup(func() {
		e.Stop(tb)
		if !o.SkipLeakCheck {
			CheckGoroutines(tb, before)
		}
	})
	return e
}

// Stop tears the stack down (idempotent). Tests of shutdown call it early.
func (e *Env) Stop(tb testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if e.Conn != nil {
		_ = e.Conn.Close()
	}
	if e.HTTP != nil {
		e.HTTP.CloseIdleConnections()
	}
	if err := e.Gateway.Shutdown(ctx); err != nil {
		tb.Errorf("gateway shutdown: %v", err)
	}
	closeSDKIdle(e.SDK)
	_ = e.Emu.Close()
}

// closeSDKIdle drops the SDK client's keep-alive connections so their
// goroutines end with the test.
func closeSDKIdle(c *forecast.Client) {
	if c == nil {
		return
	}
	type idleCloser interface{ CloseIdleConnections() }
	if ic, ok := c.Options().HTTPClient.(idleCloser); ok {
		ic.CloseIdleConnections()
	}
}

// CheckGoroutines fails tb when, within a few seconds, the goroutine count
// does not come back down to before (plus a small allowance for runtime
// helpers), and prints the stacks of what is left.
func CheckGoroutines(tb testing.TB, before int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := runtime.NumGoroutine()
		if now <= before+2 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			tb.Errorf("goroutine leak: %d before, %d after\n%s", before, now, filterStacks(string(buf[:n])))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func filterStacks(all string) string {
	var keep []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*T).Run") || strings.Contains(g, "testing.runTests") {
			continue
		}
		keep = append(keep, g)
	}
	return fmt.Sprint(strings.Join(keep, "\n\n"))
}
