// Package tracing owns OpenTelemetry tracing: the tracer provider built from
// the OTEL_* settings (read by internal/config), its flush on shutdown, and
// the W3C trace context that ties one trace together across the async path
// (carried in River job metadata and the traceparent header of callbacks).
//
// Tracing is off unless an OTLP endpoint is configured: then Start returns
// a nil *Provider, whose Tracer is nil, and every package that traces checks
// for a nil tracer before doing any work, so the hot path pays a pointer
// comparison. No exporter, no batch goroutine and no global state exist
// then. When on, the provider is not installed as OpenTelemetry's global
// one: each package is handed its tracer through its constructor (several
// apps may run in one test process).
//
// What a trace holds, and what it must never hold (keys, cookies, tokens in
// paths, callback URLs' queries): see the README's Observability section.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every span Firstmate makes.
const ScopeName = "github.com/firstmate-oss/firstmate"

// Options configure the provider; internal/app fills them from
// config.Tracing.
type Options struct {
	// URL is the OTLP/HTTP traces endpoint (http://collector:4318/v1/traces).
	// Empty: tracing is off.
	URL string
	// Headers are sent with every export (an API key of a hosted backend).
	Headers map[string]string
	// ServiceName and ServiceVersion name this process in the resource.
	ServiceName    string
	ServiceVersion string
	// Resource holds more resource attributes (OTEL_RESOURCE_ATTRIBUTES).
	Resource map[string]string
	// Sampler is one of the specification's sampler names (Samplers);
	// empty means parentbased_always_on. SamplerArg is its argument.
	Sampler    string
	SamplerArg string
	// Log receives the exporter's errors (a collector that is down).
	Log *slog.Logger
}

// Samplers are the OTEL_TRACES_SAMPLER values Start understands.
var Samplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
	"parentbased_traceidratio"}

// Provider is a running tracer provider. A nil *Provider is tracing off:
// its methods do nothing and its Tracer is nil.
type Provider struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

// Start builds the provider, or returns nil when o.URL is empty. Nothing
// connects to the collector until the first batch of spans is exported.
func Start(ctx context.Context, o Options) (*Provider, error) {
	if o.URL == "" {
		return nil, nil
	}
	sampler, err := newSampler(o.Sampler, o.SamplerArg)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(o.URL), otlptracehttp.WithHeaders(o.Headers))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", o.URL, err)
	}
	attrs := make([]attribute.KeyValue, 0, len(o.Resource)+2)
	for k, v := range o.Resource {
		attrs = append(attrs, attribute.String(k, v))
	}
	name := o.ServiceName
	if name == "" {
		name = "firstmate"
	}
	// The service's own name and version win over OTEL_RESOURCE_ATTRIBUTES,
	// as OTEL_SERVICE_NAME does in the specification.
	attrs = append(attrs, attribute.String("service.name", name))
	if o.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", o.ServiceVersion))
	}
	// resource.New with explicit detectors reads no environment variable:
	// the OTEL_* ones are config's.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID(),
		resource.WithAttributes(attrs...))
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	if o.Log != nil {
		// Export failures (a collector down) would otherwise go to the
		// standard logger. The handler is process-wide, like the errors.
		log := o.Log
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("tracing: exporting spans failed", "error", err.Error())
		}))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	return &Provider{tp: tp, tracer: tp.Tracer(ScopeName)}, nil
}

// newSampler builds a sampler from its specification name and argument.
func newSampler(name, arg string) (sdktrace.Sampler, error) {
	ratio := 1.0
	if arg != "" {
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil || f < 0 || f > 1 {
			return nil, fmt.Errorf("tracing: sampler argument %q: want a ratio from 0 to 1", arg)
		}
		ratio = f
	}
	switch strings.ToLower(name) {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("tracing: unknown sampler %q: want one of %s", name, strings.Join(Samplers, ", "))
}

// Tracer is the tracer every package is given; nil when tracing is off.
func (p *Provider) Tracer() trace.Tracer {
	if p == nil {
		return nil
	}
	return p.tracer
}

// ForceFlush exports the spans ended so far.
func (p *Provider) ForceFlush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.ForceFlush(ctx)
}

// Shutdown exports what is left and stops the exporter; spans ended later
// are dropped. Bounded by ctx.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.Shutdown(ctx)
}

// propagator is the W3C trace context (traceparent, tracestate); baggage is
// not carried: it could hold anything a client sent.
var propagator = propagation.TraceContext{}

// Extract returns ctx with the remote span context of an incoming request's
// traceparent header, if it has a valid one.
func Extract(ctx context.Context, h http.Header) context.Context {
	if h.Get("Traceparent") == "" {
		return ctx
	}
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject sets the traceparent (and tracestate) header of an outgoing request
// to ctx's span; with no span in ctx it changes nothing.
func Inject(ctx context.Context, h http.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Carrier is ctx's span context as traceparent and tracestate entries (for
// a job's metadata), nil when ctx has none.
func Carrier(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	m := propagation.MapCarrier{}
	propagator.Inject(ctx, m)
	return m
}

// FromCarrier returns ctx with the remote span context Carrier made.
func FromCarrier(ctx context.Context, m map[string]string) context.Context {
	if m["traceparent"] == "" {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier(m))
}

// Detach returns ctx without its span, for work done on behalf of something
// other than ctx's trace (a queued run that another run's end starts).
func Detach(ctx context.Context) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	return trace.ContextWithSpanContext(ctx, trace.SpanContext{})
}

// End ends span, marking it failed when err is not nil. The error's text is
// recorded: use it only where errors cannot quote a URL or an upstream's
// answer (job errors are the store's and the services' own).
func End(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// ShutdownTimeout bounds the final flush when a node stops.
const ShutdownTimeout = 5 * time.Second
