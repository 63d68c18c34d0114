package dataplane

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// observed is a family's driver whose action calls are reported to
// Deps.ObserveCall and traced with Deps.Tracer (either may be nil). Only
// Run is observed: Me validates connections, which the health metrics
// cover.
type observed struct {
	platform.Driver
	family  string
	observe func(family, label string, took time.Duration)
	tracer  trace.Tracer
}

func (o observed) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	var span trace.Span
	if o.tracer != nil {
		ctx, span = o.startSpan(ctx, call)
	}
	start := time.Now()
	pg, err := o.Driver.Run(ctx, hc, cred, call)
	took := time.Since(start)
	label := CallLabel(err)
	if o.observe != nil {
		o.observe(o.family, label, took)
	}
	if span != nil {
		endSpan(span, label, pg, err)
	}
	return pg, err
}

// startSpan opens the span of one driver call. Its attributes name the
// call, never its input, the account or its credentials.
func (o observed) startSpan(ctx context.Context, call platform.Call) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{attribute.String("firstmate.platform.family", o.family),
		attribute.Int("firstmate.page", call.Page)}
	name := "driver " + o.family
	if call.Action != nil {
		attrs = append(attrs, attribute.String("firstmate.action", call.Action.Slug))
		name += " " + call.Action.Slug
	}
	return o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endSpan records the call's outcome: its label (OK or the API error
// label), the results it returned, and an error status with the label as
// its description (a driver's error text may quote an upstream's answer).
func endSpan(span trace.Span, label string, pg platform.Page, err error) {
	span.SetAttributes(attribute.String("firstmate.call.label", label), attribute.Int("firstmate.results", len(pg.Results)))
	if err != nil {
		span.SetStatus(codes.Error, label)
	}
	span.End()
}

// PausesOnRateLimit passes the wrapped driver's answer on: the engine pauses
// an account on a rate limit only for drivers that ask (platform.Pacer), and
// the wrapper must not hide that.
func (o observed) PausesOnRateLimit() bool { return platform.PausesOnRateLimit(o.Driver) }

// observedDownloader keeps a driver's downloads: the engine asks the
// driver whether it serves files.
type observedDownloader struct {
	observed
	platform.Downloader
}

// observe wraps d so that its action calls are reported and traced.
func observe(d platform.Driver, family string, fn func(family, label string, took time.Duration), tracer trace.Tracer) platform.Driver {
	o := observed{Driver: d, family: family, observe: fn, tracer: tracer}
	if dl, ok := d.(platform.Downloader); ok {
		return observedDownloader{observed: o, Downloader: dl}
	}
	return o
}

// CallLabel is the label a driver call's outcome is counted under: "OK",
// the API error label it came to (LK_ERROR, RATE_LIMITED, ...), "CANCELED"
// or "ERROR".
func CallLabel(err error) string {
	var ae *apperr.Error
	switch {
	case err == nil:
		return "OK"
	case errors.As(err, &ae) && ae.Label != "":
		return ae.Label
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "CANCELED"
	}
	return "ERROR"
}
