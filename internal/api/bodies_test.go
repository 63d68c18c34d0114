package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// TestDuplicateKeysAreRefused: a JSON body that names a key twice, at any
// depth, is a 400 BAD_INPUT with params.reason "duplicate_key" on every
// kind of route (the plain body decoder, the action bodies, PATCH and the
// limits), and nothing is saved.
func TestDuplicateKeysAreRefused(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Duplicates", "developer")
		uid := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Ada Lovelace"}).Obj()["uid"].(string)
		sched := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/schedule", key, map[string]any{
			"inputs":   []any{map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+One/"}},
			"callback": map[string]any{"url": "https://hooks.example.com/cb"}, "cron": "0 9 * * *",
		}).Obj()["uid"].(string)
		place := `{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Two/"}`
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v4/identities", `{"name": "Ada Lovelace", "name": "Alan Turing"}`},
			{"PUT", "/v4/identities/" + uid, `{"name": "Ada Lovelace", "timezone": "UTC", "name": "Alan Turing"}`},
			{"PUT", "/v4/workspaces/settings", `{"logo_url": "https://a.example/l.png", "logo_url": "https://b.example/l.png"}`},
			{"PUT", "/v4/workspaces/settings", `{"smart_limit_overrides": {"profile_visits": 10, "profile_visits": 90}}`},
			{"PUT", "/v4/identities/" + uid + "/limits", `{"profile_visits": 10, "profile_visits": 90}`},
			{"POST", "/v4/actions/googlemaps-extract-place/run/live",
				`{"input": {"google_maps_place_url": "https://www.google.com/maps/place/A/", "google_maps_place_url": "https://www.google.com/maps/place/B/"}}`},
			{"POST", "/v4/actions/googlemaps-extract-place/run/async",
				`{"inputs": [` + place + `, ` + place + `], "callback": {"url": "https://hooks.example.com/cb", "url": "https://evil.example/cb"}}`},
			{"POST", "/v4/actions/googlemaps-extract-place/run/async",
				`{"inputs": [` + place + `], "inputs": [], "callback": {"url": null}}`},
			{"POST", "/v4/actions/googlemaps-extract-place/run/schedule",
				`{"inputs": [` + place + `], "callback": {"url": null}, "cron": "0 9 * * *", "cron": "0 10 * * *"}`},
			{"PATCH", "/v4/schedules/" + sched, `{"name": "a", "name": "b"}`},
			{"PATCH", "/v4/schedules/" + sched, `{"callback": {"url": "https://hooks.example.com/cb", "headers": {"X-A": "1", "X-A": "2"}}}`},
		} {
			r := env.Do(c.method, c.path, key, c.body)
			if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(fmt.Sprint(r.Obj()["message"]), "duplicate key") {
				t.Errorf("%s %s %s: %d %s, want 400 about a duplicate key", c.method, c.path, c.body, r.Status, r.Body)
				continue
			}
			if p, _ := r.Obj()["params"].(map[string]any); p["reason"] != "duplicate_key" {
				t.Errorf("%s %s: params %v, want reason duplicate_key", c.method, c.path, p)
			}
		}
		if n := len(env.Must(200, "GET", "/v4/identities", key, nil).Arr()); n != 1 {
			t.Errorf("%d identities after the refusals, want 1", n)
		}
		if n := len(env.Must(200, "GET", "/v4/runs", key, nil).Arr()); n != 0 {
			t.Errorf("%d runs after the refusals, want 0", n)
		}
		if n := len(env.Must(200, "GET", "/v4/schedules", key, nil).Arr()); n != 1 {
			t.Errorf("%d schedules after the refusals, want 1", n)
		}
		s := env.Must(200, "GET", "/v4/workspaces/settings", key, nil).Obj()
		if s["logo_url"] != "" {
			t.Errorf("logo_url after the refusal: %v", s["logo_url"])
		}
		if sc := env.Must(200, "GET", "/v4/schedules/"+sched, key, nil).Obj(); sc["name"] != nil || sc["cron"] != "0 9 * * *" {
			t.Errorf("schedule after the refusals: %v", sc)
		}
	})
}

// TestLogoURLMustBeHTTP: the workspace logo, shown on the hosted connect
// page, is an absolute http(s) URL or nothing.
func TestLogoURLMustBeHTTP(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Logos", "developer")
		env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"logo_url": "https://cdn.example.com/logo.png"})
		for _, bad := range []string{"javascript:alert(document.cookie)", "JavaScript:alert(1)", "data:image/svg+xml;base64,PHN2Zz4=",
			"vbscript:msgbox", "file:///etc/passwd", "ftp://example.com/logo.png", "//example.com/logo.png", "/logo.png", "logo.png",
			"https://", "http://user:pass@example.com/logo.png"} {
			r := env.Do("PUT", "/v4/workspaces/settings", key, map[string]any{"logo_url": bad})
			if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(fmt.Sprint(r.Obj()["message"]), "logo_url") {
				t.Errorf("logo_url %q: %d %s, want 400 about logo_url", bad, r.Status, r.Body)
			}
		}
		if s := env.Must(200, "GET", "/v4/workspaces/settings", key, nil).Obj(); s["logo_url"] != "https://cdn.example.com/logo.png" {
			t.Errorf("logo_url after the refusals: %v", s["logo_url"])
		}
		env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"logo_url": "http://cdn.example.com/a.png?v=2"})
		if s := env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"logo_url": ""}).Obj(); s["logo_url"] != "" {
			t.Errorf("logo_url after clearing: %v", s["logo_url"])
		}
	})
}

// TestCallbackHeadersAreCapped: at most 50 callback headers, 8 KiB of names
// and values in all, on async submissions, schedules and schedule PATCHes.
func TestCallbackHeadersAreCapped(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Headers", "developer")
		headers := func(n, valueLen int) map[string]any {
			h := map[string]any{}
			for i := range n {
				h[fmt.Sprintf("X-H%02d", i)] = strings.Repeat("v", valueLen)
			}
			return h
		}
		body := func(h map[string]any, cron bool) map[string]any {
			b := map[string]any{"inputs": []any{map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe/"}},
				"callback": map[string]any{"url": "https://hooks.example.com/cb", "headers": h}}
			if cron {
				b["cron"] = "0 9 * * *"
			}
			return b
		}
		// 50 headers of 5 + 158 bytes: 8,150 bytes, within both caps.
		ok, tooMany, tooBig := headers(50, 158), headers(51, 1), headers(50, 160) // 51; 8,250 bytes
		one := map[string]any{"X-Big": strings.Repeat("v", 8<<10)}                // one header over 8 KiB
		for _, h := range []map[string]any{tooMany, tooBig, one} {
			for _, path := range []string{"run/async", "run/schedule"} {
				r := env.Do("POST", "/v4/actions/googlemaps-extract-place/"+path, key, body(h, path == "run/schedule"))
				if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(fmt.Sprint(r.Obj()["message"]), "callback/headers") {
					t.Errorf("%s with %d headers: %d %s, want 400 about callback/headers", path, len(h), r.Status, r.Body)
				}
			}
		}
		if n := len(env.Must(200, "GET", "/v4/runs", key, nil).Arr()); n != 0 {
			t.Errorf("%d runs after the refusals", n)
		}
		uid := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/schedule", key, body(ok, true)).Obj()["uid"].(string)
		r := env.Do("PATCH", "/v4/schedules/"+uid, key, map[string]any{"callback": map[string]any{"url": "https://hooks.example.com/cb", "headers": tooMany}})
		if r.Status != 400 || r.Label() != "BAD_INPUT" {
			t.Errorf("PATCH with 51 headers: %d %s", r.Status, r.Body)
		}
	})
}

// TestLoopbackCallbacksRefusedByDefault (contract §7): a server started
// without FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true refuses callback and
// webhook URLs on loopback with a 400 that names that setting; with it,
// they are accepted.
func TestLoopbackCallbacksRefusedByDefault(t *testing.T) {
	check := func(env *apitest.Env, key string, wantOK bool) {
		t.Helper()
		for _, u := range []string{"http://127.0.0.1:9/cb", "http://localhost:9/cb", "http://[::1]:9/cb"} {
			sched := map[string]any{"inputs": []any{map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe/"}},
				"callback": map[string]any{"url": u}, "cron": "0 9 * * *"}
			async := map[string]any{"inputs": sched["inputs"], "callback": map[string]any{"url": u}}
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"POST", "/v4/actions/googlemaps-extract-place/run/schedule", sched},
				{"PUT", "/v4/workspaces/settings", map[string]any{"webhook_url": u}},
				{"POST", "/v4/actions/googlemaps-extract-place/run/async", async},
			} {
				if wantOK && c.path == "/v4/actions/googlemaps-extract-place/run/async" {
					continue // accepted, it would deliver: the schedule shows the same check
				}
				r := env.Do(c.method, c.path, key, c.body)
				switch {
				case wantOK && r.Status != 200:
					t.Errorf("%s %s with %s, loopback allowed: %d %s", c.method, c.path, u, r.Status, r.Body)
				case !wantOK && (r.Status != 400 || !strings.Contains(string(r.Body), "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true")):
					t.Errorf("%s %s with %s: %d %s, want 400 naming FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true", c.method, c.path, u, r.Status, r.Body)
				}
			}
		}
	}
	t.Setenv("FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", "") // the default, whatever the caller's environment
	def := apitest.Start(t, "sqlite")
	key := def.NewWorkspace("Default", "developer")
	check(def, key, false)
	if n := len(def.Must(200, "GET", "/v4/runs", key, nil).Arr()); n != 0 {
		t.Errorf("%d runs after the refusals", n)
	}
	dev := apitest.StartWithLoopbackCallbacks(t, "sqlite")
	check(dev, dev.NewWorkspace("Dev", "developer"), true)
}
