// Package dispatch sends stored deliveries (run callbacks and integration
// webhooks): it signs each attempt with the workspace secret, keeps one slow
// receiver from holding up others, records every attempt and schedules the
// next one on the retry schedule. The wire work (signing, SSRF-safe dialing,
// timeouts) is the delivery package's.
package dispatch

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/delivery"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Queue schedules delivery attempts in the caller's transaction.
type Queue interface {
	Deliveries(ctx context.Context, tx *sql.Tx, ids []int64, at time.Time) error
}

type Dispatcher struct {
	DB       *store.DB
	Keys     *secret.Keyring
	Sender   *delivery.Sender
	Schedule delivery.Schedule
	// Hosts bounds in-flight attempts per (workspace, receiver host), so a
	// slow receiver occupies a few workers at most; the rest are deferred.
	Hosts *delivery.HostLimiter
	Queue Queue
	// SigningSecret returns a workspace's whsec_ secret.
	SigningSecret func(ctx context.Context, workspaceID int64) (string, error)
	Now           func() time.Time
	// Parallel is how many attempts one batch sends at once.
	Parallel int
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

type attempt struct {
	d   model.Delivery
	res delivery.Result
	// skip is set when the delivery is not sent (already final, or its run
	// was cancelled); reason goes to last_error.
	skip   bool
	reason string
	// deferred is set when the receiver stayed saturated: no attempt made.
	deferred bool
}

// Deliver makes one attempt for each of the deliveries that still needs
// one. Deliveries whose receiver is saturated are deferred by a second.
func (d *Dispatcher) Deliver(ctx context.Context, ids []int64) error {
	ds, err := store.GetDeliveriesByID(ctx, d.DB.R, ids)
	if err != nil {
		return err
	}
	var todo []*attempt
	var deferred []int64
	secrets := map[int64]string{}
	headers := map[int64]map[string]string{}
	statuses := map[int64]string{} // run id -> status, read once per batch
	for _, dl := range ds {
		if dl.Status == model.DeliverySuccess || dl.Status == model.DeliveryFailed {
			continue // final already: a repeated job changes nothing
		}
		a := &attempt{d: dl}
		todo = append(todo, a)
		if dl.Kind == model.DeliveryCallback && dl.RunID != 0 {
			st, ok := statuses[dl.RunID]
			if !ok {
				if st, err = runStatus(ctx, d.DB.R, dl.RunID); err != nil {
					return err
				}
				statuses[dl.RunID] = st
			}
			if st == model.RunStopped && dl.Event != "final" {
				a.skip, a.reason = true, "run cancelled: no further callbacks"
				continue
			}
		}
		if _, ok := secrets[dl.WorkspaceID]; !ok {
			s, err := d.SigningSecret(ctx, dl.WorkspaceID)
			if err != nil {
				return err
			}
			secrets[dl.WorkspaceID] = s
		}
		if dl.RunID != 0 {
			if _, ok := headers[dl.RunID]; !ok {
				h, err := d.runHeaders(ctx, dl.RunID)
				if err != nil {
					return err
				}
				headers[dl.RunID] = h
			}
		}
	}
	parallel := max(d.Parallel, 1)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, a := range todo {
		if a.skip {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(a *attempt) {
			defer wg.Done()
			defer func() { <-sem }()
			// The host slot is taken just before sending, not for the whole
			// batch up front: taking 50 at once left a fast receiver's slots
			// held by one job while every other job deferred its batch.
			release, ok := d.acquireHost(ctx, fmt.Sprint(a.d.WorkspaceID, "|", delivery.HostKey(a.d.URL)))
			if !ok {
				a.deferred = true
				return
			}
			defer release()
			a.res = d.Sender.Send(ctx, delivery.Request{URL: a.d.URL, Headers: headers[a.d.RunID], Body: []byte(a.d.Payload),
				ID: a.d.RefUID, Secret: secrets[a.d.WorkspaceID]})
		}(a)
	}
	wg.Wait()
	done := todo[:0]
	for _, a := range todo {
		if a.deferred {
			deferred = append(deferred, a.d.ID)
		} else {
			done = append(done, a)
		}
	}
	todo = done
	return d.record(context.WithoutCancel(ctx), todo, deferred)
}

// hostWait is how long an attempt waits for a slot of a saturated receiver
// before it is deferred: long enough for a fast receiver's slots to turn
// over, short enough that a slow one holds no worker.
const hostWait = 250 * time.Millisecond

func (d *Dispatcher) acquireHost(ctx context.Context, key string) (func(), bool) {
	end := time.Now().Add(hostWait)
	for {
		if rel, ok := d.Hosts.TryAcquire(key); ok {
			return rel, true
		}
		if time.Now().After(end) || ctx.Err() != nil {
			return nil, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// record stores every attempt's outcome and schedules what comes next.
func (d *Dispatcher) record(ctx context.Context, todo []*attempt, deferred []int64) error {
	now := d.now()
	retries := map[int64][]int64{} // unix ms -> ids
	succeeded := map[int][]int64{} // HTTP status -> ids
	return d.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, a := range todo {
			upd := store.DeliveryAttempt{Retries: a.d.RetryCount}
			switch {
			case a.skip:
				upd.Status, upd.Error = model.DeliveryFailed, a.reason
			case a.res.Success():
				succeeded[a.res.HTTPStatus] = append(succeeded[a.res.HTTPStatus], a.d.ID)
				continue
			default:
				upd.HTTPStatus, upd.Error = a.res.HTTPStatus, resultError(a.res)
				upd.Retries = a.d.RetryCount + 1
				next, again := d.Schedule.NextAttempt(upd.Retries, a.res, now)
				if again {
					ms := store.Millis(next)
					upd.Status, upd.NextAt = model.DeliveryPending, &ms
					retries[ms] = append(retries[ms], a.d.ID)
				} else {
					upd.Status = model.DeliveryFailed
				}
			}
			if err := store.UpdateDelivery(ctx, tx, a.d.ID, upd); err != nil {
				return err
			}
		}
		for status, ids := range succeeded {
			if err := store.MarkDeliveriesSucceeded(ctx, tx, ids, status); err != nil {
				return err
			}
		}
		for ms, ids := range retries {
			if err := d.Queue.Deliveries(ctx, tx, ids, store.Time(ms)); err != nil {
				return err
			}
		}
		if len(deferred) > 0 {
			return d.Queue.Deliveries(ctx, tx, deferred, now.Add(time.Second))
		}
		return nil
	})
}

func resultError(r delivery.Result) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("receiver answered HTTP %d", r.HTTPStatus)
}

func runStatus(ctx context.Context, q store.Querier, runID int64) (string, error) {
	var st string
	err := q.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = $1`, runID).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return model.RunStopped, nil
	}
	return st, err
}

// runHeaders opens a run's sealed callback headers.
func (d *Dispatcher) runHeaders(ctx context.Context, runID int64) (map[string]string, error) {
	kid, sealed, err := store.RunCallbackHeaders(ctx, d.DB.R, runID)
	if err != nil || len(sealed) == 0 {
		return nil, err
	}
	plain, err := d.Keys.Open(kid, sealed, []byte("callback-headers"))
	if err != nil {
		return nil, err
	}
	var h map[string]string
	return h, json.Unmarshal(plain, &h)
}

// Replay sends a delivery again as a new child record with the same
// ref uid (callback_ref_uid / webhook-id), whatever its state.
func (d *Dispatcher) Replay(ctx context.Context, workspaceID int64, kind, uid string) (model.Delivery, error) {
	var child model.Delivery
	err := d.DB.Tx(ctx, func(tx *sql.Tx) error {
		orig, err := store.GetDelivery(ctx, tx, workspaceID, kind, uid)
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("delivery %s not found", uid)
		}
		if err != nil {
			return err
		}
		child = orig
		child.UID, child.ParentUID = uuid.NewString(), orig.UID
		id, err := store.InsertDelivery(ctx, tx, child)
		if err != nil {
			return err
		}
		if err := d.Queue.Deliveries(ctx, tx, []int64{id}, time.Time{}); err != nil {
			return err
		}
		child, err = store.GetDelivery(ctx, tx, workspaceID, kind, child.UID)
		return err
	})
	return child, err
}
