package jobs

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/tracing"
)

// One trace follows an async run from the request that submitted it: the
// span context of the code that enqueues a chunk or delivery job (the API
// request, the chunk whose commit enqueued a callback, the attempt before
// a retry) is written into the job's River metadata as W3C traceparent
// and tracestate entries, and the worker's span is its child. With tracing
// off nothing is written: the enqueuing context has no span.

// jobTrace is the part of a job's metadata this package writes.
type jobTrace struct {
	Trace map[string]string `json:"otel,omitempty"`
}

// traceMetadata is the metadata that carries ctx's span context to a job,
// nil when ctx has none.
func traceMetadata(ctx context.Context) []byte {
	c := tracing.Carrier(ctx)
	if c == nil {
		return nil
	}
	b, err := json.Marshal(jobTrace{Trace: c})
	if err != nil {
		return nil // a map of strings always encodes
	}
	return b
}

// startJobSpan opens the span of a job, the child of the span its metadata
// names (a root span when it names none, e.g. a schedule's firing).
func startJobSpan(ctx context.Context, tracer trace.Tracer, job *rivertype.JobRow, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	var meta jobTrace
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &meta) == nil {
		ctx = tracing.FromCarrier(ctx, meta.Trace)
	}
	attrs = append(attrs, attribute.String("messaging.system", "river"), attribute.String("messaging.destination.name", job.Queue),
		attribute.Int64("messaging.message.id", job.ID), attribute.Int("firstmate.job.attempt", job.Attempt))
	return tracer.Start(ctx, job.Kind, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}

// endJobSpan records how the job ended: a snooze (the chunk waits for the
// in-flight budget or a Smart Limit) is no error.
func endJobSpan(span trace.Span, err error) {
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
	case errors.As(err, &snooze):
		span.SetAttributes(attribute.String("firstmate.job.outcome", "snoozed"))
	default:
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
