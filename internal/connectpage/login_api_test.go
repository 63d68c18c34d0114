package connectpage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/identity"
)

// secrets are every password, cookie and code the tests send: none may
// come back in a response, a page, a log line or a webhook body.
var secrets = []string{"sandbox", "123456", "654321", "111111", "222222", "sim-captcha", "sim_classic", "sim_sess_", "wrong-answer", "999999"}

func checkNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q", where, s)
		}
	}
}

type loginEnv struct {
	*apitest.Env
	key  string
	seen strings.Builder // every response body
}

func newLoginEnv(t *testing.T, dialect string) *loginEnv {
	env := apitest.StartWithLoopbackCallbacks(t, dialect) // the webhook URL below is on loopback
	e := &loginEnv{Env: env, key: env.NewWorkspace("Acme Login "+strings.ReplaceAll(t.Name(), "/", " "), "developer")}
	// Deliveries are recorded whether or not the receiver answers.
	e.Must(200, "PUT", "/v4/workspaces/settings", e.key, map[string]any{"webhook_url": "http://127.0.0.1:9/hook"})
	t.Cleanup(func() {
		checkNoSecret(t, "a response", e.seen.String())
		checkNoSecret(t, "the logs", env.Logs.String())
		checkNoSecret(t, "webhook payloads", e.payloads())
	})
	return e
}

func (e *loginEnv) do(method, path string, body any) apitest.Resp {
	e.T.Helper()
	r := e.Do(method, path, e.key, body)
	e.seen.Write(r.Body)
	return r
}

func (e *loginEnv) identity() string {
	e.T.Helper()
	r := e.do("POST", "/v4/identities", map[string]any{"name": "Login tester"})
	uid, _ := r.Obj()["uid"].(string)
	if uid == "" {
		e.T.Fatalf("create identity: %s", r.Body)
	}
	return uid
}

func (e *loginEnv) login(uid, user, pass string) apitest.Resp {
	e.T.Helper()
	return e.do("POST", "/v4/identities/"+uid+"/integrations/linkedin",
		map[string]any{"auth_data": map[string]any{"basic": map[string]any{"username": user, "password": pass}}})
}

func (e *loginEnv) answer(uid string, body any) apitest.Resp {
	e.T.Helper()
	return e.do("POST", "/v4/identities/"+uid+"/integrations/linkedin/checkpoint", body)
}

// events lists the webhook events recorded for an integration, oldest first.
func (e *loginEnv) events(integrationUID string) []string {
	e.T.Helper()
	p, err := e.App.Workspaces.Authenticate(context.Background(), e.key)
	if err != nil {
		e.T.Fatal(err)
	}
	rows, err := e.App.DB.Handles().Read.QueryContext(context.Background(),
		`SELECT event, payload FROM deliveries WHERE workspace_id = $1 AND kind = 'webhook' ORDER BY id`, p.WorkspaceID)
	if err != nil {
		e.T.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ev, payload string
		if err := rows.Scan(&ev, &payload); err != nil {
			e.T.Fatal(err)
		}
		if strings.Contains(payload, integrationUID) {
			out = append(out, ev)
		}
	}
	return out
}

func (e *loginEnv) payloads() string {
	var b strings.Builder
	rows, err := e.App.DB.Handles().Read.QueryContext(context.Background(), `SELECT payload FROM deliveries`)
	if err != nil {
		return ""
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		_ = rows.Scan(&p)
		b.WriteString(p)
	}
	return b.String()
}

func want(t *testing.T, r apitest.Resp, status int, label string) map[string]any {
	t.Helper()
	if r.Status != status || (label != "" && r.Label() != label) {
		t.Fatalf("status %d label %q, want %d %q: %s", r.Status, r.Label(), status, label, r.Body)
	}
	return r.Obj()
}

func checkpointType(g map[string]any) string {
	cp, _ := g["checkpoint"].(map[string]any)
	s, _ := cp["type"].(string)
	return s
}

func eventsEqual(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("webhook events %v, want %v", got, want)
	}
}

func TestLoginAPI(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := newLoginEnv(t, dialect)

		t.Run("no checkpoint", func(t *testing.T) {
			uid := e.identity()
			g := want(t, e.login(uid, "premium@sim.test", "sandbox"), 200, "")
			if g["status"] != "VALID" || g["level"] != "Premium" || g["auth_type"] != "BASIC" || g["setup_source"] != "API" || g["checkpoint"] != nil {
				t.Errorf("integration %v", g)
			}
			eventsEqual(t, e.events(g["uid"].(string)), "AUTH_SUCCESS")
			// Nothing is pending any more.
			want(t, e.answer(uid, map[string]any{"code": "123456"}), 409, "CONFLICT")
			// The stored session works for the worker: cookies, no password.
			p, _ := e.App.Workspaces.Authenticate(context.Background(), e.key)
			ig, err := e.App.Identities.Integration(context.Background(), p.WorkspaceID, uid, "linkedin")
			if err != nil {
				t.Fatal(err)
			}
			cred, err := e.App.Identities.OpenCredentials(ig)
			if err != nil || cred.Cookies["li_at"] == "" || cred.Password != "sandbox" {
				t.Errorf("sealed credentials: cookie set %v, password kept %v, %v", cred.Cookies["li_at"] != "", cred.Password == "sandbox", err)
			}
		})

		for _, c := range []struct{ user, typ, code string }{
			{"2fa@sim.test", "2FA", "123456"},
			{"otp@sim.test", "OTP", "654321"},
			{"email@sim.test", "EMAIL", "111111"},
			{"phone@sim.test", "PHONE_REGISTER", "222222"},
			{"captcha@sim.test", "CAPTCHA", "sim-captcha"},
		} {
			t.Run(c.typ, func(t *testing.T) {
				uid := e.identity()
				g := want(t, e.login(uid, c.user, "sandbox"), 200, "")
				if g["status"] != "PENDING" || checkpointType(g) != c.typ {
					t.Fatalf("after login: %v", g)
				}
				if c.typ != "CAPTCHA" {
					// A wrong code: 400, the checkpoint stays answerable.
					want(t, e.answer(uid, map[string]any{"code": "999999"}), 400, "BAD_INPUT")
				}
				g = want(t, e.answer(uid, map[string]any{"code": c.code}), 200, "")
				if g["status"] != "VALID" || g["checkpoint"] != nil || g["level"] != "Premium" {
					t.Errorf("after the code: %v", g)
				}
				// A repeated submission after success.
				want(t, e.answer(uid, map[string]any{"code": c.code}), 409, "CONFLICT")
				eventsEqual(t, e.events(g["uid"].(string)), "AUTH_PENDING", "AUTH_SUCCESS")
			})
		}

		t.Run("IN_APP_VALIDATION", func(t *testing.T) {
			uid := e.identity()
			g := want(t, e.login(uid, "inapp@sim.test", "sandbox"), 200, "")
			if g["status"] != "PENDING" || checkpointType(g) != "IN_APP_VALIDATION" {
				t.Fatalf("after login: %v", g)
			}
			for i := 1; i <= 2; i++ {
				g = want(t, e.answer(uid, map[string]any{}), 200, "")
				if g["status"] != "PENDING" || checkpointType(g) != "IN_APP_VALIDATION" {
					t.Fatalf("poll %d: %v", i, g)
				}
			}
			// Polls that change nothing send nothing.
			eventsEqual(t, e.events(g["uid"].(string)), "AUTH_PENDING")
			g = want(t, e.answer(uid, nil), 200, "") // no body at all polls too
			if g["status"] != "VALID" {
				t.Fatalf("poll 3: %v", g)
			}
			eventsEqual(t, e.events(g["uid"].(string)), "AUTH_PENDING", "AUTH_SUCCESS")
		})

		t.Run("CAPTCHA fails", func(t *testing.T) {
			uid := e.identity()
			want(t, e.login(uid, "captcha-fail@sim.test", "sandbox"), 200, "")
			g := want(t, e.answer(uid, map[string]any{"code": "wrong-answer"}), 200, "")
			if g["status"] != "INVALID" || g["error"] == nil || g["error"] == "" {
				t.Errorf("failed captcha: %v", g)
			}
			want(t, e.answer(uid, map[string]any{"code": "sim-captcha"}), 409, "CONFLICT")
			eventsEqual(t, e.events(g["uid"].(string)), "AUTH_PENDING", "AUTH_FAILED")
		})

		t.Run("wrong password", func(t *testing.T) {
			uid := e.identity()
			g := want(t, e.login(uid, "wrong@sim.test", "sandbox"), 200, "")
			if g["status"] != "INVALID" || g["error"] != "INVALID_CREDENTIALS" {
				t.Errorf("wrong password: %v", g)
			}
			want(t, e.answer(uid, map[string]any{"code": "123456"}), 409, "CONFLICT")
			eventsEqual(t, e.events(g["uid"].(string)), "AUTH_FAILED")
		})

		t.Run("expired checkpoint", func(t *testing.T) {
			old := identity.CheckpointTTL
			identity.CheckpointTTL = 50 * time.Millisecond
			uid := e.identity()
			want(t, e.login(uid, "2fa@sim.test", "sandbox"), 200, "")
			identity.CheckpointTTL = old
			time.Sleep(100 * time.Millisecond)
			want(t, e.answer(uid, map[string]any{"code": "123456"}), 410, identity.LabelCheckpointExpired)
			g := want(t, e.do("GET", "/v4/identities/"+uid+"/integrations/linkedin", nil), 200, "")
			if g["status"] != "INVALID" || g["error"] != identity.LabelCheckpointExpired {
				t.Errorf("after expiry: %v", g)
			}
			want(t, e.answer(uid, map[string]any{"code": "123456"}), 409, "CONFLICT")
			eventsEqual(t, e.events(g["uid"].(string)), "AUTH_PENDING", "AUTH_FAILED")
		})

		t.Run("no integration", func(t *testing.T) {
			uid := e.identity()
			want(t, e.answer(uid, map[string]any{"code": "123456"}), 404, "")
		})
	})
}
