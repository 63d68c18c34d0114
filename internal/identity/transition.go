package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Integration status transitions and the webhook events they cause
// (contract §4).
//
// Every change of an integration's status goes through transition, inside
// the transaction that makes the change: it locks the row, reads the status
// before, applies the change, reads the status after, and stores the webhook
// delivery of the event in the same transaction (enqueuing its sending there
// too). A committed change therefore has exactly one event record, and a
// rolled-back one has none. Sending is at least once, signed and retried by
// the dispatcher like callbacks; receivers deduplicate on webhook-id.
//
// Which transitions are reported:
//   - An authentication attempt (connect or update through the API, and the
//     login and checkpoint steps) always gets one event for its outcome,
//     even when the status does not change: AUTH_SUCCESS (VALID),
//     AUTH_PENDING (PENDING: a checkpoint waits, or the platform could not
//     be asked yet) or AUTH_FAILED (INVALID). Re-connecting an account that
//     was already VALID with new credentials that work is a new successful
//     login, and a client that drives a hosted login flow waits for it.
//   - What the platform says on its own (a session found expired by an
//     action or by the health check) is reported only when it changes the
//     status: VALID -> INVALID sends AUTH_EXPIRED once, however many calls
//     then fail.
//   - Deleting an integration, directly or with its identity, sends
//     DELETED.
//   - An integration paused for its pace (see pause.go) goes VALID ->
//     LIMIT_REACHED and sends LIMIT_REACHED, an extension: the contract has
//     the status but no event for it. Its resumption (LIMIT_REACHED ->
//     VALID) sends AUTH_SUCCESS, as any return to VALID does.
//
// A workspace without a webhook URL records no delivery.

// Webhook events.
const (
	EventAuthSuccess = "AUTH_SUCCESS"
	EventAuthPending = "AUTH_PENDING"
	EventAuthFailed  = "AUTH_FAILED"
	EventAuthExpired = "AUTH_EXPIRED"
	EventDeleted     = "DELETED"

	// ActionRetryLogin is the action_to_be_taken of AUTH_EXPIRED.
	ActionRetryLogin = "RETRY_LOGIN"

	// StatusDeleted is the status a StatusListener is told for a deleted integration.
	StatusDeleted = "DELETED"
)

// DefaultHealthInterval is how often a VALID integration's session is
// checked with the platform when nothing else is configured.
const DefaultHealthInterval = 6 * time.Hour

// Cause is what made a transition; it picks the event.
type Cause int

const (
	// CauseAuth: a connect, login or checkpoint attempt. Always reported.
	CauseAuth Cause = iota + 1
	// CauseSession: the platform refused (or accepted) the stored session
	// during an action or a health check. Reported on a status change only.
	CauseSession
	// CauseDelete: the integration was removed.
	CauseDelete
)

// DeliveryQueue enqueues the sending of deliveries in the caller's
// transaction (the River client implements it).
type DeliveryQueue interface {
	Deliveries(ctx context.Context, tx *store.Tx, ids []int64, at time.Time) error
}

// Change is one committed (or about to be committed) transition.
type Change struct {
	Before *model.Integration // nil: the integration did not exist
	After  *model.Integration // nil: it was deleted
	// Event is the webhook event the transition causes ("" for none). It
	// is set whether or not the workspace has a webhook URL.
	Event string
	// DeliveryUID is the stored webhook delivery ("" when none was stored).
	DeliveryUID string
}

func (c Change) previous() string {
	if c.Before == nil {
		return ""
	}
	return c.Before.Status
}

// eventFor decides the event of a transition.
func eventFor(cause Cause, before, after *model.Integration) string {
	switch cause {
	case CauseDelete:
		if before != nil && after == nil {
			return EventDeleted
		}
		return ""
	case CauseAuth:
		if after == nil {
			return ""
		}
		return authEvent(after.Status)
	case CauseSession:
		if after == nil || before == nil || before.Status == after.Status {
			return ""
		}
		if after.Status == model.StatusInvalid {
			return EventAuthExpired
		}
		if after.Status == model.StatusLimitReached {
			return EventLimitReached
		}
		return authEvent(after.Status)
	}
	return ""
}

func authEvent(status string) string {
	switch status {
	case model.StatusValid:
		return EventAuthSuccess
	case model.StatusPending:
		return EventAuthPending
	case model.StatusInvalid:
		return EventAuthFailed
	}
	return ""
}

// transition applies a change to the identity's integration for platform
// within tx and records the webhook event it causes. apply receives the
// integration as committed before the change (nil when there is none),
// read under the row lock; it may insert, update or delete the row. Call
// s.notify with the returned Change once tx has committed.
//
// This is the one way to change an integration's status: the login and
// checkpoint flows call it with CauseAuth (a checkpoint waiting is stored as
// PENDING with its type, which sends AUTH_PENDING).
func (s *Service) transition(ctx context.Context, tx *store.Tx, identityID int64, platform string, cause Cause,
	apply func(before *model.Integration) error) (Change, error) {
	var ch Change
	before, err := store.LockIntegration(ctx, tx, identityID, platform)
	switch {
	case err == nil:
		ch.Before = &before
	case !errors.Is(err, store.ErrNotFound):
		return ch, err
	}
	if err := apply(ch.Before); err != nil {
		return ch, err
	}
	after, err := store.IntegrationOf(ctx, tx, identityID, platform)
	switch {
	case err == nil:
		ch.After = &after
	case !errors.Is(err, store.ErrNotFound):
		return ch, err
	}
	now := time.Now()
	if ch.After != nil && ch.After.Status == model.StatusValid &&
		(cause == CauseAuth || ch.Before == nil || ch.Before.Status != model.StatusValid) {
		// A session just confirmed: its first health check is due one
		// (jittered) interval from now.
		if err := store.ScheduleIntegrationCheck(ctx, tx, ch.After.ID, nil,
			store.Millis(NextHealthCheck(now, s.HealthInterval))); err != nil {
			return ch, err
		}
	}
	ch.Event = eventFor(cause, ch.Before, ch.After)
	if ch.Event != "" {
		if err := s.recordWebhook(ctx, tx, &ch, now); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// NextHealthCheck is when a session confirmed at now is checked again: one
// interval later, give or take 20%, so that integrations connected together
// are not all checked together.
func NextHealthCheck(now time.Time, interval time.Duration) time.Time {
	if interval <= 0 {
		interval = DefaultHealthInterval
	}
	return now.Add(Jitter(interval, 0.2))
}

// Jitter returns d scaled by a random factor in [1-f, 1+f).
func Jitter(d time.Duration, f float64) time.Duration {
	return time.Duration(float64(d) * (1 - f + 2*f*rand.Float64()))
}

// checkpointBody is the webhook's checkpoint object.
type checkpointBody struct {
	Type string `json:"type"`
}

// webhookBody is the integration webhook payload (contract §4).
type webhookBody struct {
	Event           string          `json:"event"`
	WorkspaceUID    string          `json:"workspace_uid"`
	IdentityUID     string          `json:"identity_uid"`
	IntegrationUID  string          `json:"integration_uid"`
	Integration     string          `json:"integration"`
	Status          string          `json:"status"`
	Checkpoint      *checkpointBody `json:"checkpoint"`
	ActionToBeTaken *string         `json:"action_to_be_taken"`
	Error           *string         `json:"error"`
	CreatedAt       time.Time       `json:"created_at"`
}

// recordWebhook stores the event's delivery when the workspace has a
// webhook URL, and enqueues its sending in the same transaction.
func (s *Service) recordWebhook(ctx context.Context, tx *store.Tx, ch *Change, now time.Time) error {
	g := ch.After
	if g == nil {
		g = ch.Before
	}
	w, err := store.GetWorkspace(ctx, tx, g.WorkspaceID)
	if err != nil {
		return err
	}
	if w.WebhookURL == "" {
		return nil
	}
	body := webhookBody{Event: ch.Event, WorkspaceUID: w.UID, IdentityUID: g.IdentityUID, IntegrationUID: g.UID,
		Integration: g.Platform, Status: g.Status, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	if ch.Event != EventDeleted {
		// A deleted integration reports the status it had; its checkpoint
		// and error no longer mean anything.
		if g.Checkpoint != "" {
			body.Checkpoint = &checkpointBody{Type: g.Checkpoint}
		}
		if g.Error != "" {
			e := g.Error
			body.Error = &e
		}
	}
	if ch.Event == EventAuthExpired {
		a := ActionRetryLogin
		body.ActionToBeTaken = &a
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	d := model.Delivery{UID: uuid.NewString(), Kind: model.DeliveryWebhook, WorkspaceID: g.WorkspaceID,
		RefUID: uuid.NewString(), Event: ch.Event, URL: w.WebhookURL, Payload: string(payload)}
	id, err := store.InsertDelivery(ctx, tx, d)
	if err != nil || id == 0 {
		return err
	}
	ch.DeliveryUID = d.UID
	if s.Queue == nil {
		return nil // no job runner (a one-shot operator command): stays PENDING
	}
	return s.Queue.Deliveries(ctx, tx, []int64{id}, time.Time{})
}

// notify tells the Status listener of committed transitions that caused an event.
// A deleted integration is reported with Status StatusDeleted.
func (s *Service) notify(ctx context.Context, changes ...Change) {
	if s.Status == nil {
		return
	}
	for _, ch := range changes {
		if ch.Event == "" {
			continue
		}
		var g model.Integration
		if ch.After != nil {
			g = *ch.After
		} else {
			g = *ch.Before
			g.Status = StatusDeleted
		}
		s.Status.IntegrationStatus(ctx, g, ch.previous())
	}
}

// ExpireSession records that the platform refused g's stored session (an
// action or a health check found it expired): the integration becomes
// INVALID with label as its error, and AUTH_EXPIRED is sent once. Nothing
// changes when the integration is no longer VALID (or paused as
// LIMIT_REACHED), or when its credentials
// were replaced after g was read (a reconnect raced the failing call). It
// reports whether it changed the status.
func (s *Service) ExpireSession(ctx context.Context, g model.Integration, label string) (bool, error) {
	var ch Change
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		ch, err = s.transition(ctx, tx, g.IdentityID, g.Platform, CauseSession, func(cur *model.Integration) error {
			if cur == nil || cur.UID != g.UID || (cur.Status != model.StatusValid && cur.Status != model.StatusLimitReached) ||
				cur.SecretKID != g.SecretKID ||
				!bytes.Equal(cur.Secret, g.Secret) {
				return nil
			}
			return store.SetIntegrationStatus(ctx, tx, cur.ID, model.StatusInvalid, "", label)
		})
		return err
	})
	if err != nil {
		return false, err
	}
	s.notify(ctx, ch)
	return ch.Event != "", nil
}
