package main

// Backups and the move to PostgreSQL, end to end: an installation populated
// through the API (workspaces, members, keys, identities with sealed
// credentials, live and async runs with their inputs, outputs and charges,
// callbacks still to deliver, schedules) is backed up while it serves,
// backed up again and copied into a fresh PostgreSQL database, and every
// table of each copy is compared with the original, read by this test with
// plain SQL (not with the product's store).

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// coreTables must hold rows in the populated installation, so that the
// comparison is not of empty tables.
var coreTables = []string{"workspaces", "members", "api_keys", "identities", "integrations", "runs", "run_inputs",
	"run_outputs", "credit_charges", "deliveries", "schedules", "invitations", "key_checks"}

// populate fills an installation through the API and returns its owner key
// and the number of callback deliveries left to send.
func populate(t *testing.T, env *apitest.Env) string {
	t.Helper()
	// A receiver that refuses every callback: deliveries stay pending, with
	// their retries queued as jobs.
	var hits atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(503)
	}))
	t.Cleanup(recv.Close)
	owner := env.NewWorkspace("Moving Co", "unlimited")
	env.NewWorkspace("Other Co", "developer")
	env.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "extra"})
	env.Must(201, "POST", "/v4/members", owner, map[string]any{"email": "pending@moving.test", "role": "user"})
	var ids []string
	for i := 1; i <= 2; i++ {
		id := env.Must(200, "POST", "/v4/identities", owner, map[string]any{"name": fmt.Sprintf("Mover %d", i)}).Obj()
		uid := id["uid"].(string)
		g := env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", owner,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": fmt.Sprintf("sim_managed_%d", i)}}}).Obj()
		if g["status"] != "VALID" {
			t.Fatalf("connect: %v", g)
		}
		ids = append(ids, uid)
	}
	env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/live", owner,
		map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}})
	inputs := make([]map[string]any, 30)
	for i := range inputs {
		inputs[i] = map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/mover-%d", i),
			"custom_data": map[string]any{"i": i}}
	}
	sub := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/async", owner, map[string]any{
		"inputs": inputs, "identity_ids": ids, "identity_mode": "auto",
		"callback": map[string]any{"url": recv.URL + "/hook", "on": "all", "headers": map[string]any{"X-Secret": "s3cret"}}}).Obj()
	runUID := sub["run_uid"].(string)
	env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/schedule", owner, map[string]any{
		"inputs":   []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}},
		"callback": map[string]any{"url": "https://example.com/callback"}, "cron": "0 9 * * 1",
		"timezone": "Europe/Paris", "name": "Weekly"})
	for end := time.Now().Add(2 * time.Minute); ; {
		r := env.Must(200, "GET", "/v4/runs/"+runUID, owner, nil).Obj()
		if s := r["status"]; s != "RUNNING" && s != "QUEUED" && hits.Load() > 0 {
			if s != "SUCCEEDED" {
				t.Fatalf("the async run ended %v", r)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the async run did not finish: %v", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return owner
}

// dump reads every row of a table as strings, sorted, with the two
// dialects' representations made equal: booleans as 0/1, bytes as text.
func dump(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM "` + table + `"`)
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				parts[i] = cols[i] + "=NULL"
			case bool:
				parts[i] = fmt.Sprintf("%s=%d", cols[i], map[bool]int{false: 0, true: 1}[x])
			case []byte:
				parts[i] = cols[i] + "=" + string(x)
			default:
				parts[i] = fmt.Sprintf("%s=%v", cols[i], x)
			}
		}
		slices.Sort(parts) // column order may differ between the dialects' schemas
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// sqliteTables lists a SQLite file's application tables.
func sqliteTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND name NOT LIKE 'river_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func openSQLiteFile(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// compareTables compares every table of want (SQLite) with got.
func compareTables(t *testing.T, what string, want, got *sql.DB, tables []string) {
	t.Helper()
	for _, tb := range tables {
		w, g := dump(t, want, tb), dump(t, got, tb)
		if !slices.Equal(w, g) {
			t.Errorf("%s: table %s differs: %d rows in the original, %d in the copy", what, tb, len(w), len(g))
			for i := 0; i < len(w) && i < len(g); i++ {
				if w[i] != g[i] {
					t.Errorf("  first difference:\n  original %s\n  copy     %s", w[i], g[i])
					break
				}
			}
		}
	}
}

// freshDatabase creates an empty PostgreSQL database, dropped when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	if err := apitest.PostgresAvailable(); err != nil {
		t.Skipf("PostgreSQL unreachable: %v", err) // FIRSTMATE_REQUIRE_POSTGRES fails in apitest.Dialects below
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "fmcopy_" + hex.EncodeToString(b)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, apitest.DefaultPostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, apitest.DefaultPostgresURL)
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, _ := url.Parse(apitest.DefaultPostgresURL)
	u.Path = "/" + name
	return u.String()
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(args, &out, &errb)
	return out.String() + errb.String(), err
}

// TestBackupAndCopyRoundTrip: an online backup while keys are being
// created (it opens, passes SQLite's integrity check and holds a number of
// keys between those before and after), then, nodes stopped, a backup and a
// copy to PostgreSQL each equal to the original table by table; the
// PostgreSQL copy then serves the old keys and credentials, sends the
// pending callbacks and takes new rows (its sequences moved past the
// copied ids).
func TestBackupAndCopyRoundTrip(t *testing.T) {
	apitest.Dialects(t) // FIRSTMATE_REQUIRE_POSTGRES: fail without PostgreSQL
	pgURL := freshDatabase(t)
	st := apitest.NewStore(t, "sqlite")
	st.AllowLoopbackCallbacks = true
	env := apitest.StartOn(t, st)
	owner := populate(t, env)
	dbPath := filepath.Join(st.DataDir, "firstmate.db")
	ctx := context.Background()
	p, err := env.App.Workspaces.Authenticate(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}

	// Online: keys are created while the backup runs.
	countKeys := func(db *sql.DB) int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM api_keys`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	live := openSQLiteFile(t, dbPath)
	before := countKeys(live)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := env.App.Workspaces.CreateAPIKey(ctx, p, fmt.Sprintf("during backup %d", i)); err != nil {
				t.Errorf("create a key during the backup: %v", err)
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	online := filepath.Join(t.TempDir(), "online.db")
	out, err := runCLI(t, "backup", "--to", online, "--data-dir", st.DataDir)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	after := countKeys(live)
	ob := openSQLiteFile(t, online)
	var check string
	if err := ob.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("online backup integrity: %q %v", check, err)
	}
	if n := countKeys(ob); n < before || n > after || after <= before {
		t.Errorf("online backup holds %d keys; %d before it, %d after (keys must have been created meanwhile)", n, before, after)
	}
	if _, err := runCLI(t, "backup", "--to", online, "--data-dir", st.DataDir); err == nil {
		t.Error("a backup over an existing file succeeded; it must refuse")
	}

	// Stopped: backup and copy, each equal to the original.
	env.Close()
	orig := openSQLiteFile(t, dbPath)
	tables := sqliteTables(t, orig)
	for _, tb := range coreTables {
		if len(dump(t, orig, tb)) == 0 {
			t.Errorf("the populated installation has no rows in %s: the round trip would not test it", tb)
		}
	}
	offline := filepath.Join(t.TempDir(), "offline.db")
	if out, err := runCLI(t, "backup", "--to", offline, "--data-dir", st.DataDir); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	compareTables(t, "backup", orig, openSQLiteFile(t, offline), tables)

	var pendingJobs int
	if err := orig.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'deliver' AND state IN ('available', 'scheduled', 'retryable', 'running')`).Scan(&pendingJobs); err != nil {
		t.Fatal(err)
	}
	if pendingJobs == 0 {
		t.Fatal("no delivery job pending in the original: the copy of jobs would not be tested")
	}
	out, err = runCLI(t, "copy", "--to", pgURL, "--data-dir", st.DataDir)
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	t.Logf("copy:\n%s", out)
	pg, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	compareTables(t, "copy", orig, pg, tables)
	var copiedJobs int
	if err := pg.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'deliver' AND state IN ('available', 'scheduled')`).Scan(&copiedJobs); err != nil {
		t.Fatal(err)
	}
	if copiedJobs != pendingJobs {
		t.Errorf("%d delivery jobs pending on PostgreSQL, want the original's %d", copiedJobs, pendingJobs)
	}
	if _, err := runCLI(t, "copy", "--to", pgURL, "--data-dir", st.DataDir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second copy into the same database: %v, want a refusal (not empty)", err)
	}

	// The PostgreSQL installation serves what the SQLite one held.
	pst := apitest.Store{Dialect: "postgres", DataDir: t.TempDir(), DatabaseURL: pgURL, SecretKey: st.SecretKey, AllowLoopbackCallbacks: true}
	penv := apitest.StartOn(t, pst)
	ws := penv.Must(200, "GET", "/v4/workspaces", owner, nil).Obj()
	if ws["name"] != "Moving Co" {
		t.Errorf("workspace after the move: %v", ws)
	}
	idents := penv.Must(200, "GET", "/v4/identities", owner, nil).Arr()
	if len(idents) != 2 {
		t.Errorf("%d identities after the move, want 2", len(idents))
	}
	// A live call uses a sealed credential, opened with the same key.
	id0 := idents[0].(map[string]any)["uid"].(string)
	penv.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/live", owner, map[string]any{
		"identity_ids": []string{id0}, "input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/after-move"}})
	// New rows get new ids.
	penv.NewWorkspace("After the move", "developer")
	penv.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "after the move"})
}
