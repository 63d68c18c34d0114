package identity_test

// Engagement identities (contract §4 type "engagement"): allowed once the
// workspace enables them, their outreach costs no credits, and their peak
// count per credit period is recorded for billing.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/store"
)

type engEnv struct {
	*apitest.Env
	key string
}

// engStart opens Firstmate with a 5-credit test plan and no API rate limit.
func engStart(t *testing.T, dialect string) *engEnv {
	t.Helper()
	st := apitest.NewStore(t, dialect)
	cfg := st.Config()
	data, _ := json.Marshal([]config.Plan{{Name: "eng_test", CreditsPerPeriod: 5, Identities: 50, ConcurrentRuns: 5}})
	cfg.PlansFile = filepath.Join(t.TempDir(), "plans.json")
	if err := os.WriteFile(cfg.PlansFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &apitest.SyncBuffer{}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.API)
	a.Cfg.PublicURL = srv.URL
	if err := a.Jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	env := &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	t.Cleanup(env.Close)
	return &engEnv{Env: env, key: env.NewWorkspace("Engagement "+strings.ReplaceAll(t.Name(), "/", " "), "eng_test")}
}

func (e *engEnv) identity(name, typ, cookie string) string {
	e.T.Helper()
	uid := e.Must(200, "POST", "/v4/identities", e.key, map[string]any{"name": name, "type": typ}).Obj()["uid"].(string)
	if cookie != "" {
		g := e.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", e.key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": cookie}}}).Obj()
		if g["status"] != "VALID" {
			e.T.Fatalf("connect %s: %v", cookie, g)
		}
	}
	return uid
}

func (e *engEnv) enable() {
	e.T.Helper()
	e.Must(200, "PUT", "/v4/workspaces/settings", e.key, map[string]any{"engagement_enabled": true})
}

func (e *engEnv) consumption() map[string]any {
	e.T.Helper()
	return e.Must(200, "GET", "/v4/workspaces/consumption", e.key, nil).Obj()
}

func (e *engEnv) used() float64 { return e.consumption()["credits_used"].(float64) }

func (e *engEnv) peak() float64 { return e.consumption()["engagement_identities_peak"].(float64) }

func profile(tag string, i int) string {
	return fmt.Sprintf("https://www.linkedin.com/in/engagement-%s-%d", tag, i)
}

func (e *engEnv) visit(uid, url string) apitest.Resp {
	e.T.Helper()
	return e.Do("POST", "/v4/actions/linkedin-visit-profile/run/live", e.key,
		map[string]any{"input": map[string]any{"linkedin_profile_url": url}, "identity_ids": []string{uid}})
}

func (e *engEnv) asyncVisits(uid, tag string, n int) map[string]any {
	e.T.Helper()
	var inputs []any
	for i := 0; i < n; i++ {
		inputs = append(inputs, map[string]any{"linkedin_profile_url": profile(tag, i)})
	}
	sub := e.Must(200, "POST", "/v4/actions/linkedin-visit-profile/run/async", e.key, map[string]any{
		"inputs": inputs, "identity_ids": []string{uid}, "callback": map[string]any{"url": nil}}).Obj()
	end := time.Now().Add(60 * time.Second)
	for {
		r := e.Must(200, "GET", "/v4/runs/"+sub["run_uid"].(string), e.key, nil).Obj()
		switch r["status"] {
		case "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "BLOCKED":
			return r
		}
		if time.Now().After(end) {
			e.T.Fatalf("run %v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEngagementNeedsEnabling(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := engStart(t, dialect)
		r := e.Do("POST", "/v4/identities", e.key, map[string]any{"name": "Engaged", "type": "engagement"})
		if r.Status != 402 || r.Label() != "NO_ACCESS" {
			t.Fatalf("not enabled: %d %s", r.Status, r.Body)
		}
		if e.peak() != 0 {
			t.Fatalf("peak %v", e.peak())
		}
		e.enable()
		id := e.Must(200, "POST", "/v4/identities", e.key, map[string]any{"name": "Engaged", "type": "engagement"}).Obj()
		if id["type"] != "engagement" {
			t.Fatalf("%v", id)
		}
		// The type is immutable.
		r = e.Do("PUT", "/v4/identities/"+id["uid"].(string), e.key, map[string]any{"name": "Engaged", "type": "standard"})
		if r.Status != 400 {
			t.Fatalf("type change: %d %s", r.Status, r.Body)
		}
		// Disabling again refuses new ones and keeps the existing one.
		e.Must(200, "PUT", "/v4/workspaces/settings", e.key, map[string]any{"engagement_enabled": false})
		if r := e.Do("POST", "/v4/identities", e.key, map[string]any{"name": "Engaged 2", "type": "engagement"}); r.Status != 402 {
			t.Fatalf("disabled again: %d", r.Status)
		}
		e.Must(200, "GET", "/v4/identities/"+id["uid"].(string), e.key, nil)
	})
}

// Outreach by an engagement identity is free, live and async, even with no
// credits left; its extraction, and everybody else's outreach, are charged.
func TestEngagementOutreachIsFree(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := engStart(t, dialect)
		e.enable()
		eng := e.identity("Engaged rep", "engagement", "sim_premium")
		std := e.identity("Standard rep", "standard", "sim_classic")

		for i := 0; i < 2; i++ {
			if r := e.visit(eng, profile("live", i)); r.Status != 200 {
				t.Fatalf("engagement visit: %d %s", r.Status, r.Body)
			}
		}
		if u := e.used(); u != 0 {
			t.Fatalf("engagement outreach charged %v", u)
		}
		if r := e.asyncVisits(eng, "async", 3); r["status"] != "SUCCEEDED" || r["output_count"] != float64(3) {
			t.Fatalf("engagement async: %v", r)
		}
		if u := e.used(); u != 0 {
			t.Fatalf("engagement async outreach charged %v", u)
		}
		// Extraction is not outreach: charged.
		r := e.Do("POST", "/v4/actions/linkedin-extract-people/run/live", e.key,
			map[string]any{"input": map[string]any{"linkedin_profile_url": profile("x", 0)}, "identity_ids": []string{eng}})
		if r.Status != 200 || e.used() != 1 {
			t.Fatalf("engagement extraction: %d, used %v", r.Status, e.used())
		}
		// A standard identity's outreach: charged, live and async.
		if r := e.visit(std, profile("std", 0)); r.Status != 200 || e.used() != 2 {
			t.Fatalf("standard visit: %d, used %v", r.Status, e.used())
		}
		if r := e.asyncVisits(std, "std-async", 3); r["status"] != "SUCCEEDED" || e.used() != 5 {
			t.Fatalf("standard async: %v, used %v", r, e.used())
		}
		// No credits left: the standard identity is refused, the engagement
		// one keeps working.
		if r := e.visit(std, profile("std", 1)); r.Status != 402 || r.Label() != "NO_ACCESS" {
			t.Fatalf("standard without credits: %d %s", r.Status, r.Body)
		}
		if r := e.visit(eng, profile("live", 5)); r.Status != 200 {
			t.Fatalf("engagement without credits: %d %s", r.Status, r.Body)
		}
		if r := e.asyncVisits(eng, "async-2", 2); r["status"] != "SUCCEEDED" {
			t.Fatalf("engagement async without credits: %v", r)
		}
		if r := e.asyncVisits(std, "std-async-2", 1); r["status"] != "BLOCKED" {
			t.Fatalf("standard async without credits: %v", r)
		}
		if u := e.used(); u != 5 {
			t.Fatalf("used %v", u)
		}
		// Consumption: the free runs are still counted as runs and results.
		for _, row := range e.consumption()["consumptions"].([]any) {
			m := row.(map[string]any)
			if m["action_slug"] == "linkedin-visit-profile" && (m["credits_used"] != float64(4) || m["results"] != float64(12)) {
				t.Errorf("visit consumption %v", m)
			}
		}
	})
}

func TestEngagementPeakPerPeriod(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := engStart(t, dialect)
		e.enable()
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, e.identity(fmt.Sprintf("Engaged %d", i), "engagement", ""))
		}
		e.identity("Standard one", "standard", "")
		if p := e.peak(); p != 3 {
			t.Fatalf("peak %v, want 3", p)
		}
		for _, uid := range ids[:2] {
			e.Must(200, "DELETE", "/v4/identities/"+uid, e.key, nil)
		}
		ids = ids[2:]
		if p := e.peak(); p != 3 {
			t.Fatalf("after deletions: peak %v, want 3", p)
		}
		ids = append(ids, e.identity("Engaged again", "engagement", ""))
		if p := e.peak(); p != 3 {
			t.Fatalf("2 active: peak %v, want 3", p)
		}

		// A new credit period starts from the count carried over (2), and a
		// deletion in it keeps the count it ended.
		ctx := context.Background()
		ws, err := e.App.Workspaces.Info(ctx, workspaceID(t, e), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		moved := ws.PeriodStart.AddDate(0, 0, -10)
		if _, err := e.App.DB.Handles().Write.ExecContext(ctx, `UPDATE workspaces SET period_start = $1 WHERE id = $2`,
			store.Millis(moved), ws.Workspace.ID); err != nil {
			t.Fatal(err)
		}
		// The last period's row stays, for billing.
		var rows int
		if err := e.App.DB.Handles().Write.QueryRowContext(ctx, `SELECT COUNT(*) FROM engagement_peaks WHERE workspace_id = $1`,
			ws.Workspace.ID).Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("rows %d %v", rows, err)
		}
		if p := e.peak(); p != 2 {
			t.Fatalf("new period: peak %v, want 2", p)
		}
		e.Must(200, "DELETE", "/v4/identities/"+ids[0], e.key, nil)
		if p := e.peak(); p != 2 {
			t.Fatalf("new period after a deletion: peak %v, want 2", p)
		}
		if err := e.App.DB.Handles().Write.QueryRowContext(ctx, `SELECT COUNT(*) FROM engagement_peaks WHERE workspace_id = $1`,
			ws.Workspace.ID).Scan(&rows); err != nil || rows != 2 {
			t.Fatalf("rows %d %v", rows, err)
		}
	})
}

func workspaceID(t *testing.T, e *engEnv) int64 {
	t.Helper()
	p, err := e.App.Workspaces.Authenticate(context.Background(), e.key)
	if err != nil {
		t.Fatal(err)
	}
	return p.WorkspaceID
}
