package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

// Sessions end when idle, at their absolute end, on sign-out, and when the
// password is set again; a removed member's sessions end with them. On
// both databases.
func TestSessionLifetime(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		ctx := context.Background()
		ws := env.App.Workspaces
		p, err := ws.Authenticate(ctx, env.NewWorkspace("Sessions "+dialect, "developer"))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		open := func() string {
			tok, csrf, err := ws.StartSession(ctx, p.MemberID, t0)
			if err != nil || len(csrf) < 32 {
				t.Fatalf("start: %v", err)
			}
			return tok
		}
		alive := func(tok string, at time.Time) bool {
			_, err := ws.Session(ctx, tok, at)
			return err == nil
		}

		idle := open()
		if !alive(idle, t0.Add(workspace.SessionIdle-time.Minute)) {
			t.Fatal("a session used within the idle limit ended")
		}
		// The use above (touch) restarts the idle clock.
		if !alive(idle, t0.Add(2*workspace.SessionIdle-3*time.Minute)) {
			t.Error("the idle clock did not restart on use")
		}
		if alive(idle, t0.Add(3*workspace.SessionIdle)) {
			t.Error("an idle session stayed open")
		}
		if alive(idle, t0.Add(2*workspace.SessionIdle-3*time.Minute)) {
			t.Error("an ended idle session came back")
		}

		busy := open()
		for at := t0; at.Before(t0.Add(workspace.SessionMax)); at = at.Add(workspace.SessionIdle / 2) {
			if !alive(busy, at) {
				t.Fatalf("a used session ended at %s", at.Sub(t0))
			}
		}
		if alive(busy, t0.Add(workspace.SessionMax+time.Minute)) {
			t.Error("a session outlived its absolute end")
		}

		out := open()
		if err := ws.EndSession(ctx, out); err != nil {
			t.Fatal(err)
		}
		if alive(out, t0) {
			t.Error("a signed-out session still works")
		}

		reset := open()
		link, err := ws.PasswordLinkFor(ctx, p.MemberID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ws.SetPassword(ctx, link, "a-new-password-1"); err != nil {
			t.Fatal(err)
		}
		if alive(reset, t0) {
			t.Error("a session survived a password change")
		}
		if _, err := ws.SetPassword(ctx, link, "another-password-2"); err == nil {
			t.Error("a password link worked twice")
		}
		me, err := ws.Member(ctx, p.WorkspaceID, p.MemberUID)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := ws.SignIn(ctx, " "+strings.ToUpper(me.Email)+" ", "a-new-password-1"); err != nil || m.ID != p.MemberID {
			t.Errorf("sign in with the new password: %v %v", m.ID, err)
		}
		if _, err := ws.SignIn(ctx, me.Email, "another-password-2"); err != workspace.ErrBadLogin {
			t.Errorf("wrong password: %v", err)
		}
		if _, err := ws.SignIn(ctx, "nobody@nowhere.test", "a-new-password-1"); err != workspace.ErrBadLogin {
			t.Errorf("unknown email: %v", err)
		}
	})
}
