package engine

import (
	"context"
	"errors"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Health checks: a periodic "me" call for each VALID integration, so that an
// expired session is noticed (INVALID, AUTH_EXPIRED, runs blocked) before an
// action trips over it. The job layer claims due integrations a budget at a
// time and spreads their checks over the tick; this file is one check.

// HealthOutcome is what one check found.
type HealthOutcome string

const (
	// HealthValid: the platform accepted the session.
	HealthValid HealthOutcome = "valid"
	// HealthExpired: the platform refused it; the integration is now INVALID.
	HealthExpired HealthOutcome = "expired"
	// HealthDeferred: the account was busy or the platform could not say
	// (rate limit, timeout, 5xx, proxy): checked again soon.
	HealthDeferred HealthOutcome = "deferred"
	// HealthSkipped: no longer VALID, gone, or no driver to ask.
	HealthSkipped HealthOutcome = "skipped"
)

// Retry delays of deferred checks, before jitter.
const (
	healthBusyDelay  = 5 * time.Minute
	healthRetryDelay = 30 * time.Minute
)

// CheckIntegration asks the platform whether a VALID integration's session
// still works, through the identity's own client, and schedules the next
// check about interval later. An expired session is recorded as on an
// action (ExpireSession: INVALID, AUTH_EXPIRED once, runs blocked). A check
// never waits for a busy account: an action running on it says as much.
func (e *Engine) CheckIntegration(ctx context.Context, integrationID int64, interval time.Duration) (HealthOutcome, error) {
	if interval <= 0 {
		interval = identity.DefaultHealthInterval
	}
	g, err := e.DB.GetIntegrationByID(ctx, integrationID)
	if errors.Is(err, store.ErrNotFound) {
		return HealthSkipped, nil
	}
	if err != nil {
		return "", err
	}
	if g.Status != model.StatusValid && g.Status != model.StatusLimitReached {
		return HealthSkipped, nil // a transition took it out of the checks
	}
	later := func(d time.Duration, checked bool) error {
		now := e.now()
		var at *int64
		if checked {
			ms := store.Millis(now)
			at = &ms
		}
		return e.DB.ScheduleIntegrationCheck(context.WithoutCancel(ctx), g.ID, at,
			store.Millis(now.Add(identity.Jitter(d, 0.2))))
	}
	if e.Plane == nil {
		return HealthSkipped, later(interval, false)
	}
	drv, err := e.Plane.Integration(g.Platform)
	if err != nil {
		// No driver validates it here (its family is off, or its executor
		// validates no accounts): nothing to ask until the routing changes.
		return HealthSkipped, later(interval, false)
	}
	id, err := e.DB.GetIdentity(ctx, g.WorkspaceID, g.IdentityUID)
	if errors.Is(err, store.ErrNotFound) {
		return HealthSkipped, nil
	}
	if err != nil {
		return "", err
	}
	paused := g.Status == model.StatusLimitReached
	if paused {
		// Paused for its pace (see identity.PauseAccount): checked once the
		// pause is over, and VALID again if the platform takes the session.
		var until time.Time
		err := e.DB.View(ctx, func(q store.Querier) (err error) {
			until, err = e.Identities.AccountPausedUntil(ctx, q, g.ID, e.now())
			return err
		})
		if err != nil {
			return "", err
		}
		if !until.IsZero() {
			return HealthDeferred, e.DB.ScheduleIntegrationCheck(context.WithoutCancel(ctx), g.ID, nil,
				store.Millis(until))
		}
	}
	release, ok := e.locks.try(g.ID)
	if !ok {
		return HealthDeferred, later(min(healthBusyDelay, interval), false)
	}
	defer release()
	g = e.current(g)
	cred, err := e.credentials(ctx, g, "")
	if err != nil {
		return "", err
	}
	mctx, hc, err := e.egress(ctx, &id)
	if err != nil {
		return HealthDeferred, later(min(healthRetryDelay, interval), false)
	}
	mctx, session := withSession(mctx)
	_, err = drv.Me(mctx, hc, cred)
	g = e.keepSession(ctx, g, cred.Cookies, session)
	switch {
	case err == nil:
		if paused {
			if _, err := e.Identities.ResumeIntegration(context.WithoutCancel(ctx), g); err != nil {
				return "", err
			}
		}
		return HealthValid, later(interval, true)
	case apperr.Is(err, platform.Label429) && platform.PausesOnRateLimit(drv):
		// Still refused for its pace: a further pause (a longer one).
		perr := e.pause(ctx, g, err)
		if pe, ok := apperr.As(perr); ok && pe.Params[ParamPostponedUntil] != "" {
			if until, terr := time.Parse(time.RFC3339, pe.Params[ParamPostponedUntil]); terr == nil {
				return HealthDeferred, e.DB.ScheduleIntegrationCheck(context.WithoutCancel(ctx), g.ID, nil,
					store.Millis(until))
			}
		}
		return HealthDeferred, later(min(healthRetryDelay, interval), false)
	case platform.IsSessionExpired(err):
		wctx := context.WithoutCancel(ctx)
		// The webhook and the blocking of runs follow from the transition
		// (identity.Service's StatusListener).
		if _, err := e.Identities.ExpireSession(wctx, g, platform.LabelNotConnected); err != nil {
			return "", err
		}
		return HealthExpired, nil
	case ctx.Err() != nil:
		return "", ctx.Err()
	default:
		// Rate limits, timeouts, restrictions: nothing about the session.
		return HealthDeferred, later(min(healthRetryDelay, interval), false)
	}
}
