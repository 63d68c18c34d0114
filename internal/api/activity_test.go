package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// GET /workspaces/activity counts the caller's runs per UTC day by status
// and their credits by action, never another workspace's; the run list's
// date and identity filters (extensions) keep exactly the runs they name.
func TestActivityAndRunFilters(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		ctx := context.Background()
		keyA := env.NewWorkspace("Activity A", "developer")
		keyB := env.NewWorkspace("Activity B", "developer")
		pa, _ := env.App.Workspaces.Authenticate(ctx, keyA)
		pb, _ := env.App.Workspaces.Authenticate(ctx, keyB)
		today := time.Now().UTC().Truncate(24 * time.Hour)
		mk := func(p model.Principal, daysAgo int, action, status string, credits int64, identity string) model.Run {
			at := today.Add(-time.Duration(daysAgo)*24*time.Hour + time.Hour)
			return model.Run{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID, MemberUID: p.MemberUID, ActionName: action,
				ExecutionMode: "LIVE", Status: status, IdentityMode: "direct", IdentityUIDs: []string{identity},
				Parameters: "{}", CreditsUsed: credits, CreatedAt: at, StartedAt: &at, FinishedAt: &at}
		}
		runs := []model.Run{
			mk(pa, 0, "linkedin-extract-people", "SUCCEEDED", 2000, "id-1"),
			mk(pa, 0, "linkedin-extract-people", "SUCCEEDED", 1500, "id-2"),
			mk(pa, 0, "googlemaps-extract-place", "FAILED", 0, "id-1"),
			mk(pa, 2, "googlemaps-extract-place", "SUCCEEDED", 1000, "id-1"),
			mk(pa, 20, "linkedin-extract-people", "SUCCEEDED", 9000, "id-1"), // outside 14 days
			mk(pb, 0, "linkedin-extract-people", "SUCCEEDED", 7000, "id-1"),  // another workspace
		}
		if err := env.App.DB.InsertFinishedRuns(ctx, env.App.DB.Handles().W, runs); err != nil {
			t.Fatal(err)
		}
		a := env.Must(200, "GET", "/v4/workspaces/activity", keyA, nil).Obj()
		days := a["days"].([]any)
		if len(days) != 14 || days[13] != today.Format("2006-01-02") {
			t.Fatalf("days: %v", days)
		}
		perDay := func(list any, name string) []any {
			for _, s := range list.([]any) {
				if m := s.(map[string]any); m["name"] == name {
					return m["per_day"].([]any)
				}
			}
			return nil
		}
		want := map[string]map[int]float64{
			"runs/SUCCEEDED":                   {13: 2, 11: 1},
			"runs/FAILED":                      {13: 1},
			"credits/linkedin-extract-people":  {13: 3.5},
			"credits/googlemaps-extract-place": {11: 1},
		}
		for k, byDay := range want {
			list := a["runs_by_status"]
			name := k[len("runs/"):]
			if k[:7] == "credits" {
				list, name = a["credits_by_action"], k[len("credits/"):]
			}
			got := perDay(list, name)
			if len(got) != 14 {
				t.Fatalf("%s: %v", k, got)
			}
			for i, v := range got {
				if v.(float64) != byDay[i] {
					t.Errorf("%s day %d: %v, want %v", k, i, v, byDay[i])
				}
			}
		}
		if n := len(a["runs_by_status"].([]any)); n != 2 {
			t.Errorf("statuses: %v", a["runs_by_status"])
		}
		env.Must(400, "GET", "/v4/workspaces/activity?days=91", keyA, nil)

		// The run list's extensions.
		count := func(q string) int { return len(env.Must(200, "GET", "/v4/runs?limit=100&"+q, keyA, nil).Arr()) }
		from := today.Add(-24 * time.Hour).Format(time.RFC3339)
		if n := count("created_after=" + from); n != 3 {
			t.Errorf("created_after yesterday: %d runs, want 3", n)
		}
		if n := count("created_before=" + from); n != 2 {
			t.Errorf("created_before yesterday: %d runs, want 2", n)
		}
		if n := count("identity_uid=id-2"); n != 1 {
			t.Errorf("identity_uid=id-2: %d runs, want 1", n)
		}
		if n := count("identity_uid=id-%25"); n != 0 {
			t.Errorf("a wildcard identity matched %d runs", n)
		}
		env.Must(400, "GET", "/v4/runs?created_after=yesterday", keyA, nil)
	})
}
