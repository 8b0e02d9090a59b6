package e2e_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc/metadata"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
)

// BenchmarkSecurityOverhead: one Describe through the whole stack over
// real loopback TCP, sequential, on a plaintext gateway without
// authentication and on one with TLS, JWT authentication (one token,
// verified once and then cached) and rate limits that never refuse, side
// by side in one run:
//
//	go test -run '^$' -bench SecurityOverhead -count 3 ./e2e
func BenchmarkSecurityOverhead(b *testing.B) {
	generous := &ratelimit.Config{Limits: map[ratelimit.Class]ratelimit.Limit{
		ratelimit.Read: {Rate: 1e9, Burst: 1e9, Concurrency: 1 << 20}}}
	stacks := []struct {
		name string
		o    secOptions
	}{
		{"plain", secOptions{}},
		{"tls+jwt+limits", secOptions{tls: true, jwt: true, cfg: gateway.Config{Security: gateway.Security{RateLimits: generous}}}},
	}
	for _, st := range stacks {
		s := startSecStack(b, st.o)
		c := s.client
		if st.o.jwt {
			c = c.as(s.signer.token(b, "bench", secRead))
		}
		arn := s.emu.Jobs(secJob)[0].Arn
		b.Run(st.name+"/grpc", func(b *testing.B) {
			ctx := context.Background()
			if c.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
			}
			client := gatewayv1.NewForecastJobServiceClient(c.conn)
			in := &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.DescribePredictorBacktestExportJob(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(st.name+"/rest", func(b *testing.B) {
			req, err := http.NewRequest(http.MethodGet, c.base+secItem(arn), nil)
			if err != nil {
				b.Fatal(err)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.http.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("HTTP %d", resp.StatusCode)
				}
			}
		})
	}
}
