package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/tracing"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	panics   prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firstmate_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "firstmate_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "firstmate_http_panics_total", Help: "Handler panics recovered into 500 responses.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.panics,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// registerGroupMetrics exports how well group commit batches the live
// path's writes: calls per batch is calls_total / batches_total.
func (s *Server) registerGroupMetrics(groups map[string]store.Batches) {
	for name, g := range groups {
		labels := prometheus.Labels{"group": name}
		s.Registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "firstmate_group_commit_batches_total",
				Help: "Transactions that held writes of this group (on SQLite the groups share transactions).", ConstLabels: labels},
				func() float64 { b, _ := g.Stats(); return float64(b) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "firstmate_group_commit_calls_total",
				Help: "Writes of this group written by group commit, all transactions together.", ConstLabels: labels},
				func() float64 { _, c := g.Stats(); return float64(c) }))
	}
}

// statusWriter remembers the status code for metrics and for the recover
// handler (which must not write a second header).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		var note *accessNote
		if s.AccessLog || s.Tracer != nil {
			note = &accessNote{}
			r = r.WithContext(context.WithValue(r.Context(), accessKey{}, note))
		}
		var span trace.Span
		if s.Tracer != nil && !probes[r.URL.Path] {
			// A client's traceparent is honoured: its trace goes on here.
			ctx, sp := s.Tracer.Start(tracing.Extract(r.Context(), r.Header), r.Method, trace.WithSpanKind(trace.SpanKindServer))
			r, span = r.WithContext(ctx), sp
		}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched" // keep label cardinality bounded
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		if note == nil {
			return
		}
		about := s.describe(sw, note, route)
		if s.AccessLog {
			s.logAccess(r, sw, about, elapsed)
		}
		if span != nil {
			endRequestSpan(span, r.Method, sw.status, about)
		}
	})
}

// probes are the operator routes that load balancers and Prometheus call
// every few seconds: a trace of each would bury the others.
var probes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// accessNote is filled by the route handler for the access log: the
// request's route and principal (rctx), which live in a context the
// outermost middleware does not see.
type accessNote struct{ rc *rctx }

type accessKey struct{}

// noteAccess hands the route's request state to the access log, when on.
func noteAccess(r *http.Request, rc *rctx) {
	if n, ok := r.Context().Value(accessKey{}).(*accessNote); ok {
		n.rc = rc
	}
}

// requestAbout is what the access log and the request's span tell of a
// request: its route pattern (never the raw path, which may hold a
// login-link or invitation token), and the workspace and run it concerned.
type requestAbout struct {
	route, workspace, run string
}

func (s *Server) describe(sw *statusWriter, note *accessNote, route string) requestAbout {
	about := requestAbout{route: route, run: sw.Header().Get("X-Run-Uid")}
	if rc := note.rc; rc != nil {
		if rc.principal != nil {
			about.workspace = rc.principal.WorkspaceUID
		}
		if about.run == "" {
			if body, ok := rc.resp.(obj); ok {
				about.run, _ = body["run_uid"].(string)
			}
		}
		if about.run == "" && strings.HasPrefix(rc.route.Path, "/runs/{uid}") {
			about.run = rc.path("uid")
		}
		if p := rc.route.Path; overlapping[rc.route.Method+" "+p] && strings.HasSuffix(route, "/runs/{a}/{b}") {
			// Served by the shared /runs/{a}/{b} pattern: name the route itself.
			about.route = strings.TrimSuffix(route, "/runs/{a}/{b}") + p
		}
	}
	return about
}

// logAccess writes the access log line of a request (FIRSTMATE_ACCESS_LOG):
// method, route pattern, status, duration, and the workspace and run it
// concerned.
func (s *Server) logAccess(r *http.Request, sw *statusWriter, about requestAbout, elapsed time.Duration) {
	if !s.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("route", about.route), slog.Int("status", sw.status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String("workspace_uid", about.workspace), slog.String("run_uid", about.run))
}

// endRequestSpan names the request's span after its route and records what
// the access log records; nothing of the request's headers (the API key,
// cookies), path values, query or body.
func endRequestSpan(span trace.Span, method string, status int, about requestAbout) {
	route := about.route // the mux's pattern: "POST /v4/..."
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path
	}
	span.SetName(method + " " + route)
	span.SetAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route),
		attribute.Int("http.response.status_code", status))
	if about.workspace != "" {
		span.SetAttributes(attribute.String("firstmate.workspace_uid", about.workspace))
	}
	if about.run != "" {
		span.SetAttributes(attribute.String("firstmate.run_uid", about.run))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// recoverPanics turns a handler panic into a logged 500 INTERNAL_ERROR; the
// stack goes to the log, never to the client.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.metrics.panics.Inc()
			err := apperr.Internal(fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				s.log.Error("panic after the response started", "cause", err.Cause.Error(), "route", logRoute(r))
				return
			}
			s.writeError(w, r, err)
		}()
		next.ServeHTTP(w, r)
	})
}
