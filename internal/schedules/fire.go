package schedules

// # Firing
//
// Every node runs the same loop: every PollInterval (250 ms), or at the
// earliest next_execution_at when that comes sooner, it reads the ACTIVE
// schedules whose next_execution_at has passed, most overdue first, in one
// streamed query, cuts them as they arrive into batches (250 on PostgreSQL,
// several transactions in parallel; 2,000 on SQLite, one at a time),
// shuffled within windows of a few batches, and fires each batch in one
// transaction while the rest are still being read:
//
//  1. Lock (PostgreSQL): SELECT ... WHERE id = ANY(batch) ORDER BY id FOR
//     UPDATE SKIP LOCKED. Rows are locked in id order, so two batches never
//     wait on each other in a cycle; rows another node is firing right now
//     are skipped rather than waited for, so two nodes split a burst
//     between them. SQLite has one writer at a time and needs no lock.
//  2. Claim: for each locked row, the compare-and-set UPDATE schedules SET
//     next_execution_at = <next>, last_run_uid = <the new run's uid>, ...
//     WHERE id = <id> AND next_execution_at = <the value read> AND status =
//     'ACTIVE' (one UPDATE ... FROM unnest(arrays) on PostgreSQL, UPDATE ...
//     FROM (VALUES ...) on SQLite). A row that another node claimed and
//     committed since it was read matches nothing: lost, not fired.
//  3. Submit the ASYNC runs of the rows won (runs.Service.SubmitManyTx) in
//     the same transaction: multi-row INSERTs of the runs and their inputs.
//     On SQLite the batch admits them under the plan's cap (run_slots) and
//     enqueues the chunk jobs of those that start, in one River insert. On
//     PostgreSQL the batch inserts them QUEUED and takes no run_slots lock
//     (every finishing run of the workspace waits for that row, and the
//     batches of a burst used to wait for each other on it); a goroutine of
//     the round promotes their workspaces as soon as each batch commits
//     (runs.Service.Promote: one UPDATE, one read, one River insert under
//     the lock), and the round promotes once more before it returns. Every
//     sweepEvery the loop also promotes any workspace left with QUEUED runs
//     and free slots (runs.Service.PromoteWaiting), which covers a node that
//     stopped between a batch's commit and its promote.
//
// The claims and the runs commit together or not at all, so a crash or a
// lost connection leaves the batch due and it fires again on the next tick;
// a committed claim always has its run. Hence exactly once per (schedule,
// firing time), with any number of nodes. When a batch fails, its schedules
// are fired again one per transaction (claim, Service.SubmitTx, last run),
// so one bad schedule cannot hold the others back. When rows were skipped
// as locked, FireDue goes round once more waiting for those locks, so that
// when it returns every due schedule is committed, here or elsewhere.
//
// Why a poller rather than a River periodic job: River's periodic jobs are
// enqueued by the elected leader, so a firing would wait for the leader's
// tick, then for a worker to fetch the job (two hops, and a leader failover
// adds its election delay), and every tick would leave a job row behind
// (345,600 a day at 250 ms). The poll is one index range scan on
// schedules_due (status, next_execution_at) that returns only the due rows,
// so 10,000 idle schedules cost nothing, and every node fires in parallel
// instead of one leader doing all the work. The claim, not an election,
// keeps it exactly once.
//
// Policies (contract §6):
//   - Catch-up: a firing computes its slot with cron.CatchUp from the
//     stored next_execution_at to now. After downtime that is the most
//     recent missed slot, fired once; next_execution_at moves past now.
//   - Overlap, skip: when the run of the previous firing (last_run_uid) is
//     not terminal yet, the firing is skipped: next_execution_at advances
//     and no run is created.
//   - A one-shot completes (COMPLETED, no next_execution_at) when it fires.
//   - A run the stored request can no longer make (an identity deleted
//     since, a callback host now refused) is recorded as an INVALID run with
//     last_error, so the firing is visible under GET /runs?scheduled_run_uid=
//     and the schedule carries on.
//
// last_executed_at is the slot fired (e.g. 09:00:00), not the instant the
// poller got to it; runs.created_at has that.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/cron"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/store"
)

const (
	DefaultPollInterval = 250 * time.Millisecond
	DefaultParallel     = 8
	// txBatch is how many due schedules one transaction claims and fires
	// on PostgreSQL, several transactions in parallel. 10,000 schedules due
	// at the same second need >= 10,000 firings a second, which one
	// transaction per firing cannot reach. Since migration 00045 the
	// run_slots count no longer grows quadratically with the batch, but
	// 500 x 4 and 1,000 x 2 were still slower than 250 x 8 on a loaded
	// 2-core box (p99 3.9 and 6.4 s against 1.9-3.2 s, one run each):
	// smaller transactions overlap their CPU work and lock waits better.
	// The batches and the read of the due schedules run on connections of
	// their own (store.FiringTx), so at most five batches are open at once;
	// the others wait for a connection.
	txBatch = 250
	// txBatchSQLite is the same on SQLite, one transaction at a time. It is
	// larger because each transaction waits for the one write connection
	// behind the run workers' commits (database/sql hands it to a random
	// waiter): in a burst, the number of transactions, not their size,
	// sets the lag. 2,000 firings take ~150 ms of the writer.
	txBatchSQLite = 2000
)

// Stats counts what one FireDue call did.
type Stats struct {
	Fired   int // runs created (INVALID ones included)
	Skipped int // firings skipped: the previous run was still going
	Lost    int // claimed by another node (or edited) first
	Failed  int // errors; the schedule stays due and is retried
}

func (s *Stats) add(o Stats) {
	s.Fired += o.Fired
	s.Skipped += o.Skipped
	s.Lost += o.Lost
	s.Failed += o.Failed
}

func (s *Service) parallel() int {
	if !s.DB.ConcurrentWrites() {
		return 1
	}
	if s.Parallel > 0 {
		return s.Parallel
	}
	return DefaultParallel
}

func (s *Service) txBatch() int {
	if !s.DB.ConcurrentWrites() {
		return txBatchSQLite
	}
	return txBatch
}

type outcome int

const (
	outFired outcome = iota
	outSkipped
	outLost
	outMoved // next_execution_at corrected, nothing was due
)

// FireDue fires every schedule due at the clock's now. When it returns,
// each of them has been fired by this node or by another one (committed),
// except those whose firing failed (Stats.Failed, first error returned).
func (s *Service) FireDue(ctx context.Context) (Stats, error) {
	now := s.Now()
	var st Stats
	skipLocked := true
	var firstErr error
	for {
		before := st
		read, skipped, fireErr, err := s.fireRound(ctx, now, skipLocked, &st)
		if firstErr == nil {
			firstErr = fireErr
		}
		switch {
		case err != nil:
			return st, err
		case ctx.Err() != nil:
			return st, firstErr
		case skipped > 0:
			// Rows another transaction held were skipped: they are still
			// due or being fired elsewhere. Go round again and wait for
			// those locks this time, so that on return they are committed.
			skipLocked = false
		case read < roundLimit || st == before:
			return st, firstErr
		}
		// A backlog longer than one round: the next round reads what is
		// still due (the rows fired are not any more).
	}
}

// sweepEvery is how often the loop looks for workspaces with QUEUED runs
// and free slots (runs.Service.PromoteWaiting).
const sweepEvery = 5 * time.Second

// roundLimit bounds the rows one round reads (a backlog after downtime
// can be much longer than a burst; PostgreSQL sorts what it returns).
const roundLimit = 50_000

// fireRound reads the due schedules once and fires them in batches, the
// first batches while the rest are still being read (a burst of 10,000 is
// read while it is fired, not a page at a time between firings). It adds
// to st and returns how many rows it read, how many were skipped as
// locked, the first firing error and the read's error.
func (s *Service) fireRound(ctx context.Context, now time.Time, skipLocked bool, st *Stats) (read, skipped int, fireErr, err error) {
	var mu sync.Mutex
	var firstErr error
	// mine: the workspaces this round's batches queued runs in. The round
	// promotes them at its end even when another round of this node (the
	// loop, another caller) took them from toPromote first: that one's
	// Promote may not have committed yet, and FireDue promises the runs
	// are admitted when it returns.
	var mine []int64
	work := make(chan []store.DueSchedule)
	var wg sync.WaitGroup
	// The runs a batch left QUEUED (runs.SubmitManyTx: always on
	// PostgreSQL) are promoted as soon as the batch has committed, by one
	// goroutine beside the batches, so that a workspace's first runs start
	// while the rest of the burst is still firing; the round promotes once
	// more at its end, so that they are admitted when FireDue returns.
	kick := make(chan struct{}, 1)
	promoted := make(chan struct{})
	go func() {
		defer close(promoted)
		for range kick {
			_ = s.promoteQueued(ctx, nil) // failures are noted again and logged
		}
	}()
	for w := 0; w < s.parallel(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				bst, sk, queued, err := s.fireBatch(ctx, b, now, skipLocked)
				if err != nil && ctx.Err() == nil {
					// One bad schedule must not hold the others back:
					// fire the batch again one schedule at a time.
					s.log().Warn("schedule batch firing failed; firing one by one", "schedules", len(b), "error", err)
					bst, sk, err = s.fireEach(ctx, b, now)
				}
				select {
				case kick <- struct{}{}:
				default: // a promote is already due
				}
				mu.Lock()
				st.add(bst)
				skipped += sk
				mine = append(mine, queued...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	// The rows are cut into batches a window at a time, shuffled within
	// the window: two nodes reading the same rows in the same order would
	// otherwise cut them into the same batches and skip (or wait for) each
	// other's whole batches.
	window := s.txBatch() * s.parallel()
	var due []store.DueSchedule
	dispatch := func() {
		rand.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
		for i := 0; i < len(due); i += s.txBatch() {
			work <- due[i:min(i+s.txBatch(), len(due))]
		}
		due = nil
	}
	err = s.DB.DueSchedules(ctx, now, roundLimit, func(d store.DueSchedule) error {
		read++
		due = append(due, d)
		if len(due) == window {
			dispatch()
		}
		return ctx.Err()
	})
	if err == nil {
		dispatch()
	}
	close(work)
	wg.Wait()
	close(kick)
	<-promoted
	if perr := s.promoteQueued(ctx, mine); perr != nil && firstErr == nil {
		firstErr = perr
	}
	return read, skipped, firstErr, err
}

// fireEach fires a batch one schedule per transaction (the fallback when
// the batch's transaction failed).
func (s *Service) fireEach(ctx context.Context, ds []store.DueSchedule, now time.Time) (Stats, int, error) {
	var st Stats
	var firstErr error
	for _, d := range ds {
		out, err := s.fire(ctx, d, now)
		switch {
		case err != nil:
			st.Failed++
			if firstErr == nil {
				firstErr = err
			}
			s.log().Warn("schedule firing failed", "schedule_uid", d.UID, "error", err)
		case out == outFired:
			st.Fired++
		case out == outSkipped:
			st.Skipped++
		case out == outLost:
			st.Lost++
		}
	}
	return st, 0, firstErr
}

// firing is what firing one due schedule at now means, before the claim.
type firing struct {
	claim store.Claim
	// hasDue: a slot is due (otherwise only next_execution_at is moved).
	hasDue bool
	// skip: the overlap policy skips this slot.
	skip bool
}

func (f firing) fires() bool { return f.hasDue && !f.skip }

// plan computes a due schedule's claim: catch-up, the overlap policy, the
// one-shot completion, and a pause for a timing that no longer parses.
func (s *Service) plan(d store.DueSchedule, now time.Time) firing {
	sc := d.Schedule
	f := firing{claim: store.Claim{ID: sc.ID, Due: *sc.NextExecutionAt, Status: model.ScheduleActive, Now: now}}
	spec, err := s.parse(sc.Cron, sc.ScheduleAt, sc.Timezone)
	var fireAt time.Time
	switch {
	case err != nil:
		// The stored timing no longer parses (say an upgrade dropped a zone
		// from the allow-list): pause rather than retry forever.
		f.claim.Status = model.SchedulePaused
		s.log().Error("schedule paused: its timing no longer parses", "schedule_uid", sc.UID, "error", err)
	case spec.OneShot():
		fireAt, f.hasDue = f.claim.Due, true
		f.claim.Status = model.ScheduleCompleted
	default:
		cu := cron.CatchUp(spec, f.claim.Due.Add(-time.Millisecond), now)
		fireAt, f.hasDue = cu.Due, cu.HasDue
		if cu.HasNext {
			f.claim.Next = &cu.Next
		} else {
			f.claim.Status = model.ScheduleCompleted
		}
	}
	// Overlap policy: skip. A one-shot is never skipped (it would complete
	// without ever running).
	f.skip = f.hasDue && !spec.OneShot() && sc.LastRunUID != "" && d.LastRunStatus != "" &&
		!model.RunTerminal(d.LastRunStatus)
	if f.fires() {
		f.claim.Executed = &fireAt
	}
	return f
}

// fireBatch claims a batch of due schedules and creates their runs in one
// transaction: the rows are locked in id order (skipping those another
// transaction holds when skipLocked), claimed with one compare-and-set each,
// and the winners' runs, inputs and chunk jobs are inserted with multi-row
// statements (runs.SubmitManyTx). It returns the stats and how many rows it
// skipped as locked. Any error rolls the whole batch back.
func (s *Service) fireBatch(ctx context.Context, ds []store.DueSchedule, now time.Time, skipLocked bool) (Stats, int, []int64, error) {
	var b batchResult
	err := s.DB.FiringTx(ctx, func(tx *store.Tx) error {
		var err error
		b, err = s.fireBatchTx(ctx, tx, ds, now, skipLocked, false)
		return err
	})
	if err != nil {
		return Stats{}, 0, nil, err
	}
	s.notePromote(b.queued)
	return b.st, b.skipped, b.queued, nil
}

// batchResult is what fireBatchTx did in its transaction (valid once it
// commits).
type batchResult struct {
	st      Stats
	locked  int     // rows locked (and claimed, or lost)
	skipped int     // rows skipped as locked
	queued  []int64 // workspaces to promote after the commit
}

func (b *batchResult) add(o batchResult) {
	b.st.add(o.st)
	b.skipped += o.skipped
	b.locked += o.locked
	b.queued = append(b.queued, o.queued...)
}

// fireBatchTx is fireBatch's work inside tx. ahead: the firing is
// prepared before now, its due time, in a transaction that commits at now
// (Prepare); its runs are created at now.
func (s *Service) fireBatchTx(ctx context.Context, tx *store.Tx, ds []store.DueSchedule, now time.Time, skipLocked, ahead bool) (batchResult, error) {
	var b batchResult
	plans := make(map[int64]firing, len(ds))
	byID := make(map[int64]store.DueSchedule, len(ds))
	ids := make([]int64, len(ds))
	for i, d := range ds {
		f := s.plan(d, now)
		if f.fires() {
			f.claim.LastRunUID = uuid.NewString()
		}
		plans[d.ID], byID[d.ID], ids[i] = f, d, d.ID
	}
	locked, err := s.DB.LockSchedules(ctx, tx, ids, skipLocked)
	if err != nil {
		return b, err
	}
	b.locked = len(locked)
	if skipLocked {
		b.skipped = len(ids) - len(locked)
	}
	claims := make([]store.Claim, len(locked))
	for i, id := range locked {
		claims[i] = plans[id].claim
	}
	won, err := s.DB.ClaimSchedules(ctx, tx, claims)
	if err != nil {
		return b, err
	}
	var subs []runs.Submission
	var invalid []model.Run
	for _, id := range locked {
		f := plans[id]
		c, ok := won[id]
		switch {
		case !ok:
			b.st.Lost++
			continue
		case !f.hasDue:
			continue
		case f.skip:
			b.st.Skipped++
			continue
		}
		sc := byID[id].Schedule
		sc.Request, sc.CallbackHeadersKID, sc.CallbackHeaders = c.Request, c.CallbackHeadersKID, c.CallbackHeaders
		sub, inv, err := s.prepare(ctx, sc, f.claim.LastRunUID, now)
		if err != nil {
			return b, err
		}
		if sub != nil {
			if ahead {
				sub.CreatedAt = now
			}
			subs = append(subs, *sub)
		} else {
			if ahead {
				inv.CreatedAt = now
			}
			invalid = append(invalid, inv)
		}
		b.st.Fired++
	}
	_, b.queued, err = s.Runs.SubmitManyTx(ctx, tx, subs, invalid)
	return b, err
}

// notePromote remembers workspaces whose fired runs were left QUEUED
// without the run_slots lock (runs.SubmitManyTx); fireRound promotes them
// once its batches are committed.
func (s *Service) notePromote(ws []int64) {
	if len(ws) == 0 {
		return
	}
	s.promoteMu.Lock()
	defer s.promoteMu.Unlock()
	if s.toPromote == nil {
		s.toPromote = map[int64]bool{}
	}
	for _, id := range ws {
		s.toPromote[id] = true
	}
}

// promoteQueued admits what the rounds' batches left QUEUED without the
// lock, if slots freed meanwhile (see runs.SubmitManyTx): the workspaces
// noted so far, and also.
func (s *Service) promoteQueued(ctx context.Context, also []int64) error {
	s.promoteMu.Lock()
	ws := s.toPromote
	s.toPromote = nil
	s.promoteMu.Unlock()
	if ws == nil {
		ws = map[int64]bool{}
	}
	for _, id := range also {
		ws[id] = true
	}
	var firstErr error
	for id := range ws {
		if err := s.Runs.Promote(ctx, id); err != nil {
			s.log().Warn("promoting queued runs after firing failed", "workspace_id", id, "error", err)
			s.notePromote([]int64{id}) // tried again after the next round
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// prepare turns a claimed firing into its checked submission, or into the
// INVALID run that records why the stored request can no longer be made.
func (s *Service) prepare(ctx context.Context, sc model.Schedule, runUID string, now time.Time) (*runs.Submission, model.Run, error) {
	st, err := decodeStored(sc.Request)
	if err != nil {
		return nil, s.invalidRecord(sc, stored{}, apperr.Internal(fmt.Errorf("schedule %s: stored request: %w", sc.UID, err)),
			runUID, now), nil
	}
	a, ok := catalog.Get(sc.ActionName)
	if !ok {
		return nil, s.invalidRecord(sc, st, apperr.NotFound("unknown action %q", sc.ActionName), runUID, now), nil
	}
	p := model.Principal{WorkspaceID: sc.WorkspaceID, WorkspaceUID: sc.WorkspaceUID, MemberUID: sc.MemberUID}
	sub := runs.Submission{Principal: p, Action: a, Request: st.asyncRequest(), ScheduledRunUID: sc.UID,
		SealedHeadersKID: sc.CallbackHeadersKID, SealedHeaders: sc.CallbackHeaders, RunUID: runUID}
	if err := s.Runs.CheckSubmission(ctx, sub); err != nil {
		if ae, ok := apperr.As(err); ok && ae.Status < 500 {
			return nil, s.invalidRecord(sc, st, ae, runUID, now), nil
		}
		return nil, model.Run{}, err
	}
	return &sub, model.Run{}, nil
}

// fire claims one due schedule and creates its run, in one transaction.
func (s *Service) fire(ctx context.Context, d store.DueSchedule, now time.Time) (outcome, error) {
	f := s.plan(d, now)
	sc := d.Schedule
	out := outLost
	err := s.DB.FiringTx(ctx, func(tx *store.Tx) error {
		out = outLost
		ok, err := store.ClaimSchedule(ctx, tx, f.claim)
		if err != nil || !ok {
			return err
		}
		switch {
		case !f.hasDue:
			out = outMoved
			return nil
		case f.skip:
			out = outSkipped
			return nil
		}
		if err := store.ScheduleRequest(ctx, tx, &sc); err != nil {
			return err
		}
		runUID, err := s.submit(ctx, tx, sc, now)
		if err != nil {
			return err
		}
		out = outFired
		return store.SetScheduleLastRun(ctx, tx, sc.ID, runUID)
	})
	return out, err
}

// submit creates the firing's run in tx and returns its uid.
func (s *Service) submit(ctx context.Context, tx *store.Tx, sc model.Schedule, now time.Time) (string, error) {
	st, err := decodeStored(sc.Request)
	if err != nil {
		return s.invalidRun(ctx, tx, sc, stored{}, apperr.Internal(fmt.Errorf("schedule %s: stored request: %w", sc.UID, err)), now)
	}
	a, ok := catalog.Get(sc.ActionName)
	if !ok {
		return s.invalidRun(ctx, tx, sc, st, apperr.NotFound("unknown action %q", sc.ActionName), now)
	}
	p := model.Principal{WorkspaceID: sc.WorkspaceID, WorkspaceUID: sc.WorkspaceUID, MemberUID: sc.MemberUID}
	r, err := s.Runs.SubmitTx(ctx, tx, runs.Submission{Principal: p, Action: a, Request: st.asyncRequest(),
		ScheduledRunUID: sc.UID, SealedHeadersKID: sc.CallbackHeadersKID, SealedHeaders: sc.CallbackHeaders})
	if ae, ok := apperr.As(err); ok && ae.Status < 500 {
		// Refused before anything was written (SubmitTx validates first).
		return s.invalidRun(ctx, tx, sc, st, ae, now)
	}
	if err != nil {
		return "", err
	}
	return r.UID, nil
}

// invalidRun records a firing that could not make a run.
func (s *Service) invalidRun(ctx context.Context, tx *store.Tx, sc model.Schedule, st stored, e *apperr.Error, now time.Time) (string, error) {
	r := s.invalidRecord(sc, st, e, uuid.NewString(), now)
	if _, err := store.InsertRun(ctx, tx, store.NewRun{Run: r}); err != nil {
		return "", err
	}
	return r.UID, nil
}

// invalidRecord is the INVALID run of a firing whose request can no longer
// be made, with the error as its last_error.
func (s *Service) invalidRecord(sc model.Schedule, st stored, e *apperr.Error, uid string, now time.Time) model.Run {
	params, _ := json.Marshal(st.Parameters)
	if st.Parameters == nil {
		params = []byte("{}")
	}
	r := model.Run{UID: uid, WorkspaceID: sc.WorkspaceID, WorkspaceUID: sc.WorkspaceUID, MemberUID: sc.MemberUID,
		ActionName: sc.ActionName, ExecutionMode: "ASYNC", Status: model.RunInvalid, IdentityMode: st.IdentityMode,
		IdentityUIDs: st.IdentityIDs, Parameters: string(params), CallbackURL: st.Callback.URL, CallbackOn: st.Callback.On,
		InputCount: len(st.Inputs), ScheduledRunUID: sc.UID, FinishedAt: &now,
		LastError: &model.RunError{Label: e.Label, Message: e.Message, Params: e.Params}}
	if r.IdentityMode == "" {
		r.IdentityMode = catalog.IdentityDirect
	}
	s.log().Warn("schedule fired an INVALID run", "schedule_uid", sc.UID, "run_uid", r.UID, "error_label", e.Label,
		"error", e.Message)
	return r
}

// Start runs the firing loop until Stop or until ctx ends. Calling it on a
// running service does nothing.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	s.stop, s.done = cancel, make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop ends the loop and waits for it (bounded by ctx). A firing cut short
// rolls back whole and is fired by the next tick, here or on another node.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.done = nil, nil
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	interval := s.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	wait := interval
	var swept time.Time
	// prep is the preparation in flight (Prepare), for the due time
	// prepAt; prepared is the last due time one was started for.
	var prep chan struct{}
	var prepAt, prepared time.Time
	defer func() {
		if prep != nil {
			<-prep // it ends with ctx, its transactions rolled back
		}
	}()
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if prep != nil && !s.Now().Before(prepAt) {
			// Its commits are due: let them land before reading what is
			// due, or this round would find the prepared rows still due,
			// wait for their locks and lose them one by one.
			select {
			case <-prep:
			case <-ctx.Done():
				return
			}
			prep = nil
		}
		_, err := s.FireDue(ctx)
		if err == nil && time.Since(swept) >= sweepEvery {
			// Runs a firing left QUEUED whose promote never ran (the node
			// stopped between the batch's commit and the promote).
			swept = time.Now()
			if perr := s.Runs.PromoteWaiting(ctx); perr != nil && ctx.Err() == nil {
				s.log().Warn("promoting queued runs failed", "error", perr)
			}
		}
		if lead := s.prepareLead(); lead > 0 && err == nil && prep == nil && ctx.Err() == nil {
			now := s.Now()
			if next, ok, nerr := s.DB.NextDueAfter(ctx, now); nerr == nil && ok && next.Sub(now) <= lead && !next.Equal(prepared) {
				prep, prepAt, prepared = make(chan struct{}), next, next
				go func(ch chan struct{}) {
					defer close(ch)
					if _, perr := s.Prepare(ctx, next); perr != nil && ctx.Err() == nil {
						s.log().Warn("preparing schedule firings failed", "due", next, "error", perr)
					}
				}(prep)
			}
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Back off while the database is unwell, up to 5 s.
			wait = min(max(wait*2, interval), 5*time.Second)
		default:
			wait = s.untilNext(ctx, interval)
		}
	}
}

// untilNext is how long the loop sleeps: until the next firing time when
// it comes before the next tick, so that a burst due at 09:00:00 starts at
// 09:00:00 rather than up to a tick later. Schedules created or edited
// meanwhile (here or on another node) wait at most the tick.
func (s *Service) untilNext(ctx context.Context, interval time.Duration) time.Duration {
	next, ok, err := s.DB.NextDue(ctx)
	if err != nil || !ok {
		return interval
	}
	d := next.Sub(s.Now())
	if d <= 0 {
		// Still due after FireDue: failing, or just became due; no spin.
		return interval
	}
	return min(d+time.Millisecond, interval)
}
