package schedules

// # Firing
//
// Every node runs the same loop: every PollInterval (250 ms) it asks for
// the ACTIVE schedules whose next_execution_at has passed, most overdue
// first, 500 at a time, and fires each in its own transaction:
//
//  1. Claim: UPDATE schedules SET next_execution_at = <next>, ... WHERE
//     id = $1 AND next_execution_at = <the value read> AND status = 'ACTIVE'.
//     Exactly one claimer matches the row. On PostgreSQL a second node
//     blocks on the row lock, re-reads the row after the first commits (READ
//     COMMITTED) and matches nothing; on SQLite writers are serial anyway.
//  2. Submit the ASYNC run (runs.Service.SubmitTx) in the same transaction,
//     and record it as last_run_uid.
//
// The claim and the run commit together or not at all, so a crash or a lost
// connection between the two leaves the schedule due and it fires again on
// the next tick; a committed claim always has its run. Hence exactly once
// per (schedule, firing time), with any number of nodes.
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
//   - Catch-up: a firing computes its slot with schedule.CatchUp from the
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
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/schedule"
	"github.com/firstmate-oss/firstmate/internal/store"
)

const (
	DefaultPollInterval = 250 * time.Millisecond
	DefaultParallel     = 8
	// batchSize is how many due schedules one query returns.
	batchSize = 500
)

// Stats counts what one FireDue call did.
type Stats struct {
	Fired   int // runs created (INVALID ones included)
	Skipped int // firings skipped: the previous run was still going
	Lost    int // claimed by another node (or edited) first
	Failed  int // errors; the schedule stays due and is retried
}

func (s *Service) parallel() int {
	if s.DB.Dialect == store.SQLite {
		return 1
	}
	if s.Parallel > 0 {
		return s.Parallel
	}
	return DefaultParallel
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
	var firstErr error
	for {
		due, err := store.DueSchedules(ctx, s.DB.R, now, batchSize)
		if err != nil {
			return st, err
		}
		if len(due) == 0 {
			return st, firstErr
		}
		// Two nodes reading the same batch would otherwise walk it in the
		// same order and queue on each other's row locks.
		rand.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
		var mu sync.Mutex
		progress := false
		work := make(chan store.DueSchedule)
		var wg sync.WaitGroup
		for w := 0; w < min(s.parallel(), len(due)); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range work {
					out, err := s.fire(ctx, d, now)
					mu.Lock()
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
					if err == nil {
						progress = true
					}
					mu.Unlock()
				}
			}()
		}
		for _, d := range due {
			work <- d
		}
		close(work)
		wg.Wait()
		if len(due) < batchSize || !progress || ctx.Err() != nil {
			return st, firstErr
		}
	}
}

// fire claims one due schedule and creates its run, in one transaction.
func (s *Service) fire(ctx context.Context, d store.DueSchedule, now time.Time) (outcome, error) {
	sc := d.Schedule
	claim := store.Claim{ID: sc.ID, Due: *sc.NextExecutionAt, Status: model.ScheduleActive, Now: now}
	spec, err := s.parse(sc.Cron, sc.ScheduleAt, sc.Timezone)
	fireAt, hasDue := time.Time{}, false
	switch {
	case err != nil:
		// The stored timing no longer parses (say an upgrade dropped a zone
		// from the allow-list): pause rather than retry forever.
		claim.Status = model.SchedulePaused
		s.log().Error("schedule paused: its timing no longer parses", "schedule_uid", sc.UID, "error", err)
	case spec.OneShot():
		fireAt, hasDue = claim.Due, true
		claim.Status = model.ScheduleCompleted
	default:
		cu := schedule.CatchUp(spec, claim.Due.Add(-time.Millisecond), now)
		fireAt, hasDue = cu.Due, cu.HasDue
		if cu.HasNext {
			claim.Next = &cu.Next
		} else {
			claim.Status = model.ScheduleCompleted
		}
	}
	// Overlap policy: skip. A one-shot is never skipped (it would complete
	// without ever running).
	skip := hasDue && !spec.OneShot() && sc.LastRunUID != "" && d.LastRunStatus != "" && !model.RunTerminal(d.LastRunStatus)
	if hasDue && !skip {
		claim.Executed = &fireAt
	}
	out := outLost
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		out = outLost
		ok, err := store.ClaimSchedule(ctx, tx, claim)
		if err != nil || !ok {
			return err
		}
		switch {
		case !hasDue:
			out = outMoved
			return nil
		case skip:
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
func (s *Service) submit(ctx context.Context, tx *sql.Tx, sc model.Schedule, now time.Time) (string, error) {
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
func (s *Service) invalidRun(ctx context.Context, tx *sql.Tx, sc model.Schedule, st stored, e *apperr.Error, now time.Time) (string, error) {
	params, _ := json.Marshal(st.Parameters)
	if st.Parameters == nil {
		params = []byte("{}")
	}
	r := model.Run{UID: uuid.NewString(), WorkspaceID: sc.WorkspaceID, WorkspaceUID: sc.WorkspaceUID, MemberUID: sc.MemberUID,
		ActionName: sc.ActionName, ExecutionMode: "ASYNC", Status: model.RunInvalid, IdentityMode: st.IdentityMode,
		IdentityUIDs: st.IdentityIDs, Parameters: string(params), CallbackURL: st.Callback.URL, CallbackOn: st.Callback.On,
		InputCount: len(st.Inputs), ScheduledRunUID: sc.UID, FinishedAt: &now,
		LastError: &model.RunError{Label: e.Label, Message: e.Message, Params: e.Params}}
	if r.IdentityMode == "" {
		r.IdentityMode = catalog.IdentityDirect
	}
	if _, err := store.InsertRun(ctx, tx, store.NewRun{Run: r}); err != nil {
		return "", err
	}
	s.log().Warn("schedule fired an INVALID run", "schedule_uid", sc.UID, "run_uid", r.UID, "error_label", e.Label,
		"error", e.Message)
	return r.UID, nil
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
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_, err := s.FireDue(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Back off while the database is unwell, up to 5 s.
			wait = min(max(wait*2, interval), 5*time.Second)
		default:
			wait = interval
		}
	}
}
