package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestHealthCheckExpiryBlocksAndReconnectResumes: the health check finds a
// session expired (sim_expiring, driven by hand rather than by the period):
// the integration goes INVALID with one AUTH_EXPIRED, and the runs waiting
// on it go BLOCKED at once (one RUNNING with its chunks snoozed by a Smart
// Limit, one QUEUED behind the plan's one-run cap). Reconnecting the
// account resumes them when auto_resume_on_reconnect is on; otherwise they
// stay BLOCKED until POST /runs/{uid}/resume. Either way they succeed.
func TestHealthCheckExpiryBlocksAndReconnectResumes(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		for _, auto := range []bool{true, false} {
			name := "manual resume"
			if auto {
				name = "auto resume"
			}
			t.Run(name, func(t *testing.T) { healthExpiryScenario(t, dialect, auto) })
		}
	})
}

func healthExpiryScenario(t *testing.T, dialect string, auto bool) {
	env := start(t, dialect, "wh_cap1", nil)
	rec := newReceiver(t)
	callbacks := newReceiver(t)
	key := env.Key
	env.settings(key, map[string]any{"webhook_url": rec.URL(), "auto_resume_on_reconnect": auto})
	secret := env.secret(key)
	ctx := context.Background()

	uid := env.identity(key, "Expiring Health")
	env.connect(key, uid, "linkedin", "sim_expiring")
	// A zero Smart Limit keeps the first run RUNNING with its chunk snoozed
	// and the platform untouched; the plan's cap keeps the second QUEUED.
	env.Must(200, "PUT", "/v4/identities/"+uid+"/limits", key, map[string]any{"profile_visits": 0})
	submit := func(tag int) string {
		r := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/async", key, map[string]any{
			"inputs":       []any{profileInput(tag), profileInput(tag + 1)},
			"identity_ids": []string{uid},
			"callback":     map[string]any{"url": callbacks.URL(), "on": "final"},
		}).Obj()
		s, _ := r["run_uid"].(string)
		return s
	}
	run1, run2 := submit(10), submit(20)
	env.waitRun(key, run1, "RUNNING and postponed", func(r map[string]any) bool {
		return r["status"] == "RUNNING" && r["postponed_until"] != nil
	})
	if r := env.run(key, run2); r["status"] != "QUEUED" {
		t.Fatalf("second run: %v, want QUEUED behind the cap", r["status"])
	}

	// The health check, driven by hand: VALID until the simulator expires
	// the session.
	g := env.integration(key, uid, "linkedin")
	var outcomes []engine.HealthOutcome
	for i := 0; i < 10; i++ {
		out, err := env.App.Engine.CheckIntegration(ctx, g.ID, time.Hour)
		if err != nil {
			t.Fatalf("health check: %v", err)
		}
		outcomes = append(outcomes, out)
		if out != engine.HealthValid {
			break
		}
		checked, next, err := store.IntegrationCheckTimes(ctx, env.App.DB.Handles().R, g.ID)
		if err != nil || checked == nil || next == nil {
			t.Fatalf("after a valid check: checked %v next %v err %v", checked, next, err)
		}
		if d := time.Duration(*next-*checked) * time.Millisecond; d < 48*time.Minute || d > 72*time.Minute {
			t.Errorf("next check %s after a valid one, want the 1h interval ±20%%", d)
		}
	}
	if last := outcomes[len(outcomes)-1]; last != engine.HealthExpired || len(outcomes) < 2 {
		t.Fatalf("health check outcomes %v: want valid checks then expired", outcomes)
	}
	// Done by the time the check returns: INVALID, and both runs BLOCKED.
	gi := env.Must(200, "GET", "/v4/identities/"+uid+"/integrations/linkedin", key, nil).Obj()
	if gi["status"] != "INVALID" || gi["error"] != "NOT_CONNECTED" {
		t.Errorf("integration after the expiry: %v", gi)
	}
	for _, ru := range []string{run1, run2} {
		r := env.run(key, ru)
		le, _ := r["last_error"].(map[string]any)
		if r["status"] != "BLOCKED" || le["label"] != "NO_VALID_ACCOUNT_CONFIGURED" || r["postponed_until"] != nil {
			t.Errorf("run %s after the expiry: status %v, last_error %v, postponed_until %v", ru, r["status"], le, r["postponed_until"])
		}
	}
	// Checking again finds it INVALID: nothing more happens.
	if out, err := env.App.Engine.CheckIntegration(ctx, g.ID, time.Hour); err != nil || out != engine.HealthSkipped {
		t.Errorf("check of the INVALID integration: %v %v", out, err)
	}

	// Lift the limit, then reconnect with a working account.
	env.Must(200, "PUT", "/v4/identities/"+uid+"/limits", key, map[string]any{})
	if g := env.connect(key, uid, "linkedin", "sim_classic"); g["status"] != "VALID" {
		t.Fatalf("reconnect: %v", g)
	}
	if !auto {
		// Resuming would have happened before the connect answered.
		for _, ru := range []string{run1, run2} {
			if r := env.run(key, ru); r["status"] != "BLOCKED" {
				t.Fatalf("run %s after reconnecting without auto-resume: %v, want BLOCKED", ru, r["status"])
			}
		}
		for _, ru := range []string{run1, run2} {
			env.Must(200, "POST", "/v4/runs/"+ru+"/resume", key, nil)
		}
	}
	for _, ru := range []string{run1, run2} {
		r := env.waitStatus(key, ru, "SUCCEEDED")
		if r["output_count"] != float64(2) {
			t.Errorf("run %s: output_count %v, want 2", ru, r["output_count"])
		}
	}

	// One event per transition: connected, expired, reconnected.
	list := env.webhooks(key, "")
	var events []string
	for _, d := range list {
		events = append(events, d["event"].(string))
	}
	if want := []string{"AUTH_SUCCESS", "AUTH_EXPIRED", "AUTH_SUCCESS"}; !equal(events, want) {
		t.Fatalf("webhook events %v, want %v", events, want)
	}
	got := rec.waitDistinct(t, 3)
	checkSigned(t, secret, rec.attempts())
	for _, a := range got {
		b := decodeBody(t, a)
		if a.ID == list[1]["webhook_id"] {
			if b["event"] != "AUTH_EXPIRED" || b["action_to_be_taken"] != "RETRY_LOGIN" || b["status"] != "INVALID" ||
				b["integration_uid"] != g.UID || b["identity_uid"] != uid || b["error"] != "NOT_CONNECTED" {
				t.Errorf("AUTH_EXPIRED body: %s", a.Body)
			}
		}
	}
	if n := len(rec.distinct()); n != 3 {
		t.Errorf("receiver got %d distinct webhooks, want 3", n)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHealthTickBudget: a tick claims at most the budget of due VALID
// integrations, oldest first, and a claimed one is not claimed again by
// the next tick (its check is pending). A fresh connect is first due one
// jittered interval later.
func TestHealthTickBudget(t *testing.T) {
	t.Setenv("FIRSTMATE_HEALTH_CHECKS", "off") // no periodic tick: this test ticks by hand
	t.Setenv("FIRSTMATE_HEALTH_BUDGET", "1")
	t.Setenv("FIRSTMATE_HEALTH_INTERVAL", "2h")
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := start(t, dialect, "wh_test", nil)
		ctx := context.Background()
		a, b := env.identity(env.Key, "Tick One"), env.identity(env.Key, "Tick Two")
		env.connect(env.Key, a, "linkedin", "sim_classic")
		env.connect(env.Key, b, "linkedin", "sim_premium")
		ga, gb := env.integration(env.Key, a, "linkedin"), env.integration(env.Key, b, "linkedin")
		connected := time.Now()
		for _, g := range []int64{ga.ID, gb.ID} {
			_, next, err := store.IntegrationCheckTimes(ctx, env.App.DB.Handles().R, g)
			if err != nil || next == nil {
				t.Fatalf("next check after connect: %v %v", next, err)
			}
			if d := store.Time(*next).Sub(connected); d < 90*time.Minute || d > 150*time.Minute {
				t.Errorf("first check due %s after connecting, want 2h ±20%%", d)
			}
		}
		if ids, err := env.App.Jobs.HealthTick(ctx, time.Now()); err != nil || len(ids) != 0 {
			t.Fatalf("tick with nothing due: %v %v", ids, err)
		}
		// Both due; b longer overdue than a.
		past := store.Millis(time.Now().Add(-time.Hour))
		if _, err := env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE integrations SET next_check_at = $1 WHERE id = $2`, past, ga.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE integrations SET next_check_at = $1 WHERE id = $2`, past-1000, gb.ID); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for i, want := range [][]int64{{gb.ID}, {ga.ID}, nil} {
			ids, err := env.App.Jobs.HealthTick(ctx, now)
			if err != nil || len(ids) != len(want) || (len(want) == 1 && ids[0] != want[0]) {
				t.Errorf("tick %d with budget 1: claimed %v (%v), want %v", i+1, ids, err, want)
			}
		}
		// Never scheduled (a row from before health checks): due one
		// interval after its last update.
		for _, u := range []struct {
			id      int64
			updated time.Duration
		}{{ga.ID, -3 * time.Hour}, {gb.ID, -time.Hour}} {
			if _, err := env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE integrations SET next_check_at = NULL, updated_at = $1 WHERE id = $2`,
				store.Millis(now.Add(u.updated)), u.id); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range [][]int64{{ga.ID}, nil} {
			ids, err := env.App.Jobs.HealthTick(ctx, now)
			if err != nil || len(ids) != len(want) || (len(want) == 1 && ids[0] != want[0]) {
				t.Errorf("unscheduled rows, tick %d: claimed %v (%v), want %v", i+1, ids, err, want)
			}
		}
	})
}

// TestHealthTickPeriodic: with a one-second tick, River's periodic job
// (leader only) claims a due integration and a health-check job confirms
// it: checked_at is set and the next check is one interval away.
func TestHealthTickPeriodic(t *testing.T) {
	t.Setenv("FIRSTMATE_HEALTH_TICK", "1s")
	env := start(t, "sqlite", "wh_test", nil)
	ctx := context.Background()
	uid := env.identity(env.Key, "Periodic One")
	env.connect(env.Key, uid, "linkedin", "sim_classic")
	g := env.integration(env.Key, uid, "linkedin")
	if _, err := env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE integrations SET next_check_at = $1 WHERE id = $2`,
		store.Millis(time.Now().Add(-time.Minute)), g.ID); err != nil {
		t.Fatal(err)
	}
	var checked, next *int64
	waitFor(t, "the periodic health check", func() bool {
		var err error
		checked, next, err = store.IntegrationCheckTimes(ctx, env.App.DB.Handles().R, g.ID)
		return err == nil && checked != nil
	})
	if next == nil || store.Time(*next).Before(time.Now().Add(4*time.Hour)) {
		t.Errorf("next check after a periodic one: %v, want about 6h away", next)
	}
	if gi := env.Must(200, "GET", "/v4/identities/"+uid+"/integrations/linkedin", env.Key, nil).Obj(); gi["status"] != "VALID" {
		t.Errorf("after a periodic check: %v", gi["status"])
	}
}

// TestExpiryDuringRunBlocksThenResumes: the session expires while an async
// run works (sim_expiring, after 5 calls). The run keeps what it fetched,
// goes BLOCKED with NOT_CONNECTED, one AUTH_EXPIRED is sent; reconnecting
// (auto-resume on) finishes it with every input's result.
func TestExpiryDuringRunBlocksThenResumes(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := start(t, dialect, "wh_test", nil)
		rec := newReceiver(t)
		callbacks := newReceiver(t)
		key := env.Key
		env.settings(key, map[string]any{"webhook_url": rec.URL(), "auto_resume_on_reconnect": true})
		uid := env.identity(key, "Expiring Runner")
		env.connect(key, uid, "linkedin", "sim_expiring")
		inputs := make([]any, 10)
		for i := range inputs {
			inputs[i] = profileInput(200 + i)
		}
		run, _ := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/async", key, map[string]any{
			"inputs": inputs, "identity_ids": []string{uid},
			"callback": map[string]any{"url": callbacks.URL(), "on": "final"},
		}).Obj()["run_uid"].(string)
		r := env.waitStatus(key, run, "BLOCKED")
		if le, _ := r["last_error"].(map[string]any); le["label"] != "NOT_CONNECTED" {
			t.Errorf("blocked run's last_error: %v", r["last_error"])
		}
		if n, _ := r["output_count"].(float64); n < 1 || n >= 10 {
			t.Errorf("output_count %v when blocked: want the results fetched before the expiry", r["output_count"])
		}
		env.connect(key, uid, "linkedin", "sim_classic")
		r = env.waitStatus(key, run, "SUCCEEDED")
		if r["output_count"] != float64(10) {
			t.Errorf("output_count %v after resuming, want 10", r["output_count"])
		}
		var events []string
		for _, d := range env.webhooks(key, "") {
			events = append(events, d["event"].(string))
		}
		if want := []string{"AUTH_SUCCESS", "AUTH_EXPIRED", "AUTH_SUCCESS"}; !equal(events, want) {
			t.Errorf("webhook events %v, want %v", events, want)
		}
		checkSigned(t, env.secret(key), rec.waitDistinct(t, 3))
	})
}
