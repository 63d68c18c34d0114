// Package api is the HTTP surface: routes, middleware (auth, permissions, API
// rate limits, body limits, errors) and thin handlers that decode, call a
// domain package and encode. Domain rules live elsewhere.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/apilimit"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/schedules"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/webhook"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

// Deps are the domain services the API calls.
type Deps struct {
	DB         *store.Store
	Workspaces *workspace.Service
	Identities *identity.Service
	Limiter    apilimit.Limiter
	Engine     *engine.Engine
	Ledger     *credits.Ledger
	Runs       *runs.Service
	Dispatch   *webhook.Dispatcher
	Schedules  *schedules.Service
	// Agents holds the MCP endpoint's rails and approvals (issue 21).
	Agents *agents.Service
	// PublicURL is the externally reachable base URL (pagination links).
	PublicURL func() string
	Log       *slog.Logger
	// Version is reported by the OpenAPI document.
	Version string
	// Now is the clock (tests may replace it).
	Now func() time.Time
	// AccessLog writes one info line per request (FIRSTMATE_ACCESS_LOG).
	AccessLog bool
	// BulkSubmissions bounds the large async submissions stored at once
	// (0: DefaultBulkSubmissions); BulkWait is how long one more waits for
	// a slot before a 503 (0: 5 s).
	BulkSubmissions int
	BulkWait        time.Duration
	// Tracer, when set, makes a span of every request (middleware.go); nil:
	// tracing is off.
	Tracer trace.Tracer
}

type Server struct {
	Deps
	log     *slog.Logger
	routes  []*Route
	handler http.Handler
	metrics *metrics
	bulk    *bulkGate
	// storageLog reports storage failures to the log (errors.go).
	storageLog storageLog
	// Registry holds the server's Prometheus metrics (served at /metrics).
	Registry *prometheus.Registry
	// draining is set when the node shuts down (Drain).
	draining atomic.Bool
}

// Drain marks the node as shutting down: /readyz answers 503 so that load
// balancers stop sending it requests, and every response asks the client to
// close its connection, so that no client keeps a pooled connection that
// the shutdown would close under a request it is about to send.
func (s *Server) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// New builds the server and its routes. Route schemas are compiled here, so a
// broken schema fails at start-up, not on a request.
func New(d Deps) (*Server, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{Deps: d, log: d.Log, Registry: prometheus.NewRegistry(), bulk: newBulkGate(d.BulkSubmissions)}
	s.storageLog.log = d.Log
	s.metrics = newMetrics(s.Registry)
	if d.Engine != nil {
		s.registerGroupMetrics(d.Engine.WriteGroups())
	}
	if d.Runs != nil {
		s.registerGroupMetrics(map[string]store.Batches{"run_chunks": d.Runs.ChunkCommits()})
	}
	s.routes = append(append(s.allRoutes(), s.scheduleRoutes()...), s.agentRoutes()...)
	if err := compileRoutes(s.routes); err != nil {
		return nil, err
	}
	s.handler = s.buildMux()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	s.handler.ServeHTTP(w, r)
}

// Routes returns the route table (for the OpenAPI document and for tests).
func (s *Server) Routes() []*Route { return s.routes }

// ready checks the database for /readyz: that it answers, and that it
// takes writes.
func (s *Server) ready(ctx context.Context) error {
	if s.draining.Load() {
		return errDraining
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		return err
	}
	return s.DB.Writable(ctx)
}
