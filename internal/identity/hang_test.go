package identity_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// account stands for the platform's side of a sandbox account that hangs:
// the connect's verification goes to the simulator as sent (sim_hang never
// answers); a later verification of the same identity waits until the test
// lets the account answer, and then asks about a session that works.
type account struct {
	mu      sync.Mutex
	calls   map[string]int
	waiting map[string]chan struct{} // closed when a later verification waits
	answer  map[string]chan struct{} // closed to let it answer
}

func (a *account) chans(uid string) (waiting, answer chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waiting[uid] == nil {
		a.waiting[uid], a.answer[uid] = make(chan struct{}), make(chan struct{})
	}
	return a.waiting[uid], a.answer[uid]
}

func (a *account) wrap(real identity.Verifier) identity.Verifier {
	return func(ctx context.Context, id model.Identity, platform string, c identity.Credentials) (identity.Verified, error) {
		a.mu.Lock()
		a.calls[id.UID]++
		n := a.calls[id.UID]
		a.mu.Unlock()
		if n == 1 || c.Cookies["li_at"] != "sim_hang" {
			return real(ctx, id, platform, c)
		}
		waiting, answer := a.chans(id.UID)
		close(waiting)
		select {
		case <-answer:
		case <-ctx.Done():
			return identity.Verified{}, ctx.Err()
		}
		return real(ctx, id, platform, identity.Credentials{AuthType: c.AuthType, Cookies: map[string]string{"li_at": "sim_premium"}})
	}
}

// TestHangingConnectAnswersPending: connecting the sandbox account sim_hang
// (which never answers) answers PENDING once ConnectTimeout has passed
// (within 15 s with the default), with LK_524 as its error, and the
// credentials are verified again in the background: when the platform then
// answers, the integration becomes VALID with an AUTH_SUCCESS webhook. A
// reconnect made while that verification waits is left as it is.
func TestHangingConnectAnswersPending(t *testing.T) {
	if identity.DefaultConnectTimeout > 13*time.Second {
		t.Fatalf("DefaultConnectTimeout %s leaves no room to answer within 15 s", identity.DefaultConnectTimeout)
	}
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		acc := &account{calls: map[string]int{}, waiting: map[string]chan struct{}{}, answer: map[string]chan struct{}{}}
		env := start(t, dialect, "wh_test", func(a *app.App) {
			a.Identities.ConnectTimeout = 300 * time.Millisecond
			a.Identities.Verify = acc.wrap(a.Identities.Verify)
		})
		env.settings(env.Key, map[string]any{"webhook_url": "https://hooks.example.com/firstmate"})
		events := func() string {
			var out []string
			for _, d := range env.webhooks(env.Key, "") {
				out = append(out, fmt.Sprint(d["event"]))
			}
			return strings.Join(out, " ")
		}

		uid := env.identity(env.Key, "Hanging Account")
		g := env.connect(env.Key, uid, "linkedin", "sim_hang")
		if g["status"] != "PENDING" || g["error"] != identity.LabelVerifyTimeout {
			t.Fatalf("connect of sim_hang: %v, want PENDING with %s", g, identity.LabelVerifyTimeout)
		}
		waiting, answer := acc.chans(uid)
		<-waiting // the background verification asks again
		close(answer)
		waitFor(t, "the background verification", func() bool {
			return env.integration(env.Key, uid, "linkedin").Status == model.StatusValid
		})
		got := env.integration(env.Key, uid, "linkedin")
		if got.Level != "Premium" || got.Error != "" {
			t.Errorf("after the background verification: %+v", got)
		}
		if ev := events(); ev != "AUTH_PENDING AUTH_SUCCESS" {
			t.Errorf("webhook events %q, want AUTH_PENDING AUTH_SUCCESS", ev)
		}

		// A reconnect while the background verification waits.
		other := env.identity(env.Key, "Reconnected Account")
		if g := env.connect(env.Key, other, "linkedin", "sim_hang"); g["status"] != "PENDING" {
			t.Fatalf("second hang: %v", g)
		}
		waiting, answer = acc.chans(other)
		<-waiting
		if g := env.connect(env.Key, other, "linkedin", "sim_classic"); g["status"] != "VALID" || g["level"] != "Classic" {
			t.Fatalf("reconnect: %v", g)
		}
		close(answer)
		waitFor(t, "the background verification to finish", func() bool {
			var n int
			if err := env.App.DB.Handles().Read.QueryRowContext(context.Background(),
				`SELECT COUNT(*) FROM river_job WHERE kind = 'integration_reverify' AND state NOT IN ('completed', 'cancelled', 'discarded')`).
				Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 0
		})
		g2 := env.integration(env.Key, other, "linkedin")
		if g2.Status != model.StatusValid || g2.Level != "Classic" {
			t.Errorf("the reconnected integration after the background verification: %+v", g2)
		}
		// Its AUTH_PENDING and the reconnect's AUTH_SUCCESS, nothing from
		// the background verification.
		if ev := events(); ev != "AUTH_PENDING AUTH_SUCCESS AUTH_PENDING AUTH_SUCCESS" {
			t.Errorf("webhook events %q, want AUTH_PENDING AUTH_SUCCESS twice", ev)
		}
	})
}
