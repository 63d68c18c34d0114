package schedules_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// TestFarFutureTimesAreRefused: a schedule_at, or a firing computed from
// it, that a JSON date-time cannot write (after 9999-12-31T23:59:59Z, UTC)
// is a 400 on POST and on PATCH, and nothing is saved. The last
// representable minute itself is accepted.
func TestFarFutureTimesAreRefused(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-02-01T00:00:00Z")
		path := "/v4/actions/" + placeSlug + "/run/schedule"
		for _, c := range []struct {
			name  string
			extra map[string]any
		}{
			// The reported case: the first cron firing is in year 10000.
			{"cron after the last day", map[string]any{"cron": "0 9 * * *", "schedule_at": "9999-12-31T23:59:00Z"}},
			// 23:59 at UTC-01:00 is 00:59 on 10000-01-01 in UTC.
			{"offset past the last day", map[string]any{"schedule_at": "9999-12-31T23:59:00-01:00"}},
			{"offset past the last day, with a cron", map[string]any{"cron": "* * * * *", "schedule_at": "9999-12-31T23:30:00-01:00"}},
			// The next 29 February after 9999-03-01 is in 10000.
			{"leap day after the last year", map[string]any{"cron": "0 0 29 2 *", "schedule_at": "9999-03-01T00:00:00Z"}},
			// 23:00 on the last day in New York is 04:00 on 10000-01-01 in UTC.
			{"zone west of UTC", map[string]any{"cron": "0 23 31 12 *", "timezone": "America/New_York", "schedule_at": "9999-12-31T00:00:00Z"}},
		} {
			r := f.env.Do("POST", path, f.key, body(c.extra))
			if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(str(r.Obj()["message"]), "schedule_at") {
				t.Errorf("%s: %d %s, want 400 BAD_INPUT about schedule_at", c.name, r.Status, r.Body)
			}
		}
		if l := f.env.Must(200, "GET", "/v4/schedules", f.key, nil).Arr(); len(l) != 0 {
			t.Fatalf("refused schedules were saved: %v", l)
		}

		// The last minute a JSON date-time can write is fine, alone or as the
		// start of a cron that fires within it.
		last := f.create(map[string]any{"schedule_at": "9999-12-31T23:59:00Z"})
		wantTime(t, "last one-shot", last["next_execution_at"], "9999-12-31T23:59:00Z")
		lastCron := f.create(map[string]any{"cron": "59 23 * * *", "schedule_at": "9999-12-31T00:00:00Z"})
		wantTime(t, "last cron firing", lastCron["next_execution_at"], "9999-12-31T23:59:00Z")

		// PATCH: the same refusals, and the schedule is left as it was.
		uid := f.create(map[string]any{"cron": "0 9 * * *"})["uid"].(string)
		before := f.get(uid)
		for _, p := range []map[string]any{
			{"schedule_at": "9999-12-31T23:59:00Z"},
			{"schedule_at": "9999-12-31T23:59:00-01:00", "cron": nil},
			{"schedule_at": "9999-03-01T00:00:00Z", "cron": "0 0 29 2 *"},
		} {
			r := f.env.Do("PATCH", "/v4/schedules/"+uid, f.key, p)
			if r.Status != 400 || r.Label() != "BAD_INPUT" {
				t.Errorf("PATCH %v: %d %s, want 400", p, r.Status, r.Body)
			}
		}
		if after := f.get(uid); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a refused PATCH changed the schedule: %v -> %v", before, after)
		}
		if l := f.env.Must(200, "GET", "/v4/schedules?limit=100", f.key, nil).Arr(); len(l) != 3 {
			t.Errorf("list after the refusals: %d schedules, want 3", len(l))
		}
	})
}

// TestBadRowDoesNotBreakTheList: a schedule row whose times JSON cannot
// write (as an older version could store) shows them as null; the list,
// the schedule itself and the other schedules still answer.
func TestBadRowDoesNotBreakTheList(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-02-01T00:00:00Z")
		bad := f.create(map[string]any{"cron": "0 9 * * *", "name": "bad"})["uid"].(string)
		good := f.create(map[string]any{"cron": "0 10 * * *", "name": "good"})["uid"].(string)
		year10000 := time.Date(10000, 1, 1, 9, 0, 0, 0, time.UTC).UnixMilli()
		if _, err := f.env.App.DB.Handles().Write.ExecContext(context.Background(),
			`UPDATE schedules SET next_execution_at = $1, schedule_at = $2 WHERE uid = $3`, year10000, year10000-1000, bad); err != nil {
			t.Fatal(err)
		}
		list := f.env.Must(200, "GET", "/v4/schedules?sort=name", f.key, nil).Arr()
		if len(list) != 2 {
			t.Fatalf("list: %v", list)
		}
		b, g := list[0].(map[string]any), list[1].(map[string]any)
		if b["uid"] != bad || b["next_execution_at"] != nil || b["schedule_at"] != nil {
			t.Errorf("the bad row: %v", b)
		}
		if g["uid"] != good {
			t.Errorf("the good row: %v", g)
		}
		wantTime(t, "the good row's next firing", g["next_execution_at"], "2031-02-01T10:00:00Z")
		f.env.Must(200, "GET", "/v4/schedules/"+bad, f.key, nil)
		f.env.Must(200, "GET", "/v4/api/schedules/list", f.key, nil)
		// The bad row can still be paused and deleted.
		f.env.Must(200, "POST", "/v4/schedules/"+bad+"/pause", f.key, nil)
		f.env.Must(200, "DELETE", "/v4/schedules/"+bad, f.key, nil)
	})
}

// TestPastScheduleAt: a schedule_at more than 60 s in the past is a 400 on
// POST and on PATCH; within the grace it is accepted and fires at once. A
// PATCH that leaves a past start time as it is (a running cron schedule)
// is not refused for it.
func TestPastScheduleAt(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-07-01T10:00:00Z")
		for _, at := range []string{"2031-07-01T09:58:59Z", "2031-07-01T09:58:59.999Z", "2020-01-01T00:00:00Z", "0001-01-01T00:00:00Z"} {
			for _, cron := range []any{nil, "0 12 * * *"} {
				r := f.env.Do("POST", "/v4/actions/"+placeSlug+"/run/schedule", f.key, body(map[string]any{"schedule_at": at, "cron": cron}))
				if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(str(r.Obj()["message"]), "past") {
					t.Errorf("schedule_at %s, cron %v: %d %s, want 400 about the past", at, cron, r.Status, r.Body)
				}
			}
		}
		if l := f.env.Must(200, "GET", "/v4/schedules", f.key, nil).Arr(); len(l) != 0 {
			t.Fatalf("refused schedules were saved: %v", l)
		}
		// 59 s late: accepted, due at once.
		late := f.create(map[string]any{"schedule_at": "2031-07-01T09:59:01+00:00"})
		wantTime(t, "a slightly late one-shot", late["next_execution_at"], "2031-07-01T10:00:00Z")
		if st := f.fire(); st.Fired != 1 {
			t.Fatalf("a slightly late one-shot: %+v", st)
		}

		// PATCH.
		uid := f.create(map[string]any{"cron": "0 12 * * *", "schedule_at": "2031-07-02T00:00:00Z"})["uid"].(string)
		before := f.get(uid)
		r := f.env.Do("PATCH", "/v4/schedules/"+uid, f.key, map[string]any{"schedule_at": "2031-07-01T09:00:00Z"})
		if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(str(r.Obj()["message"]), "past") {
			t.Errorf("PATCH to a past schedule_at: %d %s", r.Status, r.Body)
		}
		if after := f.get(uid); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a refused PATCH changed the schedule: %v -> %v", before, after)
		}
		// Days later the start time is past; renaming, or sending it back
		// unchanged, is fine.
		f.clk.Set(mustTime("2031-07-05T00:00:00Z"))
		sc := f.env.Must(200, "PATCH", "/v4/schedules/"+uid, f.key, map[string]any{"name": "renamed",
			"schedule_at": "2031-07-02T00:00:00Z"}).Obj()
		if sc["name"] != "renamed" {
			t.Errorf("rename: %v", sc)
		}
	})
}
