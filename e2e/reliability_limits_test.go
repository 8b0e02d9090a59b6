package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/transport"
)

// TestReliabilityGRPCMaxRecvSize: a gRPC message above MaxRecvMsgBytes is
// RESOURCE_EXHAUSTED and never reaches the service or the upstream; a
// message under the limit on the same connection still works.
func TestReliabilityGRPCMaxRecvSize(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{Limits: transport.Limits{MaxRecvMsgBytes: 4 << 10}}})
	ctx := relCtx(t, 20*time.Second)

	big := relValidCreate(env, "too_big")
	big.Tags = []*gatewayv1.Tag{{Key: "k", Value: strings.Repeat("v", 8<<10)}}
	_, err := env.Client.CreatePredictorBacktestExportJob(ctx, big)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("8 KiB message with a 4 KiB limit: %v, want ResourceExhausted", err)
	}
	if n := relUpstreamCalls(env); n != 0 {
		t.Errorf("%d upstream calls, want 0", n)
	}
	if _, err := env.Client.CreatePredictorBacktestExportJob(ctx, relValidCreate(env, "small_enough")); err != nil {
		t.Fatalf("small message after the rejected one: %v", err)
	}
}

// TestReliabilityRESTBodyLimit: a REST body above MaxBodyBytes is 413 with
// an AIP-193 body, whether it announces its length or streams chunked, and
// does not reach the upstream.
func TestReliabilityRESTBodyLimit(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{Limits: transport.Limits{MaxBodyBytes: 1024}}})
	ctx := relCtx(t, 20*time.Second)
	u := env.BaseURL + "/v1/predictor-backtest-export-jobs"
	big := append(relValidCreateJSON(env, "big_one")[:0:0], relValidCreateJSON(env, "big_one")...)
	big = bytes.Replace(big, []byte(`"destination"`), []byte(`"tags":[{"key":"k","value":"`+strings.Repeat("v", 2000)+`"}],"destination"`), 1)

	t.Run("content-length", func(t *testing.T) {
		r := relDo(t, env.HTTP, ctx, http.MethodPost, u, "application/json", big)
		if r.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("HTTP %d, want 413: %s", r.Code, r.Raw)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, io.MultiReader(bytes.NewReader(big))) // no length: chunked
		req.Header.Set("Content-Type", "application/json")
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ContentLength == -2 || resp.StatusCode != http.StatusRequestEntityTooLarge {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("HTTP %d, want 413: %s", resp.StatusCode, b)
		}
		if req.ContentLength != 0 {
			t.Fatalf("request was sent with a length (%d), not chunked", req.ContentLength)
		}
	})
	if n := relUpstreamCalls(env); n != 0 {
		t.Errorf("%d upstream calls for oversize bodies, want 0", n)
	}
	t.Run("under the limit", func(t *testing.T) {
		body := relValidCreateJSON(env, "fits")
		if len(body) > 1024 {
			t.Fatalf("test body is %d bytes", len(body))
		}
		if r := relDo(t, env.HTTP, ctx, http.MethodPost, u, "application/json", body); r.Code != http.StatusCreated {
			t.Fatalf("HTTP %d: %s", r.Code, r.Raw)
		}
	})
}

// relClosedWithin reads from c until the peer closes it and returns how
// long that took; it fails when the peer still holds it after max.
func relClosedWithin(t *testing.T, c net.Conn, max time.Duration) (time.Duration, []byte) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(max))
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", max, got)
	}
	return time.Since(start), got
}

// TestReliabilityRESTSlowClients: the http.Server timeouts configured via
// Limits cut off a client that trickles its header (ReadHeaderTimeout) or
// its body (ReadTimeout), and close idle keep-alive connections
// (IdleTimeout).
func TestReliabilityRESTSlowClients(t *testing.T) {
	const (
		headerTimeout = 200 * time.Millisecond
		readTimeout   = 400 * time.Millisecond
		idleTimeout   = 300 * time.Millisecond
		margin        = 3 * time.Second // generous: a noisy 2-core machine under -race
	)
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{Limits: transport.Limits{
		ReadHeaderTimeout: headerTimeout, ReadTimeout: readTimeout, IdleTimeout: idleTimeout,
	}}})
	addr := env.Gateway.HTTPAddr()
	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("slow header", func(t *testing.T) {
		c := dial(t)
		start := time.Now()
		if _, err := io.WriteString(c, "GET /v1/forecast-export-jobs HTTP/1.1\r\nHost: localhost\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		_, got := relClosedWithin(t, c, headerTimeout+margin)
		if el := time.Since(start); el < headerTimeout-50*time.Millisecond {
			t.Errorf("cut off after %v, before ReadHeaderTimeout %v", el, headerTimeout)
		}
		if bytes.Contains(got, []byte("200 OK")) {
			t.Errorf("an incomplete header was served: %q", got)
		}
	})

	t.Run("slow body", func(t *testing.T) {
		c := dial(t)
		start := time.Now()
		req := "POST /v1/predictor-backtest-export-jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"predictor"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		_, got := relClosedWithin(t, c, readTimeout+margin)
		if el := time.Since(start); el < readTimeout-50*time.Millisecond {
			t.Errorf("cut off after %v, before ReadTimeout %v", el, readTimeout)
		}
		if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 4")) {
			t.Errorf("a trickled body got %q, want a 4xx or a closed connection", got)
		}
		if n := env.Emu.CallCount(emulator.OpCreatePredictorBacktestExportJob); n != 0 {
			t.Errorf("%d upstream creates from a truncated body", n)
		}
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(t)
		if _, err := io.WriteString(c, "GET /openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("HTTP %d close=%v, want a kept-alive 200", resp.StatusCode, resp.Close)
		}
		idleSince := time.Now()
		_ = c.SetReadDeadline(idleSince.Add(idleTimeout + margin))
		_, err = br.ReadByte()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("idle connection still open after %v", idleTimeout+margin)
		}
		if el := time.Since(idleSince); el < idleTimeout-50*time.Millisecond {
			t.Errorf("idle connection closed after %v, before IdleTimeout %v", el, idleTimeout)
		}
	})
}

// TestReliabilityMaxConcurrentStreams: one gRPC connection never has more
// than MaxConcurrentStreams calls in the handler at once; the others wait
// for a slot and all succeed.
func TestReliabilityMaxConcurrentStreams(t *testing.T) {
	const limit, calls = 2, 8
	var g relGauge
	count := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		g.enter()
		defer g.leave()
		return h(ctx, req)
	}
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{
		Limits:            transport.Limits{MaxConcurrentStreams: limit},
		UnaryInterceptors: []grpc.UnaryServerInterceptor{count},
	}})
	env.Emu.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultLatency, Latency: 150 * time.Millisecond})
	ctx := relCtx(t, 30*time.Second)

	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := env.Client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 5})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call failed: %v", err)
		}
	}
	if p := g.peak.Load(); p != limit {
		t.Errorf("peak concurrent calls on one connection = %d, want exactly %d", p, limit)
	}
}

// TestReliabilityKeepaliveEnforcement: a peer pinging more often than
// KeepaliveMinTime gets GOAWAY ENHANCE_YOUR_CALM ("too_many_pings") and is
// disconnected, while a normal client keeps working. grpc-go clients cannot
// ping more often than every 10s, so the abusive peer speaks raw HTTP/2.
func TestReliabilityKeepaliveEnforcement(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	c, err := net.Dial("tcp", env.Gateway.GRPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var goAway *http2.GoAwayFrame
	pings := 0
	for goAway == nil {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d pings, reading: %v (no GOAWAY)", pings, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := fr.WriteSettingsAck(); err != nil {
					t.Fatal(err)
				}
				// Flood: far more often than KeepaliveMinTime (10s).
				for i := range 10 {
					if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
						break
					}
					pings++
				}
			}
		case *http2.GoAwayFrame:
			goAway = f
		}
	}
	if goAway.ErrCode != http2.ErrCodeEnhanceYourCalm || !strings.Contains(string(goAway.DebugData()), "too_many_pings") {
		t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", goAway.ErrCode, goAway.DebugData())
	}
	// The server then closes the connection.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := fr.ReadFrame(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("abusive connection still open 5s after GOAWAY")
			}
			break
		}
	}
	if _, err := env.Client.ListForecastExportJobs(relCtx(t, 10*time.Second), &gatewayv1.ListForecastExportJobsRequest{PageSize: 1}); err != nil {
		t.Fatalf("well-behaved client: %v", err)
	}
}

// TestReliabilityPanicBecomesInternal: a panic in a handler is INTERNAL
// over gRPC and 500 AIP-193 over REST, is logged with its stack, and the
// server keeps serving on the same connections.
func TestReliabilityPanicBecomesInternal(t *testing.T) {
	var log jsonLog
	boom := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		// page_size 13 is the trigger, whatever the transport.
		if r, ok := req.(*gatewayv1.ListForecastExportJobsRequest); ok && r.GetPageSize() == 13 {
			relPanickingHandler()
		}
		return h(ctx, req)
	}
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{
		Logger:            log.logger(),
		UnaryInterceptors: []grpc.UnaryServerInterceptor{boom},
	}})
	ctx := relCtx(t, 20*time.Second)

	_, err := env.Client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 13})
	st := status.Convert(err)
	if st.Code() != codes.Internal {
		t.Fatalf("panicking handler: %v, want Internal", err)
	}
	if info, _, _ := relDetails(st); info.GetReason() != "INTERNAL" {
		t.Errorf("ErrorInfo reason %q, want INTERNAL", info.GetReason())
	}
	if strings.Contains(st.Message(), "relPanickingHandler") || strings.Contains(st.Message(), "goroutine") {
		t.Errorf("the panic leaked to the client: %q", st.Message())
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.BaseURL+"/v1/forecast-export-jobs?page_size=13", nil)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !bytes.Contains(raw, []byte(`"status":"INTERNAL"`)) {
		t.Fatalf("REST panic: HTTP %d %.300s, want 500 AIP-193 INTERNAL", resp.StatusCode, raw)
	}

	entries := log.entries("handler panicked")
	if len(entries) != 2 {
		t.Fatalf("%d 'handler panicked' log entries, want 2:\n%s", len(entries), log.String())
	}
	for _, e := range entries {
		stack, _ := e["stack"].(string)
		if !strings.Contains(stack, "relPanickingHandler") || e["level"] != "ERROR" {
			t.Errorf("panic log entry without the panicking frame in its stack: %v", e)
		}
	}

	// Still serving, on the same connections.
	if _, err := env.Client.ListForecastExportJobs(ctx, &gatewayv1.ListForecastExportJobsRequest{PageSize: 1}); err != nil {
		t.Fatalf("gRPC after the panic: %v", err)
	}
	if r := relDo(t, env.HTTP, ctx, http.MethodGet, env.BaseURL+"/v1/forecast-export-jobs?page_size=1", "", nil); r.Code != http.StatusOK {
		t.Fatalf("REST after the panic: HTTP %d %s", r.Code, r.Raw)
	}
}

//go:noinline
func relPanickingHandler() { panic("reliability test: injected handler panic") }
