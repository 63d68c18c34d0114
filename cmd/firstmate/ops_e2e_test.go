package main

// Graceful shutdown and fast failover of the built binary on PostgreSQL.

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

var nodeRE = regexp.MustCompile(`"msg":"listening".*"node":"([^"]+)"`)

// pgNode starts a serve node on the store's PostgreSQL database and returns
// it with its node id.
func pgNode(t *testing.T, st apitest.Store, key string, env ...string) (*server, string) {
	t.Helper()
	args := []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--database-url", st.DatabaseURL}
	base := []string{"FIRSTMATE_BOOTSTRAP_API_KEY=" + key, "FIRSTMATE_SECRET_KEY=" + st.SecretKey,
		"FIRSTMATE_LOG_LEVEL=info", "FIRSTMATE_ACCESS_LOG=off", "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true"}
	s := startServer(t, args, append(base, env...)...)
	m := s.stderr.wait(t, "node id", nodeRE)
	return s, m[1]
}

func pgDB(t *testing.T, st apitest.Store) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", st.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestGracefulShutdown: on SIGTERM a node answers /readyz with 503 at once,
// keeps serving during the drain, finishes the request in flight (a live
// call held 3 s by the simulator), refuses new connections after the
// drain, gives up River's leadership, marks itself gone and exits 0 within
// FIRSTMATE_SHUTDOWN_TIMEOUT.
func TestGracefulShutdown(t *testing.T) {
	if err := apitest.PostgresAvailable(); err != nil {
		apitest.Dialects(t) // fails under FIRSTMATE_REQUIRE_POSTGRES
		t.Skip("PostgreSQL unreachable")
	}
	const key = "fm_gracefulshutdowntestkey2345678"
	st := apitest.NewStore(t, "postgres")
	srv, node := pgNode(t, st, key, "FIRSTMATE_SIM_LATENCY=3s", "FIRSTMATE_SHUTDOWN_DRAIN=2s", "FIRSTMATE_SHUTDOWN_TIMEOUT=10s")
	db := pgDB(t, st)
	waitUntil(t, "the node to lead River", func() bool {
		var leader string
		_ = db.QueryRow(`SELECT leader_id FROM river_leader`).Scan(&leader)
		return leader == node
	})
	if code, _ := call(t, "GET", srv.base+"/readyz", "", nil); code != 200 {
		t.Fatalf("readyz before the shutdown: %d", code)
	}
	inflight := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.base+"/v4/actions/googlemaps-search-places/run/live",
			strings.NewReader(`{"input": {"google_maps_search_url": "https://www.google.com/maps/search/pizza"}}`))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- -1
			return
		}
		res.Body.Close()
		inflight <- res.StatusCode
	}()
	time.Sleep(500 * time.Millisecond) // the call is in the simulator's 3 s
	sent := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The first answer other than 200 after SIGTERM must be 503, while the
	// node still serves (the 2 s drain; polled, not slept, so that a
	// loaded machine's late signal delivery is not a failure).
	var code int
	var body map[string]any
	waitUntil(t, "readyz to stop answering 200 after SIGTERM", func() bool {
		code, body = call(t, "GET", srv.base+"/readyz", "", nil)
		return code != 200
	})
	if code != 503 || body["params"].(map[string]any)["reason"] != "shutting_down" {
		t.Errorf("readyz during the drain: %d %v, want 503 shutting_down", code, body)
	}
	if code, _ := call(t, "GET", srv.base+"/healthz", "", nil); code != 200 {
		t.Errorf("healthz during the drain: %d, want 200 (the node still serves)", code)
	}
	if c := <-inflight; c != 200 {
		t.Errorf("the request in flight at SIGTERM answered %d, want 200", c)
	}
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, srv.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the node did not exit within 20 s of SIGTERM (timeout 10 s)")
	}
	took := time.Since(sent)
	t.Logf("exited %s after SIGTERM", took.Round(time.Millisecond))
	if took > 12*time.Second {
		t.Errorf("exited %s after SIGTERM; FIRSTMATE_SHUTDOWN_TIMEOUT is 10s", took)
	}
	if _, err := http.Get(srv.base + "/healthz"); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after the exit: %v, want connection refused", err)
	}
	var leaders int
	var beat int64
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM river_leader WHERE leader_id = $1), heartbeat_at FROM nodes WHERE id = $1`, node).Scan(&leaders, &beat); err != nil {
		t.Fatal(err)
	}
	if leaders != 0 || beat != 0 {
		t.Errorf("after the exit: still leader %d times, heartbeat %d (want released and marked gone)", leaders, beat)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > deadline {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestFailoverKill9: two nodes on PostgreSQL work one async run; the node
// leading River is killed with SIGKILL. Its running chunks are taken over
// by the other node although FIRSTMATE_JOB_RESCUE_AFTER is 5 minutes (so
// only the heartbeat takeover can do it), the other node becomes leader,
// and the run finishes with every input's output exactly once.
//
// Node B starts only once A holds chunks: with both nodes up from the
// start, B's first fetch could take every chunk, and A would have nothing
// to lose. FIRSTMATE_INFLIGHT=200 gives each node 8 run workers (200 / 25
// inputs a chunk), so at 1 s a call (and several pages an input) A works
// the run's 24 chunks in at least three rounds of several seconds, and
// still holds some when B is up and A is killed.
const failoverInputs = 600

func TestFailoverKill9(t *testing.T) {
	if err := apitest.PostgresAvailable(); err != nil {
		apitest.Dialects(t)
		t.Skip("PostgreSQL unreachable")
	}
	const key = "fm_failoverkillninetestkey2345678"
	st := apitest.NewStore(t, "postgres")
	env := []string{"FIRSTMATE_JOB_RESCUE_AFTER=5m", "FIRSTMATE_SIM_LATENCY=1s", "FIRSTMATE_RUN_WORKERS=8", "FIRSTMATE_INFLIGHT=200"}
	a, aNode := pgNode(t, st, key, env...)
	db := pgDB(t, st)
	waitUntil(t, "node A to lead", func() bool {
		var l string
		_ = db.QueryRow(`SELECT leader_id FROM river_leader`).Scan(&l)
		return l == aNode
	})
	uid := submitFailoverRun(t, a.base, key, failoverInputs)
	aRuns := func() bool {
		var n int
		_ = db.QueryRow(`SELECT count(*) FROM river_job WHERE state = 'running' AND kind = 'run_chunk' AND attempted_by[array_length(attempted_by, 1)] = $1`, aNode).Scan(&n)
		return n > 0
	}
	waitUntil(t, "node A to run chunks", aRuns)
	b, bNode := pgNode(t, st, key, env...)
	// Kill A while it holds running chunks.
	if !aRuns() {
		t.Fatalf("node A finished its chunks before node B was up; the run is too short for this test")
	}
	var avail int
	_ = db.QueryRow(`SELECT count(*) FROM river_job WHERE state = 'available' AND kind = 'run_chunk'`).Scan(&avail)
	t.Logf("at the kill: %d chunks not started yet", avail)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	var held []int64
	rows, err := db.Query(`SELECT id FROM river_job WHERE state = 'running' AND kind = 'run_chunk' AND attempted_by[array_length(attempted_by, 1)] = $1`, aNode)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		held = append(held, id)
	}
	rows.Close()
	took := waitUntil(t, "A's chunks to be taken over", func() bool {
		var n int
		_ = db.QueryRow(`SELECT count(*) FROM river_job WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1`, aNode).Scan(&n)
		return n == 0
	})
	// The taken-over chunks go to the queue B keeps free for them, not
	// behind B's own chunks (one of B's run workers may take one first).
	// The takeover moves them there in a statement after the one that
	// makes them available again: wait for it, as long as it takes on a
	// loaded box (a chunk left available in queue runs, and not taken by
	// one of B's run workers, is one the move has not reached yet). Checked
	// at once, this read raced the move and failed at load 20-30.
	waitUntil(t, "A's chunks to leave queue runs", func() bool {
		var n int
		_ = db.QueryRow(`SELECT count(*) FROM river_job WHERE id = ANY($1) AND state = 'available' AND queue = 'runs'`, held).Scan(&n)
		return n == 0
	})
	var moved int
	if err := db.QueryRow(`SELECT count(*) FROM river_job WHERE id = ANY($1) AND queue = 'runs_taken_over'`, held).Scan(&moved); err != nil {
		t.Fatal(err)
	}
	if len(held) > 0 && moved == 0 {
		t.Errorf("none of A's %d running chunks went to queue runs_taken_over", len(held))
		rows, err := db.Query(`SELECT id, queue, state, attempt, array_to_string(attempted_by, ','), errors::text FROM river_job WHERE id = ANY($1)`, held)
		if err == nil {
			for rows.Next() {
				var id int64
				var q, st, by, errs string
				var att int
				_ = rows.Scan(&id, &q, &st, &att, &by, &errs)
				t.Logf("job %d: queue %s, %s, attempt %d by %s; errors %s", id, q, st, att, by, errs)
			}
			rows.Close()
		}
	}
	lead := waitUntil(t, "node B to lead", func() bool {
		var l string
		_ = db.QueryRow(`SELECT leader_id FROM river_leader`).Scan(&l)
		return l == bNode
	})
	t.Logf("after kill -9: chunks taken over in %s, leadership %s later", took.Round(time.Millisecond), lead.Round(time.Millisecond))
	waitUntil(t, "the run to finish on node B", func() bool {
		var r map[string]any
		callJSON(t, "GET", b.base+"/v4/runs/"+uid, key, nil, &r)
		return r["status"] == "SUCCEEDED"
	})
	var outputs, distinct, stated int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT input_idx), max(r.output_count) FROM run_outputs o JOIN runs r ON r.id = o.run_id WHERE r.uid = $1`, uid).Scan(&outputs, &distinct, &stated); err != nil {
		t.Fatal(err)
	}
	if distinct != failoverInputs || outputs != stated {
		t.Errorf("outputs for %d distinct inputs (want %d), %d rows for output_count %d", distinct, failoverInputs, outputs, stated)
	}
}

// submitFailoverRun submits an async run of n sandbox inputs and returns its uid.
func submitFailoverRun(t *testing.T, base, key string, n int) string {
	t.Helper()
	inputs := make([]map[string]any, n)
	for i := range inputs {
		inputs[i] = map[string]any{"google_maps_search_url": fmt.Sprintf("https://www.google.com/maps/search/failover-%d", i)}
	}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	t.Cleanup(recv.Close)
	var sub map[string]any
	if code := callJSON(t, "POST", base+"/v4/actions/googlemaps-search-places/run/async", key,
		map[string]any{"inputs": inputs, "callback": map[string]any{"url": recv.URL, "on": "final"}}, &sub); code != 200 {
		t.Fatalf("submit: %d %v", code, sub)
	}
	return sub["run_uid"].(string)
}
