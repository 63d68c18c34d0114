// Package apitest starts Firstmate in-process for integration tests, on
// SQLite always and on PostgreSQL whenever it is reachable (a fresh schema per
// test). Set FIRSTMATE_TEST_DATABASE_URL to choose the server, and
// FIRSTMATE_REQUIRE_POSTGRES=1 to make its absence a failure (CI does).
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

// DefaultPostgresURL is the local server used when nothing else is set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func postgresURL() string {
	if u := os.Getenv("FIRSTMATE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	pgOnce sync.Once
	pgErr  error
)

// PostgresAvailable reports whether the test PostgreSQL answers.
func PostgresAvailable() error {
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, postgresURL())
		if err != nil {
			pgErr = err
			return
		}
		pgErr = c.Ping(ctx)
		c.Close(ctx)
	})
	return pgErr
}

// Dialects lists the databases to run a test against. Without PostgreSQL
// the list is just SQLite, unless FIRSTMATE_REQUIRE_POSTGRES=1.
func Dialects(t testing.TB) []string {
	out := []string{"sqlite"}
	if err := PostgresAvailable(); err != nil {
		if os.Getenv("FIRSTMATE_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL is required but unreachable at %s: %v", postgresURL(), err)
		}
		t.Logf("PostgreSQL unreachable (%v): running on SQLite only", err)
		return out
	}
	return append(out, "postgres")
}

// ForEachDialect runs fn as a subtest per database.
func ForEachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range Dialects(t) {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// Store describes where a test's data lives, so a test can reopen it.
type Store struct {
	Dialect     string
	DataDir     string
	DatabaseURL string
	SecretKey   string
	// AllowLoopbackCallbacks opts in to callbacks and webhooks to loopback
	// receivers (refused by default, as in production): set it in tests
	// whose receivers are httptest servers.
	AllowLoopbackCallbacks bool
}

// NewStore prepares an empty database: a temp dir for SQLite, a fresh schema
// for PostgreSQL (dropped when the test ends).
func NewStore(t testing.TB, dialect string) Store {
	t.Helper()
	st := Store{Dialect: dialect, DataDir: t.TempDir(), SecretKey: secret.NewSpec("k1")}
	if dialect == "postgres" {
		if err := PostgresAvailable(); err != nil {
			t.Fatalf("postgres: %v", err)
		}
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		schema := "fmtest_" + hex.EncodeToString(b)
		ctx := context.Background()
		c, err := pgx.Connect(ctx, postgresURL())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
		t.Cleanup(func() {
			c, err := pgx.Connect(ctx, postgresURL())
			if err == nil {
				_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				c.Close(ctx)
			}
		})
		u, _ := url.Parse(postgresURL())
		q := u.Query()
		q.Set("search_path", schema)
		// The schema names the test's backends in pg_stat_activity (and lets
		// a measurement find their CPU).
		q.Set("application_name", schema)
		u.RawQuery = q.Encode()
		st.DatabaseURL = u.String()
	}
	return st
}

// Config returns a Firstmate configuration for the store. The tuning
// settings (callbacks, jobs, schedules, health checks, simulator, tracing) and the
// platform routing (FIRSTMATE_PLATFORM_*, executor secrets, the built-in
// drivers' keys and URLs, HubSpot) come from the environment, so tests set
// them with t.Setenv as an operator would (and the whole suite can run with
// a family routed to a remote executor); a malformed one is not an error here, since a test that sets one
// checks the value Firstmate falls back to. Where the data lives, keys,
// plans and proxies never come from the caller's environment. Loopback
// callbacks are refused, as in production, unless the environment or the
// store (AllowLoopbackCallbacks) opts in.
func (st Store) Config() config.Config {
	env, _ := config.FromEnv()
	cfg := config.Config{Addr: "127.0.0.1:0", DataDir: st.DataDir, DatabaseURL: st.DatabaseURL, SecretKey: st.SecretKey,
		LogLevel: "warn", AccessLog: env.AccessLog, Callbacks: env.Callbacks, Jobs: env.Jobs, Schedules: env.Schedules,
		Health: env.Health, Sim: env.Sim, HubSpotURL: env.HubSpotURL, LinkedIn: env.LinkedIn, Platforms: env.Platforms,
		ExecutorSecrets: env.ExecutorSecrets, ExecutorTimeout: env.ExecutorTimeout, GooglePlaces: env.GooglePlaces,
		TripAdvisor: env.TripAdvisor, Tracing: env.Tracing}
	cfg.Callbacks.AllowLoopback = cfg.Callbacks.AllowLoopback || st.AllowLoopbackCallbacks
	return cfg
}

// OpenDB opens the store's database, migrated, and closes it when the test
// ends (for tests of the storage-level packages, without a server).
func (st Store) OpenDB(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, st.DatabaseURL, st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// SeedIdentity inserts a workspace and one identity in it, straight into the
// database (for tests of the storage-level packages), and returns their ids.
func SeedIdentity(t testing.TB, db *store.Store) (workspaceID, identityID int64) {
	t.Helper()
	ctx := context.Background()
	// No signing secret: a sealed one no key opens would make a later
	// app.Open on this store refuse the keyring (the key check).
	ws, err := db.InsertWorkspace(ctx, store.NewWorkspace{UID: "w", Name: "w", Plan: "p", SecretKID: "", Secret: []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.InsertIdentity(ctx, model.Identity{UID: "i", WorkspaceID: ws, Name: "ident", Timezone: "UTC", Type: "standard"})
	if err != nil {
		t.Fatal(err)
	}
	return ws, id.ID
}

// Env is a running in-process Firstmate.
type Env struct {
	T        testing.TB
	Store    Store
	App      *app.App
	Server   *httptest.Server
	URL      string
	Logs     *SyncBuffer
	OwnerKey string
}

// SyncBuffer collects log output safely from many goroutines.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start opens Firstmate on a fresh store and creates a developer-plan
// workspace whose owner key is OwnerKey.
func Start(t testing.TB, dialect string) *Env {
	return StartOn(t, NewStore(t, dialect))
}

// StartWithLoopbackCallbacks is Start for tests whose callback or webhook
// receivers are httptest servers: it opts in to loopback destinations, as
// FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true does for a developer.
func StartWithLoopbackCallbacks(t testing.TB, dialect string) *Env {
	st := NewStore(t, dialect)
	st.AllowLoopbackCallbacks = true
	return StartOn(t, st)
}

// StartOn opens Firstmate on an existing store (for restart tests).
func StartOn(t testing.TB, st Store) *Env {
	t.Helper()
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Open(context.Background(), st.Config(), log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	srv := httptest.NewServer(a.API)
	a.Cfg.PublicURL = srv.URL
	if err := a.Jobs.Start(context.Background()); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	_ = a.Schedules.Start(context.Background())
	e := &Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	t.Cleanup(e.Close)
	return e
}

var closeOnce sync.Map

// Close stops the server and closes the database (idempotent).
func (e *Env) Close() {
	if _, done := closeOnce.LoadOrStore(e, true); done {
		return
	}
	e.Server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.App.Schedules.Stop(ctx)
	_ = e.App.Jobs.Stop(ctx)
	e.App.Close()
}

// ProtectionsOff is a workspace's smart_limit_overrides with working hours
// and the outreach gap turned off. Both are on by default (08:00-20:00 on
// weekdays, 30-120 s between outreach actions): a test that is not about
// them would otherwise depend on the hour it runs at, or wait between its
// outreach calls. NewWorkspace applies it.
const ProtectionsOff = `{"working_hours": {"enabled": false}, "outreach_gap": {"min_seconds": 0, "max_seconds": 0}}`

// WithoutProtections returns overrides plus ProtectionsOff's entries, for a
// test that replaces its workspace's smart_limit_overrides
// (PUT /v4/workspaces/settings replaces the whole object).
func WithoutProtections(overrides map[string]any) map[string]any {
	out := map[string]any{}
	if err := json.Unmarshal([]byte(ProtectionsOff), &out); err != nil {
		panic(err)
	}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

// NewWorkspace creates a workspace on plan with working hours and the
// outreach gap off (ProtectionsOff) and returns its owner's key. Tests of
// those protections use NewWorkspaceWithDefaults.
func (e *Env) NewWorkspace(name, plan string) string {
	e.T.Helper()
	return e.newWorkspace(name, plan, true)
}

// NewWorkspaceWithDefaults creates a workspace on plan with the product's
// default settings and returns its owner's key.
func (e *Env) NewWorkspaceWithDefaults(name, plan string) string {
	e.T.Helper()
	return e.newWorkspace(name, plan, false)
}

func (e *Env) newWorkspace(name, plan string, protectionsOff bool) string {
	e.T.Helper()
	ctx := context.Background()
	c, err := e.App.Workspaces.Create(ctx, name, plan, strings.ToLower(strings.ReplaceAll(name, " ", ""))+"@example.com", "")
	if err != nil {
		e.T.Fatalf("create workspace: %v", err)
	}
	if protectionsOff {
		if err := TurnProtectionsOff(ctx, e.App, c.Workspace.ID); err != nil {
			e.T.Fatalf("workspace settings: %v", err)
		}
	}
	return c.APIKey
}

// TurnProtectionsOff sets a workspace's smart_limit_overrides to
// ProtectionsOff (see there), for tests that create workspaces themselves.
func TurnProtectionsOff(ctx context.Context, a *app.App, workspaceID int64) error {
	off := ProtectionsOff
	_, err := a.Workspaces.UpdateSettings(ctx, workspaceID, workspace.SettingsUpdate{LimitOverrides: &off})
	return err
}

// Resp is a decoded response.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r Resp) JSON() any {
	var v any
	_ = json.Unmarshal(r.Body, &v)
	return v
}

// Obj decodes an object body.
func (r Resp) Obj() map[string]any {
	m, _ := r.JSON().(map[string]any)
	return m
}

// Arr decodes an array body.
func (r Resp) Arr() []any {
	a, _ := r.JSON().([]any)
	return a
}

// Label is the error_label of an error body.
func (r Resp) Label() string {
	s, _ := r.Obj()["error_label"].(string)
	return s
}

// Do sends a request. body may be nil, a string/[]byte (sent raw) or any
// value (JSON-encoded). path is relative to the server, e.g. "/v4/identities".
func (e *Env) Do(method, path, key string, body any) Resp {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return Resp{Status: res.StatusCode, Header: res.Header, Body: data}
}

// Must asserts a status and returns the response.
func (e *Env) Must(status int, method, path, key string, body any) Resp {
	e.T.Helper()
	r := e.Do(method, path, key, body)
	if r.Status != status {
		e.T.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}
