package schedules

// # Firing prepared ahead of the due time (PostgreSQL)
//
// A burst (10,000 every-minute schedules due at 09:00:00) costs about
// 150-330 µs of CPU per firing, Firstmate and PostgreSQL together
// (bench/RESULTS.md, 2026-12-07): on two cores, at least 0.8-1.7 s of
// work, which made a lag p99 under 1 s out of reach whatever the code
// around it. But the firing time of a cron schedule is known long before
// it comes. So, a few seconds before it (PrepareLead), the loop does the
// whole firing of the schedules due at that instant, in transactions that
// it then holds open and commits at the due time:
//
//   - the same statements as a firing at the due time (fireBatchTx: lock
//     the rows, the compare-and-set claim, the runs and inputs), planned
//     for the due time (cron.CatchUp, the claim's updated_at, the runs'
//     created_at are the due time);
//   - nothing of it is visible before the commit, and the commit waits for
//     the due time on this node's clock (the clock every node's firing
//     uses); at the due time only the commits are left (a WAL flush each);
//   - the runs are promoted (admitted under the workspace's cap, their
//     chunks enqueued) after the commit, as for any firing on PostgreSQL:
//     no run starts before it is due.
//
// What stays as it was:
//   - Exactly once: the rows are locked and claimed with the same
//     compare-and-set, committed with their runs or not at all. Another node
//     preparing the same instant skips the rows this one holds (SKIP
//     LOCKED), so the nodes split the burst; a node firing them at the due
//     time (its own prepare failed, or it has none) waits for the lock and
//     then loses the claim. A prepared transaction that fails or is cut
//     (node stopped, connection lost) rolls back whole, and the schedules
//     are still due: the ordinary firing at the due time fires them.
//   - Overlap (skip): the status of the previous run is read when
//     preparing. Only schedules whose previous run is already terminal (or
//     that have none) are prepared: a run can become terminal before the due
//     time, never the reverse, so for those the decision at the due time
//     would be the same (fire). The others are left to the ordinary firing at
//     the due time, which decides then.
//   - Edits, pauses, deletes: a schedule's row is locked from its
//     preparation to the due time, so an edit made in those last seconds
//     waits for the firing's commit and applies after it, i.e. after the
//     firing, as an edit committed a moment after the due time always did.
//     The cost is that such an edit takes up to PrepareLead to answer.
//     Nothing else of the workspace waits: the prepared runs' foreign key
//     holds KEY SHARE on the workspace's row, which store.LockWorkspace's
//     FOR NO KEY UPDATE (an identity created, a member's role changed)
//     does not conflict with, and admission locks run_slots only.
//   - A burst whose preparation is not done by the due time commits what is
//     built at the due time and the rest as soon as it is built (a new
//     transaction per worker), created_at being then the insert's time.
//
// Not on SQLite: one writer at a time, a transaction held open for seconds
// would stop every other write of the node.

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// DefaultPrepareLead is how long before a due time the loop prepares its
// firings (PrepareLead when zero). At a load of 17 on the 2-core test box,
// 10,000 firings took 2.8 s to build (TestFiringCost); the lead also
// bounds how long an edit of a schedule due in the next seconds waits.
const DefaultPrepareLead = 5 * time.Second

// prepareTxs is how many transactions a preparation holds open at once,
// out of the node's firing connections (store.FiringTx): the others stay
// free for the ordinary firing of whatever else is due meanwhile.
const prepareTxs = 4

// prepareLead is how long before a due time its firings are prepared; 0
// when they are not (SQLite, or PrepareLead < 0).
func (s *Service) prepareLead() time.Duration {
	switch {
	case !s.DB.ConcurrentWrites() || s.PrepareLead < 0:
		return 0
	case s.PrepareLead == 0:
		return DefaultPrepareLead
	}
	return s.PrepareLead
}

// Prepare fires the schedules due exactly at `at` (a time after now) in
// transactions committed at `at`, as the package comment above describes,
// and returns once they are committed or rolled back. The schedules it does
// not prepare (previous run still going, a row another node holds, a
// transaction that failed) are left due, for the ordinary firing at `at`.
// A no-op on SQLite.
func (s *Service) Prepare(ctx context.Context, at time.Time) (Stats, error) {
	if !s.DB.ConcurrentWrites() {
		return Stats{}, nil
	}
	var due []store.DueSchedule
	err := s.DB.SchedulesDueAt(ctx, at, roundLimit, func(d store.DueSchedule) error {
		// Only what would fire at `at` whatever happens until then: the
		// previous run already terminal (or none), a timing that parses.
		if d.LastRunUID == "" || d.LastRunStatus == "" || model.RunTerminal(d.LastRunStatus) {
			if _, err := s.parse(d.Cron, d.ScheduleAt, d.Timezone); err == nil {
				due = append(due, d)
			}
		}
		return ctx.Err()
	})
	if err != nil || len(due) == 0 {
		return Stats{}, err
	}
	// Shuffled, as in fireRound: two nodes preparing the same instant
	// would otherwise lock the same rows in the same order.
	rand.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	work := make(chan []store.DueSchedule, len(due)/s.txBatch()+1)
	for i := 0; i < len(due); i += s.txBatch() {
		work <- due[i:min(i+s.txBatch(), len(due))]
	}
	close(work)
	var mu sync.Mutex
	var total Stats
	var firstErr error
	var mine []int64 // workspaces to promote once committed
	var wg sync.WaitGroup
	for range min(prepareTxs, len(work)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				res, n, more, err := s.prepareTx(ctx, work, at)
				mu.Lock()
				switch {
				case err == nil:
					total.add(res.st)
					mine = append(mine, res.queued...)
				case firstErr == nil && ctx.Err() == nil:
					firstErr = err
				}
				mu.Unlock()
				switch {
				case err == nil:
					s.notePromote(res.queued)
				case ctx.Err() == nil:
					// Rolled back: those schedules are still due and the
					// ordinary firing at `at` fires them.
					s.log().Warn("preparing schedule firings failed; they fire at their due time", "due", at,
						"batches", n, "error", err)
				}
				if !more || n == 0 || ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := s.promoteQueued(ctx, mine); err != nil && firstErr == nil {
		firstErr = err
	}
	return total, firstErr
}

// prepareTx is one transaction of a preparation: it fires batches taken
// from work, planned at `at`, until work is empty or `at` has come (then
// what is built commits at once and the caller starts another), waits for
// `at`, and commits. It returns what the batches did, how many it took,
// and whether work may still hold some.
func (s *Service) prepareTx(ctx context.Context, work <-chan []store.DueSchedule, at time.Time) (batchResult, int, bool, error) {
	var mine [][]store.DueSchedule
	var res batchResult
	more := true
	err := s.DB.FiringTx(ctx, func(tx *store.Tx) error {
		res = batchResult{}
		for i := 0; ; i++ {
			var b []store.DueSchedule
			if i < len(mine) {
				b = mine[i] // a retried transaction does its batches again
			} else {
				if i > 0 && !s.Now().Before(at) {
					break // due: commit what is built
				}
				var ok bool
				if b, ok = <-work; !ok {
					more = false
					break
				}
				mine = append(mine, b)
			}
			r, err := s.fireBatchTx(ctx, tx, b, at, true, true)
			if err != nil {
				return err
			}
			res.add(r)
		}
		if len(mine) == 0 {
			return nil
		}
		if f := s.onPrepared; f != nil {
			f(res.locked)
		}
		return s.waitUntil(ctx, at)
	})
	return res, len(mine), more, err
}

// waitUntil returns when the service's clock reaches at (or ctx ends). It
// reads the clock at least every 50 ms, so that a test's injected clock
// moving past at releases it.
func (s *Service) waitUntil(ctx context.Context, at time.Time) error {
	for {
		d := at.Sub(s.Now())
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(min(d, 50*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
