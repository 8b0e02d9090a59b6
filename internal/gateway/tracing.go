package gateway

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/forecastgw/forecast-gateway/internal/version"
)

// TracingFromEnv builds a tracer provider from OpenTelemetry's standard
// environment: tracing is on when OTEL_TRACES_EXPORTER is "otlp", or when
// it is unset and an OTLP endpoint is (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); the exporter (OTLP over gRPC) reads
// its endpoint, headers, TLS and timeout from the same variables, and the
// sampler from OTEL_TRACES_SAMPLER. It returns nil and a no-op shutdown
// when tracing is off. Shutdown flushes the spans still buffered.
func TracingFromEnv(ctx context.Context) (*sdktrace.TracerProvider, func(context.Context) error, error) {
	none := func(context.Context) error { return nil }
	switch exp := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return nil, none, nil
	case "":
		if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, none, nil
		}
	case "otlp":
	default:
		return nil, none, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: this gateway exports traces with otlp (or none)", exp)
	}
	if p := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); p != "" && p != "grpc" {
		return nil, none, fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=%q: this gateway exports OTLP over grpc", p)
	}
	exporter, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, none, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	v := version.Get()
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName("forecast-gateway"), semconv.ServiceVersion(v.Version)))
	if err != nil {
		return nil, none, fmt.Errorf("tracing: resource: %w", err)
	}
	// resource.WithFromEnv (in Default) lets OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES override these.
	if env, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}
