package tracing_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/tracing"
)

// No endpoint, no tracing: no provider, no tracer, and the nil provider's
// methods are safe to call.
func TestOffWithoutEndpoint(t *testing.T) {
	p, err := tracing.Start(context.Background(), tracing.Options{ServiceName: "x", Sampler: "always_on"})
	if err != nil || p != nil {
		t.Fatalf("Start without a URL = %v, %v; want nil, nil", p, err)
	}
	if p.Tracer() != nil {
		t.Fatal("a nil provider has a tracer")
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Spans reach a collector over OTLP/HTTP (the real exporter, decoded as
// protobuf by the receiver), with the export headers, the resource, and
// the parent link of a child span.
func TestExportsOverOTLPHTTP(t *testing.T) {
	recv := apitest.NewOTLPReceiver(t)
	ctx := context.Background()
	p, err := tracing.Start(ctx, tracing.Options{URL: recv.URL + "/v1/traces", Headers: map[string]string{"Authorization": "Bearer collector-key"},
		ServiceName: "fm-test", ServiceVersion: "v9", Resource: map[string]string{"deployment.environment": "test", "service.name": "overridden"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	pctx, parent := p.Tracer().Start(ctx, "parent")
	_, child := p.Tracer().Start(pctx, "child")
	child.End()
	parent.End()
	if err := p.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if errs := recv.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	spans := recv.Spans()
	if len(spans) != 2 {
		t.Fatalf("received %d spans, want 2: %+v", len(spans), spans)
	}
	byName := map[string]apitest.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	ps, cs := byName["parent"], byName["child"]
	if ps.TraceID == "" || cs.TraceID != ps.TraceID || cs.ParentID != ps.SpanID || ps.ParentID != "" {
		t.Errorf("child %+v is not the child of parent %+v", cs, ps)
	}
	for k, want := range map[string]string{"service.name": "fm-test", "service.version": "v9", "deployment.environment": "test"} {
		if got := ps.Resource[k]; got != want {
			t.Errorf("resource %s = %q, want %q", k, got, want)
		}
	}
	if ps.Scope != tracing.ScopeName {
		t.Errorf("scope %q, want %q", ps.Scope, tracing.ScopeName)
	}
	exports := recv.Exports()
	if len(exports) == 0 || exports[0].Get("Authorization") != "Bearer collector-key" {
		t.Errorf("the export headers did not reach the collector: %v", exports)
	}
}

// Every sampler config accepts is one Start builds, and the samplers
// sample: always_off exports nothing, always_on everything.
func TestSamplers(t *testing.T) {
	ctx := context.Background()
	for _, name := range config.TraceSamplers {
		recv := apitest.NewOTLPReceiver(t)
		p, err := tracing.Start(ctx, tracing.Options{URL: recv.URL + "/v1/traces", Sampler: name, SamplerArg: "1"})
		if err != nil {
			t.Fatalf("sampler %s: %v", name, err)
		}
		_, s := p.Tracer().Start(ctx, "root")
		s.End()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		want := 1
		if name == "always_off" || name == "parentbased_always_off" {
			want = 0
		}
		if got := len(recv.Spans()); got != want {
			t.Errorf("sampler %s exported %d root spans, want %d", name, got, want)
		}
	}
	if _, err := tracing.Start(ctx, tracing.Options{URL: "http://127.0.0.1:1/v1/traces", Sampler: "sometimes"}); err == nil {
		t.Error("an unknown sampler was accepted")
	}
}

var traceparent = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// The W3C trace context goes through a job's metadata (Carrier,
// FromCarrier) and an HTTP request (Inject, Extract) unchanged, and
// nothing is written when there is no span.
func TestPropagation(t *testing.T) {
	recv := apitest.NewOTLPReceiver(t)
	ctx := context.Background()
	p, err := tracing.Start(ctx, tracing.Options{URL: recv.URL + "/v1/traces"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	sctx, span := p.Tracer().Start(ctx, "s")
	defer span.End()
	sc := span.SpanContext()

	m := tracing.Carrier(sctx)
	if got := traceparent.FindStringSubmatch(m["traceparent"]); got == nil || got[1] != sc.TraceID().String() || got[2] != sc.SpanID().String() {
		t.Fatalf("carrier %v does not name span %s/%s", m, sc.TraceID(), sc.SpanID())
	}
	back := trace.SpanContextFromContext(tracing.FromCarrier(ctx, m))
	if !back.IsRemote() || back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() || !back.IsSampled() {
		t.Errorf("FromCarrier gave %+v, want the remote %+v", back, sc)
	}

	h := http.Header{}
	tracing.Inject(sctx, h)
	if got := traceparent.FindStringSubmatch(h.Get("Traceparent")); got == nil || got[2] != sc.SpanID().String() {
		t.Errorf("traceparent header %q, want span %s", h.Get("Traceparent"), sc.SpanID())
	}
	if ex := trace.SpanContextFromContext(tracing.Extract(ctx, h)); ex.TraceID() != sc.TraceID() || ex.SpanID() != sc.SpanID() {
		t.Errorf("Extract gave %+v", ex)
	}

	if c := tracing.Carrier(ctx); c != nil {
		t.Errorf("carrier without a span: %v", c)
	}
	if c := tracing.Carrier(tracing.Detach(sctx)); c != nil {
		t.Errorf("carrier of a detached context: %v", c)
	}
	empty := http.Header{}
	tracing.Inject(ctx, empty)
	if len(empty) != 0 {
		t.Errorf("headers set without a span: %v", empty)
	}
	if ex := trace.SpanContextFromContext(tracing.FromCarrier(ctx, map[string]string{"traceparent": "garbage"})); ex.IsValid() {
		t.Errorf("a malformed traceparent gave %+v", ex)
	}
}
