package smartlimits_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func open(t *testing.T, dialect string) (*store.Store, int64) {
	t.Helper()
	db := apitest.NewStore(t, dialect).OpenDB(t)
	_, id := apitest.SeedIdentity(t, db)
	return db, id
}

// 200 parallel calls against 25 remaining yield exactly 25 successes, with
// the calls spread over two limiters on one database (two nodes): each
// limiter's copy of the windows goes stale as the other records.
func TestConsumeExactUnderConcurrency(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, identityID := open(t, dialect)
		nodes := []*smartlimits.Limiter{{DB: db}, {DB: db}}
		acc := smartlimits.Account{IdentityID: identityID, Level: "Classic"} // 25 connection requests a day
		now := time.Now()
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			wg.Add(1)
			l := nodes[i%2]
			go func() {
				defer wg.Done()
				_, err := l.Consume(context.Background(), acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}}, now)
				var r *smartlimits.Refused
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &r):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 25 || refused.Load() != 175 {
			t.Fatalf("%d successes, %d refusals; want 25 and 175", ok.Load(), refused.Load())
		}
	})
}

func TestWindowsRampUpOverridesAndAvailability(t *testing.T) {
	db, identityID := open(t, "sqlite")
	l := &smartlimits.Limiter{DB: db}
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	first := t0
	acc := smartlimits.Account{IdentityID: identityID, Level: "Classic", FirstConnected: &first}
	// Day 1 of the ramp-up: 1/5 of 80 profile visits.
	if w := acc.Effective(smartlimits.ProfileVisits, t0); w[0].Max != 16 {
		t.Fatalf("day-1 capacity %d, want 16", w[0].Max)
	}
	if w := acc.Effective(smartlimits.ProfileVisits, t0.Add(4*smartlimits.Day)); w[0].Max != 80 {
		t.Fatalf("day-5 capacity %d, want 80", w[0].Max)
	}
	ov, err := smartlimits.ParseOverrides(`{"profile_visits": 3, "connection_requests": {"7d": 4}}`)
	if err != nil {
		t.Fatal(err)
	}
	acc.Identity = ov
	acc.FirstConnected = nil
	for i := 0; i < 3; i++ {
		if _, err := l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.ProfileVisits, N: 1}}, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.ProfileVisits, N: 1}}, t0.Add(5*time.Hour))
	var r *smartlimits.Refused
	if !errors.As(err, &r) || !r.AvailableAt.Equal(t0.Add(smartlimits.Day)) {
		t.Fatalf("want refusal until %s, got %v", t0.Add(smartlimits.Day), err)
	}
	// The oldest visit leaves the window 24 h after it was made.
	if _, err := l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.ProfileVisits, N: 1}}, t0.Add(smartlimits.Day+time.Second)); err != nil {
		t.Fatalf("after the window slid: %v", err)
	}
	// The weekly window: 4 connection requests per 7 days despite 25 a day.
	for i := 0; i < 4; i++ {
		if _, err := l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}}, t0.Add(time.Duration(i)*smartlimits.Day)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}}, t0.Add(5*smartlimits.Day)); !errors.As(err, &r) ||
		!r.AvailableAt.Equal(t0.Add(smartlimits.Week)) {
		t.Fatalf("weekly window: %v", err)
	}
	// A multi-key need records nothing when one key is full.
	before, _ := l.Report(ctx, acc, []string{smartlimits.Messages}, t0.Add(5*smartlimits.Day))
	_, err = l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.Messages, N: 1}, {Key: smartlimits.ConnectionRequests, N: 1}}, t0.Add(5*smartlimits.Day))
	after, _ := l.Report(ctx, acc, []string{smartlimits.Messages}, t0.Add(5*smartlimits.Day))
	if !errors.As(err, &r) || before[0].Consumed != after[0].Consumed {
		t.Fatalf("partial consumption: %v, %v -> %v", err, before, after)
	}
	if _, err := smartlimits.ParseOverrides(`{"nope": 1}`); err == nil {
		t.Fatal("unknown key accepted")
	}
	if _, err := smartlimits.ParseOverrides(`{"messages": {"1h": 1}}`); err == nil {
		t.Fatal("unknown window accepted")
	}
}

// Property: the limiter agrees with an independent model of Smart Limits
// (model_test.go: contract §8's levels, workspace and identity overrides, the
// 5-day ramp-up) on both databases. Random overrides, account levels, first
// connections and consumptions of every key at random times: every decision
// is the model's, a refusal names a key that lacks room and the time the
// model says room returns, and GET .../limits (Report) shows the model's
// maxima and counts for every key and window.
func TestLimiterProperties(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		ws, _ := apitest.SeedIdentity(t, db)
		l := &smartlimits.Limiter{DB: db}
		ctx := context.Background()
		var seq atomic.Int64
		rapid.Check(t, func(rt *rapid.T) {
			id, err := store.InsertIdentity(ctx, db.Handles().W, model.Identity{UID: fmt.Sprint("p", seq.Add(1)),
				WorkspaceID: ws, Name: "ident", Timezone: "UTC", Type: "standard"})
			if err != nil {
				rt.Fatal(err)
			}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			m := mAccount{level: rapid.SampledFrom(mLevels).Draw(rt, "level"),
				workspace: drawOverrides(rt, "workspace"), identity: drawOverrides(rt, "identity")}
			if rapid.IntRange(0, 3).Draw(rt, "ramps") > 0 {
				// Connected up to 6 days before the first call: every day of the ramp.
				c := start.Add(-time.Duration(rapid.IntRange(0, 6*24*60).Draw(rt, "connected_min_before")) * time.Minute)
				m.connected = &c
			}
			acc := smartlimits.Account{IdentityID: id.ID, Level: m.level, FirstConnected: m.connected}
			if acc.Workspace, err = smartlimits.ParseOverrides(m.workspace.JSON()); err != nil {
				rt.Fatalf("workspace overrides %s: %v", m.workspace.JSON(), err)
			}
			if acc.Identity, err = smartlimits.ParseOverrides(m.identity.JSON()); err != nil {
				rt.Fatalf("identity overrides %s: %v", m.identity.JSON(), err)
			}
			// A few keys take the consumptions, so that their windows fill up.
			active := rapid.SliceOfNDistinct(rapid.SampledFrom(mKeys), 1, 3, rapid.ID[string]).Draw(rt, "active")
			var events []mEvent
			var held []smartlimits.Reservation // per consumption, in events' order of groups
			var groups [][]mEvent
			now := start
			for step, steps := 0, rapid.IntRange(1, 30).Draw(rt, "steps"); step < steps; step++ {
				// Whole hours, days and window periods often, so that events reach
				// the exact end of their windows.
				switch rapid.IntRange(0, 6).Draw(rt, "gap") {
				case 0:
					now = now.Add(time.Duration(rapid.IntRange(1, 12).Draw(rt, "gap_days")) * mDay)
				case 1:
					now = now.Add(rapid.SampledFrom([]time.Duration{mDay, mWeek, mMonth}).Draw(rt, "gap_window"))
				case 2, 3:
					now = now.Add(time.Duration(rapid.IntRange(0, 20).Draw(rt, "gap_hours")) * time.Hour)
				default:
					now = now.Add(time.Duration(rapid.IntRange(0, 20*60).Draw(rt, "gap_min")) * time.Minute)
				}
				if len(groups) > 0 && rapid.IntRange(0, 6).Draw(rt, "release") == 0 {
					k := rapid.IntRange(0, len(groups)-1).Draw(rt, "which")
					if err := l.Release(ctx, held[k]); err != nil {
						rt.Fatal(err)
					}
					events = withoutEvents(events, groups[k])
					held = append(held[:k], held[k+1:]...)
					groups = append(groups[:k], groups[k+1:]...)
					continue
				}
				var needs []smartlimits.Need
				need := map[string]int{}
				for i, n := 0, rapid.IntRange(1, 2).Draw(rt, "keys"); i < n; i++ {
					key := rapid.SampledFrom(active).Draw(rt, "key")
					units := rapid.IntRange(1, 4).Draw(rt, "units")
					needs = append(needs, smartlimits.Need{Key: key, N: units})
					need[key] += units
				}
				want := m.decide(events, need, now)
				res, err := l.Consume(ctx, acc, needs, now)
				var r *smartlimits.Refused
				switch {
				case err == nil:
					if !want.fits {
						rt.Fatalf("%s: %v accepted, but the model finds no room for %v (windows %v)", now, needs, keysOf(want.short),
							modelWindows(m, need, now))
					}
					var g []mEvent
					for key, n := range need {
						g = append(g, mEvent{key: key, at: now, n: n})
					}
					events = append(events, g...)
					groups = append(groups, g)
					held = append(held, res)
				case errors.As(err, &r):
					if want.fits {
						rt.Fatalf("%s: %v refused (%v), but the model has room (windows %v, used %v)", now, needs, r,
							modelWindows(m, need, now), modelUsed(m, events, need, now))
					}
					if !want.short[r.Key] {
						rt.Fatalf("%s: refusal names %s; the keys without room are %v", now, r.Key, keysOf(want.short))
					}
					if !r.AvailableAt.After(now) {
						rt.Fatalf("%s: available_at %s is not after now", now, r.AvailableAt)
					}
					if !want.availableAt.IsZero() && !r.AvailableAt.Equal(want.availableAt) {
						rt.Fatalf("%s: %v available_at %s, the model says %s", now, needs, r.AvailableAt, want.availableAt)
					}
				default:
					rt.Fatal(err)
				}
				if step == steps-1 || rapid.IntRange(0, 3).Draw(rt, "report") == 0 {
					checkReport(rt, l, acc, m, events, now)
				}
			}
		})
	})
}

// drawOverrides draws one level of overrides: for some keys, the number form
// or the object form over some of the key's windows (the windows contract §8
// gives it), with small maxima so that windows fill up.
func drawOverrides(rt *rapid.T, who string) mOverrides {
	out := mOverrides{}
	for _, key := range mKeys {
		switch rapid.IntRange(0, 5).Draw(rt, who+"_"+key) {
		case 0:
			out[key] = map[string]int{"": rapid.IntRange(0, 12).Draw(rt, who+"_"+key+"_max")}
		case 1:
			ws := map[string]int{}
			for _, w := range mDefaults("Classic")[key] {
				if rapid.Bool().Draw(rt, who+"_"+key+"_has") {
					name := map[time.Duration]string{mDay: "24h", mWeek: "7d", mMonth: "30d"}[w.period]
					ws[name] = rapid.IntRange(0, 40).Draw(rt, who+"_"+key+"_"+name)
				}
			}
			if len(ws) > 0 {
				out[key] = ws
			}
		}
	}
	return out
}

// checkReport holds Report, every key and window, to the model.
func checkReport(rt *rapid.T, l *smartlimits.Limiter, acc smartlimits.Account, m mAccount, events []mEvent, now time.Time) {
	st, err := l.Report(context.Background(), acc, mKeys, now)
	if err != nil {
		rt.Fatal(err)
	}
	type win struct{ key, window string }
	got := map[win]smartlimits.Status{}
	for _, s := range st {
		got[win{s.Key, s.Window}] = s
	}
	want := 0
	for _, key := range mKeys {
		for _, w := range m.windows(key, now) {
			want++
			name := map[time.Duration]string{mDay: "24h", mWeek: "7d", mMonth: "30d"}[w.period]
			s, ok := got[win{key, name}]
			if !ok {
				rt.Fatalf("%s: the report has no %s window for %s: %+v", now, name, key, st)
			}
			used := mUsed(events, key, w.period, now)
			if s.MaxLimit != w.max || s.Consumed != used || s.Remaining != max(0, w.max-used) {
				rt.Fatalf("%s: %s %s: max %d consumed %d remaining %d; the model says %d, %d, %d (level %s, overrides %s / %s, connected %v)",
					now, key, name, s.MaxLimit, s.Consumed, s.Remaining, w.max, used, max(0, w.max-used), m.level,
					m.workspace.JSON(), m.identity.JSON(), m.connected)
			}
			if (s.AvailableAt != nil) != (s.Remaining == 0) {
				rt.Fatalf("%s: %s %s: available_at %v with %d remaining", now, key, name, s.AvailableAt, s.Remaining)
			}
		}
	}
	if len(st) != want {
		rt.Fatalf("%s: the report has %d windows, the model %d: %+v", now, len(st), want, st)
	}
}

func withoutEvents(events, gone []mEvent) []mEvent {
	out := append([]mEvent(nil), events...)
	for _, g := range gone {
		for i, e := range out {
			if e == g {
				out = append(out[:i], out[i+1:]...)
				break
			}
		}
	}
	return out
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func modelWindows(m mAccount, need map[string]int, now time.Time) map[string][]mWindow {
	out := map[string][]mWindow{}
	for key := range need {
		out[key] = m.windows(key, now)
	}
	return out
}

func modelUsed(m mAccount, events []mEvent, need map[string]int, now time.Time) map[string][]int {
	out := map[string][]int{}
	for key := range need {
		for _, w := range m.windows(key, now) {
			out[key] = append(out[key], mUsed(events, key, w.period, now))
		}
	}
	return out
}

// The one-statement check covers every window of the key: with 90 of the
// week's 100 connection requests used over the last days, 200 parallel calls get
// exactly the week's 10, though the day window has 25 free; each refusal
// names the week's end of the oldest event as the time capacity frees up.
func TestConsumeSecondWindowUnderConcurrency(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, identityID := open(t, dialect)
		l := &smartlimits.Limiter{DB: db}
		acc := smartlimits.Account{IdentityID: identityID, Level: "Classic"} // 25 a day, 100 a week
		now := time.Now()
		// Two days ago to six, 20 a day at most: the day windows stay open.
		var past time.Time
		for i := 0; i < 9; i++ {
			at := now.Add(-time.Duration(6-i/2) * smartlimits.Day)
			if i == 0 {
				past = at
			}
			if _, err := l.Consume(context.Background(), acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 10}}, at); err != nil {
				t.Fatal(err)
			}
		}
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := l.Consume(context.Background(), acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}}, now)
				var r *smartlimits.Refused
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &r):
					refused.Add(1)
					if want := store.Time(store.Millis(past)).Add(smartlimits.Week); !r.AvailableAt.Equal(want) {
						t.Errorf("available at %v, want %v", r.AvailableAt, want)
					}
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 10 || refused.Load() != 190 {
			t.Fatalf("%d successes, %d refusals; want 10 and 190", ok.Load(), refused.Load())
		}
	})
}

// What one limiter recorded and released binds the next one on the same
// database (a restart): the windows live in the database, not in memory.
func TestConsumeSurvivesARestart(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, identityID := open(t, dialect)
		acc := smartlimits.Account{IdentityID: identityID, Level: "Classic"} // 25 connection requests a day
		ctx := context.Background()
		now := time.Now()
		need := []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}}
		first := &smartlimits.Limiter{DB: db}
		var last smartlimits.Reservation
		for i := range 20 {
			ids, err := first.Consume(ctx, acc, need, now.Add(-time.Duration(20-i)*time.Minute))
			if err != nil {
				t.Fatal(i, err)
			}
			last = ids
		}
		if err := first.Release(ctx, last); err != nil {
			t.Fatal(err)
		}
		second := &smartlimits.Limiter{DB: db}
		ok := 0
		for range 10 {
			if _, err := second.Consume(ctx, acc, need, now); err == nil {
				ok++
			} else if r := (*smartlimits.Refused)(nil); !errors.As(err, &r) {
				t.Fatal(err)
			}
		}
		if ok != 6 {
			t.Fatalf("after 20 consumed and 1 released, the next limiter allowed %d of 10, want 6", ok)
		}
		// A call with a clock 35 days behind: its windows count every event
		// since their start, later ones included, so it is refused too.
		var r *smartlimits.Refused
		if _, err := second.Consume(ctx, acc, need, now.Add(-35*smartlimits.Day)); !errors.As(err, &r) {
			t.Fatalf("35 days behind: %v, want a refusal", err)
		}
	})
}

// Two needs of one key must fit together: with one request left, a call
// needing the key twice is refused and records nothing.
func TestConsumeNeedsOfOneKeyAddUp(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, identityID := open(t, dialect)
		l := &smartlimits.Limiter{DB: db}
		acc := smartlimits.Account{IdentityID: identityID, Level: "Classic"} // 25 connection requests a day
		ctx := context.Background()
		now := time.Now()
		if _, err := l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 24}}, now); err != nil {
			t.Fatal(err)
		}
		twice := []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}, {Key: smartlimits.ConnectionRequests, N: 1}}
		var r *smartlimits.Refused
		if _, err := l.Consume(ctx, acc, twice, now); !errors.As(err, &r) {
			t.Fatalf("2 more with 1 left: %v, want a refusal", err)
		}
		if _, err := l.Consume(ctx, acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}}, now); err != nil {
			t.Fatalf("the last one: %v", err)
		}
	})
}

// Property: several limiters on one database (nodes, or a restart) with
// random consumptions and releases at random times, against a model of the
// windows: no window ever holds more than its maximum, and a refusal only
// happens when the window is full. Each limiter keeps a copy of the windows,
// so this fails if a copy made stale by another limiter is trusted.
func TestLimitersShareTheWindowsProperties(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, _ := open(t, dialect)
		var seq atomic.Int64
		rapid.Check(t, func(rt *rapid.T) {
			id, err := store.InsertIdentity(context.Background(), db.Handles().W, model.Identity{UID: fmt.Sprint("q", seq.Add(1)),
				WorkspaceID: 1, Name: "ident", Timezone: "UTC", Type: "standard"})
			if err != nil {
				rt.Fatal(err)
			}
			acc := smartlimits.Account{IdentityID: id.ID, Level: "Classic"} // 25 a day, 100 a week
			nodes := make([]*smartlimits.Limiter, rapid.IntRange(1, 3).Draw(rt, "nodes"))
			for i := range nodes {
				nodes[i] = &smartlimits.Limiter{DB: db}
			}
			var events []modelEvent
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, steps := 0, rapid.IntRange(1, 60).Draw(rt, "steps"); i < steps; i++ {
				now = now.Add(time.Duration(rapid.IntRange(0, 12*60).Draw(rt, "gap_min")) * time.Minute)
				l := nodes[rapid.IntRange(0, len(nodes)-1).Draw(rt, "node")]
				if len(events) > 0 && rapid.IntRange(0, 5).Draw(rt, "release") == 0 {
					k := rapid.IntRange(0, len(events)-1).Draw(rt, "which")
					if err := l.Release(context.Background(), events[k].res); err != nil {
						rt.Fatal(err)
					}
					events = append(events[:k], events[k+1:]...)
					continue
				}
				n := rapid.IntRange(1, 8).Draw(rt, "n")
				day, week := usedSince(events, now, smartlimits.Day), usedSince(events, now, smartlimits.Week)
				res, err := l.Consume(context.Background(), acc, []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: n}}, now)
				if checkClassicDecision(rt, "", err, n, day, week, now) {
					events = append(events, modelEvent{at: now, n: n, res: res})
				}
			}
		})
	})
}

// The copies stay within their bounds, and evicting a copy (or not keeping
// one too big to keep) changes no decision: a limiter whose copies hold two
// identities and a few events serves five identities exactly, against a
// model, with a second limiter on the same database recording meanwhile.
func TestEvictedCopiesChangeNoDecision(t *testing.T) {
	restore := smartlimits.SetCacheCaps(48, 2)
	defer restore()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, _ := open(t, dialect)
		var seq atomic.Int64
		rapid.Check(t, func(rt *rapid.T) {
			accs := make([]smartlimits.Account, 5)
			for i := range accs {
				id, err := store.InsertIdentity(context.Background(), db.Handles().W, model.Identity{UID: fmt.Sprint("e", seq.Add(1)),
					WorkspaceID: 1, Name: "ident", Timezone: "UTC", Type: "standard"})
				if err != nil {
					rt.Fatal(err)
				}
				accs[i] = smartlimits.Account{IdentityID: id.ID, Level: "Classic"} // 25 a day, 100 a week
			}
			small, other := &smartlimits.Limiter{DB: db}, &smartlimits.Limiter{DB: db}
			events := make([][]modelEvent, len(accs))
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for step, steps := 0, rapid.IntRange(1, 80).Draw(rt, "steps"); step < steps; step++ {
				now = now.Add(time.Duration(rapid.IntRange(0, 6*60).Draw(rt, "gap_min")) * time.Minute)
				i := rapid.IntRange(0, len(accs)-1).Draw(rt, "identity")
				l := small
				if rapid.IntRange(0, 3).Draw(rt, "other") == 0 {
					l = other
				}
				n := rapid.IntRange(1, 8).Draw(rt, "n")
				day, week := usedSince(events[i], now, smartlimits.Day), usedSince(events[i], now, smartlimits.Week)
				_, err := l.Consume(context.Background(), accs[i], []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: n}}, now)
				if checkClassicDecision(rt, fmt.Sprintf("identity %d ", i), err, n, day, week, now) {
					events[i] = append(events[i], modelEvent{at: now, n: n})
				}
				if ids, evs := small.Cached(); ids > 2 || evs > 48 {
					rt.Fatalf("copies hold %d identities and %d events, bounds 2 and 48", ids, evs)
				}
			}
		})
	})
}

// modelEvent is a consumption the property tests' model holds.
type modelEvent struct {
	at  time.Time
	n   int
	res smartlimits.Reservation
}

// usedSince sums the model's consumption in the window of length d ending
// at now.
func usedSince(events []modelEvent, now time.Time, d time.Duration) int {
	used := 0
	for _, e := range events {
		if e.at.After(now.Add(-d)) {
			used += e.n
		}
	}
	return used
}

// checkClassicDecision holds Consume's answer to n more connection
// requests of a Classic account (25 a day, 100 a week) to the model's use
// of the windows, and reports whether the call was accepted.
func checkClassicDecision(rt *rapid.T, who string, err error, n, day, week int, now time.Time) bool {
	var r *smartlimits.Refused
	switch {
	case err == nil:
		if day+n > 25 || week+n > 100 {
			rt.Fatalf("%sover-consumed: %d more with %d of 25 used in the day and %d of 100 in the week", who, n, day, week)
		}
		return true
	case errors.As(err, &r):
		if day+n <= 25 && week+n <= 100 {
			rt.Fatalf("%srefused %d with %d of 25 used in the day and %d of 100 in the week", who, n, day, week)
		}
		if !r.AvailableAt.After(now) {
			rt.Fatalf("available_at %s not after now %s", r.AvailableAt, now)
		}
	default:
		rt.Fatal(err)
	}
	return false
}

// Pruning deletes the events that no window counts any more, in rounds, and
// changes no decision: neither the limiter that had read the identity's
// events before nor a new one allows more or less afterwards.
func TestPruneEventsKeepsEveryWindow(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, identityID := open(t, dialect)
		ctx := context.Background()
		now := time.Now()
		count := func() (n int64) {
			t.Helper()
			if err := db.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM limit_events`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Written long ago: 4,500 events 62 to 70 days old, one just past
		// the pruning age and one just short of it (outside every window,
		// but kept for clocks that run behind).
		const old = 4500
		ats := make([]int64, 0, old+2)
		for i := range old {
			ats = append(ats, store.Millis(now.Add(-70*smartlimits.Day+time.Duration(i)*time.Minute)))
		}
		ats = append(ats, store.Millis(now.Add(-31*smartlimits.Day-time.Hour)), store.Millis(now.Add(-31*smartlimits.Day+time.Hour)))
		for len(ats) > 0 {
			chunk := ats[:min(len(ats), 500)]
			ats = ats[len(chunk):]
			if err := db.Tx(ctx, func(tx *store.Tx) error {
				for _, at := range chunk {
					if _, err := db.Handles().Tx(tx).ExecContext(ctx, `INSERT INTO limit_events (identity_id, key, n, at) VALUES ($1, $2, 1, $3)`,
						identityID, smartlimits.InMails, at); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		// Within the month: three of the five InMails a Classic account has.
		acc := smartlimits.Account{IdentityID: identityID, Level: "Classic"}
		need := []smartlimits.Need{{Key: smartlimits.InMails, N: 1}}
		first := &smartlimits.Limiter{DB: db}
		for _, ago := range []time.Duration{smartlimits.Month - time.Hour, 10 * smartlimits.Day, time.Hour} {
			if _, err := first.Consume(ctx, acc, need, now.Add(-ago)); err != nil {
				t.Fatal(err)
			}
		}
		if got := count(); got != old+2+3 {
			t.Fatalf("%d events before pruning, want %d", got, old+2+3)
		}
		deleted, err := smartlimits.PruneEvents(ctx, db, now)
		if err != nil {
			t.Fatal(err)
		}
		if deleted != old+1 || count() != 1+3 {
			t.Fatalf("pruned %d, left %d; want %d pruned and 4 left", deleted, count(), old+1)
		}
		report, err := first.Report(ctx, acc, []string{smartlimits.InMails}, now)
		if err != nil || len(report) != 1 || report[0].Consumed != 3 {
			t.Fatalf("report after pruning: %+v, %v; want 3 consumed", report, err)
		}
		// Two left in the month, for the limiter holding a copy and for a
		// new one alike.
		second := &smartlimits.Limiter{DB: db}
		for i, l := range []*smartlimits.Limiter{first, second, first} {
			_, err := l.Consume(ctx, acc, need, now)
			var r *smartlimits.Refused
			if wantOK := i < 2; wantOK != (err == nil) || (!wantOK && !errors.As(err, &r)) {
				t.Fatalf("consumption %d after pruning: %v", i+1, err)
			}
		}
	})
}

// On PostgreSQL a batch's identities whose copies are current are claimed
// in one statement that commits on its own; the others are decided in a
// transaction after it. When that transaction fails, only their ops fail:
// the claimed ops stay recorded, and both kinds of identity go on counting
// exactly. (A trigger makes the transaction fail for one identity.)
func TestDirectWriteFailsOnlyTheStaleIdentities(t *testing.T) {
	if !slices.Contains(apitest.Dialects(t), "postgres") {
		t.Skip("the direct write is PostgreSQL's")
	}
	db, a := open(t, "postgres")
	ctx := context.Background()
	var ws int64
	if err := db.Handles().Read.QueryRowContext(ctx, `SELECT workspace_id FROM identities WHERE id = $1`, a).Scan(&ws); err != nil {
		t.Fatal(err)
	}
	b, err := store.InsertIdentity(ctx, db.Handles().W, model.Identity{UID: "i2", WorkspaceID: ws, Name: "ident 2", Timezone: "UTC", Type: "standard"})
	if err != nil {
		t.Fatal(err)
	}
	accA := smartlimits.Account{IdentityID: a, Level: "Classic"}
	accB := smartlimits.Account{IdentityID: b.ID, Level: "Classic"}
	need := []smartlimits.Need{{Key: smartlimits.ConnectionRequests, N: 1}} // 25 a day
	now := time.Now()
	node, other := &smartlimits.Limiter{DB: db}, &smartlimits.Limiter{DB: db}
	// The node's copies of both identities are current; then another node
	// consumes for B, so that the node's copy of B is stale.
	if errs, err := node.ConsumeInOneBatch(ctx, []smartlimits.Account{accA, accB}, [][]smartlimits.Need{need, need}, now); err != nil ||
		errs[0] != nil || errs[1] != nil {
		t.Fatalf("first batch: %v %v", errs, err)
	}
	if _, err := other.Consume(ctx, accB, need, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Handles().Write.ExecContext(ctx, fmt.Sprintf(`CREATE FUNCTION fail_identity() RETURNS trigger AS $$
		BEGIN IF NEW.identity_id = %d THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
		CREATE TRIGGER fail_identity BEFORE INSERT ON limit_events FOR EACH ROW EXECUTE FUNCTION fail_identity()`, b.ID)); err != nil {
		t.Fatal(err)
	}
	errs, err := node.ConsumeInOneBatch(ctx, []smartlimits.Account{accA, accB, accA}, [][]smartlimits.Need{need, need, need}, now)
	if err != nil || errs[0] != nil || errs[2] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "injected failure") {
		t.Fatalf("batch with B failing: errs %v, err %v; want A's two ops recorded and B's failed", errs, err)
	}
	events := func(id int64) (n int) {
		t.Helper()
		if err := db.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM limit_events WHERE identity_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if events(a) != 3 || events(b.ID) != 2 {
		t.Fatalf("A has %d events, B %d; want 3 and 2", events(a), events(b.ID))
	}
	if _, err := db.Handles().Write.ExecContext(ctx, `DROP TRIGGER fail_identity ON limit_events`); err != nil {
		t.Fatal(err)
	}
	// Exact from here on, through the node's copies: A has 22 left, B 23.
	for _, c := range []struct {
		acc  smartlimits.Account
		left int
	}{{accA, 22}, {accB, 23}} {
		ok := 0
		for range 30 {
			if _, err := node.Consume(ctx, c.acc, need, now); err == nil {
				ok++
			} else if r := (*smartlimits.Refused)(nil); !errors.As(err, &r) {
				t.Fatal(err)
			}
		}
		if ok != c.left {
			t.Fatalf("identity %d: %d more allowed, want %d", c.acc.IdentityID, ok, c.left)
		}
	}
}

// A deleted identity keeps no Smart Limit events, and a limiter whose copy
// of it is still warm records none after the deletion: on PostgreSQL the
// events have no foreign key (migration 00078); a trigger deletes them, and
// the identity's counter, which every write of events updates, keeps new
// ones out. The same holds when the identity goes with its workspace.
func TestDeletedIdentityKeepsNoEvents(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		wsID, identityID := apitest.SeedIdentity(t, db)
		ctx := context.Background()
		events := func(id int64) (n int) {
			if err := db.Handles().R.QueryRowContext(ctx, `SELECT COUNT(*) FROM limit_events WHERE identity_id = $1`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		needs := []smartlimits.Need{{Key: smartlimits.ProfileVisits, N: 1}, {Key: smartlimits.ProfileEnrichments, N: 1}}
		warm := &smartlimits.Limiter{DB: db}
		consume := func(id int64) {
			for range 2 {
				if _, err := warm.Consume(ctx, smartlimits.Account{IdentityID: id, Level: "Classic"}, needs, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if n := events(id); n != 4 {
				t.Fatalf("%d events before the deletion, want 4", n)
			}
		}
		consume(identityID)
		if err := store.DeleteIdentity(ctx, db.Handles().W, identityID); err != nil {
			t.Fatal(err)
		}
		if n := events(identityID); n != 0 {
			t.Fatalf("%d events left after the deletion", n)
		}
		acc := smartlimits.Account{IdentityID: identityID, Level: "Classic"}
		for name, l := range map[string]*smartlimits.Limiter{"warm copy": warm, "no copy": {DB: db}} {
			if _, err := l.Consume(ctx, acc, needs, time.Now()); err == nil {
				t.Fatalf("%s: a deleted identity consumed", name)
			}
			if n := events(identityID); n != 0 {
				t.Fatalf("%s: %d events recorded for a deleted identity", name, n)
			}
		}
		// An identity deleted with its workspace (by cascade) loses its
		// events too.
		other, err := store.InsertIdentity(ctx, db.Handles().W, model.Identity{UID: "i2", WorkspaceID: wsID, Name: "other", Timezone: "UTC", Type: "standard"})
		if err != nil {
			t.Fatal(err)
		}
		consume(other.ID)
		if _, err := db.Handles().Write.ExecContext(ctx, `DELETE FROM workspaces WHERE id = $1`, wsID); err != nil {
			t.Fatal(err)
		}
		if n := events(other.ID); n != 0 {
			t.Fatalf("%d events left after the workspace's deletion", n)
		}
	})
}
