// Command failoverbench measures failover on PostgreSQL: two `firstmate
// serve` nodes work one async run; the node leading River is killed with
// SIGKILL while it runs chunks. It prints, per round, the time from the kill
// to the first output written for one of the killed node's chunks (by the
// other node: the killed one is gone) and to the other node's leadership.
//
//	go run ./bench/failoverbench [-rounds 3] [-inputs 2400] [-dead-after 8s] [-firstmate-bin BIN]
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
)

func main() {
	rounds := flag.Int("rounds", 3, "kills to measure")
	// 96 chunks: more than both nodes' run workers (24 each, to fill the
	// default in-flight budget), so that the survivor is busy with chunks
	// of its own when the killed node's are taken over, and the leader
	// surely holds some.
	inputs := flag.Int("inputs", 2400, "inputs of the async run")
	deadAfter := flag.String("dead-after", "", "FIRSTMATE_NODE_DEAD_AFTER of the nodes (default: the product's)")
	prebuilt := flag.String("firstmate-bin", "", "a built firstmate binary (default: build one)")
	pg := flag.String("postgres", benchkit.EnvOr("FIRSTMATE_TEST_DATABASE_URL", benchkit.DefaultPostgresURL), "PostgreSQL URL")
	flag.Parse()
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "failoverbench-")
	check(err)
	defer os.RemoveAll(tmp)
	bin, err := benchkit.Binary(ctx, *prebuilt, tmp)
	check(err)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer recv.Close()
	var took, work, lead []time.Duration
	voids := 0
	for r := 1; r <= *rounds; r++ {
		t, w, l, err := round(ctx, bin, tmp, *pg, recv.URL, *inputs, r, *deadAfter)
		if errors.Is(err, errVoid) && voids < *rounds {
			voids++
			benchkit.Logf("round %d: void (%v): again", r, err)
			r--
			continue
		}
		check(err)
		benchkit.Logf("round %d: the killed node's chunks running elsewhere %s after kill -9, their first output %s; leadership %s", r,
			t.Round(time.Millisecond), w.Round(time.Millisecond), l.Round(time.Millisecond))
		took, work, lead = append(took, t), append(work, w), append(lead, l)
	}
	var load [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &load[0], &load[1], &load[2])
	}
	fmt.Printf("\n| round | kill -9 to the killed node's chunks running on the other | to their first output there | to the new leader |\n|---:|---:|---:|---:|\n")
	for i := range work {
		fmt.Printf("| %d | %.1f s | %.1f s | %.1f s |\n", i+1, took[i].Seconds(), work[i].Seconds(), lead[i].Seconds())
	}
	fmt.Printf("\nmax: %.1f s, %.1f s and %.1f s (target 15 s); %d cores, load %.1f\n", slices.Max(took).Seconds(), slices.Max(work).Seconds(),
		slices.Max(lead).Seconds(), runtime.NumCPU(), load[0])
}

func round(ctx context.Context, bin, tmp, pg, hook string, n, r int, deadAfter string) (took, work, lead time.Duration, err error) {
	dbURL, drop, err := benchkit.PostgresSchema(ctx, pg, "failoverbench")
	if err != nil {
		return 0, 0, 0, err
	}
	defer drop()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	key := "fm_failoverbenchkey0123456789abcd"
	env := []string{"FIRSTMATE_BOOTSTRAP_API_KEY=" + key, "FIRSTMATE_SECRET_KEY=k1:" + strings.Repeat("A", 43) + "=",
		"FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true", "FIRSTMATE_SIM_LATENCY=100ms", "FIRSTMATE_RUN_WORKERS=8", "FIRSTMATE_ACCESS_LOG=off"}
	if deadAfter != "" {
		env = append(env, "FIRSTMATE_NODE_DEAD_AFTER="+deadAfter)
	}
	for _, node := range []string{"a", "b"} {
		// The sandbox keeps its writes in the data directory.
		check(os.MkdirAll(filepath.Join(tmp, fmt.Sprintf("r%d-%s-data", r, node)), 0o700))
	}
	a, err := benchkit.StartFirstmate(ctx, bin, tmp, fmt.Sprintf("r%d-a", r), dbURL, false, env...)
	if err != nil {
		return 0, 0, 0, err
	}
	defer a.Stop()
	leader := func() string {
		var l string
		_ = db.QueryRow(`SELECT leader_id FROM river_leader`).Scan(&l)
		return l
	}
	var aNode string
	if err := until(30*time.Second, func() bool { aNode = leader(); return aNode != "" }); err != nil {
		return 0, 0, 0, fmt.Errorf("no leader: %w", err)
	}
	b, err := benchkit.StartFirstmate(ctx, bin, tmp, fmt.Sprintf("r%d-b", r), dbURL, false, env...)
	if err != nil {
		return 0, 0, 0, err
	}
	defer b.Stop()
	in := make([]map[string]any, n)
	for i := range in {
		in[i] = map[string]any{"google_maps_search_url": fmt.Sprintf("https://www.google.com/maps/search/fo-%d-%d", r, i)}
	}
	var sub map[string]any
	if _, err := benchkit.Call("POST", a.Base+"/v4/actions/googlemaps-search-places/run/async", key,
		map[string]any{"inputs": in, "callback": map[string]any{"url": hook, "on": "final"}}, &sub); err != nil {
		return 0, 0, 0, err
	}
	uid, _ := sub["run_uid"].(string)
	var chunks []int64
	if err := until(60*time.Second, func() bool {
		chunks = chunks[:0]
		rows, err := db.Query(`SELECT (args->>'chunk')::bigint FROM river_job WHERE state = 'running' AND kind = 'run_chunk'
			AND attempted_by[array_length(attempted_by, 1)] = $1`, aNode)
		if err != nil {
			return false
		}
		defer rows.Close()
		for rows.Next() {
			var c int64
			_ = rows.Scan(&c)
			chunks = append(chunks, c)
		}
		return len(chunks) > 0
	}); err != nil {
		// B's first fetch can take every chunk (each node has more run
		// workers than the run has chunks): nothing of A's to take over.
		return 0, 0, 0, fmt.Errorf("%w (node A ran no chunk: %v)", errVoid, err)
	}
	check(a.Cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	// The chunks A ran that still have inputs to record: A is gone, so
	// none of them changes but by B. A chunk A had committed just before
	// the kill has nothing left to write and tells nothing.
	// A commit A sent just before it died may still land: wait a moment.
	var open []int64
	time.Sleep(time.Second)
	rows, err := db.Query(`SELECT DISTINCT chunk FROM run_inputs WHERE status = 'PENDING' AND chunk = ANY($1)
		AND run_id = (SELECT id FROM runs WHERE uid = $2)`, chunks, uid)
	if err != nil {
		return 0, 0, 0, err
	}
	for rows.Next() {
		var c int64
		_ = rows.Scan(&c)
		open = append(open, c)
	}
	rows.Close()
	if len(open) == 0 {
		return 0, 0, 0, errVoid
	}
	chunks = open
	var moved, running time.Duration
	err = until(120*time.Second, func() bool {
		if moved == 0 || running == 0 {
			var m, r int
			_ = db.QueryRow(`SELECT count(*) FILTER (WHERE NOT (state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $3)),
				count(*) FILTER (WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] <> $3)
				FROM river_job WHERE kind = 'run_chunk' AND (args->>'chunk')::bigint = ANY($1)
				AND (args->>'run_id')::bigint = (SELECT id FROM runs WHERE uid = $2)`, chunks, uid, aNode).Scan(&m, &r)
			if moved == 0 && m > 0 {
				moved = time.Since(killed)
			}
			if running == 0 && r > 0 {
				running = time.Since(killed)
			}
		}
		if took == 0 {
			var left int
			_ = db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'run_chunk' AND (args->>'chunk')::bigint = ANY($1)
				AND (args->>'run_id')::bigint = (SELECT id FROM runs WHERE uid = $2)
				AND NOT (state = 'running' AND attempted_by[array_length(attempted_by, 1)] <> $3) AND state <> 'completed'`, chunks, uid, aNode).Scan(&left)
			if left == 0 {
				took = time.Since(killed)
			}
		}
		if lead == 0 {
			if l := leader(); l != "" && l != aNode {
				lead = time.Since(killed)
			}
		}
		if work == 0 {
			var first sql.NullInt64
			_ = db.QueryRow(`SELECT min(o.created_at) FROM run_outputs o JOIN runs ru ON ru.id = o.run_id
				JOIN run_inputs i ON i.run_id = o.run_id AND i.idx = o.input_idx
				WHERE ru.uid = $1 AND i.chunk = ANY($2) AND o.created_at > $3`, uid, chunks, killed.UnixMilli()).Scan(&first)
			if first.Valid {
				work = time.UnixMilli(first.Int64).Sub(killed)
			}
		}
		return took > 0 && work > 0 && lead > 0
	})
	benchkit.Logf("round %d: %d open chunks of A; released %s, running on B %s, first output %s, all running %s, leader %s", r, len(chunks),
		moved.Round(time.Millisecond), running.Round(time.Millisecond), work.Round(time.Millisecond), took.Round(time.Millisecond), lead.Round(time.Millisecond))
	// Where the survivor's seconds went (runs.ResumeChunk's log line).
	if raw, rerr := os.ReadFile(b.Log); rerr == nil {
		n := 0
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "heartbeat") || strings.Contains(line, "took over") ||
				strings.Contains(line, "resumed chunk") && strings.Contains(line, uid) && n < 3 {
				if strings.Contains(line, "resumed chunk") {
					n++
				}
				benchkit.Logf("round %d: B: %s", r, strings.TrimSpace(line))
			}
		}
	}
	return took, work, lead, err
}

// errVoid: the killed node had nothing left to write when it died, or never
// held a chunk.
var errVoid = errors.New("the killed node's chunks had all committed before the kill")

func until(d time.Duration, ok func() bool) error {
	for end := time.Now().Add(d); !ok(); {
		if time.Now().After(end) {
			return fmt.Errorf("not within %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "failoverbench:", err)
		os.Exit(1)
	}
}
