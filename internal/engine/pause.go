package engine

import (
	"context"
	"strconv"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// AccountPaused is the limit_key of a call refused because its account is
// paused after the platform rate limited it (429) or refused it as a bot
// (LinkedIn's 999). Like the other protections it answers 429
// LIMIT_REACHED with postponed_until in live mode and postpones async work.
const AccountPaused = "account_paused"

// ParamPostponedUntil is set on the STATUS_429 of the call that paused its
// account: when the account's work resumes (RFC 3339).
const ParamPostponedUntil = "postponed_until"

// pausedUntil is when acc's pause ends (zero when it is not paused). A live
// call reads the pause that came with its account row (at most a read-cache
// TTL old) and this process's own; async work, whose rows may be older,
// reads the database, where other workers and nodes record theirs.
func (e *Engine) pausedUntil(ctx context.Context, acc store.Account, live bool) (time.Time, error) {
	now := e.now()
	until := time.Time{}
	if acc.PausedUntil > 0 {
		until = store.Time(acc.PausedUntil)
	}
	if v, ok := e.pauses.Load(acc.Integration.ID); ok {
		if t := v.(time.Time); t.After(until) {
			until = t
		}
	}
	if !live {
		var t time.Time
		err := e.DB.View(ctx, func(q store.Querier) (err error) {
			t, err = e.Identities.AccountPausedUntil(ctx, q, acc.Integration.ID, now)
			return err
		})
		if err != nil {
			return time.Time{}, err
		}
		if t.After(until) {
			until = t
		}
	}
	if !until.After(now) {
		return time.Time{}, nil
	}
	return until, nil
}

// pause pauses g's account after the platform answered err (a STATUS_429,
// plain or bot detection) and returns err with the date the account's work
// resumes (params.postponed_until). Storage failures leave err as it was:
// the async layer then retries it as any transient failure.
func (e *Engine) pause(ctx context.Context, g model.Integration, err error) error {
	ae, ok := apperr.As(err)
	if !ok {
		return err
	}
	asked := time.Duration(platform.RetryAfter(err)) * time.Second
	reason := ae.Label
	if ae.Params[platform.ParamBotDetection] == "true" {
		reason = "BOT_DETECTION"
	}
	p, perr := e.Identities.PauseAccount(context.WithoutCancel(ctx), g, e.now(), asked, reason)
	if perr != nil {
		return err
	}
	e.pauses.Store(g.ID, p.Until)
	at := p.Until.UTC().Add(time.Second - time.Nanosecond).Truncate(time.Second)
	out := *ae
	out.Params = make(map[string]string, len(ae.Params)+2)
	for k, v := range ae.Params {
		out.Params[k] = v
	}
	out.Params[ParamPostponedUntil] = at.Format(time.RFC3339)
	if secs := int(at.Sub(e.now()).Seconds()); secs > 0 {
		out.Params[platform.ParamRetryAfter] = strconv.Itoa(secs)
	}
	out.Message = ae.Message + "; the account's work is paused until " + at.Format(time.RFC3339)
	if p.Identity {
		out.Message += " (repeated: the integration is paused as LIMIT_REACHED)"
	}
	return &out
}

// IsPausedAccount reports a STATUS_429 that paused its account: the work
// waits until params.postponed_until instead of retrying soon.
func IsPausedAccount(err error) bool {
	ae, ok := apperr.As(err)
	return ok && ae.Label == platform.Label429 && ae.Params[ParamPostponedUntil] != ""
}
