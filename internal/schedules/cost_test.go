package schedules_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/schedules"
)

// TestFiringCost is a measurement, not a check: with
// FIRSTMATE_FIRING_COST=N it creates N every-minute schedules on
// PostgreSQL, fires them once with River stopped (so nothing but the
// firing runs) and logs the wall time, this process's CPU and the CPU of
// the PostgreSQL backends of the test's schema per firing, and the
// transactions committed. Those last figures do not depend on how loaded
// the box is. Skipped without the variable.
func TestFiringCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FIRSTMATE_FIRING_COST"))
	if n <= 0 {
		t.Skip("set FIRSTMATE_FIRING_COST=N to measure a burst of N firings")
	}
	if err := apitest.PostgresAvailable(); err != nil {
		t.Skip(err)
	}
	f := newFixture(t, "postgres", "2031-03-01T00:00:30Z")
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f.env.Must(200, "POST", "/v4/actions/"+placeSlug+"/run/schedule", f.key, body(map[string]any{
					"cron": "* * * * *", "inputs": []any{placeInput(fmt.Sprint("c", i))}}))
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	db := f.env.App.DB.Handles().Read
	ctx := context.Background()
	var app string
	if err := db.QueryRowContext(ctx, `SELECT current_setting('application_name')`).Scan(&app); err != nil {
		t.Fatal(err)
	}
	pgCPU := func() time.Duration {
		rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ticks int64
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			var fields []string
			start := 0
			for i := len(b) - 1; i >= 0; i-- { // after the ")" closing the command
				if b[i] == ')' {
					start = i + 2
					break
				}
			}
			cur := ""
			for _, c := range string(b[start:]) {
				if c == ' ' {
					fields = append(fields, cur)
					cur = ""
				} else {
					cur += string(c)
				}
			}
			u, _ := strconv.ParseInt(fields[11], 10, 64)
			s, _ := strconv.ParseInt(fields[12], 10, 64)
			ticks += u + s
		}
		return time.Duration(ticks) * 10 * time.Millisecond
	}
	selfCPU := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	xacts := func() int64 {
		var x int64
		if err := db.QueryRowContext(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	if os.Getenv("FIRSTMATE_FIRING_COST_SCHEMA") != "" {
		rows, err := db.QueryContext(ctx, `SELECT tablename || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
			AND tablename IN ('runs', 'run_inputs', 'schedules', 'river_job')
			UNION ALL SELECT event_object_table || ' trigger ' || trigger_name || ' ' || action_timing || ' ' || event_manipulation || ' ' || action_statement
			FROM information_schema.triggers WHERE trigger_schema = current_schema() AND event_object_table IN ('runs', 'run_inputs', 'schedules', 'river_job')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var l string
			_ = rows.Scan(&l)
			t.Log(l)
		}
		rows.Close()
	}
	load, _ := os.ReadFile("/proc/loadavg")
	_, _ = db.ExecContext(ctx, `SELECT 'firing-cost: fire starts'`)
	pg0, me0, x0, t0 := pgCPU(), selfCPU(), xacts(), time.Now()
	base := t0 // what the created_at "lags" are from
	var st schedules.Stats
	if os.Getenv("FIRSTMATE_FIRING_COST_PREPARE") != "" {
		// Prepared ahead (Service.Prepare) from 5 s before the due time on
		// the injected clock; the clock is moved to the due time once every
		// transaction has built its firings. "visible" is from that moment;
		// the created_at "lags" below are from the due time (all 0: the
		// runs are created at it), and wall is the whole preparation.
		due := mustTime("2031-03-01T00:01:00Z")
		f.clk.Set(due.Add(-5 * time.Second))
		b := newBuilt(f.env)
		done := make(chan struct{})
		var perr error
		go func() {
			defer close(done)
			st, perr = f.env.App.Schedules.Prepare(ctx, due)
		}()
		b.wait(t, n, done)
		build := time.Since(t0)
		pgB, meB := pgCPU(), selfCPU()
		t.Logf("prepared %d firings in %v: firstmate CPU %v/firing, PostgreSQL %v/firing", n, build.Round(time.Millisecond),
			(meB-me0)/time.Duration(n), (pgB-pg0)/time.Duration(n))
		t1 := time.Now()
		f.clk.Set(due.Add(50 * time.Millisecond))
		for {
			var c int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE scheduled_run_uid <> ''`).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c >= n {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("all %d runs visible %v after the clock reached the due time", n, time.Since(t1).Round(time.Millisecond))
		<-done
		if perr != nil {
			t.Fatal(perr)
		}
		base = due // created_at is the due time on the injected clock
	} else {
		st = f.fireAt("2031-03-01T00:01:00.050Z")
	}
	wall := time.Since(t0)
	pg1, me1, x1 := pgCPU(), selfCPU(), xacts()
	if st.Fired != n {
		t.Fatalf("fired %+v, want %d", st, n)
	}
	// The lag's analogue: each run's created_at after the start of FireDue.
	var lags []int64
	rows, err := db.QueryContext(ctx, `SELECT created_at FROM runs WHERE scheduled_run_uid <> '' ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at int64
		_ = rows.Scan(&at)
		lags = append(lags, at-base.UnixMilli())
	}
	rows.Close()
	var running int
	_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE status = 'RUNNING'`).Scan(&running)
	t.Logf("created_at after FireDue started: p50 %d ms, p99 %d ms, max %d ms; %d runs RUNNING", lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1], running)
	t.Logf("%d firings: wall %v, firstmate CPU %v (%v/firing), PostgreSQL backends CPU %v (%v/firing), "+
		"transactions committed in the database (all sessions) %d; load %s",
		n, wall.Round(time.Millisecond), (me1 - me0).Round(time.Millisecond), (me1-me0)/time.Duration(n),
		(pg1 - pg0).Round(time.Millisecond), (pg1-pg0)/time.Duration(n), x1-x0, load)
}
