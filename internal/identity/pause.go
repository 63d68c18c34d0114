package identity

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Account pauses. When a platform rate limits an account (429) or its bot
// detection refuses it (LinkedIn's 999), the account's work stops at once,
// for every worker and node sharing the database (account_pauses), and
// resumes after a back-off that grows with each pause of a streak. The
// PauseStrikes-th pause of a streak pauses the identity's integration
// itself: its status becomes LIMIT_REACHED (a contract status), a webhook
// says so, and the health check sets it VALID again once the pause is over
// and the platform accepts the session.

// Pause policy.
const (
	// PauseBase is the first pause of a streak; each next one doubles it.
	PauseBase = time.Minute
	// PauseMax bounds the pause of an account that is not yet paused as an
	// identity.
	PauseMax = time.Hour
	// PauseStreak: a pause more than this after the last one starts a new
	// streak.
	PauseStreak = 24 * time.Hour
	// PauseStrikes is the pause of a streak that pauses the identity.
	PauseStrikes = 3
	// IdentityPause is how long an identity paused by PauseStrikes pauses
	// rests, at least (doubling with each further pause, up to a day).
	IdentityPause = 6 * time.Hour
)

// EventLimitReached is the webhook event of an integration paused as
// LIMIT_REACHED. The contract lists the status but no event for it: this
// event is an extension, named after the status.
const EventLimitReached = "LIMIT_REACHED"

// Pause is what PauseAccount decided.
type Pause struct {
	Until   time.Time
	Strikes int
	// Identity: this pause paused the integration itself (LIMIT_REACHED,
	// with its webhook).
	Identity bool
	// Already: the account was already paused (by another call or node);
	// nothing changed.
	Already bool
}

// pauseFor is the back-off of the strikes-th pause of a streak, at least
// what the platform asked for.
func pauseFor(strikes int, asked time.Duration) time.Duration {
	var d time.Duration
	if strikes >= PauseStrikes {
		d = min(IdentityPause<<min(strikes-PauseStrikes, 4), 24*time.Hour)
	} else {
		d = min(PauseBase<<min(strikes-1, 10), PauseMax)
	}
	return max(d, asked)
}

// PauseAccount pauses g's account after the platform refused it for its
// pace (reason: the label, e.g. STATUS_429). asked is the platform's own
// Retry-After (0 when none). A pause still running is not extended: the
// calls that were in flight when the platform started refusing are one
// strike, not several.
func (s *Service) PauseAccount(ctx context.Context, g model.Integration, now time.Time, asked time.Duration, reason string) (Pause, error) {
	var out Pause
	var ch Change
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		out, ch = Pause{}, Change{}
		p, ok, err := store.GetAccountPause(ctx, tx, g.ID)
		if err != nil {
			return err
		}
		nowMs := store.Millis(now)
		if ok && p.PausedUntil > nowMs {
			out = Pause{Until: store.Time(p.PausedUntil), Strikes: p.Strikes, Already: true}
			return nil
		}
		strikes := 1
		if ok && nowMs-p.LastAt < PauseStreak.Milliseconds()+PauseMax.Milliseconds() {
			strikes = p.Strikes + 1
		}
		until := now.Add(Jitter(pauseFor(strikes, asked), 0.1))
		if until.Before(now.Add(asked)) {
			until = now.Add(asked)
		}
		until = store.Time(store.Millis(until)) // as stored
		out = Pause{Until: until, Strikes: strikes}
		if err := store.PutAccountPause(ctx, tx, store.AccountPause{IntegrationID: g.ID, PausedUntil: store.Millis(until),
			Strikes: strikes, LastAt: nowMs, Reason: reason}); err != nil {
			return err
		}
		if strikes < PauseStrikes {
			return nil
		}
		ch, err = s.transition(ctx, tx, g.IdentityID, g.Platform, CauseSession, func(cur *model.Integration) error {
			if cur == nil || cur.UID != g.UID || cur.Status != model.StatusValid {
				return nil
			}
			out.Identity = true
			if err := store.SetIntegrationStatus(ctx, tx, cur.ID, model.StatusLimitReached, "", reason); err != nil {
				return err
			}
			// The health check sets it VALID again once the pause is over.
			return store.ScheduleIntegrationCheck(ctx, tx, cur.ID, nil, store.Millis(until))
		})
		return err
	})
	if err != nil {
		return Pause{}, err
	}
	s.notify(ctx, ch)
	return out, nil
}

// AccountPausedUntil is when g's account pause ends (zero when it is not
// paused at now).
func (s *Service) AccountPausedUntil(ctx context.Context, q store.Querier, integrationID int64, now time.Time) (time.Time, error) {
	p, ok, err := store.GetAccountPause(ctx, q, integrationID)
	if err != nil || !ok || p.PausedUntil <= store.Millis(now) {
		return time.Time{}, err
	}
	return store.Time(p.PausedUntil), nil
}

// ResumeIntegration sets an integration paused as LIMIT_REACHED VALID again,
// once the platform accepted its session after the pause (the health
// check). It reports whether it changed the status.
func (s *Service) ResumeIntegration(ctx context.Context, g model.Integration) (bool, error) {
	var ch Change
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		ch, err = s.transition(ctx, tx, g.IdentityID, g.Platform, CauseSession, func(cur *model.Integration) error {
			if cur == nil || cur.UID != g.UID || cur.Status != model.StatusLimitReached {
				return nil
			}
			return store.SetIntegrationStatus(ctx, tx, cur.ID, model.StatusValid, "", "")
		})
		return err
	})
	if err != nil {
		return false, err
	}
	s.notify(ctx, ch)
	return ch.Event != "", nil
}
