package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// errNoSchedules: the binary under test has no schedule routes yet.
var errNoSchedules = errors.New("POST /v4/actions/{slug}/run/schedule is not served by this build")

// firing is the lag of every run one minute slot created.
type firing struct {
	slot  time.Time
	lags  []time.Duration // sorted; one per run created for the slot
	want  int
	taken time.Duration // slot to the last run created for it
	// seen is when the slot's runs became visible to a reader (committed),
	// polled every pollVisible: seen[k] is the first poll after the slot
	// that counted at least k % of them (k = 50, 99, 100 used).
	// created_at is stamped when the run is inserted, before the rest of
	// its transaction and the commit; this is what a client sees.
	seen map[int]time.Duration
}

const pollVisible = 20 * time.Millisecond

func (f firing) missing() int { return max(0, f.want-len(f.lags)) }

// visible is when k % of the slot's runs were first seen committed; a
// share not reached within watchVisible's 10 s counts as 10 s (a floor).
func (f firing) visible(k int) time.Duration {
	if d, ok := f.seen[k]; ok {
		return d
	}
	return 10 * time.Second
}

// visibleP99 is the worst slot's visible p99: the visibility is polled per
// slot as shares, so the p99 over all slots is bounded by the largest.
func (s *scheduleResult) visibleP99() time.Duration {
	var worst time.Duration
	for _, f := range s.firings {
		worst = max(worst, f.visible(99))
	}
	return worst
}

// scheduleResult is the schedule part of one database.
type scheduleResult struct {
	n        int
	created  time.Duration
	firings  []firing
	all      []time.Duration // every firing's lag, sorted
	want     int             // firings expected in all
	peakKiB  int64
	skipNote string
	err      error
}

// p is a percentile of the lags of the firings that happened; missing
// ones (skipped because the previous run was still going, or so late they
// fell into the next slot) are reported apart.
func (s *scheduleResult) p(q float64) time.Duration { return benchkit.Percentile(s.all, q) }

func (s *scheduleResult) missing() int { return max(0, s.want-len(s.all)) }

// scheduleBody is one schedule: every minute, UTC, one input, and the
// callback a schedule requires, on the final status only.
func scheduleBody(i int, callbackURL string) map[string]any {
	return map[string]any{"name": fmt.Sprintf("asyncbench %d", i), "cron": "* * * * *", "timezone": "UTC",
		"inputs":   []map[string]any{{"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/asyncbench-schedule-%d", i)}},
		"callback": map[string]any{"url": callbackURL, "on": "final"}}
}

// measureSchedules creates o.schedules every-minute schedules, then reads,
// for each of the next o.firings minute slots, runs.created_at - slot for
// every run the slot created, straight from the database (milliseconds;
// the API rounds nothing but the list is paged by 100).
func measureSchedules(ctx context.Context, o options, fm *benchkit.Firstmate, key, callbackURL string, rss *benchkit.RSSSampler) *scheduleResult {
	res := &scheduleResult{n: o.schedules}
	res.err = func() error {
		u := fm.Base + "/v4/actions/" + action + "/run/schedule"
		// Probe with the first one: schedules are landing in parallel work.
		req, _ := benchkit.Authed(http.MethodPost, u, key, mustJSON(scheduleBody(0, callbackURL)))
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		switch {
		case r.StatusCode == http.StatusNotFound || r.StatusCode == http.StatusMethodNotAllowed:
			return fmt.Errorf("%w (status %d: %.200s)", errNoSchedules, r.StatusCode, body)
		case r.StatusCode/100 != 2:
			return fmt.Errorf("POST %s: status %d: %.300s", u, r.StatusCode, body)
		}
		benchkit.Logf("%s: creating %d every-minute schedules", fm.Name, o.schedules)
		t0 := time.Now()
		var next atomic.Int64
		next.Store(1)
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for w := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					i := int(next.Add(1) - 1)
					if i >= o.schedules {
						return
					}
					if _, err := benchkit.Call(http.MethodPost, u, key, scheduleBody(i, callbackURL), nil); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		res.created = time.Since(t0)
		benchkit.Logf("%s: %d schedules created in %v", fm.Name, o.schedules, res.created.Round(time.Millisecond))

		st, err := store.Open(ctx, fm.DBURL, fm.DataDir)
		if err != nil {
			return err
		}
		defer st.Close()
		// Every schedule is due at the first minute that starts after the
		// last one was created.
		first := time.Now().Truncate(time.Minute).Add(time.Minute)
		rss.Reset()
		if fm.PprofAddr != "" {
			// Profile the first firing, from its slot on.
			go func() {
				select {
				case <-time.After(time.Until(first)):
					benchkit.ProfileCPU(fm.PprofAddr, o.profileFor, filepath.Join(o.pprofDir, fm.Name+"-firing.pprof"))
				case <-ctx.Done():
				}
			}()
		}
		// One watcher per slot, each from a second before its slot:
		// waitFiring of a slot with missing firings returns only after the
		// next slot has begun.
		type watched struct {
			seen map[int]time.Duration
			err  error
		}
		watchers := make([]chan watched, o.firings)
		for k := range o.firings {
			watchers[k] = make(chan watched, 1)
			go func() {
				seen, err := watchVisible(ctx, st, first.Add(time.Duration(k)*time.Minute), o.schedules)
				watchers[k] <- watched{seen, err}
			}()
		}
		for k := range o.firings {
			slot := first.Add(time.Duration(k) * time.Minute)
			f, err := waitFiring(ctx, st, slot, o.schedules)
			if err != nil {
				return err
			}
			w := <-watchers[k]
			if w.err != nil {
				return w.err
			}
			f.seen = w.seen
			res.firings = append(res.firings, f)
			res.all = append(res.all, f.lags...)
			res.want += f.want
			p50 := benchkit.Percentile(f.lags, 0.5)
			benchkit.Logf("%s: slot %s: %d of %d runs created, lag p50 %v, p99 %v, last after %v; committed (visible): p50 %v, p99 %v, all %v",
				fm.Name, slot.Format("15:04"), len(f.lags), f.want, p50.Round(time.Millisecond),
				benchkit.Percentile(f.lags, 0.99).Round(time.Millisecond), f.taken.Round(time.Millisecond),
				f.seen[50].Round(time.Millisecond), f.seen[99].Round(time.Millisecond), f.seen[100].Round(time.Millisecond))
		}
		res.peakKiB = rss.Peak()
		slices.Sort(res.all)
		return nil
	}()
	return res
}

// watchVisible polls, from the slot on, how many of the slot's runs are
// committed (runs with an id above the largest one before the slot: the
// previous slot's runs are all in by then), every pollVisible until all
// want are or 10 s have passed, and returns when at least 50, 99 and 100 %
// were (a 0 entry: not within 10 s).
func watchVisible(ctx context.Context, st *store.Store, slot time.Time, want int) (map[int]time.Duration, error) {
	select {
	case <-time.After(time.Until(slot.Add(-time.Second))):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var before int64
	if err := st.Handles().Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM runs`).Scan(&before); err != nil {
		return nil, err
	}
	select {
	case <-time.After(time.Until(slot)):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	seen := map[int]time.Duration{}
	for time.Since(slot) < 10*time.Second {
		var n int
		if err := st.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE id > $1 AND scheduled_run_uid <> ''`,
			before).Scan(&n); err != nil {
			return nil, err
		}
		at := time.Since(slot)
		for _, k := range []int{50, 99, 100} {
			if _, ok := seen[k]; !ok && n*100 >= k*want {
				seen[k] = at
			}
		}
		if n >= want {
			break
		}
		select {
		case <-time.After(pollVisible):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return seen, nil
}

// waitFiring waits for the minute after slot to end (a run created in
// [slot, slot+1 min) belongs to slot: a late firing fires the latest slot
// passed, once) and reads the lags.
func waitFiring(ctx context.Context, st *store.Store, slot time.Time, want int) (firing, error) {
	f := firing{slot: slot, want: want}
	lo, hi := store.Millis(slot), store.Millis(slot.Add(time.Minute))
	for {
		var n int
		if err := st.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE scheduled_run_uid <> '' AND created_at >= $1 AND created_at < $2`,
			lo, hi).Scan(&n); err != nil {
			return f, err
		}
		if n >= want || time.Now().After(slot.Add(time.Minute+time.Second)) {
			break
		}
		select {
		case <-ctx.Done():
			return f, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	rows, err := st.Handles().Read.QueryContext(ctx, `SELECT created_at FROM runs WHERE scheduled_run_uid <> '' AND created_at >= $1 AND created_at < $2`,
		lo, hi)
	if err != nil {
		return f, err
	}
	defer rows.Close()
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return f, err
		}
		f.lags = append(f.lags, time.Duration(at-lo)*time.Millisecond)
	}
	slices.Sort(f.lags)
	if len(f.lags) > 0 {
		f.taken = f.lags[len(f.lags)-1]
	}
	return f, rows.Err()
}
