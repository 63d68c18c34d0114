package schedules_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// TestCreateValidation: the schedule body is the async body plus timing;
// time zones must be canonical, cron 5 fields, inputs at most the action's
// schedule maximum, callbacks public.
func TestCreateValidation(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-02-01T00:00:00Z")
		path := "/v4/actions/" + placeSlug + "/run/schedule"
		many := make([]any, 101)
		for i := range many {
			many[i] = placeInput(fmt.Sprint(i))
		}
		for _, c := range []struct {
			name   string
			body   any
			status int
			label  string
			msg    string
		}{
			{"no timing", body(nil), 400, "BAD_INPUT", ""},
			{"non-canonical zone", body(map[string]any{"cron": "0 9 * * *", "timezone": "Europe/Kiev"}), 400, "BAD_INPUT", "body/timezone"},
			{"link zone", body(map[string]any{"cron": "0 9 * * *", "timezone": "US/Eastern"}), 400, "BAD_INPUT", "body/timezone"},
			{"made-up zone", body(map[string]any{"cron": "0 9 * * *", "timezone": "Mars/Olympus"}), 400, "BAD_INPUT", "body/timezone"},
			{"Local", body(map[string]any{"cron": "0 9 * * *", "timezone": "Local"}), 400, "BAD_INPUT", "body/timezone"},
			{"six fields", body(map[string]any{"cron": "0 0 9 * * *"}), 400, "BAD_INPUT", "body/cron"},
			{"descriptor", body(map[string]any{"cron": "@daily"}), 400, "BAD_INPUT", "body/cron"},
			{"never matches", body(map[string]any{"cron": "0 0 31 2 *"}), 400, "BAD_INPUT", "body/cron"},
			{"bad schedule_at", body(map[string]any{"schedule_at": "tomorrow"}), 400, "BAD_INPUT", "schedule_at"},
			{"101 inputs", body(map[string]any{"cron": "0 9 * * *", "inputs": many}), 400, "BAD_INPUT", "body/inputs"},
			{"no inputs", body(map[string]any{"cron": "0 9 * * *", "inputs": []any{}}), 400, "BAD_INPUT", "body/inputs"},
			{"bad input", body(map[string]any{"cron": "0 9 * * *", "inputs": []any{map[string]any{"x": 1}}}), 400, "BAD_INPUT", "body/inputs/0"},
			{"metadata callback", body(map[string]any{"cron": "0 9 * * *", "callback": map[string]any{"url": "http://169.254.169.254/latest"}}),
				400, "BAD_INPUT", "body/callback/url"},
			{"unknown field", body(map[string]any{"cron": "0 9 * * *", "every": "day"}), 400, "BAD_INPUT", "additional properties"},
			{"NUL in name", body(map[string]any{"cron": "0 9 * * *", "name": "a\x00b"}), 400, "BAD_INPUT", "NUL"},
		} {
			r := f.env.Do("POST", path, f.key, c.body)
			if r.Status != c.status || r.Label() != c.label || !strings.Contains(str(r.Obj()["message"]), c.msg) {
				t.Errorf("%s: %d %s, want %d %s mentioning %q", c.name, r.Status, r.Body, c.status, c.label, c.msg)
			}
		}
		if r := f.env.Do("POST", "/v4/actions/no-such-action/run/schedule", f.key, body(map[string]any{"cron": "0 9 * * *"})); r.Status != 404 {
			t.Errorf("unknown action: %d %s", r.Status, r.Body)
		}
		// The read-only role may not schedule.
		user := f.env.Must(201, "POST", "/v4/members", f.key, map[string]any{"email": "reader@sched.test", "role": "user"}).Obj()
		acc := f.env.Must(201, "POST", "/v4/invitations/"+user["token"].(string)+"/accept", "",
			map[string]any{"password": "a long enough password"}).Obj()
		if r := f.env.Do("POST", path, acc["api_key"].(string), body(map[string]any{"cron": "0 9 * * *"})); r.Status != 403 {
			t.Errorf("user role scheduling: %d %s", r.Status, r.Body)
		}
		if n := len(f.env.Must(200, "GET", "/v4/schedules", f.key, nil).Arr()); n != 0 {
			t.Errorf("%d schedules exist after refused creations", n)
		}

		// Default zone UTC; the headers are sealed, never shown.
		c := f.create(map[string]any{"cron": "0 9 * * *"})
		if c["timezone"] != "UTC" {
			t.Errorf("default timezone %v", c["timezone"])
		}
		r := f.env.Must(200, "GET", "/v4/schedules/"+c["uid"].(string), f.key, nil)
		if strings.Contains(string(r.Body), "s3cret") {
			t.Errorf("the callback headers show: %s", r.Body)
		}
		var raw []byte
		if err := f.env.App.DB.Handles().Read.QueryRowContext(context.Background(), `SELECT callback_headers FROM schedules WHERE uid = $1`,
			c["uid"]).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "s3cret") {
			t.Errorf("callback headers are stored in clear")
		}
		want := []string{"uid", "name", "action_id", "action_name", "user_uid", "workspace_uid", "status", "postponed_until", "cron",
			"timezone", "schedule_at", "next_execution_at", "last_executed_at", "created_at", "updated_at"}
		obj := r.Obj()
		if len(obj) != len(want) {
			t.Errorf("schedule object has %d fields, want %v: %s", len(obj), want, r.Body)
		}
		for _, k := range want {
			if _, ok := obj[k]; !ok {
				t.Errorf("schedule object lacks %s", k)
			}
		}
	})
}

// TestPauseResumeCancel: no firing while paused; resume computes the next
// firing from now (the paused ones are not caught up); illegal transitions
// are 409; unknown action words are 404; the legacy aliases work.
func TestPauseResumeCancel(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-05-01T10:01:00Z")
		uid := f.create(map[string]any{"cron": "*/10 * * * *"})["uid"].(string)
		p := "/v4/schedules/" + uid
		sc := f.env.Must(200, "POST", p+"/pause", f.key, nil).Obj()
		if sc["status"] != "PAUSED" || sc["next_execution_at"] != nil {
			t.Fatalf("paused: %v", sc)
		}
		conflict := func(method, path string, b any) {
			t.Helper()
			if r := f.env.Do(method, path, f.key, b); r.Status != 409 || r.Label() != "CONFLICT" {
				t.Errorf("%s %s: %d %s, want 409 CONFLICT", method, path, r.Status, r.Body)
			}
		}
		conflict("POST", p+"/pause", nil)
		if st := f.fireAt("2031-05-01T10:30:30Z"); st.Fired+st.Skipped != 0 {
			t.Fatalf("a paused schedule fired: %+v", st)
		}
		sc = f.env.Must(200, "POST", p+"/resume", f.key, nil).Obj()
		if sc["status"] != "ACTIVE" {
			t.Fatalf("resumed: %v", sc)
		}
		wantTime(t, "next_execution_at after resume", sc["next_execution_at"], "2031-05-01T10:40:00Z")
		conflict("POST", p+"/resume", nil)
		if st := f.fire(); st.Fired != 0 {
			t.Fatalf("resume caught up a firing missed while paused: %+v", st)
		}
		if st := f.fireAt("2031-05-01T10:40:00Z"); st.Fired != 1 {
			t.Fatalf("after resume: %+v", st)
		}
		if r := f.env.Do("POST", p+"/explode", f.key, nil); r.Status != 404 || r.Label() != "NOT_FOUND" {
			t.Errorf("unknown action word: %d %s", r.Status, r.Body)
		}
		// Pause, then cancel from PAUSED.
		f.env.Must(200, "POST", p+"/pause", f.key, nil)
		sc = f.env.Must(200, "POST", "/v1/schedules/"+uid+"/cancel", f.key, nil).Obj()
		if sc["status"] != "CANCELLED" || sc["next_execution_at"] != nil {
			t.Fatalf("cancelled: %v", sc)
		}
		conflict("POST", p+"/cancel", nil)
		conflict("POST", p+"/resume", nil)
		conflict("POST", p+"/pause", nil)
		conflict("PATCH", p, map[string]any{"name": "revived"})
		if st := f.fireAt("2031-05-02T00:00:00Z"); st.Fired+st.Skipped != 0 {
			t.Fatalf("a cancelled schedule fired: %+v", st)
		}

		// Legacy aliases.
		other := f.create(map[string]any{"cron": "0 * * * *", "name": "legacy"})["uid"].(string)
		if g := f.env.Must(200, "GET", "/v4/api/schedules/get?uid="+other, f.key, nil).Obj(); g["uid"] != other || g["name"] != "legacy" {
			t.Errorf("legacy get: %v", g)
		}
		if l := f.env.Must(200, "GET", "/v4/api/schedules/list?status=ACTIVE", f.key, nil).Arr(); len(l) != 1 {
			t.Errorf("legacy list: %v", l)
		}
		m := f.env.Must(200, "POST", "/v4/api/schedules/manage", f.key, map[string]any{"uid": other, "action": "pause"}).Obj()
		if m["status"] != "PAUSED" {
			t.Errorf("legacy manage pause: %v", m)
		}
		conflict("POST", "/v4/api/schedules/manage", map[string]any{"uid": other, "action": "pause"})
		if r := f.env.Do("POST", "/v4/api/schedules/manage", f.key, map[string]any{"uid": other, "action": "explode"}); r.Status != 400 {
			t.Errorf("legacy manage, unknown action: %d %s", r.Status, r.Body)
		}
		f.env.Must(200, "POST", "/v4/api/schedules/manage", f.key, map[string]any{"uid": other, "action": "resume"})

		// DELETE removes the schedule; its runs stay.
		f.env.Must(200, "DELETE", p, f.key, nil)
		if r := f.env.Do("GET", p, f.key, nil); r.Status != 404 {
			t.Errorf("GET after DELETE: %d", r.Status)
		}
		if n := len(f.runs(uid)); n != 1 {
			t.Errorf("the deleted schedule's runs: %d, want 1", n)
		}
	})
}

// TestPatch: renaming keeps the timing; changing cron, time zone or
// schedule_at recomputes next_execution_at; inputs, parameters and callback
// are validated as a new body would be, and firings use them.
func TestPatch(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-08-01T10:00:00Z")
		uid := f.create(map[string]any{"cron": "0 9 * * *"})["uid"].(string)
		p := "/v4/schedules/" + uid
		patch := func(b any) map[string]any {
			t.Helper()
			return f.env.Must(200, "PATCH", p, f.key, b).Obj()
		}
		bad := func(b any, label, msg string) {
			t.Helper()
			before := f.get(uid)
			r := f.env.Do("PATCH", p, f.key, b)
			if r.Status != 400 || r.Label() != label || !strings.Contains(str(r.Obj()["message"]), msg) {
				t.Errorf("PATCH %v: %d %s, want 400 %s mentioning %q", b, r.Status, r.Body, label, msg)
			}
			if after := f.get(uid); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("a refused PATCH changed the schedule: %v -> %v", before, after)
			}
		}
		wantTime(t, "initial next", f.get(uid)["next_execution_at"], "2031-08-02T09:00:00Z")
		sc := patch(map[string]any{"name": "renamed"})
		if sc["name"] != "renamed" {
			t.Errorf("name: %v", sc["name"])
		}
		wantTime(t, "next after rename", sc["next_execution_at"], "2031-08-02T09:00:00Z")
		sc = patch(map[string]any{"cron": "0 18 * * *"})
		wantTime(t, "next after cron change", sc["next_execution_at"], "2031-08-01T18:00:00Z")
		sc = patch(map[string]any{"timezone": "Asia/Tokyo"}) // 18:00 JST is 09:00 UTC, past today
		wantTime(t, "next after zone change", sc["next_execution_at"], "2031-08-02T09:00:00Z")
		if sc["timezone"] != "Asia/Tokyo" || sc["cron"] != "0 18 * * *" {
			t.Errorf("after zone change: %v", sc)
		}
		bad(map[string]any{"timezone": "Europe/Kiev"}, "BAD_INPUT", "body/timezone")
		bad(map[string]any{"cron": "61 * * * *"}, "BAD_INPUT", "body/cron")
		bad(map[string]any{"cron": nil}, "BAD_INPUT", "'cron' or 'schedule_at'")
		bad(map[string]any{"inputs": []any{map[string]any{"google_maps_place_url": 42}}}, "BAD_INPUT", "body/inputs/0")
		bad(map[string]any{"parameters": map[string]any{"country": "Atlantis"}}, "BAD_PARAMETERS", "body/parameters")
		bad(map[string]any{"callback": map[string]any{"url": "http://169.254.169.254/"}}, "BAD_INPUT", "body/callback/url")
		bad(map[string]any{"status": "ACTIVE"}, "BAD_INPUT", "additional properties")

		// New inputs, parameters and callback: the next firing uses them.
		sc = patch(map[string]any{"inputs": []any{placeInput("X"), placeInput("Y"), placeInput("Z")},
			"parameters": map[string]any{"country": "FR"},
			"callback":   map[string]any{"url": "https://new.example.com/cb", "headers": map[string]any{"X-New": "v2"}, "on": "final"}})
		got, err := f.env.App.Schedules.Get(context.Background(), workspaceID(t, f), uid)
		if err != nil {
			t.Fatal(err)
		}
		h, err := f.env.App.Schedules.OpenHeaders(got)
		if err != nil || h["X-New"] != "v2" || h["X-Token"] != "" {
			t.Errorf("headers after PATCH: %v %v", h, err)
		}
		if st := f.fireAt("2031-08-02T09:00:00Z"); st.Fired != 1 {
			t.Fatalf("firing after PATCH: %+v", st)
		}
		r := f.runs(uid)[0]
		if r["input_count"] != float64(3) || str(r["parameters"].(map[string]any)["country"]) != "FR" {
			t.Errorf("run after PATCH: %v", r)
		}
		if cb := r["callback"].(map[string]any); cb["url"] != "https://new.example.com/cb" || cb["on"] != "final" {
			t.Errorf("run callback after PATCH: %v", cb)
		}
		// The name, kept through the request PATCH.
		if f.get(uid)["name"] != "renamed" {
			t.Errorf("name lost")
		}

		// cron -> one-shot.
		sc = patch(map[string]any{"cron": nil, "schedule_at": "2031-09-01T00:00:00Z"})
		if sc["cron"] != nil {
			t.Errorf("cron after removal: %v", sc["cron"])
		}
		wantTime(t, "next of the one-shot", sc["next_execution_at"], "2031-09-01T00:00:00Z")
		// A PAUSED schedule's timing can change; next stays empty until resume.
		f.env.Must(200, "POST", p+"/pause", f.key, nil)
		sc = patch(map[string]any{"cron": "0 7 * * *", "schedule_at": nil})
		if sc["status"] != "PAUSED" || sc["next_execution_at"] != nil {
			t.Errorf("PATCH of a paused schedule: %v", sc)
		}
		sc = f.env.Must(200, "POST", p+"/resume", f.key, nil).Obj()
		wantTime(t, "next after resume", sc["next_execution_at"], "2031-08-02T22:00:00Z") // 07:00 in Tokyo
	})
}

func workspaceID(t *testing.T, f *fixture) int64 {
	t.Helper()
	p, err := f.env.App.Workspaces.Authenticate(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	return p.WorkspaceID
}

// TestForeignSchedules: another workspace's schedule is 404 on every route,
// with the message an unknown uid gets, and never listed; nothing changes.
func TestForeignSchedules(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-03-01T00:00:00Z")
		uid := f.create(map[string]any{"cron": "0 9 * * *", "name": "alpha's"})["uid"].(string)
		before := f.env.Must(200, "GET", "/v4/schedules/"+uid, f.key, nil).Body
		b := f.env.NewWorkspace("Bravo", "unlimited")
		const ghost = "00000000-0000-4000-8000-000000000000"
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/v4/schedules/%s", nil},
			{"PATCH", "/v4/schedules/%s", map[string]any{"name": "hijacked"}},
			{"POST", "/v4/schedules/%s/pause", nil},
			{"POST", "/v4/schedules/%s/resume", nil},
			{"POST", "/v4/schedules/%s/cancel", nil},
			{"DELETE", "/v4/schedules/%s", nil},
			{"GET", "/v4/api/schedules/get?uid=%s", nil},
			{"POST", "/v4/api/schedules/manage", map[string]any{"uid": "%s", "action": "cancel"}},
		} {
			msgs := map[string]string{}
			for _, id := range []string{uid, ghost} {
				p := strings.ReplaceAll(c.path, "%s", id)
				var bd any = c.body
				if m, ok := c.body.(map[string]any); ok && m["uid"] == "%s" {
					bd = map[string]any{"uid": id, "action": m["action"]}
				}
				r := f.env.Do(c.method, p, b, bd)
				if r.Status != 404 || r.Label() != "NOT_FOUND" {
					t.Errorf("%s %s with another workspace's key: %d %s", c.method, p, r.Status, r.Body)
				}
				msgs[id] = strings.ReplaceAll(str(r.Obj()["message"]), id, "X")
			}
			if msgs[uid] != msgs[ghost] {
				t.Errorf("%s %s: a foreign uid and an unknown one get different messages: %q vs %q", c.method, c.path, msgs[uid], msgs[ghost])
			}
		}
		for _, q := range []string{"", "?uid=" + uid, "?workspace_uid=" + url.QueryEscape(f.get(uid)["workspace_uid"].(string))} {
			if l := f.env.Must(200, "GET", "/v4/schedules"+q, b, nil).Arr(); len(l) != 0 {
				t.Errorf("B lists A's schedules with %q: %v", q, l)
			}
		}
		if after := f.env.Must(200, "GET", "/v4/schedules/"+uid, f.key, nil).Body; string(after) != string(before) {
			t.Errorf("A's schedule changed:\n%s\n%s", before, after)
		}
	})
}

// TestListFilters: the reference's filters, limit/offset and multi-key sort.
func TestListFilters(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-04-01T00:00:00Z")
		uids := map[string]string{}
		for i, c := range []struct{ name, cron string }{{"a", "0 1 * * *"}, {"b", "0 3 * * *"}, {"c", "0 2 * * *"}, {"d", "0 4 * * *"}} {
			f.clk.Set(mustTime(fmt.Sprintf("2031-04-01T00:00:%02dZ", i)))
			uids[c.name] = f.create(map[string]any{"cron": c.cron, "name": c.name})["uid"].(string)
		}
		f.env.Must(200, "POST", "/v4/schedules/"+uids["d"]+"/pause", f.key, nil)
		other := f.env.Must(200, "POST", "/v4/actions/tripadvisor-extract-hotel/run/schedule", f.key, map[string]any{
			"inputs":   []any{map[string]any{"tripadvisor_hotel_url": "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_X-Paris.html"}},
			"callback": map[string]any{"url": nil}, "schedule_at": "2031-04-02T00:00:00Z", "name": "e"}).Obj()
		uids["e"] = other["uid"].(string)
		names := func(q string) string {
			t.Helper()
			var out []string
			for _, v := range f.env.Must(200, "GET", "/v4/schedules"+q, f.key, nil).Arr() {
				out = append(out, str(v.(map[string]any)["name"]))
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct{ q, want string }{
			{"", "a,b,c,d,e"}, // created_at ascending by default
			{"?status=PAUSED", "d"},
			{"?status[]=ACTIVE&status[]=PAUSED&action_name=" + placeSlug, "a,b,c,d"},
			{"?action_name=tripadvisor-extract-hotel", "e"},
			{"?uid=" + uids["b"] + "," + uids["c"], "b,c"},
			{"?sort=next_execution_at", "a,c,b,e,d"}, // nulls last
			{"?sort=-next_execution_at", "e,b,c,a,d"},
			{"?sort=status,-created_at", "e,c,b,a,d"},
			{"?sort[]=-name&limit=2&offset=1", "d,c"},
			{"?next_execution_at=2031-04-01T03:00:00Z", "b"},
			{"?next_execution_at=gte:2031-04-01T02:00:00Z&next_execution_at=lt:2031-04-01T04:00:00Z", "b,c"},
			{"?created_at=lte:2031-04-01T00:00:01Z", "a,b"},
			{"?last_executed_at=gt:2000-01-01T00:00:00Z", ""},
			{"?user_uid=" + f.get(uids["a"])["user_uid"].(string) + "&limit=100", "a,b,c,d,e"},
			{"?user_uid=" + "00000000-0000-4000-8000-000000000000", ""},
		} {
			if got := names(c.q); got != c.want {
				t.Errorf("GET /schedules%s: %s, want %s", c.q, got, c.want)
			}
		}
		for _, q := range []string{"?status=RUNNING", "?sort=input_count", "?limit=0", "?limit=101", "?offset=-1",
			"?next_execution_at=tomorrow", "?created_at=gte:2031-13-01T00:00:00Z", "?sort=" + strings.Repeat("name,", 11)} {
			if r := f.env.Do("GET", "/v4/schedules"+q, f.key, nil); r.Status != 400 || r.Label() != "BAD_PARAMETERS" {
				t.Errorf("GET /schedules%s: %d %s, want 400 BAD_PARAMETERS", q, r.Status, r.Body)
			}
		}
	})
}

// TestFiringWithAVanishedIdentity: when the stored request can no longer
// make a run (its identity was deleted), the firing records an INVALID run
// with the reason and the schedule carries on.
func TestFiringWithAVanishedIdentity(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-02-01T00:00:00Z")
		id := f.env.Must(200, "POST", "/v4/identities", f.key, map[string]any{"name": "Scheduled identity"}).Obj()["uid"].(string)
		path := "/v4/actions/linkedin-extract-people/run/schedule"
		in := []any{map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone"}}
		if r := f.env.Do("POST", path, f.key, map[string]any{"inputs": in, "callback": map[string]any{"url": nil},
			"cron": "0 9 * * *", "identity_ids": []any{"00000000-0000-4000-8000-000000000000"}}); r.Status != 404 {
			t.Fatalf("unknown identity at creation: %d %s", r.Status, r.Body)
		}
		uid := f.env.Must(200, "POST", path, f.key, map[string]any{"inputs": in, "callback": map[string]any{"url": nil},
			"cron": "0 9 * * *", "identity_ids": []any{id}}).Obj()["uid"].(string)
		f.env.Must(200, "DELETE", "/v4/identities/"+id, f.key, nil)
		if st := f.fireAt("2031-02-01T09:00:00Z"); st.Fired != 1 {
			t.Fatalf("%+v", st)
		}
		rs := f.runs(uid)
		if len(rs) != 1 || rs[0]["status"] != model.RunInvalid {
			t.Fatalf("runs: %v", rs)
		}
		if le, _ := rs[0]["last_error"].(map[string]any); le["label"] != "NOT_FOUND" {
			t.Errorf("last_error: %v", rs[0]["last_error"])
		}
		sc := f.get(uid)
		wantTime(t, "next_execution_at", sc["next_execution_at"], "2031-02-02T09:00:00Z")
		if sc["status"] != "ACTIVE" {
			t.Errorf("status %v", sc["status"])
		}
		// The INVALID run is terminal: the next firing is not skipped.
		if st := f.fireAt("2031-02-02T09:00:00Z"); st.Fired != 1 {
			t.Fatalf("second firing: %+v", st)
		}
	})
}
