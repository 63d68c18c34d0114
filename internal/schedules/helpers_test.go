package schedules_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/schedules"
)

// The tests drive the firing function (Service.FireDue) directly under an
// injected clock: no test waits for the poller or for wall-clock time,
// except TestPollerFiresInBackground, which checks the wiring.

const placeSlug = "googlemaps-extract-place"

func placeInput(tag string) map[string]any {
	return map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+" + tag + "/"}
}

// clock is a settable clock shared by the firing loops of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fixture is one Firstmate with a workspace, its firing loop and River
// workers stopped (runs stay RUNNING until a test finishes them, so the
// overlap policy is deterministic), and the schedules clock injected.
type fixture struct {
	t   *testing.T
	env *apitest.Env
	key string
	clk *clock
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func quiet(t *testing.T, env *apitest.Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.App.Schedules.Stop(ctx); err != nil {
		t.Fatalf("stop the firing loop: %v", err)
	}
	if err := env.App.Jobs.Stop(ctx); err != nil {
		t.Fatalf("stop river: %v", err)
	}
}

func newFixture(t *testing.T, dialect string, now string) *fixture {
	t.Helper()
	env := apitest.Start(t, dialect)
	quiet(t, env)
	f := &fixture{t: t, env: env, clk: &clock{t: mustTime(now)}}
	env.App.Schedules.SetClock(f.clk.Now)
	f.key = env.NewWorkspace("Sched "+dialect, "unlimited")
	return f
}

// body is a valid schedule body for placeSlug with the given extra fields.
func body(extra map[string]any) map[string]any {
	b := map[string]any{
		"inputs":   []any{placeInput("One")},
		"callback": map[string]any{"url": "https://hooks.example.com/firstmate", "headers": map[string]any{"X-Token": "s3cret"}},
	}
	for k, v := range extra {
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return b
}

// create schedules placeSlug and returns the creation response.
func (f *fixture) create(extra map[string]any) map[string]any {
	f.t.Helper()
	return f.env.Must(200, "POST", "/v4/actions/"+placeSlug+"/run/schedule", f.key, body(extra)).Obj()
}

func (f *fixture) get(uid string) map[string]any {
	f.t.Helper()
	return f.env.Must(200, "GET", "/v4/schedules/"+uid, f.key, nil).Obj()
}

// fire runs one FireDue at the clock's now.
func (f *fixture) fire() schedules.Stats {
	f.t.Helper()
	st, err := f.env.App.Schedules.FireDue(context.Background())
	if err != nil {
		f.t.Fatalf("FireDue: %v", err)
	}
	return st
}

// fireAt sets the clock and fires.
func (f *fixture) fireAt(ts string) schedules.Stats {
	f.t.Helper()
	f.clk.Set(mustTime(ts))
	return f.fire()
}

// runs lists the runs a schedule created, oldest first.
func (f *fixture) runs(uid string) []map[string]any {
	f.t.Helper()
	arr := f.env.Must(200, "GET", "/v4/runs?limit=100&sort=created_at&scheduled_run_uid="+url.QueryEscape(uid), f.key, nil).Arr()
	out := make([]map[string]any, len(arr))
	for i, v := range arr {
		out[i] = v.(map[string]any)
	}
	return out
}

// finish stops every unfinished run of a schedule (so the next firing is not
// skipped by the overlap policy).
func (f *fixture) finish(uid string) {
	f.t.Helper()
	for _, r := range f.runs(uid) {
		switch r["status"] {
		case "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "STOPPED", "INVALID":
			continue
		}
		f.env.Must(200, "POST", "/v4/runs/"+r["uid"].(string)+"/cancel", f.key, nil)
	}
}

// wantTime compares a JSON date-time field with an RFC 3339 instant (nil:
// the field must be null).
func wantTime(t *testing.T, what string, got any, want string) {
	t.Helper()
	if want == "" {
		if got != nil {
			t.Errorf("%s = %v, want null", what, got)
		}
		return
	}
	s, _ := got.(string)
	g, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !g.Equal(mustTime(want)) {
		t.Errorf("%s = %v, want %s", what, got, want)
	}
}

func str(v any) string { return fmt.Sprint(v) }
