package identity_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/engine"
)

func profileInput(n int) map[string]any {
	return map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/webhook-person-%d", n)}
}

// TestIntegrationWebhooks: every transition sends exactly one signed webhook
// with the contract's body. A connect (even VALID -> VALID) reports its
// outcome; a session found expired by an action sends AUTH_EXPIRED once,
// however many calls then fail or race; deleting an integration, or the
// identity holding it, sends DELETED; a workspace without a URL records
// nothing.
func TestIntegrationWebhooks(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := start(t, dialect, "wh_test", nil)
		rec := newReceiver(t)
		key := env.Key
		env.settings(key, map[string]any{"webhook_url": rec.URL()})
		secret := env.secret(key)
		ws, _ := env.Must(200, "GET", "/v4/workspaces", key, nil).Obj()["uid"].(string)

		type want struct {
			event, identity, integration, platform, status, errLabel string
		}
		var wants []want
		expect := func(event, identityUID, platform, status, errLabel string) {
			g := env.integrationOrDeleted(key, identityUID, platform)
			wants = append(wants, want{event, identityUID, g, platform, status, errLabel})
		}

		// Connect a working cookie: AUTH_SUCCESS. Again: a new successful
		// login, AUTH_SUCCESS again (VALID -> VALID is reported for
		// authentication attempts).
		alice := env.identity(key, "Alice Webhook")
		if g := env.connect(key, alice, "linkedin", "sim_classic"); g["status"] != "VALID" {
			t.Fatalf("sim_classic: %v", g)
		}
		expect("AUTH_SUCCESS", alice, "linkedin", "VALID", "")
		env.connect(key, alice, "linkedin", "sim_classic")
		expect("AUTH_SUCCESS", alice, "linkedin", "VALID", "")

		// A bogus cookie: AUTH_FAILED.
		bob := env.identity(key, "Bob Webhook")
		if g := env.connect(key, bob, "linkedin", "AQEDAR-bogus-cookie"); g["status"] != "INVALID" {
			t.Fatalf("bogus cookie: %v", g)
		}
		expect("AUTH_FAILED", bob, "linkedin", "INVALID", "NOT_CONNECTED")

		// sim_expiring expires after 5 calls: live calls until one finds it
		// expired (424 NOT_CONNECTED), then more calls that can only fail.
		carol := env.identity(key, "Carol Webhook")
		env.connect(key, carol, "linkedin", "sim_expiring")
		expect("AUTH_SUCCESS", carol, "linkedin", "VALID", "")
		live := func(n int) apitest.Resp {
			return env.Do("POST", "/v4/actions/linkedin-extract-people/run/live", key,
				map[string]any{"input": profileInput(n), "identity_ids": []string{carol}})
		}
		expired := false
		for i := 0; i < 10 && !expired; i++ {
			r := live(i)
			switch {
			case r.Status == 200:
			case r.Status == 424 && r.Label() == "NOT_CONNECTED":
				expired = true
			default:
				t.Fatalf("live call %d: %d %s", i, r.Status, r.Body)
			}
		}
		if !expired {
			t.Fatal("sim_expiring never expired in 10 live calls")
		}
		expect("AUTH_EXPIRED", carol, "linkedin", "INVALID", "NOT_CONNECTED")
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := live(100 + i); r.Status != 424 {
					t.Errorf("live call on an expired account: %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		// Neither does the health check report it again.
		if out, err := env.App.Engine.CheckIntegration(context.Background(), env.integration(key, carol, "linkedin").ID, 0); err != nil ||
			out != engine.HealthSkipped {
			t.Errorf("health check of an INVALID integration: %v %v", out, err)
		}

		// The same failure seen by many racing calls: one transition, one
		// event. Eight concurrent expiries of one VALID snapshot.
		erin := env.identity(key, "Erin Webhook")
		env.connect(key, erin, "linkedin", "sim_premium")
		expect("AUTH_SUCCESS", erin, "linkedin", "VALID", "")
		snap := env.integration(key, erin, "linkedin")
		var mu sync.Mutex
		changed := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := env.App.Identities.ExpireSession(context.Background(), snap, "NOT_CONNECTED")
				if err != nil {
					t.Errorf("expire: %v", err)
				}
				if ok {
					mu.Lock()
					changed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if changed != 1 {
			t.Errorf("8 concurrent expiries of one session changed the status %d times, want 1", changed)
		}
		expect("AUTH_EXPIRED", erin, "linkedin", "INVALID", "NOT_CONNECTED")

		// Deletes: an integration, an identity with one (INVALID)
		// integration, an identity with two.
		expect("DELETED", alice, "linkedin", "VALID", "")
		env.Must(200, "DELETE", "/v4/identities/"+alice+"/integrations/linkedin", key, nil)
		if r := env.Do("DELETE", "/v4/identities/"+alice+"/integrations/linkedin", key, nil); r.Status != 404 {
			t.Errorf("deleting it again: %d %s", r.Status, r.Body)
		}
		expect("DELETED", bob, "linkedin", "INVALID", "")
		env.Must(200, "DELETE", "/v4/identities/"+bob, key, nil)
		dave := env.identity(key, "Dave Webhook")
		env.connect(key, dave, "linkedin", "sim_premium")
		expect("AUTH_SUCCESS", dave, "linkedin", "VALID", "")
		env.connect(key, dave, "salesnavigator", "sim_salesnav")
		expect("AUTH_SUCCESS", dave, "salesnavigator", "VALID", "")
		expect("DELETED", dave, "linkedin", "VALID", "")
		expect("DELETED", dave, "salesnavigator", "VALID", "")
		env.Must(200, "DELETE", "/v4/identities/"+dave, key, nil)

		// The records: exactly one per transition, in order.
		list := env.webhooks(key, "")
		if len(list) != len(wants) {
			for _, d := range list {
				t.Logf("delivery %v %v", d["event"], d["webhook_id"])
			}
			t.Fatalf("%d webhook deliveries recorded, want %d", len(list), len(wants))
		}
		// What the receiver got: the same events, each signed.
		got := rec.waitDistinct(t, len(wants))
		checkSigned(t, secret, rec.attempts())
		bodies := map[string]map[string]any{}
		for _, a := range got {
			bodies[a.ID] = decodeBody(t, a)
		}
		for i, w := range wants {
			d := list[i]
			id, _ := d["webhook_id"].(string)
			if d["event"] != w.event {
				t.Errorf("delivery %d: event %v, want %s", i, d["event"], w.event)
			}
			if d["url"] != rec.URL() {
				t.Errorf("delivery %d: url %v", i, d["url"])
			}
			b := bodies[id]
			if b == nil {
				t.Errorf("delivery %d (%s %s) never reached the receiver", i, w.event, id)
				continue
			}
			for k, v := range map[string]any{"event": w.event, "workspace_uid": ws, "identity_uid": w.identity,
				"integration_uid": w.integration, "integration": w.platform, "status": w.status, "checkpoint": nil} {
				if b[k] != v {
					t.Errorf("webhook %d (%s): %s = %v, want %v", i, w.event, k, b[k], v)
				}
			}
			wantAction := any(nil)
			if w.event == "AUTH_EXPIRED" {
				wantAction = "RETRY_LOGIN"
			}
			if b["action_to_be_taken"] != wantAction {
				t.Errorf("webhook %d (%s): action_to_be_taken %v, want %v", i, w.event, b["action_to_be_taken"], wantAction)
			}
			wantErr := any(nil)
			if w.errLabel != "" {
				wantErr = w.errLabel
			}
			if b["error"] != wantErr {
				t.Errorf("webhook %d (%s): error %v, want %v", i, w.event, b["error"], wantErr)
			}
		}
		if n := len(rec.distinct()); n != len(wants) {
			t.Errorf("the receiver got %d distinct webhooks, want %d", n, len(wants))
		}
		waitFor(t, "every webhook delivery SUCCESS", func() bool {
			for _, d := range env.webhooks(key, "") {
				if d["status"] != "SUCCESS" {
					return false
				}
			}
			return true
		})
		one := env.Must(200, "GET", "/v4/webhooks/deliveries/"+list[0]["uid"].(string), key, nil).Obj()
		if one["webhook_id"] != list[0]["webhook_id"] || one["event"] != "AUTH_SUCCESS" || one["http_status"] != float64(200) {
			t.Errorf("GET one delivery: %v", one)
		}

		// A workspace without a webhook URL records nothing; clearing the
		// URL stops the recording.
		quiet := env.NewWorkspace("Quiet", "wh_test")
		q := env.identity(quiet, "Quiet One")
		env.connect(quiet, q, "linkedin", "sim_classic")
		env.Must(200, "DELETE", "/v4/identities/"+q, quiet, nil)
		if l := env.webhooks(quiet, ""); len(l) != 0 {
			t.Errorf("a workspace without a webhook URL recorded %d deliveries", len(l))
		}
		if s := env.settings(key, map[string]any{"webhook_url": ""}); s["webhook_url"] != "" {
			t.Errorf("clearing the webhook URL: %v", s)
		}
		env.connect(key, env.identity(key, "Frank Webhook"), "linkedin", "sim_classic")
		if l := env.webhooks(key, ""); len(l) != len(wants) {
			t.Errorf("after clearing the URL: %d deliveries, want still %d", len(l), len(wants))
		}
	})
}

// integrationOrDeleted returns the uid of an identity's integration (it
// must exist when called).
func (e *whEnv) integrationOrDeleted(key, identityUID, platform string) string {
	e.T.Helper()
	return e.integration(key, identityUID, platform).UID
}

// TestWebhookURLValidation: http(s) only, and literal private or loopback
// addresses refused under the operator's policy.
func TestWebhookURLValidation(t *testing.T) {
	// Local development: FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true.
	env := start(t, "sqlite", "wh_test", nil)
	bad := func(env *whEnv, url, what string) {
		t.Helper()
		r := env.Do("PUT", "/v4/workspaces/settings", env.Key, map[string]any{"webhook_url": url})
		if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(string(r.Body), "webhook_url") {
			t.Errorf("%s (%s): %d %s", what, url, r.Status, r.Body)
		}
	}
	bad(env, "http://10.0.0.1/x", "private address")
	bad(env, "http://169.254.169.254/latest/meta-data", "metadata address")
	bad(env, "ftp://example.com/hook", "ftp scheme")
	bad(env, "example.com/hook", "relative URL")
	bad(env, "https://user:pw@example.com/hook", "credentials in the URL")
	if s := env.settings(env.Key, map[string]any{"webhook_url": "https://example.com/hook"}); s["webhook_url"] != "https://example.com/hook" {
		t.Errorf("https URL: %v", s)
	}
	if s := env.settings(env.Key, map[string]any{"webhook_url": "http://127.0.0.1:9/hook"}); s["webhook_url"] != "http://127.0.0.1:9/hook" {
		t.Errorf("loopback with FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true: %v", s)
	}
	// A refused URL leaves the stored one as it was.
	bad(env, "http://10.0.0.1/x", "private address")
	if s := env.Must(200, "GET", "/v4/workspaces/settings", env.Key, nil).Obj(); s["webhook_url"] != "http://127.0.0.1:9/hook" {
		t.Errorf("after a refused update: %v", s)
	}
	if s := env.settings(env.Key, map[string]any{"webhook_url": ""}); s["webhook_url"] != "" {
		t.Errorf("empty string clears: %v", s)
	}

	// The default policy, on a laptop too (contract §7): loopback refused,
	// and the refusal names the setting that allows it; public names
	// accepted.
	strict := startWith(t, "sqlite", "wh_test", nil, false)
	bad(strict, "http://10.0.0.1/x", "private address, strict")
	bad(strict, "http://127.0.0.1:8080/x", "loopback, strict")
	bad(strict, "http://localhost:8080/x", "localhost, strict")
	bad(strict, "http://[::1]/x", "IPv6 loopback, strict")
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost:8080/x"} {
		r := strict.Do("PUT", "/v4/workspaces/settings", strict.Key, map[string]any{"webhook_url": u})
		if !strings.Contains(string(r.Body), "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true") {
			t.Errorf("the refusal of %s does not name the setting that allows it: %s", u, r.Body)
		}
	}
	if r := strict.Do("PUT", "/v4/workspaces/settings", strict.Key, map[string]any{"webhook_url": "http://10.0.0.1/x"}); !strings.Contains(string(r.Body), "FIRSTMATE_CALLBACK_ALLOW_CIDRS") {
		t.Errorf("the refusal of a private address does not name the setting that allows it: %s", r.Body)
	}
	if s := strict.settings(strict.Key, map[string]any{"webhook_url": "https://example.com/hook"}); s["webhook_url"] != "https://example.com/hook" {
		t.Errorf("https URL, strict: %v", s)
	}
}

// TestWebhookRetriesAndReplay: webhooks go through the callbacks'
// dispatcher: retried on the schedule with a stable webhook-id and a fresh
// valid signature each time, stopped by 410, replayed as a child record.
func TestWebhookRetriesAndReplay(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := start(t, dialect, "wh_test", nil)
		rec := newReceiver(t)
		var mu sync.Mutex
		mode := "flaky" // flaky: 500 twice then 200; gone: 410; ok: 200
		rec.answer = func(a attempt, n int) int {
			mu.Lock()
			defer mu.Unlock()
			switch mode {
			case "flaky":
				if n <= 2 {
					return 500
				}
			case "gone":
				return 410
			}
			return 200
		}
		key := env.Key
		env.settings(key, map[string]any{"webhook_url": rec.URL()})
		secret := env.secret(key)

		env.connect(key, env.identity(key, "Retry One"), "linkedin", "sim_classic")
		var first map[string]any
		waitFor(t, "the flaky webhook to succeed", func() bool {
			l := env.webhooks(key, "")
			first = l[0]
			return len(l) == 1 && first["status"] == "SUCCESS"
		})
		if first["retry_count"] != float64(2) || first["http_status"] != float64(200) {
			t.Errorf("after two 500s and a 200: %v", first)
		}
		as := rec.attempts()
		if len(as) != 3 {
			t.Fatalf("%d attempts, want 3", len(as))
		}
		for _, a := range as {
			if a.ID != first["webhook_id"] {
				t.Errorf("attempt webhook-id %s, want the stable %v", a.ID, first["webhook_id"])
			}
		}
		checkSigned(t, secret, as)

		// 410 Gone stops the retries at once.
		mu.Lock()
		mode = "gone"
		mu.Unlock()
		env.connect(key, env.identity(key, "Retry Two"), "linkedin", "sim_premium")
		var gone map[string]any
		waitFor(t, "the 410 webhook to fail", func() bool {
			l := env.webhooks(key, "&status[]=FAILED")
			if len(l) == 1 {
				gone = l[0]
			}
			return gone != nil
		})
		if gone["http_status"] != float64(410) || gone["retry_count"] != float64(0) || gone["next_attempt_at"] != nil {
			t.Errorf("after 410: %v", gone)
		}
		if l := env.webhooks(key, "&status=SUCCESS"); len(l) != 1 {
			t.Errorf("status filter SUCCESS: %d rows", len(l))
		}

		// Replay: a child with parent_uid and the same webhook-id.
		mu.Lock()
		mode = "ok"
		mu.Unlock()
		child := env.Must(200, "POST", "/v4/webhooks/deliveries/"+gone["uid"].(string)+"/replay", key, nil).Obj()
		if child["parent_uid"] != gone["uid"] || child["webhook_id"] != gone["webhook_id"] || child["uid"] == gone["uid"] ||
			child["event"] != "AUTH_SUCCESS" {
			t.Errorf("replay: %v (original %v)", child, gone)
		}
		waitFor(t, "the replay to succeed", func() bool {
			c := env.Must(200, "GET", "/v4/webhooks/deliveries/"+child["uid"].(string), key, nil).Obj()
			return c["status"] == "SUCCESS"
		})
		n := 0
		for _, a := range rec.attempts() {
			if a.ID == gone["webhook_id"] {
				n++
			}
		}
		if n != 2 {
			t.Errorf("the 410 webhook reached the receiver %d times, want 2 (the 410 and the replay)", n)
		}
		checkSigned(t, secret, rec.attempts())

		// Webhook routes see webhooks only, and only the workspace's own.
		other := env.NewWorkspace("Other", "wh_test")
		for _, p := range []string{"/v4/webhooks/deliveries/" + child["uid"].(string)} {
			if r := env.Do("GET", p, other, nil); r.Status != 404 {
				t.Errorf("GET %s from another workspace: %d", p, r.Status)
			}
		}
		if r := env.Do("POST", "/v4/webhooks/deliveries/"+gone["uid"].(string)+"/replay", other, nil); r.Status != 404 {
			t.Errorf("replay from another workspace: %d", r.Status)
		}
		if l := env.webhooks(other, ""); len(l) != 0 {
			t.Errorf("another workspace lists %d webhooks", len(l))
		}
		if r := env.Do("GET", "/v4/runs/callbacks/"+child["uid"].(string), key, nil); r.Status != 404 {
			t.Errorf("a webhook under /runs/callbacks: %d", r.Status)
		}
		if r := env.Do("GET", "/v4/webhooks/deliveries?limit=101", key, nil); r.Status != 400 {
			t.Errorf("limit=101: %d", r.Status)
		}
	})
}
