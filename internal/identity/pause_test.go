package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// The pause policy of accounts a platform rate limited, as the README
// states it: at least a minute, at least what the platform asked, doubling
// within a streak; a pause still running is not extended (one strike per
// wave, however many calls were in flight); the third pause of a streak
// pauses the integration (LIMIT_REACHED) for six hours at least; a pause a
// day after the last one starts a new streak.
func TestPauseStreaks(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		db := apitest.NewStore(t, dialect).OpenDB(t)
		ws, idID := apitest.SeedIdentity(t, db)
		g, err := store.UpsertIntegration(ctx, db.Handles().W, model.Integration{UID: "g1", WorkspaceID: ws, IdentityID: idID, Platform: "linkedin",
			AuthType: "COOKIES", SetupSource: "API", Level: "Premium", Status: model.StatusValid, Meta: "{}", SecretKID: "k", Secret: []byte{1}})
		if err != nil {
			t.Fatal(err)
		}
		s := &identity.Service{DB: db}
		within := func(what string, got, lo, hi time.Time) {
			t.Helper()
			if got.Before(lo) || got.After(hi) {
				t.Errorf("%s: pause until %s, want within [%s, %s]", what, got, lo, hi)
			}
		}
		status := func() string {
			t.Helper()
			cur, err := store.IntegrationOf(ctx, db.Handles().R, idID, "linkedin")
			if err != nil {
				t.Fatal(err)
			}
			return cur.Status
		}

		now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		p1, err := s.PauseAccount(ctx, g, now, 0, "STATUS_429")
		if err != nil || p1.Strikes != 1 || p1.Identity || p1.Already {
			t.Fatalf("first pause: %+v %v", p1, err)
		}
		within("first", p1.Until, now.Add(54*time.Second), now.Add(66*time.Second))
		again, err := s.PauseAccount(ctx, g, now.Add(10*time.Second), 900*time.Second, "BOT_DETECTION")
		if err != nil || !again.Already || again.Strikes != 1 || !again.Until.Equal(p1.Until) {
			t.Fatalf("a pause during the pause: %+v %v", again, err)
		}
		if until, _ := s.AccountPausedUntil(ctx, db.Handles().R, g.ID, now.Add(30*time.Second)); !until.Equal(p1.Until) {
			t.Errorf("paused until %s, want %s", until, p1.Until)
		}
		if until, _ := s.AccountPausedUntil(ctx, db.Handles().R, g.ID, p1.Until.Add(time.Second)); !until.IsZero() {
			t.Errorf("still paused after the pause: %s", until)
		}

		at := p1.Until.Add(time.Second)
		p2, err := s.PauseAccount(ctx, g, at, 900*time.Second, "BOT_DETECTION")
		if err != nil || p2.Strikes != 2 || p2.Identity {
			t.Fatalf("second pause: %+v %v", p2, err)
		}
		within("second (the platform asked 15 min)", p2.Until, at.Add(900*time.Second), at.Add(990*time.Second))
		if status() != model.StatusValid {
			t.Fatalf("after two pauses the integration is %s", status())
		}

		at = p2.Until.Add(time.Second)
		p3, err := s.PauseAccount(ctx, g, at, 0, "STATUS_429")
		if err != nil || p3.Strikes != 3 || !p3.Identity {
			t.Fatalf("third pause: %+v %v", p3, err)
		}
		within("third", p3.Until, at.Add(324*time.Minute), at.Add(396*time.Minute))
		if status() != model.StatusLimitReached {
			t.Fatalf("after three pauses the integration is %s", status())
		}
		if ok, err := s.ResumeIntegration(ctx, g); err != nil || !ok || status() != model.StatusValid {
			t.Fatalf("resume: %v %v %s", ok, err, status())
		}

		at = p3.Until.Add(26 * time.Hour)
		p4, err := s.PauseAccount(ctx, g, at, 0, "STATUS_429")
		if err != nil || p4.Strikes != 1 || p4.Identity {
			t.Fatalf("a pause a day later: %+v %v", p4, err)
		}
		within("new streak", p4.Until, at.Add(54*time.Second), at.Add(66*time.Second))
	})
}
