package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestAuditCoversMutations fails when a mutating route has no audit entry
// and no stated reason to go unaudited (issue 5 §9).
func TestAuditCoversMutations(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, "sqlite")
	n := 0
	for _, rt := range env.App.API.Routes() {
		switch rt.Method {
		case "POST", "PUT", "PATCH", "DELETE":
		default:
			continue
		}
		n++
		if rt.Audit == nil && api.AuditExempt(rt.Method, rt.Path) == "" {
			t.Errorf("%s %s changes state but has no audit entry (add it to auditSpecs in internal/api/audit.go)", rt.Method, rt.Path)
		}
		if rt.Audit != nil && (rt.Audit.Action == "" || rt.Audit.Target == "") {
			t.Errorf("%s %s: audit entry without action or target type", rt.Method, rt.Path)
		}
	}
	if n < 15 {
		t.Fatalf("only %d mutating routes found", n)
	}
}

type auditEv struct {
	UID   string `json:"uid"`
	Actor struct {
		MemberUID string `json:"member_uid"`
		KeyUID    string `json:"key_uid"`
		KeyPrefix string `json:"key_prefix"`
	} `json:"actor"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetUID  string         `json:"target_uid"`
	Detail     map[string]any `json:"detail"`
	CreatedAt  string         `json:"created_at"`
}

func auditEvents(t *testing.T, env *apitest.Env, key, query string) []auditEv {
	t.Helper()
	r := env.Must(200, "GET", "/v4/audit-events"+query, key, nil)
	var evs []auditEv
	if err := json.Unmarshal(r.Body, &evs); err != nil {
		t.Fatalf("audit events: %v: %s", err, r.Body)
	}
	return evs
}

// TestAuditLog: a sequence of changes yields the expected events, newest
// first, with actor and target; owners only; tenant-isolated; no secret.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		owner := env.NewWorkspace("Audited", "unlimited")
		op := principal(t, env, owner)

		ops := addMember(t, env, owner, "ops@audited.test", "ops")
		env.Must(200, "PATCH", "/v4/members/"+ops.UID, owner, map[string]any{"role": "ops"})
		settings := env.Must(200, "PUT", "/v4/workspaces/settings", owner,
			map[string]any{"rotate_callback_secret": true, "webhook_url": "https://hooks.example.com/x"}).Obj()
		secret, _ := settings["callback_signing_secret"].(string)
		id := env.Must(200, "POST", "/v4/identities", ops.Key, map[string]any{"name": "Audited One"}).Obj()
		idUID := id["uid"].(string)
		env.Must(200, "PUT", "/v4/identities/"+idUID, ops.Key, map[string]any{"name": "Audited Two"})
		g := env.Must(200, "POST", "/v4/identities/"+idUID+"/integrations/linkedin", ops.Key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}}).Obj()
		env.Must(200, "POST", "/v4/identities/"+idUID+"/integrations/linkedin", ops.Key,
			map[string]any{"auth_data": map[string]any{"basic": map[string]any{"username": "premium@sim.test", "password": "sandbox"}}})
		env.Must(200, "DELETE", "/v4/identities/"+idUID+"/integrations/linkedin", ops.Key, nil)
		k := env.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "ci"}).Obj()
		env.Must(200, "DELETE", "/v4/api-keys/"+k["uid"].(string), owner, nil)
		env.Must(200, "DELETE", "/v4/identities/"+idUID, ops.Key, nil)
		// A failed change is not recorded.
		env.Do("DELETE", "/v4/identities/"+idUID, ops.Key, nil)

		evs := auditEvents(t, env, owner, "?limit=200")
		var actions []string
		for i := len(evs) - 1; i >= 0; i-- {
			actions = append(actions, evs[i].Action)
		}
		want := []string{"member.invite", "member.accept", "member.role_change", "workspace.settings.update",
			"identity.create", "identity.update", "integration.connect", "integration.connect", "integration.delete",
			"api_key.create", "api_key.revoke", "identity.delete"}
		if strings.Join(actions, ",") != strings.Join(want, ",") {
			t.Fatalf("actions (oldest first)\n got %v\nwant %v", actions, want)
		}
		by := map[string]auditEv{}
		for _, e := range evs {
			by[e.Action] = e
			if e.UID == "" || e.CreatedAt == "" || e.TargetType == "" {
				t.Errorf("incomplete event %+v", e)
			}
		}
		if e := by["member.accept"]; e.Actor.MemberUID != ops.UID || e.TargetUID != ops.UID {
			t.Errorf("accept: %+v", e)
		}
		if e := by["member.role_change"]; e.Actor.MemberUID != op.MemberUID || e.Actor.KeyUID != op.KeyUID ||
			e.Actor.KeyPrefix == "" || !strings.HasPrefix(owner, e.Actor.KeyPrefix) || e.TargetUID != ops.UID || e.Detail["role"] != "ops" {
			t.Errorf("role change: %+v (owner key prefix %q)", e, owner[:6])
		}
		if e := by["workspace.settings.update"]; !strings.Contains(auditJSON(e.Detail), "callback secret rotated") {
			t.Errorf("settings: %+v", e)
		}
		if e := by["identity.create"]; e.TargetUID != idUID || e.Actor.MemberUID != ops.UID || e.TargetType != "identity" {
			t.Errorf("identity create: %+v", e)
		}
		if e := by["integration.delete"]; e.TargetUID != g["uid"] || e.TargetType != "integration" || e.Detail["identity_uid"] != nil && e.Detail["uid"] != idUID {
			t.Errorf("integration delete: %+v", e)
		}
		if e := by["api_key.revoke"]; e.TargetUID != k["uid"] {
			t.Errorf("key revoke: %+v", e)
		}

		// Filters.
		if got := auditEvents(t, env, owner, "?actor="+ops.UID); len(got) != 7 {
			t.Errorf("actor filter: %d events, want 7 (accept + 6 by the ops key)", len(got))
		}
		if got := auditEvents(t, env, owner, "?action=integration.connect"); len(got) != 2 {
			t.Errorf("action filter: %d", len(got))
		}
		if got := auditEvents(t, env, owner, "?target_type=api_key&limit=1&offset=1"); len(got) != 1 || got[0].Action != "api_key.create" {
			t.Errorf("target_type + offset: %+v", got)
		}
		if got := auditEvents(t, env, owner, "?until=2000-01-01T00:00:00Z"); len(got) != 0 {
			t.Errorf("until filter: %d", len(got))
		}
		if got := auditEvents(t, env, owner, "?since=2000-01-01T00:00:00Z"); len(got) != len(want) {
			t.Errorf("since filter: %d", len(got))
		}
		checkError(t, env, "bad since", env.Do("GET", "/v4/audit-events?since=yesterday", owner, nil), 400, "BAD_PARAMETERS")

		// Owners only; another workspace sees nothing.
		checkError(t, env, "ops reads the audit log", env.Do("GET", "/v4/audit-events", ops.Key, nil), 403, "FORBIDDEN")
		viewer := addMember(t, env, owner, "viewer@audited.test", "user")
		checkError(t, env, "user reads the audit log", env.Do("GET", "/v4/audit-events", viewer.Key, nil), 403, "FORBIDDEN")
		other := env.NewWorkspace("Elsewhere", "unlimited")
		if got := auditEvents(t, env, other, ""); len(got) != 0 {
			t.Errorf("another workspace sees %d events", len(got))
		}

		// No secret anywhere in the table.
		rows, err := store.ListAuditEvents(t.Context(), env.App.DB.Handles().R, op.WorkspaceID, store.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		all, _ := json.Marshal(rows)
		for _, s := range []string{"sim_classic", "sandbox", "whsec", secret, owner, ops.Key, "token"} {
			if s != "" && strings.Contains(string(all), s) {
				t.Errorf("the audit log holds a secret (%q): %s", s, all)
			}
		}
	})
}

func auditJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
