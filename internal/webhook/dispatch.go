// Package webhook sends stored deliveries (run callbacks and integration
// webhooks): it signs each attempt with the workspace secret, keeps one slow
// receiver from holding up others, records every attempt and schedules the
// next one on the retry schedule. The wire work (signing, SSRF-safe dialing,
// timeouts, the retry schedule, the per-receiver limiter) is in webhook/send,
// which knows nothing of the database; this package depends on it, never the
// reverse.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// Queue schedules delivery attempts in the caller's transaction.
type Queue interface {
	Deliveries(ctx context.Context, tx *store.Tx, ids []int64, at time.Time) error
}

type Dispatcher struct {
	DB       *store.Store
	Keys     *secret.Keyring
	Sender   *send.Sender
	Schedule send.Schedule
	// Hosts bounds in-flight attempts per (workspace, receiver host), so a
	// slow receiver occupies a few workers at most; the rest are deferred.
	Hosts *send.HostLimiter
	Queue Queue
	// SigningSecret returns a workspace's whsec_ secret.
	SigningSecret func(ctx context.Context, workspaceID int64) (string, error)
	Now           func() time.Time
	// Parallel is how many attempts one batch sends at once.
	Parallel int
	// Observe, when set, is told of every attempt sent: the delivery's
	// kind, "success" or "failure", and how long the receiver took
	// (metrics).
	Observe func(kind, outcome string, took time.Duration)
	// Tracer, when set, makes a span of every attempt, whose context the
	// request carries in its traceparent header (nil: tracing is off).
	Tracer trace.Tracer

	rec recorder
}

// recorder commits the outcomes of the attempts of every job of the
// process together (group commit): an answered callback is recorded within
// about one transaction, however many jobs send at once.
type recorder struct {
	mu      sync.Mutex
	queue   []*attempt
	running int // goroutines committing; they exit when the queue is empty
}

const (
	// maxRecorders bounds the transactions recording attempts at once (on
	// PostgreSQL, store.RecordTx's own connections).
	maxRecorders = 2
	// maxRecordBatch bounds the outcomes of one transaction.
	maxRecordBatch = 500
)

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// What happened to a delivery in one pass.
type outcome int

const (
	// sent: an attempt was made; res tells how it went.
	sent outcome = iota
	// skipped: not sent, and never will be (its run was cancelled, its
	// headers cannot be opened); reason goes to last_error.
	skipped
	// deferred: not sent now, with no attempt counted (its receiver stayed
	// saturated, the job had too little time left, or the process is
	// stopping): it goes to a new job a second later.
	deferred
	// waiting: a final callback whose run's batch callbacks have not all
	// had their first attempt yet; it is looked at again after wait.
	waiting
	// unsent: left as it is, because recording an earlier attempt of the
	// pass failed; the job runs again.
	unsent
)

type attempt struct {
	d      model.Delivery
	res    send.Result
	out    outcome
	reason string        // skipped
	wait   time.Duration // waiting
	// recorded is closed once the attempt's outcome is committed (or its
	// recording failed, recErr), so its slot goes to the next delivery only
	// then; deadline bounds the recording.
	recorded chan struct{}
	recErr   error
	deadline time.Time
	// trace is the attempt's span context (tracing on): the job of its
	// next attempt continues that trace.
	trace trace.SpanContext
}

const (
	// dueSlack: a FAILED delivery is due when its next attempt is at most
	// this far ahead, for clocks that differ a little between nodes. A job
	// that runs earlier (a rescued one holding the same id) leaves it to the
	// job scheduled for it.
	dueSlack = 2 * time.Second
	// finalWaitMin and finalWaitMax bound how long a final callback that
	// waits for its run's batch callbacks sleeps before it looks again: a
	// quarter of how long it has waited so far, within these bounds.
	finalWaitMin = 50 * time.Millisecond
	finalWaitMax = 5 * time.Second
	// FinalWaitLimit is how long a final callback waits for its run's batch
	// callbacks' first attempts at most; then it is sent anyway. The first
	// attempts of a large run to a slow receiver take hours; a batch
	// callback that never gets one would otherwise hold the final forever.
	FinalWaitLimit = 24 * time.Hour
	// recordGrace is how long after its job's deadline a pass may still
	// take to record what it sent: the job layer rescues a job only well
	// after that.
	recordGrace = 2 * time.Second
)

// due reports whether a delivery is waiting for an attempt: PENDING (none
// finished yet), or FAILED with its next attempt due. A SUCCESS, or a
// FAILED one without a next attempt, is final.
func due(dl model.Delivery, now time.Time) bool {
	switch dl.Status {
	case model.DeliveryPending, model.DeliveryRunning:
		return true
	case model.DeliveryFailed:
		return dl.NextAttemptAt != nil && !dl.NextAttemptAt.After(now.Add(dueSlack))
	}
	return false
}

// isFinal reports a run's final callback (not a replay of it).
func isFinal(dl model.Delivery) bool {
	return dl.Kind == model.DeliveryCallback && dl.Event == "final" && dl.ParentUID == ""
}

// Deliver makes one attempt for each of the deliveries that is due.
// Deliveries whose receiver is saturated are deferred by a second; a final
// callback that must wait for its run's batch callbacks goes to a new job.
func (d *Dispatcher) Deliver(ctx context.Context, ids []int64) error {
	_, err := d.deliver(ctx, ids, false)
	return err
}

// Work is Deliver for the job that holds ids. When the only deliveries due
// are final callbacks waiting for their runs' batch callbacks, it changes
// nothing and returns how long the job should sleep before it runs again.
func (d *Dispatcher) Work(ctx context.Context, ids []int64) (time.Duration, error) {
	return d.deliver(ctx, ids, true)
}

func (d *Dispatcher) deliver(ctx context.Context, ids []int64, snooze bool) (time.Duration, error) {
	now := d.now()
	ds, err := d.DB.GetDeliveriesByID(ctx, ids)
	if err != nil {
		return 0, err
	}
	var todo, held []*attempt // held: skipped or waiting, recorded before anything is sent
	secrets := map[int64]string{}
	headers := map[int64]map[string]string{}
	badHeaders := map[int64]string{} // run id -> why its headers cannot be used
	statuses := map[int64]string{}   // run id -> status, read once per batch
	var jobTrace trace.SpanContext   // what is not sent now stays in the job's trace
	if d.Tracer != nil {
		jobTrace = trace.SpanContextFromContext(ctx)
	}
	for _, dl := range ds {
		if !due(dl, now) {
			continue // final already, or its own job comes later: a repeated job changes nothing
		}
		a := &attempt{d: dl, trace: jobTrace}
		if dl.Kind == model.DeliveryCallback && dl.RunID != 0 {
			st, ok := statuses[dl.RunID]
			if !ok {
				if st, err = d.runStatus(ctx, dl.RunID); err != nil {
					return 0, err
				}
				statuses[dl.RunID] = st
			}
			if st == model.RunStopped && dl.Event != "final" {
				a.out, a.reason = skipped, "run cancelled: no further callbacks"
				held = append(held, a)
				continue
			}
			if isFinal(dl) && dl.Status == model.DeliveryPending {
				wait, err := d.finalWait(ctx, dl, now)
				if err != nil {
					return 0, err
				}
				if wait > 0 {
					a.out, a.wait = waiting, wait
					held = append(held, a)
					continue
				}
			}
		}
		if _, ok := secrets[dl.WorkspaceID]; !ok {
			s, err := d.SigningSecret(ctx, dl.WorkspaceID)
			if err != nil {
				return 0, err
			}
			secrets[dl.WorkspaceID] = s
		}
		if dl.RunID != 0 {
			if _, ok := headers[dl.RunID]; !ok {
				h, err := d.runHeaders(ctx, dl.RunID)
				var bad *unreadableHeaders
				switch {
				case errors.As(err, &bad):
					// A key no longer in the keyring: no retry can send these
					// headers. Failing the delivery says so and lets it be
					// replayed once the key is back.
					badHeaders[dl.RunID] = "the run's callback headers cannot be decrypted: " + bad.err.Error()
				case err != nil:
					// The database or the job's context (its node stopping or
					// losing its lease, PostgreSQL restarting): the job
					// fails and is retried. Failing the deliveries here lost
					// their callbacks for good (the chaos suite: 11 to 25 a
					// run, "context canceled").
					return 0, err
				}
				headers[dl.RunID] = h
			}
			if why, bad := badHeaders[dl.RunID]; bad {
				a.out, a.reason = skipped, why
				held = append(held, a)
				continue
			}
		}
		todo = append(todo, a)
	}
	if snooze && len(todo) == 0 && len(held) > 0 {
		wait := time.Duration(0)
		for _, a := range held {
			if a.out != waiting {
				wait = 0
				break
			}
			if wait == 0 || a.wait < wait {
				wait = a.wait
			}
		}
		if wait > 0 {
			return wait, nil
		}
	}
	recordCtx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		recordCtx, cancel = context.WithDeadline(recordCtx, dl.Add(recordGrace))
		defer cancel()
	}
	if len(held) > 0 {
		if err := d.record(recordCtx, held); err != nil {
			return 0, err
		}
	}
	return 0, d.send(ctx, recordCtx, todo, secrets, headers)
}

// finalWait says how long a final callback must still wait for its run's
// batch callbacks to have had their first attempt (0: send it now).
func (d *Dispatcher) finalWait(ctx context.Context, dl model.Delivery, now time.Time) (time.Duration, error) {
	age := now.Sub(dl.CreatedAt)
	if age >= FinalWaitLimit {
		return 0, nil
	}
	pending, err := d.DB.RunHasUnattemptedBatches(ctx, dl.RunID)
	if err != nil || !pending {
		return 0, err
	}
	return min(max(age/4, finalWaitMin), finalWaitMax), nil
}

// send makes the attempts, Parallel at a time, each recorded as soon as it
// ends (with the outcomes of other jobs' attempts, see recorder). A slot
// takes its next delivery only once its attempt is recorded, and the
// receiver's slot is given back only then too: a crash loses the outcome
// of at most Hosts' limit of attempts per receiver, and those are what is
// sent twice (contract §7: at least once).
func (d *Dispatcher) send(ctx, recordCtx context.Context, todo []*attempt, secrets map[int64]string,
	headers map[int64]map[string]string) error {
	if len(todo) == 0 {
		return nil
	}
	deadline, _ := recordCtx.Deadline()
	var failed atomic.Bool
	var errOnce sync.Once
	var recErr error
	sem := make(chan struct{}, max(d.Parallel, 1))
	var wg sync.WaitGroup
	for _, a := range todo {
		a.recorded, a.deadline = make(chan struct{}), deadline
		sem <- struct{}{}
		wg.Add(1)
		go func(a *attempt) {
			defer wg.Done()
			defer func() { <-sem }()
			release := d.attempt(ctx, a, &failed, secrets, headers)
			defer release()
			if a.out == unsent {
				return
			}
			d.submitRecord(a)
			<-a.recorded
			if a.recErr != nil {
				failed.Store(true)
				errOnce.Do(func() { recErr = a.recErr })
			}
		}(a)
	}
	wg.Wait()
	return recErr
}

// submitRecord queues an attempt's outcome for the recorder, starting one
// if fewer than maxRecorders run.
func (d *Dispatcher) submitRecord(a *attempt) {
	r := &d.rec
	r.mu.Lock()
	r.queue = append(r.queue, a)
	start := r.running < maxRecorders
	if start {
		r.running++
	}
	r.mu.Unlock()
	if start {
		go d.recordLoop()
	}
}

// recordLoop commits what is queued, in batches, until the queue is empty.
func (d *Dispatcher) recordLoop() {
	r := &d.rec
	for {
		r.mu.Lock()
		n := min(len(r.queue), maxRecordBatch)
		if n == 0 {
			r.running--
			r.mu.Unlock()
			return
		}
		batch := append([]*attempt(nil), r.queue[:n]...)
		r.queue = r.queue[n:]
		if len(r.queue) == 0 {
			r.queue = nil // let the backing array go
		}
		r.mu.Unlock()
		// An outcome whose job is past its time is not recorded any more:
		// the job may be rescued, and its delivery sent again, any moment.
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		now := time.Now()
		var earliest time.Time
		live := batch[:0:0]
		for _, a := range batch {
			if !a.deadline.IsZero() && !a.deadline.After(now) {
				a.recErr = fmt.Errorf("webhook: the job's time ran out before its attempt was recorded")
				close(a.recorded)
				continue
			}
			live = append(live, a)
			if !a.deadline.IsZero() && (earliest.IsZero() || a.deadline.Before(earliest)) {
				earliest = a.deadline
			}
		}
		batch = live
		if len(batch) == 0 {
			continue
		}
		if !earliest.IsZero() {
			ctx, cancel = context.WithDeadline(ctx, earliest)
		}
		err := d.record(ctx, batch)
		cancel()
		for _, a := range batch {
			a.recErr = err
			close(a.recorded)
		}
	}
}

// attempt sends one delivery, unless it has to wait. It returns the
// release of the receiver's slot, which the caller calls once the outcome
// is recorded: a receiver thus has at most Hosts' limit of callbacks in
// flight or answered but not yet recorded, and a crash sends at most that
// many of them again.
func (d *Dispatcher) attempt(ctx context.Context, a *attempt, failed *atomic.Bool, secrets map[int64]string,
	headers map[int64]map[string]string) (release func()) {
	if failed.Load() {
		a.out = unsent
		return func() {}
	}
	// An attempt cut short by the job's own deadline would look like a
	// failure of the receiver's; one that cannot have its full time goes
	// to the next job instead.
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d.Sender.Timeout() {
		a.out = deferred
		return func() {}
	}
	// The host slot is taken just before sending, not for the whole batch
	// up front: taking 50 at once left a fast receiver's slots held by one
	// job while every other job deferred its batch.
	release, ok := d.Hosts.Acquire(ctx, fmt.Sprint(a.d.WorkspaceID, "|", send.HostKey(a.d.URL)), hostWait)
	if !ok {
		a.out = deferred
		return func() {}
	}
	var span trace.Span
	if d.Tracer != nil {
		ctx, span = d.startSpan(ctx, a)
		a.trace = span.SpanContext()
	}
	a.res = d.Sender.Send(ctx, send.Request{URL: a.d.URL, Headers: headers[a.d.RunID], Body: []byte(a.d.Payload),
		ID: a.d.RefUID, Secret: secrets[a.d.WorkspaceID]})
	a.out = sent
	outcome := "failure"
	if a.res.Success() {
		outcome = "success"
	}
	if errors.Is(a.res.Err, send.ErrCanceled) {
		a.out, outcome = deferred, "deferred" // the process is stopping: the attempt says nothing about the receiver
	} else if d.Observe != nil {
		d.Observe(a.d.Kind, outcome, a.res.Duration)
	}
	if span != nil {
		endSpan(span, a.res, outcome)
	}
	return release
}

// startSpan opens the span of one attempt. It names the delivery and the
// receiver's host, never the URL (its path or query may hold a token), the
// payload or the user's headers.
func (d *Dispatcher) startSpan(ctx context.Context, a *attempt) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{attribute.String("firstmate.delivery.kind", a.d.Kind),
		attribute.String("firstmate.delivery.uid", a.d.UID), attribute.String("firstmate.delivery.event", a.d.Event),
		attribute.Int("firstmate.delivery.attempt", attemptNumber(a.d)),
		attribute.String("firstmate.workspace_uid", a.d.WorkspaceUID), attribute.String("http.request.method", "POST")}
	if a.d.RunUID != "" {
		attrs = append(attrs, attribute.String("firstmate.run_uid", a.d.RunUID))
	}
	if u, err := url.Parse(a.d.URL); err == nil && u.Hostname() != "" {
		attrs = append(attrs, attribute.String("server.address", u.Hostname()))
	}
	return d.Tracer.Start(ctx, a.d.Kind+" send", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endSpan records an attempt's outcome: the receiver's status code, and
// for a failure the kind of error (never its text, which quotes the URL).
func endSpan(span trace.Span, res send.Result, outcome string) {
	span.SetAttributes(attribute.String("firstmate.delivery.outcome", outcome))
	if res.HTTPStatus != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", res.HTTPStatus))
	}
	if outcome == "failure" {
		kind := sendErrorKind(res)
		span.SetAttributes(attribute.String("error.type", kind))
		span.SetStatus(codes.Error, kind)
	}
	span.End()
}

// sendErrorKind names a failed attempt's error without its text.
func sendErrorKind(res send.Result) string {
	for _, k := range []struct {
		err  error
		name string
	}{{send.ErrTimeout, "timeout"}, {send.ErrConnection, "connection"}, {send.ErrRedirect, "redirect"},
		{send.ErrForbiddenAddress, "forbidden_address"}, {send.ErrInvalidRequest, "invalid_request"},
		{send.ErrCanceled, "canceled"}} {
		if errors.Is(res.Err, k.err) {
			return k.name
		}
	}
	if res.Err != nil {
		return "error"
	}
	return strconv.Itoa(res.HTTPStatus)
}

// hostWait is how long an attempt waits for a slot of a saturated receiver
// before it is deferred: long enough for a fast receiver's slots to turn
// over, short enough that a slow one holds no worker.
const hostWait = 250 * time.Millisecond

// record stores the outcomes of a pass and schedules what comes next.
// Successes, the common outcome, take one statement per answer status (no
// transaction: each row stands alone); the rest one transaction, since a
// retry's job is enqueued with it.
//
// A delivery's status says how its last attempt went: PENDING until the
// first one ends, then SUCCESS, or FAILED with next_attempt_at while the
// schedule has attempts left (null once it has none). retry_count is the
// number of attempts after the first.
func (d *Dispatcher) record(ctx context.Context, batch []*attempt) error {
	now := d.now()
	succeeded := map[int][]int64{} // HTTP status -> ids
	var rest []*attempt
	for _, a := range batch {
		switch {
		case a.out == unsent:
		case a.out == sent && a.res.Success():
			succeeded[a.res.HTTPStatus] = append(succeeded[a.res.HTTPStatus], a.d.ID)
		default:
			rest = append(rest, a)
		}
	}
	for status, ids := range succeeded {
		if err := store.MarkDeliveriesSucceeded(ctx, d.DB.Recorder(), ids, status); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		return nil
	}
	// The next attempts' jobs are grouped by time and by the trace of the
	// attempt before (one group per time when tracing is off), so that
	// each job continues its deliveries' trace.
	type next struct {
		ms  int64
		tid trace.TraceID
		sid trace.SpanID
	}
	type group struct {
		trace trace.SpanContext
		at    time.Time
		ids   []int64
	}
	groups := map[next]*group{}
	add := func(a *attempt, at time.Time) {
		k := next{store.Millis(at), a.trace.TraceID(), a.trace.SpanID()}
		g := groups[k]
		if g == nil {
			g = &group{trace: a.trace, at: at}
			groups[k] = g
		}
		g.ids = append(g.ids, a.d.ID)
	}
	return d.DB.RecordTx(ctx, func(tx *store.Tx) error {
		clear(groups)
		for _, a := range rest {
			switch a.out {
			case deferred:
				add(a, now.Add(time.Second))
			case waiting:
				add(a, now.Add(a.wait))
			case skipped:
				if err := store.StopDelivery(ctx, tx, a.d.ID, a.reason); err != nil {
					return err
				}
			case sent:
				n := attemptNumber(a.d)
				upd := store.DeliveryAttempt{Status: model.DeliveryFailed, HTTPStatus: a.res.HTTPStatus,
					Error: resultError(a.res), Retries: n - 1}
				if at, again := d.Schedule.NextAttempt(n, a.res, now); again {
					ms := store.Millis(at)
					upd.NextAt = &ms
					add(a, store.Time(ms))
				}
				if err := store.UpdateDelivery(ctx, tx, a.d.ID, upd); err != nil {
					return err
				}
			}
		}
		for _, g := range groups {
			if err := d.Queue.Deliveries(withTrace(ctx, g.trace), tx, g.ids, g.at); err != nil {
				return err
			}
		}
		return nil
	})
}

// withTrace is ctx in the trace of sc, when sc is one.
func withTrace(ctx context.Context, sc trace.SpanContext) context.Context {
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithSpanContext(ctx, sc)
}

// attemptNumber is the 1-based number of the attempt just made on dl, as
// loaded before it: none had finished while it was PENDING, and a FAILED
// delivery with retry_count r had made r+1.
func attemptNumber(dl model.Delivery) int {
	if dl.Status == model.DeliveryPending || dl.Status == model.DeliveryRunning {
		return 1
	}
	return dl.RetryCount + 2
}

func resultError(r send.Result) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("receiver answered HTTP %d", r.HTTPStatus)
}

// runStatus reads a run's status; a run deleted meanwhile counts as stopped.
func (d *Dispatcher) runStatus(ctx context.Context, runID int64) (string, error) {
	st, ok, err := d.DB.RunStatus(ctx, runID)
	if err == nil && !ok {
		return model.RunStopped, nil
	}
	return st, err
}

// unreadableHeaders is runHeaders' error when the stored headers cannot be
// opened (their key is not in the keyring) or read: no retry helps.
type unreadableHeaders struct{ err error }

func (u *unreadableHeaders) Error() string { return u.err.Error() }

// runHeaders opens a run's sealed callback headers. An error reading them
// is returned as it is (a retry may succeed); one opening them is an
// *unreadableHeaders.
func (d *Dispatcher) runHeaders(ctx context.Context, runID int64) (map[string]string, error) {
	kid, sealed, err := d.DB.RunCallbackHeaders(ctx, runID)
	if err != nil || len(sealed) == 0 {
		return nil, err
	}
	plain, err := d.Keys.Open(kid, sealed, []byte("callback-headers"))
	if err != nil {
		return nil, &unreadableHeaders{err}
	}
	var h map[string]string
	if err := json.Unmarshal(plain, &h); err != nil {
		return nil, &unreadableHeaders{err}
	}
	return h, nil
}

// Replay sends a delivery again as a new child record with the same
// ref uid (callback_ref_uid / webhook-id), whatever its state. A delivery
// still retrying stops: the child takes over, so that one record at most
// goes on retrying a message.
func (d *Dispatcher) Replay(ctx context.Context, workspaceID int64, kind, uid string) (model.Delivery, error) {
	var child model.Delivery
	err := d.DB.Tx(ctx, func(tx *store.Tx) error {
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
		if orig.Status == model.DeliveryFailed && orig.NextAttemptAt != nil {
			reason := "retries stopped: replayed as " + child.UID
			if orig.LastError != "" {
				reason = orig.LastError + "; " + reason
			}
			if err := store.StopDelivery(ctx, tx, orig.ID, reason); err != nil {
				return err
			}
		}
		if err := d.Queue.Deliveries(ctx, tx, []int64{id}, time.Time{}); err != nil {
			return err
		}
		child, err = store.GetDelivery(ctx, tx, workspaceID, kind, child.UID)
		return err
	})
	return child, err
}

// Deliveries lists a workspace's deliveries of a kind.
func (d *Dispatcher) Deliveries(ctx context.Context, workspaceID int64, f store.DeliveryFilter) ([]model.Delivery, error) {
	return d.DB.Deliveries(ctx, workspaceID, f)
}

// Delivery reads one of a workspace's deliveries; apperr NOT_FOUND when it
// has none of that kind and uid.
func (d *Dispatcher) Delivery(ctx context.Context, workspaceID int64, kind, uid string) (model.Delivery, error) {
	dl, err := d.DB.Delivery(ctx, workspaceID, kind, uid)
	if errors.Is(err, store.ErrNotFound) {
		return model.Delivery{}, apperr.NotFound("delivery %s not found", uid)
	}
	return dl, err
}
