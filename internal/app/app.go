// Package app wires Firstmate together from its configuration: database,
// keyring, domain services and the HTTP server. The binary and the
// integration tests both start Firstmate through it.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apilimit"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/console"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/dataplane"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/logthrottle"
	"github.com/firstmate-oss/firstmate/internal/proxy"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/schedules"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/sim"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/tracing"
	"github.com/firstmate-oss/firstmate/internal/webhook"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

// Version is set at build time with -ldflags "-X .../internal/app.Version=...".
var Version = "dev"

type App struct {
	Cfg        config.Config
	Log        *slog.Logger
	DB         *store.Store
	Keys       *secret.Keyring
	Plans      map[string]config.Plan
	Workspaces *workspace.Service
	Identities *identity.Service
	Ledger     *credits.Ledger
	Limits     *smartlimits.Limiter
	Engine     *engine.Engine
	Runs       *runs.Service
	Dispatch   *webhook.Dispatcher
	Jobs       *jobs.Jobs
	// Queue enqueues jobs in the caller's transaction (Runs, Dispatch and
	// Identities were built with it; Jobs connects it to River).
	Queue     *jobs.Queue
	Schedules *schedules.Service
	API       *api.Server
	// Console is the members' web console at "/"; it hands the API's
	// paths to API. Serve serves it.
	Console *console.Console
	// Agents is the MCP endpoint's rails, approvals and tool lists.
	Agents  *agents.Service
	Proxies *proxy.Service

	// Plane routes each platform family to its driver.
	Plane *dataplane.Plane
	// Sim is the embedded simulator (nil when an external one or none is used).
	Sim       *sim.Server
	SimURL    string
	simServer *http.Server

	boundAddr atomic.Value // string: the address Serve listens on
	// node names this process in the family leases (PostgreSQL).
	node string
	// calls times driver calls and callback deliveries (metrics.go).
	calls *callMetrics
	// Tracing is OpenTelemetry's tracer provider; nil when tracing is off
	// (no OTEL_EXPORTER_OTLP_ENDPOINT). Close flushes it.
	Tracing *tracing.Provider
}

// Open connects to the database, migrates it and builds the services.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	// A failure every loop meets at once (a full disk, a dead database) is
	// logged once a second, not once per pass of each loop.
	log = slog.New(logthrottle.New(log.Handler(), time.Second))
	if cfg.DataDir == "" {
		cfg.DataDir = "firstmate-data"
	}
	plans, err := config.LoadPlans(cfg.PlansFile)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	keys, err := loadKeys(ctx, cfg, db)
	if err == nil {
		err = checkKeys(ctx, db, keys, log)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	a := &App{Cfg: cfg, Log: log, DB: db, Keys: keys, Plans: plans}
	// An operator subcommand serves no request: it traces nothing.
	if a.Tracing, err = tracing.Start(ctx, tracingOptions(cfg, log)); err != nil {
		db.Close()
		return nil, err
	}
	if err := a.openProxies(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Each service is built with its collaborators. Three cycles are broken
	// where they arise: identities verify and log in accounts through the
	// engine's Connector (built before both, engine.Connector); the
	// services that enqueue jobs are built with a jobs.Queue that jobs.New
	// connects to the River client it builds from those services; and
	// identities tell integration transitions to integrationRuns, which
	// is given the runs service once that is built (integrations.go).
	settings := cfg.WithDefaults()
	callbacks := callbackPolicy(settings.Callbacks)
	if !cfg.Operator || cfg.OperatorPlatforms {
		simData := a.simDataFile()
		if cfg.Operator {
			simData = "" // a private in-memory simulator
		}
		if err := a.openDataPlane(simData); err != nil {
			db.Close()
			return nil, err
		}
	}
	a.Queue = jobs.NewQueue()
	connector := &engine.Connector{DB: db, Plane: a.Plane, Egress: a.Proxies.Egress}
	a.Ledger = &credits.Ledger{DB: db, Plans: workspace.PlanIn(plans)}
	a.Workspaces = &workspace.Service{DB: db, Keys: keys, Plans: plans, NewSigningSecret: newSigningSecret,
		Ledger: a.Ledger, WebhookPolicy: &callbacks}
	reconnects := newIntegrationRuns(a.Workspaces, log)
	a.Identities = &identity.Service{DB: db, Keys: keys, Plans: a.Workspaces.Plan, PublicURL: a.PublicURL, Proxies: a.Proxies,
		HealthInterval: settings.Health.Interval, Status: reconnects,
		Verify: connector.Verify, Login: connector, Queue: a.Queue}
	a.Limits = &smartlimits.Limiter{DB: db}
	a.Engine = &engine.Engine{Connector: connector, Keys: keys, Identities: a.Identities, Ledger: a.Ledger, Limits: a.Limits,
		Budget: engine.NewBudget(cfg.Jobs.Inflight, -1), Families: a.familyLimits(cfg)}
	a.Engine.Families.Start()
	if err := a.openJobs(ctx); err != nil {
		a.Close()
		return nil, err
	}
	reconnects.useRuns(a.Runs)
	a.openSchedules()
	if !cfg.Operator {
		if err := a.SeedManagedPool(ctx); err != nil {
			a.Close()
			return nil, fmt.Errorf("seed the managed pool: %w", err)
		}
	}
	if err := a.openHTTP(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openHTTP builds the HTTP side over the services: the agents' rails, the
// API (with its rate limiter: in memory, or in the database when several
// nodes may share it) and the console in front of it.
func (a *App) openHTTP() error {
	var limiter apilimit.Limiter = apilimit.NewMemory()
	if a.DB.SharedByNodes() {
		// Several nodes may share this database: count in it.
		limiter = apilimit.SQL{DB: a.DB}
	}
	a.Agents = &agents.Service{DB: a.DB, Routes: a.routes()}
	var err error
	a.API, err = api.New(api.Deps{DB: a.DB, Workspaces: a.Workspaces, Identities: a.Identities, Limiter: limiter, Agents: a.Agents,
		Engine: a.Engine, Ledger: a.Ledger, Runs: a.Runs, Dispatch: a.Dispatch, Schedules: a.Schedules, PublicURL: a.PublicURL,
		Log: a.Log, Version: Version, AccessLog: a.Cfg.AccessLog, BulkSubmissions: a.Cfg.BulkSubmissions, Tracer: a.Tracing.Tracer()})
	if err != nil {
		return err
	}
	if err := a.registerOpsMetrics(); err != nil {
		return err
	}
	a.Console, err = console.New(console.Deps{API: a.API, Workspaces: a.Workspaces, Agents: a.Agents, PublicURL: a.PublicURL, Log: a.Log})
	return err
}

// routes is what tells the agents which actions this server serves: the
// data plane, or, in an operator command built without one, nothing at all
// (agents.Routes that refuses every action).
func (a *App) routes() agents.Routes {
	if a.Plane == nil {
		return noRoutes{}
	}
	return a.Plane
}

// noRoutes serves no action (no data plane).
type noRoutes struct{}

func (noRoutes) Unavailable(*catalog.Action) error { return errNoDataPlane }

var errNoDataPlane = errors.New("no data plane in this process")

// newSigningSecret makes a Standard Webhooks secret: whsec_ + 32 random bytes.
func newSigningSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// PublicURL is the configured public base URL or one derived from the
// address the server listens on.
func (a *App) PublicURL() string {
	if a.Cfg.PublicURL != "" {
		return strings.TrimRight(a.Cfg.PublicURL, "/")
	}
	addr := a.Cfg.Addr
	if b, ok := a.boundAddr.Load().(string); ok {
		addr = b
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// familyLimits bounds the families' calls in flight
// (FIRSTMATE_PLATFORM_<FAMILY>_CONCURRENCY); on PostgreSQL the nodes share
// each bound through leases in the database, under a name of this process.
func (a *App) familyLimits(cfg config.Config) *engine.FamilyLimits {
	if len(cfg.Concurrency) == 0 {
		return nil
	}
	if !a.DB.SharedByNodes() {
		return engine.NewFamilyLimits(cfg.Concurrency, nil, a.Log)
	}
	host, _ := os.Hostname()
	a.node = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])
	lease := func(ctx context.Context, family string, limit, wanted, inUse int) (int, error) {
		return a.DB.RenewFamilyLease(ctx, store.FamilyLease{Family: family, Node: a.node, Limit: limit, Wanted: wanted,
			InUse: inUse, Now: time.Now().UnixMilli(), TTL: engine.LeaseTTL.Milliseconds()})
	}
	return engine.NewFamilyLimits(cfg.Concurrency, lease, a.Log)
}

func (a *App) Close() error {
	if a.Engine != nil && a.Engine.Families != nil {
		a.Engine.Families.Stop()
		if a.node != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for _, fam := range a.Engine.Families.Families() {
				_ = a.DB.DropFamilyLease(ctx, fam, a.node)
			}
			cancel()
		}
	}
	if a.Plane != nil {
		a.Plane.Close()
	}
	a.stopSimulator()
	if a.Tracing != nil {
		// The spans of the shutdown itself are ended by now: flush them.
		ctx, cancel := context.WithTimeout(context.Background(), tracing.ShutdownTimeout)
		if err := a.Tracing.Shutdown(ctx); err != nil {
			a.Log.Warn("tracing: flushing the last spans", "error", err.Error())
		}
		cancel()
	}
	return a.DB.Close()
}

// tracingOptions are the tracer provider's settings (tracing is off when
// no OTLP endpoint is set, or the SDK is disabled).
func tracingOptions(c config.Config, log *slog.Logger) tracing.Options {
	if c.Operator {
		return tracing.Options{}
	}
	cfg := c.Tracing
	return tracing.Options{URL: cfg.URL(), Headers: cfg.ExportHeaders(), ServiceName: cfg.ServiceName,
		ServiceVersion: Version, Resource: cfg.Resource, Sampler: cfg.Sampler, SamplerArg: cfg.SamplerArg, Log: log}
}

// Serve listens on Addr until ctx ends, then shuts down gracefully within
// FIRSTMATE_SHUTDOWN_TIMEOUT (see shutdown). ready, when not nil, receives
// the bound address once listening.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Cfg.Addr, err)
	}
	conns := &connTracker{}
	srv := &http.Server{
		Handler:           closeWhenDraining(a.Console, a.API.Draining),
		ConnState:         conns.state,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // large async submissions
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.Console.Shutdown) // live streams end; shutdown does not wait on them
	a.boundAddr.Store(ln.Addr().String())
	if err := a.Jobs.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("start jobs: %w", err)
	}
	_ = a.Schedules.Start(ctx) // the schedule firing loop
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return a.shutdown(srv, ln, conns, errc)
}

// shutdown stops a node in order, all within the shutdown timeout (see
// drain.go for why the connections are handled so):
//  1. /readyz answers 503 and every response closes its connection
//     (Drain), while the node stops taking jobs and firing schedules;
//  2. after the drain time, the listener closes: new connections are
//     refused, and clients go to another node;
//  3. the connections still open are left to their clients (a request on
//     one is answered, and closes it) until none is left, or the jobs are
//     done and another drain time has passed; then in-flight requests
//     finish and what is still idle is closed;
//  4. running jobs finish; those still running when the time is up are
//     cancelled, and the node marks itself gone so that another node takes
//     them, and River's leadership, over at once (package jobs).
func (a *App) shutdown(srv *http.Server, ln net.Listener, conns *connTracker, errc chan error) error {
	cfg := a.Cfg.WithDefaults()
	timeout := cfg.Shutdown.Timeout
	drain := cfg.Shutdown.Drain
	if drain == 0 && a.DB.SharedByNodes() {
		drain = 3 * time.Second
	}
	drain = min(drain, timeout/4)
	start := time.Now()
	// Draining first, then the log: what the log says (not ready, answers
	// close their connections) already holds when it is written.
	a.API.Drain()
	a.Log.Info("shutting down: not ready; finishing in-flight requests and jobs", "timeout", timeout.String(), "drain", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Jobs and requests get what the timeout leaves less a margin to
	// cancel, hand back and close.
	jctx, jcancel := context.WithTimeout(sctx, max(timeout-3*time.Second, timeout*3/4))
	defer jcancel()
	jobsDone := make(chan struct{})
	var jobsErr error
	go func() {
		defer close(jobsDone)
		if err := a.Schedules.Stop(jctx); err != nil {
			a.Log.Warn("stopping the schedule firing loop", "error", err)
		}
		jobsErr = a.Jobs.Stop(jctx)
	}()
	select {
	case <-time.After(drain):
	case <-sctx.Done():
	}
	// Serve returns when its listener stops (with an error of its own);
	// the connections it accepted stay served.
	stopListening(ln, time.Second)
	closed := time.Now()
	conns.waitConns(func() bool {
		select {
		case <-jctx.Done():
			return true
		case <-jobsDone:
			return time.Since(closed) >= drain
		default:
			return false
		}
	})
	if open, idle := conns.counts(); open > 0 {
		a.Log.Info("shutting down: closing the connections left open", "open", open, "idle", idle)
	}
	var herr error
	if err := srv.Shutdown(jctx); err != nil {
		a.Log.Warn("shutting down: in-flight requests cut short", "error", err)
		herr = srv.Close()
	}
	<-jobsDone
	if jobsErr != nil {
		a.Log.Warn("stopping jobs", "error", jobsErr)
	}
	a.Log.Info("shut down", "took", time.Since(start).Round(time.Millisecond).String())
	<-errc // the listener's end, which shutdown caused
	return herr
}
