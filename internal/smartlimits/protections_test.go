package smartlimits_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Property: the ramp-up rounds up and never gives a limit below 1. For any
// level, workspace and identity overrides and moment of the first five days,
// every key's windows are the model's (model_test.go), and each ramped
// maximum is the smallest whole number at or above d/5 of the full one:
// at least 1 unless the key is turned off (0), never more than the full
// maximum, and full from day 5 on.
func TestRampUpRoundsUpProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		connected := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		m := mAccount{level: rapid.SampledFrom(mLevels).Draw(rt, "level"), connected: &connected,
			workspace: drawOverrides(rt, "workspace"), identity: drawOverrides(rt, "identity")}
		acc := smartlimits.Account{Level: m.level, FirstConnected: m.connected}
		var err error
		if acc.Workspace, err = smartlimits.ParseOverrides(m.workspace.JSON()); err != nil {
			rt.Fatal(err)
		}
		if acc.Identity, err = smartlimits.ParseOverrides(m.identity.JSON()); err != nil {
			rt.Fatal(err)
		}
		now := connected.Add(time.Duration(rapid.Int64Range(0, int64(6*mDay/time.Minute)).Draw(rt, "minutes")) * time.Minute)
		day := int(now.Sub(connected)/mDay) + 1
		full := m
		full.connected = nil
		for _, key := range mKeys {
			got, want, whole := acc.Effective(key, now), m.windows(key, now), full.windows(key, now)
			if len(got) != len(want) {
				rt.Fatalf("%s: %d windows, the model has %d", key, len(got), len(want))
			}
			for i := range got {
				g, f := got[i].Max, whole[i].max
				if got[i].Period != want[i].period || g != want[i].max {
					rt.Fatalf("day %d, %s: window %v max %d; the model says %v max %d", day, key, got[i].Period, g,
						want[i].period, want[i].max)
				}
				switch {
				case day >= 5 && g != f:
					rt.Fatalf("day %d, %s: %d, want the full %d", day, key, g, f)
				case f > 0 && g < 1:
					rt.Fatalf("day %d, %s: %d of a full %d: below 1", day, key, g, f)
				case g > f:
					rt.Fatalf("day %d, %s: %d is more than the full %d", day, key, g, f)
				case day < 5 && (g*5 < f*day || (g-1)*5 >= f*day):
					rt.Fatalf("day %d, %s: %d is not %d/5 of %d rounded up", day, key, g, day, f)
				}
			}
		}
	})
}

// The audit's finding: an override of a window the key does not have was
// accepted and ignored. It is refused, naming the key and its windows.
func TestOverridesRefuseAWindowTheKeyLacks(t *testing.T) {
	for raw, want := range map[string]string{
		`{"profile_visits": {"7d": 100}}`:                            "profile_visits has no 7d window (its windows: 24h)",
		`{"inmails": {"24h": 3}}`:                                    "inmails has no 24h window (its windows: 30d)",
		`{"search_results": {"30d": 3}}`:                             "search_results has no 30d window (its windows: 24h)",
		`{"connection_requests": {"30d": 3}}`:                        "connection_requests has no 30d window (its windows: 24h, 7d)",
		`{"messages": null}`:                                         "messages must be a number or an object of windows",
		`{"messages": {"24h": null}}`:                                "messages must be a non-negative integer",
		`{"working_hours": {"start": "08:00"}}`:                      "give start and end together",
		`{"working_hours": {"start": "8:00", "end": "20:00"}}`:       "working_hours.start must be a time of day",
		`{"working_hours": {"start": "20:00", "end": "08:00"}}`:      "start 20:00 must be before end 08:00",
		`{"working_hours": {"start": "24:00", "end": "24:00"}}`:      "working_hours.start must be a time of day",
		`{"working_hours": {"days": []}}`:                            "working_hours.days must be a non-empty array",
		`{"working_hours": {"days": ["mon", "funday"]}}`:             `unknown day "funday"`,
		`{"working_hours": {"enabled": "yes"}}`:                      "working_hours.enabled must be true or false",
		`{"working_hours": {"timezone": "UTC"}}`:                     `working_hours: unknown field "timezone"`,
		`{"working_hours": 1}`:                                       "working_hours must be an object",
		`{"outreach_gap": {"min_seconds": 30}}`:                      "give min_seconds and max_seconds together",
		`{"outreach_gap": {"min_seconds": 90, "max_seconds": 60}}`:   "min_seconds 90 is more than max_seconds 60",
		`{"outreach_gap": {"min_seconds": -1, "max_seconds": 60}}`:   "min_seconds must be a whole number",
		`{"outreach_gap": {"min_seconds": 1, "max_seconds": 86401}}`: "max_seconds must be a whole number of seconds from 0 to 86400",
		`{"outreach_gap": {"min": 1, "max_seconds": 2}}`:             `outreach_gap: unknown field "min"`,
		`{"outreach_gaps": {}}`:                                      `unknown smart limit key "outreach_gaps"`,
	} {
		_, err := smartlimits.ParseOverrides(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", raw, err, want)
		}
	}
	for _, raw := range []string{
		`{"connection_requests": {"7d": 100}, "inmails": {"30d": 2}, "search_results": 500}`,
		`{"working_hours": {"enabled": true, "start": "00:00", "end": "24:00", "days": ["Sat", "sunday"], "outreach_only": false}}`,
		`{"outreach_gap": {"min_seconds": 0, "max_seconds": 0}}`,
	} {
		if _, err := smartlimits.ParseOverrides(raw); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

func mustOverrides(t testing.TB, raw string) smartlimits.Overrides {
	t.Helper()
	o, err := smartlimits.ParseOverrides(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Working hours are wall clock in the identity's zone, across DST changes.
// The expected instants are written in UTC from the zones' published
// changes: Europe/Paris goes from UTC+1 to UTC+2 at 01:00 UTC on 29 March
// 2026 (02:00 becomes 03:00) and back at 01:00 UTC on 25 October 2026 (03:00
// becomes 02:00); America/New_York goes from UTC-5 to UTC-4 at 07:00 UTC on
// 8 March 2026.
func TestWorkingHoursAcrossDST(t *testing.T) {
	paris, newYork := mustZone(t, "Europe/Paris"), mustZone(t, "America/New_York")
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name      string
		loc       *time.Location
		overrides string
		now       string
		next      string // "" when open
	}{
		// The default hours, 08:00-20:00 Monday to Friday.
		{"Friday evening before spring forward, Paris", paris, `{}`, "2026-03-27 19:00", "2026-03-30 06:00"},
		{"Friday 19:59 Paris (UTC+1) is open", paris, `{}`, "2026-03-27 18:59", ""},
		{"Monday 08:00 after spring forward is 06:00 UTC", paris, `{}`, "2026-03-30 06:00", ""},
		{"Monday 07:59 after spring forward", paris, `{}`, "2026-03-30 05:59", "2026-03-30 06:00"},
		{"Friday evening before fall back, Paris", paris, `{}`, "2026-10-23 18:00", "2026-10-26 07:00"},
		{"Monday 08:00 after fall back is 07:00 UTC", paris, `{}`, "2026-10-26 07:00", ""},
		{"Monday 20:00 after fall back is closed", paris, `{}`, "2026-10-26 19:00", "2026-10-27 07:00"},
		{"Saturday, New York, before spring forward", newYork, `{}`, "2026-03-07 15:00", "2026-03-09 12:00"},
		// An opening in the skipped hour starts when the hour ends.
		{"opening at 02:30 on the spring-forward Sunday", paris,
			`{"working_hours": {"start": "02:30", "end": "06:00", "days": ["sun"]}}`, "2026-03-29 00:30", "2026-03-29 01:00"},
		{"just after the change, that opening is open", paris,
			`{"working_hours": {"start": "02:30", "end": "06:00", "days": ["sun"]}}`, "2026-03-29 01:00", ""},
		{"a closing in the skipped hour closes at the change", paris,
			`{"working_hours": {"start": "01:00", "end": "02:30", "days": ["sun"]}}`, "2026-03-29 01:00", "2026-04-04 23:00"},
		{"New York opening at 02:15 on its spring-forward Sunday", newYork,
			`{"working_hours": {"start": "02:15", "end": "05:00", "days": ["sun"]}}`, "2026-03-08 06:00", "2026-03-08 07:00"},
		// An opening in the repeated hour is its first occurrence.
		{"opening at 02:30 on the fall-back Sunday", paris,
			`{"working_hours": {"start": "02:30", "end": "06:00", "days": ["sun"]}}`, "2026-10-25 00:00", "2026-10-25 00:30"},
		// Midnight to midnight is open all day, on the long day too.
		{"all day on the fall-back Sunday, last minute", paris,
			`{"working_hours": {"start": "00:00", "end": "24:00", "days": ["sun"]}}`, "2026-10-25 22:59", ""},
		{"all day on the fall-back Sunday, over", paris,
			`{"working_hours": {"start": "00:00", "end": "24:00", "days": ["sun"]}}`, "2026-10-25 23:00", "2026-10-31 23:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			acc := smartlimits.Account{Location: c.loc, Workspace: mustOverrides(t, c.overrides)}
			open, next := acc.Hours().At(utc(c.now), c.loc)
			if c.next == "" {
				if !open {
					t.Fatalf("closed at %s, next opening %s; want open", c.now, next.UTC())
				}
				return
			}
			if open || !next.Equal(utc(c.next)) {
				t.Fatalf("at %s: open %v, next opening %s; want closed until %s UTC", c.now, open, next.UTC(), c.next)
			}
		})
	}
}

// Working hours hold back outreach in async and schedule modes: the
// limiter refuses it until the next opening, records nothing, and GET
// .../limits shows it. Live calls and, by default, extraction pass; a
// workspace can hold back extraction too, and an identity can override its
// workspace field by field.
func TestWorkingHoursHoldBackOutreach(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, id := open(t, dialect)
		l := &smartlimits.Limiter{DB: db}
		ctx := context.Background()
		paris := mustZone(t, "Europe/Paris")
		acc := smartlimits.Account{IdentityID: id, Level: "Classic", Location: paris,
			Workspace: mustOverrides(t, `{"outreach_gap": {"min_seconds": 0, "max_seconds": 0}}`)}
		saturday := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
		monday := time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC) // 08:00 in Paris, summer time
		outreach := smartlimits.Call{Keys: []string{smartlimits.ConnectionRequests}, Outreach: true}
		extract := smartlimits.Call{Keys: []string{smartlimits.ProfileVisits}}

		_, err := l.Consume(ctx, acc, acc.Needs(outreach), saturday)
		var r *smartlimits.Refused
		if !errors.As(err, &r) || r.Key != smartlimits.WorkingHours || !r.AvailableAt.Equal(monday) {
			t.Fatalf("outreach on Saturday: %v, want working_hours until %s", err, monday)
		}
		st, err := l.Report(ctx, acc, acc.ReportKeys(outreach), saturday)
		if err != nil {
			t.Fatal(err)
		}
		wh := statusOf(t, st, smartlimits.WorkingHours)
		if wh.Remaining != 0 || wh.AvailableAt == nil || !wh.AvailableAt.Equal(monday) ||
			wh.Window != "mon,tue,wed,thu,fri 08:00-20:00 Europe/Paris" {
			t.Fatalf("report on Saturday: %+v", wh)
		}
		if c := statusOf(t, st, smartlimits.ConnectionRequests); c.Consumed != 0 {
			t.Fatalf("a refused call consumed: %+v", c)
		}
		live := outreach
		live.Live = true
		if _, err := l.Consume(ctx, acc, acc.Needs(live), saturday); err != nil {
			t.Fatalf("a live call on Saturday: %v", err)
		}
		if _, err := l.Consume(ctx, acc, acc.Needs(extract), saturday); err != nil {
			t.Fatalf("extraction on Saturday: %v", err)
		}
		if _, err := l.Consume(ctx, acc, acc.Needs(outreach), monday); err != nil {
			t.Fatalf("outreach at Monday's opening: %v", err)
		}
		st, _ = l.Report(ctx, acc, acc.ReportKeys(outreach), monday)
		if wh := statusOf(t, st, smartlimits.WorkingHours); wh.Remaining != 1 || wh.AvailableAt != nil {
			t.Fatalf("report at the opening: %+v", wh)
		}

		// The workspace holds back extraction too; the identity only moves
		// the hours and keeps that.
		acc.Workspace = mustOverrides(t, `{"working_hours": {"outreach_only": false}, "outreach_gap": {"min_seconds": 0, "max_seconds": 0}}`)
		acc.Identity = mustOverrides(t, `{"working_hours": {"start": "10:00", "end": "12:00", "days": ["sat"]}}`)
		if _, err := l.Consume(ctx, acc, acc.Needs(extract), monday); !errors.As(err, &r) || r.Key != smartlimits.WorkingHours ||
			!r.AvailableAt.Equal(time.Date(2026, 4, 4, 8, 0, 0, 0, time.UTC)) {
			t.Fatalf("extraction on Monday with Saturday hours: %v", err)
		}
		if _, err := l.Consume(ctx, acc, acc.Needs(extract), saturday.Add(-3*time.Hour)); err != nil { // 11:00 in Paris
			t.Fatalf("extraction within the identity's hours: %v", err)
		}
		// Turned off: no key is reported, nothing is held back.
		acc.Identity = mustOverrides(t, `{"working_hours": {"enabled": false}}`)
		if keys := acc.ReportKeys(outreach); slices.Contains(keys, smartlimits.WorkingHours) {
			t.Fatalf("report keys with the hours off: %v", keys)
		}
		if _, err := l.Consume(ctx, acc, acc.Needs(outreach), saturday.Add(time.Hour)); err != nil {
			t.Fatalf("outreach with the hours off: %v", err)
		}
	})
}

func statusOf(t testing.TB, st []smartlimits.Status, key string) smartlimits.Status {
	t.Helper()
	for _, s := range st {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no %s in %+v", key, st)
	return smartlimits.Status{}
}

// The outreach gap under 20 concurrent calls on one account, spread over
// two limiters (two nodes) on one database, at random moments: never are
// two outreach actions within the pause drawn after the first (30-120 s by
// default, uniformly); each refusal names the end of a pause that was
// recorded; every recorded pause is within the range.
func TestOutreachGapUnderConcurrency(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, id := open(t, dialect)
		nodes := []*smartlimits.Limiter{{DB: db}, {DB: db}}
		ctx := context.Background()
		acc := smartlimits.Account{IdentityID: id, Level: "Classic"}
		call := smartlimits.Call{Keys: []string{smartlimits.Messages}, Outreach: true, Live: true}
		t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

		// All at once: exactly one goes.
		type outcome struct {
			now time.Time
			err error
		}
		run := func(nows []time.Time) []outcome {
			out := make([]outcome, len(nows))
			var wg sync.WaitGroup
			for i, now := range nows {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := nodes[i%2].Consume(ctx, acc, acc.Needs(call), now)
					out[i] = outcome{now, err}
				}()
			}
			wg.Wait()
			return out
		}
		same := make([]time.Time, 20)
		for i := range same {
			same[i] = t0
		}
		var all []outcome
		first := run(same)
		all = append(all, first...)
		ok := 0
		for _, o := range first {
			if o.err == nil {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("20 concurrent outreach calls at one moment: %d went, want 1", ok)
		}
		// Rounds of 20 concurrent calls at random moments of a minute, the
		// rounds three minutes apart. A round's calls race in any order (a
		// later moment may go first and hold the earlier ones back), but the
		// previous round's pauses (at most 120 s after its minute) have ended
		// when a round starts, so each round lets at least one call go.
		rng := rand.New(rand.NewPCG(16, 4))
		for r := range 10 {
			start := t0.Add(time.Duration(r+1) * 3 * time.Minute)
			nows := make([]time.Time, 20)
			for i := range nows {
				nows[i] = start.Add(time.Duration(rng.Int64N(int64(time.Minute/time.Millisecond))) * time.Millisecond)
			}
			all = append(all, run(nows)...)
		}

		// The recorded actions and their pauses.
		type action struct{ at, pause int64 }
		var acts []action
		rows, err := db.Handles().Read.QueryContext(ctx, `SELECT at, n FROM limit_events WHERE identity_id = $1 AND key = $2 ORDER BY at`,
			id, smartlimits.OutreachGap)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a action
			if err := rows.Scan(&a.at, &a.pause); err != nil {
				t.Fatal(err)
			}
			acts = append(acts, a)
		}
		rows.Close()
		succeeded := 0
		ends := map[int64]bool{}
		for _, a := range acts {
			ends[a.at+a.pause] = true
		}
		for _, o := range all {
			var r *smartlimits.Refused
			switch {
			case o.err == nil:
				succeeded++
			case errors.As(o.err, &r):
				if r.Key != smartlimits.OutreachGap || !r.AvailableAt.After(o.now) || !ends[store.Millis(r.AvailableAt)] {
					t.Errorf("refusal at %s: %v; want the end of a recorded pause", o.now, o.err)
				}
			default:
				t.Fatal(o.err)
			}
		}
		if succeeded != len(acts) || succeeded < 11 {
			t.Fatalf("%d calls went, %d pauses recorded", succeeded, len(acts))
		}
		pauses := map[int64]bool{}
		for i, a := range acts {
			pauses[a.pause] = true
			if a.pause < 30_000 || a.pause > 120_000 {
				t.Errorf("a pause of %d ms, outside 30-120 s", a.pause)
			}
			if i > 0 && a.at-acts[i-1].at < acts[i-1].pause {
				t.Errorf("two outreach actions %d ms apart, within the first one's pause of %d ms", a.at-acts[i-1].at, acts[i-1].pause)
			}
		}
		if len(pauses) < 2 {
			t.Errorf("every pause is %v: not drawn per action", pauses)
		}
	})
}

// The gap is a reservation like the others: a released outreach action
// (its call never reached the platform) leaves no pause; GET .../limits
// shows a running pause and its end; a gap of 0 turns it off; an identity's
// gap overrides its workspace's.
func TestOutreachGapReleaseReportAndSettings(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, id := open(t, dialect)
		l := &smartlimits.Limiter{DB: db}
		ctx := context.Background()
		acc := smartlimits.Account{IdentityID: id, Level: "Classic",
			Workspace: mustOverrides(t, `{"outreach_gap": {"min_seconds": 60, "max_seconds": 60}}`)}
		call := smartlimits.Call{Keys: []string{smartlimits.Messages}, Outreach: true, Live: true}
		t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		res, err := l.Consume(ctx, acc, acc.Needs(call), t0)
		if err != nil {
			t.Fatal(err)
		}
		st, err := l.Report(ctx, acc, acc.ReportKeys(call), t0.Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		g := statusOf(t, st, smartlimits.OutreachGap)
		if g.Remaining != 0 || g.AvailableAt == nil || !g.AvailableAt.Equal(t0.Add(time.Minute)) || g.Window != "60s-60s" {
			t.Fatalf("report within the pause: %+v", g)
		}
		var r *smartlimits.Refused
		if _, err := l.Consume(ctx, acc, acc.Needs(call), t0.Add(59*time.Second)); !errors.As(err, &r) ||
			!r.AvailableAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("59 s later: %v, want a refusal until 60 s", err)
		}
		if err := l.Release(ctx, res); err != nil {
			t.Fatal(err)
		}
		res, err = l.Consume(ctx, acc, acc.Needs(call), t0.Add(time.Second))
		if err != nil {
			t.Fatalf("after the release: %v", err)
		}
		if _, err := l.Consume(ctx, acc, acc.Needs(call), t0.Add(61*time.Second)); err != nil {
			t.Fatalf("exactly one pause later: %v", err)
		}
		if _, err := l.Consume(ctx, acc, acc.Needs(call), t0.Add(90*time.Second)); !errors.As(err, &r) ||
			!r.AvailableAt.Equal(t0.Add(121*time.Second)) {
			t.Fatalf("within the second pause: %v", err)
		}
		// An action recorded after this call's moment (by a node whose clock
		// runs ahead) holds it back too.
		if _, err := l.Consume(ctx, acc, acc.Needs(call), t0.Add(50*time.Second)); !errors.As(err, &r) ||
			!r.AvailableAt.Equal(t0.Add(121*time.Second)) {
			t.Fatalf("before an action recorded later: %v", err)
		}
		// The identity turns its gap off.
		acc.Identity = mustOverrides(t, `{"outreach_gap": {"min_seconds": 0, "max_seconds": 0}}`)
		if slices.Contains(acc.ReportKeys(call), smartlimits.OutreachGap) {
			t.Fatal("a gap of 0 is still reported")
		}
		for range 3 {
			if _, err := l.Consume(ctx, acc, acc.Needs(call), t0.Add(90*time.Second)); err != nil {
				t.Fatalf("with the gap off: %v", err)
			}
		}
		// Extraction is never spaced.
		acc.Identity = smartlimits.Overrides{}
		if n := acc.Needs(smartlimits.Call{Keys: []string{smartlimits.ProfileVisits}}); len(n) != 1 {
			t.Fatalf("extraction needs %v", n)
		}
	})
}

// The search results cap: each page reserves a full page of results (or
// the cap, when the cap is smaller) before the call and records the real
// count after it. 200 concurrent pages of up to 25 results against the
// 1,000 a Classic account has a day, on two nodes, returning from 0 to 25
// results each: the day's count never exceeds 1,000 (the cap is more than
// a page), what was recorded is what the pages returned, and the pages
// refused are refused on search_results until the day's window slides.
func TestSearchResultsCapUnderConcurrency(t *testing.T) {
	testSearchResultsCap(t, func(ctx context.Context, _ string, _ *store.Store, l *smartlimits.Limiter, res smartlimits.Reservation, n int) error {
		_, err := l.Settle(ctx, res, smartlimits.SearchResults, n)
		return err
	})
}

// TestSearchResultsCapSettledWithRecording is the same with each page
// settled as a live call's recording step does it: the settlement written
// in the caller's own transaction (with its run and charge), then reported
// to the limiter that reserved it, whose copy must stay exact. On
// PostgreSQL half of them go in the one-round-trip pipeline
// (store.PayAndRecord), as a batch its balances can pay does.
func TestSearchResultsCapSettledWithRecording(t *testing.T) {
	testSearchResultsCap(t, func(ctx context.Context, dialect string, db *store.Store, l *smartlimits.Limiter, res smartlimits.Reservation, n int) error {
		adj := res.Settlement(smartlimits.SearchResults, n)
		if adj == nil {
			return nil
		}
		if dialect == store.Postgres && n%2 == 0 {
			if _, err := store.PayAndRecord(ctx, db, nil, nil, adj); err != nil {
				return err
			}
		} else if err := db.TxKeepCaches(ctx, func(tx *store.Tx) error {
			return store.AdjustLimitEvents(ctx, tx, []*store.LimitAdjust{adj})
		}); err != nil {
			return err
		}
		l.Adjusted([]*store.LimitAdjust{adj})
		return nil
	})
}

func testSearchResultsCap(t *testing.T, settle func(context.Context, string, *store.Store, *smartlimits.Limiter, smartlimits.Reservation, int) error) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, id := open(t, dialect)
		nodes := []*smartlimits.Limiter{{DB: db}, {DB: db}}
		ctx := context.Background()
		acc := smartlimits.Account{IdentityID: id, Level: "Classic",
			Workspace: mustOverrides(t, `{"search_pages": 100000}`)}
		call := smartlimits.Call{Keys: []string{smartlimits.SearchPages}, SearchPage: 25}
		now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		returned := 0
		var wg sync.WaitGroup
		refused := 0
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := nodes[i%2]
				res, err := l.Consume(ctx, acc, acc.Needs(call), now)
				var r *smartlimits.Refused
				if errors.As(err, &r) {
					if r.Key != smartlimits.SearchResults || !r.AvailableAt.Equal(now.Add(smartlimits.Day)) {
						t.Errorf("refused: %v", r)
					}
					mu.Lock()
					refused++
					mu.Unlock()
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				n := (i * 7) % 26 // 0 to 25 results
				if err := settle(ctx, dialect, db, l, res, n); err != nil {
					t.Error(err)
				}
				mu.Lock()
				returned += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		st, err := nodes[0].Report(ctx, acc, acc.ReportKeys(call), now)
		if err != nil {
			t.Fatal(err)
		}
		sr := statusOf(t, st, smartlimits.SearchResults)
		if sr.MaxLimit != 1000 || sr.Consumed != returned || returned > 1000 {
			t.Fatalf("search_results %+v; the pages returned %d", sr, returned)
		}
		if refused == 0 {
			t.Fatalf("no page refused: %d results returned", returned)
		}
		if pages := statusOf(t, st, smartlimits.SearchPages); pages.Consumed != 200-refused {
			t.Fatalf("search_pages consumed %d, %d pages went", pages.Consumed, 200-refused)
		}
	})
}

// A cap below one page lets one page through at a time, and the count
// exceeds the cap by less than a page; a cap of 0 lets none through; a
// failed call's reservation is released whole.
func TestSearchResultsCapBelowAPage(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, id := open(t, dialect)
		l := &smartlimits.Limiter{DB: db}
		ctx := context.Background()
		acc := smartlimits.Account{IdentityID: id, Level: "Sales Navigator", Identity: mustOverrides(t, `{"search_results": 10}`)}
		call := smartlimits.Call{Keys: []string{smartlimits.SearchPages}, SearchPage: 25}
		now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
		res, err := l.Consume(ctx, acc, acc.Needs(call), now)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Release(ctx, res); err != nil {
			t.Fatal(err)
		}
		res, err = l.Consume(ctx, acc, acc.Needs(call), now.Add(time.Minute))
		if err != nil {
			t.Fatalf("after the release: %v", err)
		}
		var r *smartlimits.Refused
		if _, err := l.Consume(ctx, acc, acc.Needs(call), now.Add(time.Minute)); !errors.As(err, &r) || r.Key != smartlimits.SearchResults {
			t.Fatalf("a second page while the first runs: %v", err)
		}
		if _, err := l.Settle(ctx, res, smartlimits.SearchResults, 25); err != nil {
			t.Fatal(err)
		}
		st, _ := l.Report(ctx, acc, []string{smartlimits.SearchResults}, now.Add(2*time.Minute))
		if st[0].Consumed != 25 || st[0].MaxLimit != 10 {
			t.Fatalf("after a page of 25 against a cap of 10: %+v", st[0])
		}
		if _, err := l.Consume(ctx, acc, acc.Needs(call), now.Add(2*time.Minute)); !errors.As(err, &r) ||
			!r.AvailableAt.Equal(now.Add(time.Minute+smartlimits.Day)) {
			t.Fatalf("over the cap: %v, want a refusal until the page leaves the window", err)
		}
		acc.Identity = mustOverrides(t, `{"search_results": 0}`)
		if _, err := l.Consume(ctx, acc, acc.Needs(call), now.Add(3*smartlimits.Day)); !errors.As(err, &r) {
			t.Fatalf("a cap of 0: %v", err)
		}
		// Sales Navigator's default is 2,500.
		acc.Identity = smartlimits.Overrides{}
		if w := acc.Effective(smartlimits.SearchResults, now); len(w) != 1 || w[0].Max != 2500 || w[0].Period != smartlimits.Day {
			t.Fatalf("sales navigator search_results %+v", w)
		}
	})
}
