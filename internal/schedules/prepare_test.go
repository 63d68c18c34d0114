package schedules_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/schedules"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// The firings prepared ahead of their due time (Service.Prepare) are driven
// under the injected clock: a preparation commits when the clock reaches
// the due time, so the tests move the clock, they do not wait for it.

// createEveryMinute creates n every-minute schedules through the API and
// returns their uids.
func createEveryMinute(t *testing.T, env *apitest.Env, key string, n int, tag string) []string {
	t.Helper()
	uids := make([]string, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				uids[i] = env.Must(200, "POST", "/v4/actions/"+placeSlug+"/run/schedule", key, map[string]any{
					"inputs": []any{placeInput(fmt.Sprint(tag, i))}, "callback": map[string]any{"url": nil},
					"cron": "* * * * *",
				}).Obj()["uid"].(string)
			}
		}()
	}
	for i := range uids {
		next <- i
	}
	close(next)
	wg.Wait()
	return uids
}

// built counts, across the nodes given, the rows the preparations'
// transactions have locked and built (Service.OnPrepared); wait returns
// once want are, failing if Prepare returns first or after 2 minutes (the
// deadline only bounds a failure).
type built struct {
	mu sync.Mutex
	n  int
	ch chan struct{}
}

func newBuilt(envs ...*apitest.Env) *built {
	b := &built{ch: make(chan struct{}, 1)}
	for _, e := range envs {
		e.App.Schedules.OnPrepared(func(locked int) {
			b.mu.Lock()
			b.n += locked
			b.mu.Unlock()
			select {
			case b.ch <- struct{}{}:
			default:
			}
		})
	}
	return b
}

func (b *built) reset() {
	b.mu.Lock()
	b.n = 0
	b.mu.Unlock()
}

func (b *built) wait(t *testing.T, want int, prepDone <-chan struct{}) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		b.mu.Lock()
		n := b.n
		b.mu.Unlock()
		if n >= want {
			if n > want {
				t.Fatalf("the preparations built %d rows, want %d", n, want)
			}
			return
		}
		select {
		case <-b.ch:
		case <-prepDone:
			t.Fatalf("Prepare returned before its due time, %d of %d rows built", n, want)
		case <-deadline:
			t.Fatalf("%d of %d schedules built by the preparations after 2 min", n, want)
		}
	}
}

// noOpenTx waits until no session of the given application names (apitest
// names each node's connections after its schema) has a transaction open.
// It reads pg_stat_activity and locks nothing.
func noOpenTx(t *testing.T, db *sql.DB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var open int
		if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid()
			AND state LIKE 'idle in transaction%'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions still open a minute after the preparation was cancelled", open)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// firedRuns is, per schedule uid, the created_at of each of its runs.
func firedRuns(t *testing.T, db *sql.DB) map[string][]int64 {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT scheduled_run_uid, created_at FROM runs WHERE scheduled_run_uid <> ''`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]int64{}
	for rows.Next() {
		var u string
		var at int64
		if err := rows.Scan(&u, &at); err != nil {
			t.Fatal(err)
		}
		out[u] = append(out[u], at)
	}
	return out
}

// TestPrepareCommitsAtDueTime: on PostgreSQL, a preparation for 00:02:00
// made at 00:01:57 builds the firings (their rows locked) but nothing of it
// is visible until the clock reaches 00:02:00: no run, the schedules still
// due at 00:02:00. A schedule whose previous run is still going is not
// prepared (the overlap decision belongs to the due time): it stays
// unlocked, and since its run ends before the due time, the ordinary firing
// at the due time fires it. After the commit every schedule has exactly one
// run for the slot, created at the due time, admitted under the plan's
// cap. On SQLite Prepare does nothing.
func TestPrepareCommitsAtDueTime(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-03-01T00:00:30Z")
		read := f.env.App.DB.Handles().Read
		ctx := context.Background()
		busy := f.create(map[string]any{"cron": "* * * * *"})["uid"].(string)
		if st := f.fireAt("2031-03-01T00:01:00.050Z"); st.Fired != 1 {
			t.Fatalf("first firing: %+v, want 1 fired", st)
		}
		f.clk.Set(mustTime("2031-03-01T00:01:10Z"))
		const n = 300 // more than one batch (txBatch 250)
		uids := createEveryMinute(t, f.env, f.key, n, "prep")
		due := mustTime("2031-03-01T00:02:00Z")
		f.clk.Set(mustTime("2031-03-01T00:01:57Z"))

		if dialect == store.SQLite {
			st, err := f.env.App.Schedules.Prepare(ctx, due)
			if err != nil || st != (schedules.Stats{}) {
				t.Fatalf("Prepare on SQLite: %+v, %v; want nothing done", st, err)
			}
			if got := len(firedRuns(t, read)); got != 1 {
				t.Fatalf("Prepare on SQLite: %d schedules with runs, want 1 (busy's first)", got)
			}
			return
		}

		type result struct {
			st  schedules.Stats
			err error
		}
		b := newBuilt(f.env)
		done := make(chan struct{})
		var res result
		go func() {
			defer close(done)
			res.st, res.err = f.env.App.Schedules.Prepare(ctx, due)
		}()
		b.wait(t, n, done)
		// Built and held, and nothing visible: no run of these schedules,
		// and each is still due at 00:02:00.
		runsNow := firedRuns(t, read)
		for _, u := range uids {
			if len(runsNow[u]) != 0 {
				t.Fatalf("schedule %s has a run visible before its due time", u)
			}
		}
		var stillDue int
		if err := read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schedules WHERE uid = ANY($1) AND next_execution_at = $2`,
			uids, store.Millis(due)).Scan(&stillDue); err != nil {
			t.Fatal(err)
		}
		if stillDue != n {
			t.Fatalf("%d of %d schedules still due at %v before it, want all", stillDue, n, due)
		}
		select {
		case <-done:
			t.Fatal("Prepare returned before the clock reached the due time")
		default:
		}
		// busy's run ends before the due time; then the due time comes.
		f.finish(busy)
		f.clk.Set(due.Add(10 * time.Millisecond))
		<-done
		if res.err != nil || res.st.Fired != n || res.st.Lost != 0 {
			t.Fatalf("Prepare: %+v, %v; want %d fired", res.st, res.err, n)
		}
		// The ordinary firing at the due time: busy only (the prepared ones
		// are no longer due).
		if st := f.fire(); st.Fired != 1 || st.Lost != 0 || st.Skipped != 0 {
			t.Fatalf("FireDue at the due time: %+v, want busy fired only", st)
		}
		got := firedRuns(t, read)
		for _, u := range uids {
			if len(got[u]) != 1 || got[u][0] != store.Millis(due) {
				t.Fatalf("schedule %s: runs created at %v, want one at %d", u, got[u], store.Millis(due))
			}
			sc := f.get(u)
			wantTime(t, "last_executed_at", sc["last_executed_at"], "2031-03-01T00:02:00Z")
			wantTime(t, "next_execution_at", sc["next_execution_at"], "2031-03-01T00:03:00Z")
		}
		if len(got[busy]) != 2 {
			t.Fatalf("busy has %d runs, want 2 (00:01 and 00:02)", len(got[busy]))
		}
		// Admitted after the commit under the cap (unlimited: 1,000):
		// all RUNNING, and run_slots counts them.
		var running, slots int
		if err := read.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM runs WHERE status = 'RUNNING' AND execution_mode = 'ASYNC'),
			(SELECT SUM(running) FROM run_slots)`).Scan(&running, &slots); err != nil {
			t.Fatal(err)
		}
		if running != n+1 || slots != running {
			t.Fatalf("%d RUNNING, run_slots %d; want %d and %d", running, slots, n+1, n+1)
		}
	})
}

// TestPrepareExactlyOnceAcrossNodes: two nodes prepare the same due time
// at once (they split the rows: each skips what the other holds), a third
// preparation is cut short (its transactions roll back), and at the due
// time both nodes also fire ordinarily from two goroutines each, while the
// preparations commit. Every schedule fires exactly once for the slot.
func TestPrepareExactlyOnceAcrossNodes(t *testing.T) {
	if err := apitest.PostgresAvailable(); err != nil {
		t.Skip(err)
	}
	st := apitest.NewStore(t, store.Postgres)
	nodes := []*apitest.Env{apitest.StartOn(t, st), apitest.StartOn(t, st)}
	clk := &clock{t: mustTime("2031-09-01T12:00:30Z")}
	for _, e := range nodes {
		quiet(t, e)
		e.App.Schedules.SetClock(clk.Now)
	}
	a := nodes[0]
	key := a.NewWorkspace("Preparers", "unlimited")
	const n = 700
	uids := createEveryMinute(t, a, key, n, "race")
	due := mustTime("2031-09-01T12:01:00Z")
	clk.Set(due.Add(-3 * time.Second))
	ctx := context.Background()

	b := newBuilt(nodes...)
	// A preparation cut short before the due time: nothing of it stays.
	cctx, cancel := context.WithCancel(ctx)
	cut := make(chan struct{})
	go func() {
		defer close(cut)
		_, _ = nodes[1].App.Schedules.Prepare(cctx, due)
	}()
	read := a.App.DB.Handles().Read
	b.wait(t, n, cut)
	cancel()
	<-cut
	// Its transactions roll back (database/sql does it when the context
	// ends, asynchronously): wait for it, then nothing of it is left.
	noOpenTx(t, read)
	if got := len(firedRuns(t, read)); got != 0 {
		t.Fatalf("a cancelled preparation left runs of %d schedules", got)
	}
	b.reset()

	var wg sync.WaitGroup
	stats := make(chan schedules.Stats, 8)
	errs := make(chan error, 8)
	for _, e := range nodes {
		wg.Add(1)
		go func(e *apitest.Env) {
			defer wg.Done()
			s, err := e.App.Schedules.Prepare(ctx, due)
			stats <- s
			errs <- err
		}(e)
	}
	// Both preparations hold their rows (split between them), then the
	// clock reaches the due time and the ordinary firings race them.
	b.wait(t, n, nil)
	clk.Set(due.Add(100 * time.Millisecond))
	for _, e := range nodes {
		for range 2 {
			wg.Add(1)
			go func(e *apitest.Env) {
				defer wg.Done()
				s, err := e.App.Schedules.FireDue(ctx)
				stats <- s
				errs <- err
			}(e)
		}
	}
	wg.Wait()
	close(stats)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	fired := 0
	for s := range stats {
		fired += s.Fired
	}
	got := firedRuns(t, read)
	bad := 0
	for _, u := range uids {
		if len(got[u]) != 1 {
			if bad++; bad <= 5 {
				t.Errorf("schedule %s has %d runs, want 1", u, len(got[u]))
			}
		}
	}
	if bad > 0 || fired != n {
		t.Fatalf("%d of %d schedules did not fire exactly once; %d firings counted", bad, n, fired)
	}
}

// TestLoopPreparesAheadOfTheDueTime checks the wiring on PostgreSQL: the
// firing loop (running, as App.Serve starts it) prepares the schedules due
// at the next instant once it is within PrepareLead, and the runs appear
// when the clock reaches it, created at it. It waits for events; the
// deadlines only bound a failure.
func TestLoopPreparesAheadOfTheDueTime(t *testing.T) {
	if err := apitest.PostgresAvailable(); err != nil {
		t.Skip(err)
	}
	env := apitest.Start(t, store.Postgres)
	if err := env.App.Jobs.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: mustTime("2031-05-01T10:00:10Z")}
	env.App.Schedules.SetClock(clk.Now)
	b := newBuilt(env)
	key := env.NewWorkspace("Loop", "unlimited")
	const n = 20
	uids := createEveryMinute(t, env, key, n, "loop")
	due := mustTime("2031-05-01T10:01:00Z")
	// Within the lead: the loop's next tick prepares them and holds them.
	clk.Set(due.Add(-2 * time.Second))
	b.wait(t, n, nil)
	read := env.App.DB.Handles().Read
	if got := len(firedRuns(t, read)); got != 0 {
		t.Fatalf("%d schedules have runs before their due time", got)
	}
	clk.Set(due.Add(time.Millisecond))
	deadline := time.Now().Add(time.Minute)
	for {
		got := firedRuns(t, read)
		if len(got) == n {
			for _, u := range uids {
				if len(got[u]) != 1 || got[u][0] != store.Millis(due) {
					t.Fatalf("schedule %s: runs created at %v, want one at %d", u, got[u], store.Millis(due))
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d schedules fired a minute after the due time", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
