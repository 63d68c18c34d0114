package api_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

type accessLine struct {
	Level        string   `json:"level"`
	Msg          string   `json:"msg"`
	Method       string   `json:"method"`
	Route        string   `json:"route"`
	Status       int      `json:"status"`
	DurationMS   *float64 `json:"duration_ms"`
	WorkspaceUID *string  `json:"workspace_uid"`
	RunUID       *string  `json:"run_uid"`
	raw          string
}

func accessLines(t *testing.T, logs string) []accessLine {
	t.Helper()
	var out []accessLine
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l accessLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "request" {
			l.raw = sc.Text()
			out = append(out, l)
		}
	}
	return out
}

// TestAccessLog: one JSON line per request at info level, with the method,
// the route pattern (not the path: a login-link token stays out of the
// log), the status, the duration, and the workspace and run concerned.
// FIRSTMATE_ACCESS_LOG=off silences it.
func TestAccessLog(t *testing.T) {
	t.Setenv("FIRSTMATE_ACCESS_LOG", "")
	env := apitest.Start(t, "sqlite")
	key := env.NewWorkspace("Access log", "developer")
	wsUID := env.Must(200, "GET", "/v4/workspaces", key, nil).Obj()["uid"].(string)

	type want struct {
		method, route  string
		status         int
		workspace, run string
	}
	var wants []want
	wants = append(wants, want{"GET", "GET /v4/workspaces", 200, wsUID, ""})

	live := env.Do("POST", "/v4/actions/googlemaps-search-places/run/live", key,
		map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}})
	liveRun := live.Header.Get("X-Run-Uid")
	if live.Status != 200 || liveRun == "" {
		t.Fatalf("live call: %d %s (X-Run-Uid %q)", live.Status, live.Body, liveRun)
	}
	wants = append(wants, want{"POST", "POST /v4/actions/{slug}/run/live", 200, wsUID, liveRun})

	async := env.Do("POST", "/v4/actions/googlemaps-search-places/run/async", key, map[string]any{
		"inputs":   []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}},
		"callback": map[string]any{"url": "https://example.com/callback"}})
	asyncRun, _ := async.Obj()["run_uid"].(string)
	if async.Status != 200 && async.Status != 201 || asyncRun == "" {
		t.Fatalf("async call: %d %s", async.Status, async.Body)
	}
	wants = append(wants, want{"POST", "POST /v4/actions/{slug}/run/async", async.Status, wsUID, asyncRun})

	st := env.Do("GET", "/v1/runs/"+asyncRun+"/status", key, nil)
	wants = append(wants, want{"GET", "GET /v1/runs/{uid}/status", st.Status, wsUID, asyncRun})

	bad := env.Do("POST", "/v4/identities", key, `{"name": 12}`)
	wants = append(wants, want{"POST", "POST /v4/identities", bad.Status, wsUID, ""})

	const token = "not-a-real-login-link-token-4f1c2e"
	link := env.Do("GET", "/v4/login-links/"+token, "", nil)
	wants = append(wants, want{"GET", "GET /v4/login-links/{token}", link.Status, "", ""})

	nowhere := env.Do("GET", "/v4/no/such/route", key, nil)
	wants = append(wants, want{"GET", "unmatched", nowhere.Status, "", ""})

	logs := env.Logs.String()
	lines := accessLines(t, logs)
	for _, l := range lines {
		if strings.Contains(l.raw, token) {
			t.Errorf("an access line holds the login-link token from the path: %+v", l)
		}
	}
	for _, w := range wants {
		found := false
		for _, l := range lines {
			if l.Method != w.method || l.Route != w.route || l.Status != w.status {
				continue
			}
			found = true
			if l.Level != "INFO" || l.DurationMS == nil || *l.DurationMS < 0 || l.WorkspaceUID == nil || l.RunUID == nil {
				t.Errorf("%s: incomplete line %+v", w.route, l)
				continue
			}
			if *l.WorkspaceUID != w.workspace || *l.RunUID != w.run {
				t.Errorf("%s: workspace %q run %q, want %q %q", w.route, *l.WorkspaceUID, *l.RunUID, w.workspace, w.run)
			}
		}
		if !found {
			t.Errorf("no access line for %s %s %d in:\n%s", w.method, w.route, w.status, logs)
		}
	}
	if len(lines) != len(wants) {
		t.Errorf("%d access lines for %d requests", len(lines), len(wants))
	}

	t.Setenv("FIRSTMATE_ACCESS_LOG", "off")
	quiet := apitest.Start(t, "sqlite")
	qkey := quiet.NewWorkspace("Quiet", "developer")
	quiet.Must(200, "GET", "/v4/workspaces", qkey, nil)
	if lines := accessLines(t, quiet.Logs.String()); len(lines) != 0 {
		t.Errorf("FIRSTMATE_ACCESS_LOG=off: %d access lines", len(lines))
	}
}

// TestTokensStayOutOfTheLog: refused requests on routes whose path carries
// a secret (a login-link, connect or invitation token) are logged by their
// route pattern, so the token appears on no log line.
func TestTokensStayOutOfTheLog(t *testing.T) {
	env := apitest.Start(t, "sqlite")
	const token = "tok3nN0tF0rTheL0g9f8e7d6c5b4a"
	for _, c := range []struct{ method, path string }{
		{"GET", "/v4/login-links/" + token},
		{"GET", "/connect/" + token},
		{"POST", "/v4/invitations/" + token + "/accept"},
		{"GET", "/v4/no-such-route/" + token},
	} {
		r := env.Do(c.method, c.path, "", map[string]any{"name": "Someone", "password": "a long passphrase"})
		if r.Status < 400 {
			t.Fatalf("%s %s: status %d, want a refusal", c.method, c.path, r.Status)
		}
	}
	if logs := env.Logs.String(); strings.Contains(logs, token) {
		t.Fatalf("a path token reached the log:\n%s", logs)
	}
}
