package dataplane

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

type plainDriver struct{}

func (plainDriver) Me(context.Context, *http.Client, platform.Credentials) (platform.Account, error) {
	return platform.Account{}, nil
}

func (plainDriver) Run(context.Context, *http.Client, platform.Credentials, platform.Call) (platform.Page, error) {
	return platform.Page{}, nil
}

type pacingDriver struct{ plainDriver }

func (pacingDriver) PausesOnRateLimit() bool { return true }

type pacingDownloader struct{ pacingDriver }

func (pacingDownloader) Download(context.Context, *http.Client, platform.Credentials, string) (platform.File, error) {
	return platform.File{}, nil
}

// The metrics wrapper must keep what the engine asks a driver for: whether
// it pauses an account on a rate limit (the LinkedIn session driver does;
// losing it let every worker retry into LinkedIn's bot detection) and
// whether it serves files.
func TestObservedKeepsTheDriversCapabilities(t *testing.T) {
	noop := func(string, string, time.Duration) {}
	cases := []struct {
		name           string
		d              platform.Driver
		pauses, serves bool
	}{
		{"plain", plainDriver{}, false, false},
		{"pacer", pacingDriver{}, true, false},
		{"pacer and downloader", pacingDownloader{}, true, true},
	}
	tracer := sdktrace.NewTracerProvider().Tracer("test")
	for _, c := range cases {
		for _, tr := range []trace.Tracer{nil, tracer} {
			w := observe(c.d, "linkedin", noop, tr)
			if got := platform.PausesOnRateLimit(w); got != c.pauses {
				t.Errorf("%s (tracing %v): PausesOnRateLimit = %v, the driver says %v", c.name, tr != nil, got, c.pauses)
			}
			if _, got := w.(platform.Downloader); got != c.serves {
				t.Errorf("%s (tracing %v): Downloader = %v, the driver says %v", c.name, tr != nil, got, c.serves)
			}
		}
	}
}

// answerDriver answers every call with its page and error.
type answerDriver struct {
	plainDriver
	pg  platform.Page
	err error
}

func (d answerDriver) Run(context.Context, *http.Client, platform.Credentials, platform.Call) (platform.Page, error) {
	return d.pg, d.err
}

// Each driver call is a client span, the child of the caller's span, named
// after the family and action, with the outcome's label; a failure has an
// error status whose description is the label, not the driver's text
// (which may quote the upstream). Nothing of the input or credentials.
func TestObservedTracesDriverCalls(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracer := tp.Tracer("test")
	act := &catalog.Action{Slug: "googlemaps-search-places", Platform: "googlemaps"}
	cred := platform.Credentials{}
	input := map[string]any{"google_maps_search_url": "https://maps.example/secret-input"}
	ctx, parent := tracer.Start(context.Background(), "parent")
	var labels []string
	metrics := func(_, label string, _ time.Duration) { labels = append(labels, label) }
	ok := observe(answerDriver{pg: platform.Page{Results: []map[string]any{{"a": 1}, {"a": 2}}}}, "googlemaps", metrics, tracer)
	if _, err := ok.Run(ctx, nil, cred, platform.Call{Action: act, Input: input, Page: 2}); err != nil {
		t.Fatal(err)
	}
	bad := observe(answerDriver{err: apperr.Upstream("LK_ERROR", "upstream said: token=abc")}, "googlemaps", metrics, tracer)
	if _, err := bad.Run(ctx, nil, cred, platform.Call{Action: act, Input: input, Page: 1}); err == nil {
		t.Fatal("the error was lost")
	}
	parent.End()
	if fmt.Sprint(labels) != "[OK LK_ERROR]" {
		t.Errorf("metrics saw %v", labels)
	}
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 2 driver calls and the parent", len(spans))
	}
	for i, want := range []struct {
		label, page, results string
		failed               bool
	}{{"OK", "2", "2", false}, {"LK_ERROR", "1", "0", true}} {
		s := spans[i]
		if s.Name != "driver googlemaps googlemaps-search-places" || s.SpanKind != trace.SpanKindClient {
			t.Errorf("span %d: %q kind %v", i, s.Name, s.SpanKind)
		}
		if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %d is not the caller's child", i)
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		for k, v := range map[string]string{"firstmate.platform.family": "googlemaps", "firstmate.action": "googlemaps-search-places",
			"firstmate.call.label": want.label, "firstmate.page": want.page, "firstmate.results": want.results} {
			if attrs[k] != v {
				t.Errorf("span %d: %s = %q, want %q", i, k, attrs[k], v)
			}
		}
		if failed := s.Status.Code == codes.Error; failed != want.failed || (failed && s.Status.Description != want.label) {
			t.Errorf("span %d: status %+v", i, s.Status)
		}
		if text := fmt.Sprint(s.Attributes, s.Status, s.Events); strings.Contains(text, "secret-input") || strings.Contains(text, "token=abc") {
			t.Errorf("span %d holds the input or the driver's text: %s", i, text)
		}
	}
}

// BenchmarkObservedRun: what the wrapper adds to a driver call, with the
// metrics callback, tracing off (nil tracer) and on (a recording tracer
// with no exporter: the span's own cost).
func BenchmarkObservedRun(b *testing.B) {
	act := &catalog.Action{Slug: "googlemaps-search-places", Platform: "googlemaps"}
	metrics := func(string, string, time.Duration) {}
	for _, c := range []struct {
		name   string
		tracer trace.Tracer
	}{{"tracing-off", nil}, {"tracing-on", sdktrace.NewTracerProvider().Tracer("bench")}} {
		d := observe(answerDriver{}, "googlemaps", metrics, c.tracer)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				_, _ = d.Run(ctx, nil, platform.Credentials{}, platform.Call{Action: act, Page: 1})
			}
		})
	}
}
