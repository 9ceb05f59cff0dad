package ops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// NewTracerProvider returns the tracer provider exporting spans over
// OTLP/HTTP to endpoint (a URL such as http://127.0.0.1:4318, or
// host:port), batched; "" means tracing off: it returns nil and sets
// nothing up. The caller shuts it down, which sends what is left.
func NewTracerProvider(ctx context.Context, endpoint, version string) (*sdktrace.TracerProvider, error) {
	if endpoint == "" {
		return nil, nil
	}
	opts := []otlptracehttp.Option{}
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("OTLP endpoint %q: a URL such as http://127.0.0.1:4318", endpoint)
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimSuffix(endpoint, "/")+tracesPath(u)))
	} else {
		opts = append(opts, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	return NewTracerProviderWith(sdktrace.NewBatchSpanProcessor(exp), version), nil
}

// tracesPath is what to add to an endpoint URL to reach its traces: the
// OTLP/HTTP signal path, unless the URL names a path of its own.
func tracesPath(u *url.URL) string {
	if u.Path == "" || u.Path == "/" {
		return "/v1/traces"
	}
	return ""
}

// NewTracerProviderWith returns a tracer provider whose spans go to sp
// (tests: an in-memory exporter's).
func NewTracerProviderWith(sp sdktrace.SpanProcessor, version string) *sdktrace.TracerProvider {
	res := resource.NewSchemaless(semconv.ServiceName("scimd"), semconv.ServiceVersion(version))
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithResource(res))
}

// Traced wraps h in an OpenTelemetry server span per request, taking a
// W3C trace context from the request's headers; [Middleware] inside it
// names the span by its route. A nil tp leaves h as it is.
func Traced(tp trace.TracerProvider, h http.Handler) http.Handler {
	if tp == nil {
		return h
	}
	return otelhttp.NewHandler(h, "scimd", otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
}
