package schedules_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestCronFiresInItsZone: a cron in America/New_York fires at 09:30 there
// (14:30 UTC in winter), not a minute early, creating an ASYNC run that
// carries the schedule's uid, its inputs and its sealed callback headers.
func TestCronFiresInItsZone(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-01-10T12:00:00Z")
		c := f.create(map[string]any{"cron": "30 9 * * *", "timezone": "America/New_York", "name": "morning",
			"inputs": []any{placeInput("A"), placeInput("B")}})
		uid := c["schedule_uid"].(string)
		if c["uid"] != uid || c["status"] != "ACTIVE" || c["cron"] != "30 9 * * *" || c["timezone"] != "America/New_York" {
			t.Fatalf("create response: %v", c)
		}
		wantTime(t, "next_execution_at", c["next_execution_at"], "2031-01-10T14:30:00Z")

		if st := f.fireAt("2031-01-10T14:29:59.999Z"); st.Fired != 0 {
			t.Fatalf("fired a millisecond early: %+v", st)
		}
		if st := f.fireAt("2031-01-10T14:30:00.250Z"); st.Fired != 1 {
			t.Fatalf("did not fire when due: %+v", st)
		}
		sc := f.get(uid)
		wantTime(t, "last_executed_at", sc["last_executed_at"], "2031-01-10T14:30:00Z")
		wantTime(t, "next_execution_at", sc["next_execution_at"], "2031-01-11T14:30:00Z")
		if sc["status"] != "ACTIVE" || sc["name"] != "morning" {
			t.Errorf("after firing: %v", sc)
		}
		rs := f.runs(uid)
		if len(rs) != 1 {
			t.Fatalf("%d runs, want 1", len(rs))
		}
		r := rs[0]
		if r["execution_mode"] != "ASYNC" || r["scheduled_run_uid"] != uid || r["action_name"] != placeSlug ||
			r["input_count"] != float64(2) || r["user_uid"] != sc["user_uid"] {
			t.Errorf("run: %v", r)
		}
		cb, _ := r["callback"].(map[string]any)
		if cb["url"] != "https://hooks.example.com/firstmate" || cb["on"] != "all" {
			t.Errorf("run callback: %v", r["callback"])
		}
		// The sealed headers went to the run as they were: the run's worker
		// opens them with the runs' additional data.
		var kid string
		var sealed []byte
		if err := f.env.App.DB.Handles().Read.QueryRowContext(context.Background(),
			`SELECT callback_headers_kid, callback_headers FROM runs WHERE uid = $1`, r["uid"]).Scan(&kid, &sealed); err != nil {
			t.Fatal(err)
		}
		pt, err := f.env.App.Keys.Open(kid, sealed, []byte("callback-headers"))
		var h map[string]string
		if err != nil || json.Unmarshal(pt, &h) != nil || h["X-Token"] != "s3cret" {
			t.Errorf("run callback headers: %v %s", err, pt)
		}
		var inputs []string
		rows, err := f.env.App.DB.Handles().Read.QueryContext(context.Background(),
			`SELECT i.input FROM run_inputs i JOIN runs r ON r.id = i.run_id WHERE r.uid = $1 ORDER BY i.idx`, r["uid"])
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			inputs = append(inputs, s)
		}
		rows.Close()
		if len(inputs) != 2 || inputs[0] != `{"google_maps_place_url":"https://www.google.com/maps/place/Cafe+A/"}` {
			t.Errorf("run inputs: %v", inputs)
		}
		// Nothing more is due the same day.
		if st := f.fireAt("2031-01-11T14:29:00Z"); st.Fired+st.Skipped != 0 {
			t.Errorf("fired again before the next day: %+v", st)
		}
	})
}

// TestDSTThroughFiring walks real firings across the DST changes of
// Europe/Paris and America/New_York: a skipped wall time does not fire that
// day, a repeated one fires once (at its first occurrence), and an hourly
// cron fires once per wall-clock hour. Each firing is checked one second
// early (nothing) and on time (one run, last_executed_at, next).
func TestDSTThroughFiring(t *testing.T) {
	cases := []struct {
		name, cron, zone, start string
		want                    []string // successive firing instants
	}{
		{"Paris spring forward", "30 2 * * *", "Europe/Paris", "2031-03-28T12:00:00Z",
			[]string{"2031-03-29T01:30:00Z", "2031-03-31T00:30:00Z", "2031-04-01T00:30:00Z"}},
		{"Paris fall back", "30 2 * * *", "Europe/Paris", "2031-10-25T12:00:00Z",
			[]string{"2031-10-26T00:30:00Z", "2031-10-27T01:30:00Z", "2031-10-28T01:30:00Z"}},
		{"New York spring forward", "30 2 * * *", "America/New_York", "2031-03-07T12:00:00Z",
			[]string{"2031-03-08T07:30:00Z", "2031-03-10T06:30:00Z", "2031-03-11T06:30:00Z"}},
		{"New York fall back", "30 1 * * *", "America/New_York", "2031-11-01T12:00:00Z",
			[]string{"2031-11-02T05:30:00Z", "2031-11-03T06:30:00Z"}},
		{"New York hourly across fall back", "0 * * * *", "America/New_York", "2031-11-02T04:30:00Z",
			[]string{"2031-11-02T05:00:00Z", "2031-11-02T07:00:00Z", "2031-11-02T08:00:00Z"}},
		{"Paris every 15 minutes across spring forward", "*/15 1-3 * * *", "Europe/Paris", "2031-03-30T00:40:00Z",
			[]string{"2031-03-30T00:45:00Z", "2031-03-30T01:00:00Z", "2031-03-30T01:15:00Z"}},
	}
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-01-01T00:00:00Z")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f.t = t
				f.clk.Set(mustTime(tc.start))
				uid := f.create(map[string]any{"cron": tc.cron, "timezone": tc.zone})["schedule_uid"].(string)
				for i, w := range tc.want {
					wantTime(t, "next_execution_at before firing "+w, f.get(uid)["next_execution_at"], w)
					early := mustTime(w).Add(-time.Second).Format(time.RFC3339Nano)
					if st := f.fireAt(early); st.Fired+st.Skipped != 0 {
						t.Fatalf("fired at %s, one second before %s: %+v", early, w, st)
					}
					if st := f.fireAt(w); st.Fired != 1 {
						t.Fatalf("at %s: %+v, want one firing", w, st)
					}
					sc := f.get(uid)
					wantTime(t, "last_executed_at", sc["last_executed_at"], w)
					if n := len(f.runs(uid)); n != i+1 {
						t.Fatalf("after firing %s: %d runs, want %d", w, n, i+1)
					}
					f.finish(uid)
				}
				f.env.Must(200, "DELETE", "/v4/schedules/"+uid, f.key, nil)
			})
		}
	})
}

// TestCatchUpFiresOnce: after a clock jump over many periods (downtime),
// one firing runs, for the most recent missed slot, and the next one is
// after now.
func TestCatchUpFiresOnce(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-06-01T08:00:30Z")
		uid := f.create(map[string]any{"cron": "*/5 * * * *"})["schedule_uid"].(string)
		wantTime(t, "next_execution_at", f.get(uid)["next_execution_at"], "2031-06-01T08:05:00Z")
		if st := f.fireAt("2031-06-01T11:17:10Z"); st.Fired != 1 {
			t.Fatalf("after 3 hours down: %+v, want exactly one firing", st)
		}
		if st := f.fire(); st.Fired+st.Skipped != 0 {
			t.Fatalf("a second pass at the same time fired again: %+v", st)
		}
		sc := f.get(uid)
		wantTime(t, "last_executed_at", sc["last_executed_at"], "2031-06-01T11:15:00Z")
		wantTime(t, "next_execution_at", sc["next_execution_at"], "2031-06-01T11:20:00Z")
		if n := len(f.runs(uid)); n != 1 {
			t.Fatalf("%d runs after the catch-up, want 1", n)
		}
		// Two days down on a daily cron in a DST zone: still one.
		f.finish(uid)
		d := f.create(map[string]any{"cron": "0 6 * * *", "timezone": "Europe/Paris"})["schedule_uid"].(string)
		if st := f.fireAt("2031-06-04T09:00:00Z"); st.Fired != 2 { // d's catch-up, and uid's own
			t.Fatalf("%+v, want two firings (one per schedule)", st)
		}
		wantTime(t, "daily last_executed_at", f.get(d)["last_executed_at"], "2031-06-04T04:00:00Z")
		wantTime(t, "daily next_execution_at", f.get(d)["next_execution_at"], "2031-06-05T04:00:00Z")
		if n := len(f.runs(d)); n != 1 {
			t.Fatalf("daily: %d runs, want 1", n)
		}
	})
}

// TestOverlapSkips: a firing due while the previous run still runs is
// skipped (no run, next advanced); once that run is over, firings resume.
func TestOverlapSkips(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-06-01T08:00:30Z")
		uid := f.create(map[string]any{"cron": "*/5 * * * *"})["schedule_uid"].(string)
		if st := f.fireAt("2031-06-01T08:05:00Z"); st.Fired != 1 {
			t.Fatalf("first firing: %+v", st)
		}
		rs := f.runs(uid)
		if len(rs) != 1 || rs[0]["status"] == "SUCCEEDED" || rs[0]["status"] == "STOPPED" {
			t.Fatalf("the first run should still be going: %v", rs)
		}
		if st := f.fireAt("2031-06-01T08:10:00Z"); st.Skipped != 1 || st.Fired != 0 {
			t.Fatalf("second firing with the first run going: %+v, want skipped", st)
		}
		sc := f.get(uid)
		wantTime(t, "last_executed_at after the skip", sc["last_executed_at"], "2031-06-01T08:05:00Z")
		wantTime(t, "next_execution_at after the skip", sc["next_execution_at"], "2031-06-01T08:15:00Z")
		if n := len(f.runs(uid)); n != 1 {
			t.Fatalf("%d runs after a skipped firing, want 1", n)
		}
		f.finish(uid)
		if st := f.fireAt("2031-06-01T08:15:00Z"); st.Fired != 1 {
			t.Fatalf("after the run finished: %+v, want a firing", st)
		}
		if n := len(f.runs(uid)); n != 2 {
			t.Fatalf("%d runs, want 2", n)
		}
	})
}

// TestOneShotCompletes: schedule_at alone fires once and completes; a start
// time a few seconds past (within the grace of TestPastScheduleAt) fires at
// once; cron plus schedule_at starts at schedule_at.
func TestOneShotCompletes(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-07-01T10:00:00Z")
		c := f.create(map[string]any{"schedule_at": "2031-07-01T13:00:00+02:00", "timezone": "Europe/Paris"})
		uid := c["schedule_uid"].(string)
		if c["cron"] != nil {
			t.Errorf("one-shot cron = %v, want null", c["cron"])
		}
		wantTime(t, "next_execution_at", c["next_execution_at"], "2031-07-01T11:00:00Z")
		wantTime(t, "schedule_at", f.get(uid)["schedule_at"], "2031-07-01T11:00:00Z")
		if st := f.fireAt("2031-07-01T10:59:59Z"); st.Fired != 0 {
			t.Fatalf("early: %+v", st)
		}
		if st := f.fireAt("2031-07-01T11:00:00Z"); st.Fired != 1 {
			t.Fatalf("on time: %+v", st)
		}
		sc := f.get(uid)
		if sc["status"] != "COMPLETED" {
			t.Errorf("status %v, want COMPLETED", sc["status"])
		}
		wantTime(t, "next_execution_at", sc["next_execution_at"], "")
		wantTime(t, "last_executed_at", sc["last_executed_at"], "2031-07-01T11:00:00Z")
		if st := f.fireAt("2031-07-02T11:00:00Z"); st.Fired != 0 {
			t.Fatalf("a completed one-shot fired again: %+v", st)
		}
		for _, a := range []string{"pause", "resume", "cancel"} {
			r := f.env.Do("POST", "/v4/schedules/"+uid+"/"+a, f.key, nil)
			if r.Status != 409 || r.Label() != "CONFLICT" {
				t.Errorf("%s a COMPLETED schedule: %d %s", a, r.Status, r.Body)
			}
		}
		if r := f.env.Do("PATCH", "/v4/schedules/"+uid, f.key, map[string]any{"name": "again"}); r.Status != 409 {
			t.Errorf("PATCH a COMPLETED schedule: %d %s", r.Status, r.Body)
		}

		// A start time just past fires at once.
		past := f.create(map[string]any{"schedule_at": "2031-07-02T10:59:30Z"})
		wantTime(t, "past one-shot next_execution_at", past["next_execution_at"], "2031-07-02T11:00:00Z")
		if st := f.fire(); st.Fired != 1 {
			t.Fatalf("past one-shot: %+v", st)
		}
		if s := f.get(past["schedule_uid"].(string)); s["status"] != "COMPLETED" {
			t.Errorf("past one-shot: %v", s)
		}

		// cron and schedule_at: cron firings from schedule_at on.
		both := f.create(map[string]any{"cron": "0 12 * * *", "schedule_at": "2031-07-10T00:00:00Z"})
		wantTime(t, "cron from schedule_at", both["next_execution_at"], "2031-07-10T12:00:00Z")
	})
}

// TestStoreDueUsesIndex: the due query is an index range scan on
// schedules_due, so its cost follows the due rows, not the schedules.
func TestStoreDueUsesIndex(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		quiet(t, env)
		ctx := context.Background()
		var plan string
		if dialect == store.SQLite {
			rows, err := env.App.DB.Handles().Read.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT id FROM schedules s
				WHERE s.status = 'ACTIVE' AND s.next_execution_at <= $1 ORDER BY s.next_execution_at LIMIT 500`, 0)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var a, b, c int
				var d string
				_ = rows.Scan(&a, &b, &c, &d)
				plan += d + "\n"
			}
			rows.Close()
		} else {
			// Make a sequential scan look expensive, as it is with 10,000 rows.
			tx, err := env.App.DB.Handles().Write.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.QueryContext(ctx, `EXPLAIN SELECT id FROM schedules s
				WHERE s.status = 'ACTIVE' AND s.next_execution_at <= $1 ORDER BY s.next_execution_at LIMIT 500`, 0)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var line string
				_ = rows.Scan(&line)
				plan += line + "\n"
			}
			rows.Close()
		}
		if !strings.Contains(plan, "schedules_due") {
			t.Errorf("the due query does not use the schedules_due index:\n%s", plan)
		}
	})
}
