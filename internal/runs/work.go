package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/dataplane"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Outcome tells the job layer what to do after a chunk.
type Outcome struct {
	// Retry asks for the chunk to run again after the delay (transient
	// errors, Smart Limit postponement, a busy account).
	Retry time.Duration
}

// inputResult is what working one input produced, before it is committed.
type inputResult struct {
	in      store.Input
	results []json.RawMessage // encoded as soon as fetched (fetched.results)
	per     int64             // price of one result, by the account that ran it
	err     *apperr.Error     // permanent failure
}

// WorkChunk works the pending inputs of one chunk, then commits their
// outputs, charges, callbacks and the run's progress in one transaction.
// Running it twice for the same chunk changes nothing the second time: only
// inputs still PENDING at commit are recorded.
func (s *Service) WorkChunk(ctx context.Context, runID int64, chunk int) (Outcome, error) {
	return s.workChunk(ctx, runID, chunk, false)
}

// ResumeChunk works a chunk taken over from a dead node (jobs/nodes.go) as
// WorkChunk does, with two differences that bring the run's outputs back
// sooner: its calls go before this node's other async calls in the
// in-flight budget (engine.Class.Resumed), and the first input that
// succeeds is committed at once, in a transaction of its own, rather than
// with the rest of the pass when the last call is done (at a busy node's
// pace, a pass lasts many seconds). Both commits record only inputs still
// PENDING, like any two passes: exactly-once is unchanged, at the cost of
// one more transaction per pass of a taken-over chunk.
func (s *Service) ResumeChunk(ctx context.Context, runID int64, chunk int) (Outcome, error) {
	return s.workChunk(ctx, runID, chunk, true)
}

func (s *Service) workChunk(ctx context.Context, runID int64, chunk int, resumed bool) (Outcome, error) {
	began := time.Now()
	run, err := s.DB.GetRunByID(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{}, nil // deleted with its workspace
	}
	if err != nil {
		return Outcome{}, err
	}
	if run.Status != model.RunRunning {
		return Outcome{}, nil // cancelled, blocked or finished: resume re-enqueues
	}
	a, ok := catalog.Get(run.ActionName)
	if !ok {
		return Outcome{}, s.block(ctx, run, apperr.Config(400, "INVALID_ACTION", "action %s no longer exists", run.ActionName))
	}
	inputs, err := s.DB.PendingInputs(ctx, runID, chunk)
	if err != nil || len(inputs) == 0 {
		return Outcome{}, err
	}
	if err := s.Engine.Unavailable(a); err != nil {
		if dataplane.NotReached(err) {
			// Its executor has not answered since this node started: wait
			// for it (without spending the inputs' attempts).
			return Outcome{Retry: notReachedRetry}, nil
		}
		// The server's routing no longer serves the action (it restarted
		// with other settings): the run waits for the operator, and is
		// resumed once the action is served again.
		return Outcome{}, s.block(ctx, run, err)
	}
	var params map[string]any
	_ = json.Unmarshal([]byte(run.Parameters), &params)
	p := model.Principal{WorkspaceID: run.WorkspaceID, WorkspaceUID: run.WorkspaceUID, MemberUID: run.MemberUID}

	var cands []store.Account
	var locks *engine.LockSet
	if a.NeedsIdentity {
		cands, locks, err = s.Engine.CandidatesForBatch(ctx, p, a, run.IdentityMode, run.IdentityUIDs)
		if err != nil {
			if blocking(err) {
				return Outcome{}, s.block(ctx, run, err)
			}
			return Outcome{}, err
		}
	}
	maxResults := engine.MaxResults(a.AsyncMaxResults.Present, params)

	// Stop fetching well before the job's deadline so that what was fetched
	// is committed; the rest runs in the next pass. The commit is not cut
	// short by a shutdown, but it ends by the deadline: the job layer hands
	// a job to another worker only some time after its deadline, and this
	// pass must be over by then, or both would record (and call the
	// platform for) the same inputs.
	//
	// Calls start until startBy (waiting for an account or a slot ends
	// there too); a call that started runs until the calls' deadline, a
	// while later, rather than being cut off: what it did on the platform
	// (and counted in the Smart Limits) is recorded.
	commitCtx := context.WithoutCancel(ctx)
	opt := engine.CallOptions{Mode: run.IdentityMode, Wait: true, WorkspaceID: run.WorkspaceID, RunID: run.ID, Locks: locks, Resumed: resumed}
	if dl, ok := ctx.Deadline(); ok {
		var cancel, cancelCommit context.CancelFunc
		commitCtx, cancelCommit = context.WithDeadline(commitCtx, dl)
		defer cancelCommit()
		left := time.Until(dl)
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-min(8*time.Second, left/3)))
		defer cancel()
		opt.StartBy = dl.Add(-min(15*time.Second, left/2))
		opt.LockWait = max(time.Until(opt.StartBy), time.Millisecond)
	}
	// The chunk's inputs run concurrently: each call waits for a slot of
	// the node's in-flight budget (engine.Budget), not for the chunk's
	// previous input. Inputs on accounts run at most one per candidate
	// account at once (an account runs one call at a time anyway); an
	// account busy with another chunk's call is waited for as long as this
	// pass may start calls.
	// A cancel (or a block) of the run stops its calls that have not
	// started, on every node within about HaltEvery: the commit would
	// discard their results anyway (errNotRunning).
	halt, unwatch := s.haltCtx(run.ID)
	defer unwatch()
	opt.Halt = halt
	width := len(inputs)
	if a.NeedsIdentity {
		width = min(width, len(cands))
	}
	var first func(i int, f fetched)
	early := -1 // the input committed before the others, if any
	if resumed {
		loaded := time.Since(began)
		first = func(i int, f fetched) {
			fetchedAt := time.Since(began)
			r := inputResult{in: inputs[i], results: f.results, per: f.per}
			if err := s.commit(commitCtx, run, a, []inputResult{r}, nil, nil, Outcome{}); err != nil {
				// It stays PENDING for now: the pass's own commit takes it.
				s.logCommitErr(run, err)
				return
			}
			early = i
			if s.Log != nil {
				// Where a failover's seconds go on this node (bench/failoverbench).
				s.Log.Info("runs: resumed chunk: first input committed", "run_uid", run.UID, "chunk", chunk,
					"loaded", loaded.Round(time.Millisecond).String(), "fetched", fetchedAt.Round(time.Millisecond).String(),
					"committed", time.Since(began).Round(time.Millisecond).String())
			}
		}
	}
	fetched := s.fetchAll(ctx, a, cands, inputs, params, maxResults, opt, width, first)

	// What the inputs came to, in their order: the commit pays for them in
	// order, and the charges and callbacks follow it.
	var done []inputResult
	var transient []store.Input
	var out Outcome
	var blockErr error
	for i, in := range inputs {
		f := fetched[i]
		if !f.ran || i == early {
			continue // not started (the chunk stopped, or the pass ended): still PENDING; or committed already
		}
		err := f.err
		var ae *apperr.Error
		switch {
		case err == nil:
			done = append(done, inputResult{in: in, results: f.results, per: f.per})
		case f.cut:
			// It waited for an account or a slot when the pass ended: it
			// never reached the platform, and keeps its attempts.
		case apperr.Is(err, "LIMIT_REACHED"), engine.IsPausedAccount(err):
			// A Smart Limit, or the account paused after the platform rate
			// limited it: the chunk waits, the input keeps its attempts.
			if out.Retry == 0 {
				out.Retry = untilParam(err, s.now())
			}
		case engine.IsBusy(err):
			if out.Retry == 0 {
				out.Retry = 2 * time.Second
			}
		case blocking(err):
			if blockErr == nil {
				blockErr = err
			}
		case platform.Transient(err) || errors.Is(err, context.DeadlineExceeded):
			if in.Attempts+1 >= MaxInputAttempts {
				ae, _ = apperr.As(err)
				if ae == nil {
					ae = apperr.Upstream("GENERIC_ERROR", "%v", err)
				}
				done = append(done, inputResult{in: in, err: ae})
				continue
			}
			transient = append(transient, in)
		default:
			var ok bool
			if ae, ok = apperr.As(err); !ok {
				return Outcome{}, err // a bug: let the job retry and log it
			}
			done = append(done, inputResult{in: in, err: ae})
		}
	}
	if len(transient) > 0 && out.Retry == 0 {
		out.Retry = backoff(transient[0].Attempts)
	}
	if out.Retry == 0 && blockErr == nil && (ctx.Err() != nil || notRun(fetched)) {
		out.Retry = time.Millisecond // the pass ended first: the next one goes on
	}
	if err := s.commitChunk(commitCtx, run, a, chunk, done, transient, blockErr, out, resumed); err != nil {
		return Outcome{}, err
	}
	if s.MaxWait > 0 && out.Retry > s.MaxWait {
		out.Retry = s.MaxWait // postponed_until above keeps the real date
	}
	return out, nil
}

// fetched is what fetching one input gave.
type fetched struct {
	ran bool // started: its outcome counts
	cut bool // ended by the pass's end before it reached the platform
	// results are encoded as soon as the input is fetched: a chunk keeps
	// them until its slowest input is done, and a decoded result takes a
	// few times the memory of its JSON (with thousands of calls in flight,
	// a fifth of the heap was finished inputs' decoded results).
	results []json.RawMessage
	per     int64
	err     error
}

// notRun says whether some inputs were not started.
func notRun(fs []fetched) bool {
	for _, f := range fs {
		if !f.ran || f.cut {
			return true
		}
	}
	return false
}

// fetchAll fetches the inputs, width at a time, in order. An input that is
// postponed (a Smart Limit), finds every account busy or blocks the run
// stops the inputs not started yet; those started finish, and their results
// are kept (what reached the platform is recorded, not fetched twice).
// first, when set, is called with the first input that succeeds, by its
// fetcher, while the others go on; it returns before fetchAll does.
func (s *Service) fetchAll(ctx context.Context, a *catalog.Action, cands []store.Account, inputs []store.Input,
	params map[string]any, maxResults int, opt engine.CallOptions, width int, first func(int, fetched)) []fetched {
	out := make([]fetched, len(inputs))
	var mu sync.Mutex
	next, stop, firstDone := 0, false, first == nil
	// one fetches input i and records what it came to.
	one := func(i int, opt engine.CallOptions) {
		var values map[string]any
		_ = json.Unmarshal([]byte(inputs[i].Input), &values)
		results, per, err := s.fetch(ctx, a, cands, values, params, maxResults, opt)
		var raw []json.RawMessage
		if err == nil {
			raw, err = encodeResults(results)
		}
		f := fetched{ran: true, results: raw, per: per, err: err}
		if err != nil && (ctx.Err() != nil || late(opt.StartBy) || engine.Halted(opt)) && (engine.IsBusy(err) || engine.NotStarted(err)) {
			f.cut = true
		}
		mu.Lock()
		out[i] = f
		if err != nil && !f.cut && (apperr.Is(err, "LIMIT_REACHED") || engine.IsPausedAccount(err) || engine.IsBusy(err) || blocking(err)) {
			stop = true
		}
		callFirst := err == nil && !firstDone
		if callFirst {
			firstDone = true
		}
		mu.Unlock()
		if callFirst {
			first(i, f)
		}
	}
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return stop || ctx.Err() != nil || late(opt.StartBy) || engine.Halted(opt)
	}
	var wg sync.WaitGroup
	if !a.NeedsIdentity {
		// Each input's in-flight slot is taken here, in order, before its
		// goroutine starts and for all its pages: the chunk waits for the
		// budget as one queue, instead of as one parked goroutine per input
		// (with a large run's chunks of 100 inputs, thousands of them).
		held := opt
		held.SlotHeld = true
		for i := range inputs {
			if stopped() {
				break
			}
			release, err := s.Engine.Slot(ctx, a, opt)
			if err != nil {
				if ctx.Err() == nil && !late(opt.StartBy) && !engine.Halted(opt) {
					out[i] = fetched{ran: true, err: err} // not the pass's end: what failed is reported
				}
				break // the inputs left are not started: still PENDING for the next pass
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer release()
				one(i, held)
			}()
		}
		wg.Wait()
		return out
	}
	for range max(width, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if stop || next >= len(inputs) || ctx.Err() != nil || late(opt.StartBy) || engine.Halted(opt) {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				one(i, opt)
			}
		}()
	}
	wg.Wait()
	return out
}

// encodeResults encodes an input's results, once, for its output rows and
// its callback.
func encodeResults(results []map[string]any) ([]json.RawMessage, error) {
	raw := make([]json.RawMessage, len(results))
	for i, res := range results {
		b, err := json.Marshal(res)
		if err != nil {
			return nil, fmt.Errorf("runs: encode a result: %w", err)
		}
		raw[i] = b
	}
	return raw, nil
}

// late says whether the time to start calls is over.
func late(startBy time.Time) bool { return !startBy.IsZero() && !time.Now().Before(startBy) }

// fetch collects an input's results, page after page, up to max_results,
// and their price per result (engine.Price: by the account that ran them).
func (s *Service) fetch(ctx context.Context, a *catalog.Action, cands []store.Account, input, params map[string]any,
	maxResults int, opt engine.CallOptions) ([]map[string]any, int64, error) {
	var all []map[string]any
	token := ""
	mode := opt.Mode
	per := engine.PerResult(a, mode)
	for page := 1; ; page++ {
		d, err := s.Engine.Call(ctx, cands, platform.Call{Action: a, Input: input, Params: params, Page: page, Token: token}, opt)
		if err != nil {
			if len(all) > 0 && !platform.Transient(err) && !apperr.Is(err, "LIMIT_REACHED") && !engine.NotStarted(err) {
				return all, per, nil // later pages failing permanently keep what was fetched
			}
			return nil, 0, err
		}
		per = engine.Price(a, mode, d.Account)
		all = append(all, d.Page.Results...)
		if maxResults > 0 && len(all) >= maxResults {
			return all[:maxResults], per, nil
		}
		if !a.ListOutput || !d.Page.More || len(d.Page.Results) == 0 || a.PageSize == 0 {
			return all, per, nil
		}
		token = d.Page.NextToken
	}
}

// blocking errors need the user: no valid account, no credits, or an
// account the platform restricted (its owner clears it in a browser, then
// resumes the run); or the operator: no driver serves the action.
func blocking(err error) bool {
	switch {
	case apperr.Is(err, "NO_VALID_ACCOUNT_CONFIGURED"), apperr.Is(err, "NOT_CONNECTED"),
		apperr.Is(err, "SN_ACCOUNT_UPGRADE"), apperr.Is(err, "NO_ACCESS"), apperr.Is(err, "NOT_FOUND"),
		apperr.Is(err, platform.LabelRestricted):
		return true
	case apperr.Is(err, dataplane.LabelActionUnavailable):
		return !dataplane.NotReached(err)
	}
	return false
}

// notReachedRetry is how soon work waiting for an executor's first answer
// looks again.
const notReachedRetry = 5 * time.Second

func untilParam(err error, now time.Time) time.Duration {
	if ae, ok := apperr.As(err); ok {
		if t, perr := time.Parse(time.RFC3339, ae.Params["postponed_until"]); perr == nil && t.After(now) {
			return t.Sub(now) + time.Second
		}
	}
	return time.Minute
}

func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 6)
	return min(d, time.Minute)
}

// errShort: the balance cannot pay for every result the chunk got.
var errShort = errors.New("runs: the balance cannot pay for the chunk")

// errNotRunning: the run left RUNNING (cancelled) while the chunk worked.
var errNotRunning = errors.New("runs: the run is no longer running")

// commit records a chunk's work atomically. Usually that is one transaction
// of a constant number of statements. When the balance cannot pay for every
// result, the chunk is committed again with only the inputs the balance
// pays for, in order and each whole, and the run blocks on NO_ACCESS; the
// rest stay PENDING for a resume.
func (s *Service) commit(ctx context.Context, run model.Run, a *catalog.Action, done []inputResult,
	transient []store.Input, blockErr error, out Outcome) error {
	payable := -1 // every input
	for attempt := 0; ; attempt++ {
		var failed []inputResult
		err := s.commitTx(ctx, run, a, done, transient, blockErr, out, payable, &failed)
		if err == nil {
			s.logInputErrors(run, failed)
		}
		switch {
		case errors.Is(err, errNotRunning):
			return nil // cancelled meanwhile: keep nothing of this pass
		case errors.Is(err, errShort):
			bal, lerr := s.Ledger.Balance(ctx, run.WorkspaceID, credits.Reading{})
			if lerr != nil {
				return lerr
			}
			payable = affordable(done, bal.Left())
			if attempt >= 3 {
				payable = 0 // other chunks keep spending: pay for nothing, block
			}
			continue
		}
		return err
	}
}

// affordable counts the inputs with results, in order, that a balance of
// left millicredits pays for whole.
func affordable(done []inputResult, left int64) int {
	n := 0
	for _, r := range done {
		if r.err != nil || len(r.results) == 0 {
			continue
		}
		cost := int64(len(r.results)) * r.per
		if cost > left {
			break
		}
		left -= cost
		n++
	}
	return n
}

// chargeGroup is the chunk's results at one price (engine.Price depends on
// the account that ran the input).
type chargeGroup struct {
	per         int64
	results     int
	first, last int // input indexes, for the charge key
}

// chunkRecords is what a pass over a chunk writes, built before its
// transaction (buildChunk) and written in it (writeChunk).
type chunkRecords struct {
	// retry are the inputs to try again (a transient failure).
	retry []int64
	// rec are the inputs recorded, fin their rows and in their records,
	// index for index.
	rec []inputResult
	fin []store.FinishedInput
	in  []inputRecords
	// creditBlock is set when the balance paid for only the inputs in rec.
	creditBlock error
}

// inputRecords is one recorded input's outputs and callback.
type inputRecords struct {
	outputs  []store.NewOutput
	delivery *model.Delivery
}

// buildChunk builds a pass's records: the inputs' rows, their outputs (each
// result encoded once, for its output row and its callback) and callbacks.
// payable >= 0 records only the inputs before the (payable+1)-th input with
// results. It writes nothing: which inputs this pass owns is known only in
// the transaction.
func buildChunk(run model.Run, done []inputResult, transient []store.Input, payable int) (chunkRecords, error) {
	c := chunkRecords{rec: done, retry: make([]int64, len(transient))}
	for i, in := range transient {
		c.retry[i] = in.ID
	}
	if payable >= 0 {
		paid := 0
		for i, r := range done {
			if r.err == nil && len(r.results) > 0 {
				if paid == payable {
					c.rec, c.creditBlock = done[:i], apperr.NoAccess("no credits left in this period")
					break
				}
				paid++
			}
		}
	}
	callbacks := run.CallbackURL != "" && run.CallbackOn != catalog.CallbackOnFinal
	c.fin = make([]store.FinishedInput, len(c.rec))
	c.in = make([]inputRecords, len(c.rec))
	for i, r := range c.rec {
		batch := uuid.NewString()
		c.fin[i] = store.FinishedInput{ID: r.in.ID, Status: "DONE", Results: len(r.results), BatchUID: batch}
		raw := r.results
		if r.err != nil {
			c.fin[i].Status = "FAILED"
			c.fin[i].ErrJSON = store.EncodeRunError(&model.RunError{Label: r.err.Label, Message: r.err.Message, Params: r.err.Params,
				Scope: r.err.Scope, Status: r.err.Status})
		} else {
			for j, b := range r.results {
				c.in[i].outputs = append(c.in[i].outputs, store.NewOutput{InputIdx: r.in.Idx, Seq: j, BatchUID: batch, Data: string(b)})
			}
		}
		if callbacks {
			d, err := batchDelivery(run, r, raw, batch)
			if err != nil {
				return chunkRecords{}, err
			}
			c.in[i].delivery = &d
		}
	}
	return c, nil
}

// commitTx records a chunk's work in one transaction: buildChunk builds the
// records, writeChunk writes them.
func (s *Service) commitTx(ctx context.Context, run model.Run, a *catalog.Action, done []inputResult,
	transient []store.Input, blockErr error, out Outcome, payable int, failedOut *[]inputResult) error {
	c, err := buildChunk(run, done, transient, payable)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *store.Tx) error {
		return s.writeChunk(ctx, tx, run, a, c, blockErr, out, failedOut)
	})
}

// writeChunk writes a pass's records in tx.
//
// Statements, in an order that keeps the hot rows' locks short on
// PostgreSQL: the inputs (this chunk's rows: FinishInputs decides which of
// them this pass owns, so a worker that runs twice records, charges and
// calls back nothing twice), the outputs and the callbacks (new rows) and
// their River jobs, the run's counters (the run's row, also where a
// concurrent cancel is seen; when the run is done, finish), then the charge
// (the workspace's balance row). The run and balance rows stay locked only
// from their UPDATE to the commit. A batch of chunks (batch.go) writes the
// same parts: each chunk's own rows, then one hot-row section for all.
func (s *Service) writeChunk(ctx context.Context, tx *store.Tx, run model.Run, a *catalog.Action, c chunkRecords,
	blockErr error, out Outcome, failedOut *[]inputResult) error {
	*failedOut = (*failedOut)[:0]
	// Release the hot rows without waiting for the WAL flush. Safe for
	// exactly-once: River marks the job done afterwards in a synchronous
	// commit, whose flush covers this commit's WAL, so a PostgreSQL crash
	// loses this pass only together with the job's completion, and the
	// rescued job works the chunk again (its callbacks keep their
	// callback_ref_uid).
	if err := s.DB.AsyncCommit(ctx, tx); err != nil {
		return err
	}
	t, err := s.writeRecords(ctx, tx, run, c)
	if err != nil {
		return err
	}
	*failedOut = append(*failedOut, t.failedInputs...)
	// The two rows every chunk updates come last, so that their locks are
	// held for as few round trips as possible: on PostgreSQL each is held
	// from its UPDATE to the commit, and every other chunk of the run (the
	// run's row) or of the workspace (the balance) queues behind it. So
	// what the charge needs is done first, outside both (the workspace's
	// row read, the charge's row written as fully paid), and then one
	// statement updates the run's counters and moves the balance
	// (store.RunProgressPaying), and the transaction commits. Until
	// 2026-12-06 the run's row was updated first and held through the
	// charge's three statements: during a 100,000-input run 6-16 of the
	// node's connections waited on it (pg_stat_activity). Both rows are
	// locked in that order, run then balance, on every path, so that two
	// chunks never wait on each other in a cycle. The charge is all or
	// nothing, so what it will cost is known before it is made; a pass the
	// run's row refuses (cancelled meanwhile) rolls back with the charge.
	var ws *model.Workspace
	recs, err := s.recordCharges(ctx, tx, run, a, t.groups, &ws)
	if err != nil {
		return err
	}
	pending, postponed, paid, err := s.progressPaying(ctx, tx, run, t, recs)
	if err != nil {
		return err
	}
	for j, g := range t.groups {
		if paid[j].Paid < g.results {
			return errShort // rolls back the whole pass, see commit
		}
	}
	if c.creditBlock != nil {
		blockErr = c.creditBlock
	}
	switch {
	case pending == 0:
		return s.finish(ctx, tx, run.ID)
	case blockErr != nil:
		return s.blockTx(ctx, tx, run, blockErr)
	case out.Retry > 0:
		until := store.Millis(s.now().Add(out.Retry))
		return store.SetRunPostponed(ctx, tx, run.ID, &until)
	case postponed != 0:
		return store.SetRunPostponed(ctx, tx, run.ID, nil)
	}
	return nil
}

// chunkTally is what a chunk's own rows came to: what it adds to the run's
// counters, and its results by price, still to be charged.
type chunkTally struct {
	outputs, failed, finished, retries int
	spent                              int64 // what groups cost, in millicredits
	groups                             []*chargeGroup
	// failedInputs are the inputs this pass recorded as FAILED (logged
	// once it has committed).
	failedInputs []inputResult
}

// add sums another chunk's counters into t (a batch's hot-row section).
func (t *chunkTally) add(o chunkTally) {
	t.outputs += o.outputs
	t.failed += o.failed
	t.finished += o.finished
	t.retries += o.retries
	t.spent += o.spent
}

// writeRecords writes a chunk's own rows in tx, those no other chunk
// writes: its inputs' attempts and outcomes (FinishInputs decides which of
// them this pass owns), its outputs, its callbacks and their River jobs.
func (s *Service) writeRecords(ctx context.Context, tx *store.Tx, run model.Run, c chunkRecords) (chunkTally, error) {
	if err := store.BumpInputsAttempts(ctx, tx, c.retry); err != nil {
		return chunkTally{}, err
	}
	owned, err := s.DB.FinishInputs(ctx, tx, c.fin)
	if err != nil {
		return chunkTally{}, err
	}
	t := chunkTally{retries: len(c.retry)}
	var rows []store.NewOutput
	var dels []model.Delivery
	for i, r := range c.rec {
		if !owned[r.in.ID] {
			continue // recorded by an earlier pass
		}
		t.finished++
		if r.err != nil {
			t.failed++
			t.failedInputs = append(t.failedInputs, r)
		} else if len(r.results) > 0 {
			t.outputs += len(r.results)
			t.spent += int64(len(r.results)) * r.per
			rows = append(rows, c.in[i].outputs...)
			t.groups = addToGroup(t.groups, r)
		}
		if d := c.in[i].delivery; d != nil {
			dels = append(dels, *d)
		}
	}
	if err := s.DB.InsertOutputs(ctx, tx, run.ID, rows); err != nil {
		return chunkTally{}, err
	}
	deliveries, err := s.DB.InsertDeliveries(ctx, tx, dels)
	if err != nil {
		return chunkTally{}, err
	}
	if len(deliveries) > 0 {
		if err := s.Queue.Deliveries(ctx, tx, deliveries, time.Time{}); err != nil {
			return chunkTally{}, err
		}
	}
	return t, nil
}

// recordCharges writes the charge rows of a chunk's price groups as fully
// paid (credits.Ledger.Record), each under its own key, and returns them
// with the balance moves still to make. *ws is the workspace's row, read
// once per transaction (the first time a chunk has something to charge).
func (s *Service) recordCharges(ctx context.Context, tx *store.Tx, run model.Run, a *catalog.Action, groups []*chargeGroup,
	ws **model.Workspace) ([]credits.Recorded, error) {
	if len(groups) > 0 && *ws == nil {
		w, err := store.GetWorkspace(ctx, tx, run.WorkspaceID)
		if err != nil {
			return nil, err
		}
		*ws = &w
	}
	recs := make([]credits.Recorded, len(groups))
	for i, g := range groups {
		key := fmt.Sprintf("run:%s:%d-%d", run.UID, g.first, g.last)
		if len(groups) > 1 {
			key += fmt.Sprintf(":%d", g.per)
		}
		r, err := s.Ledger.Record(ctx, tx, credits.Charge{WorkspaceID: run.WorkspaceID, Workspace: *ws, RunUID: run.UID, Key: key,
			Action: a.Slug, Results: g.results, PerResult: g.per, AllOrNothing: true})
		if err != nil {
			return nil, err
		}
		if r.Charged.Repeat {
			// This pass owns these inputs, so no earlier pass can have
			// charged them: a key collision is a bug, not a retry.
			return nil, fmt.Errorf("runs: charge %s recorded twice", key)
		}
		recs[i] = r
	}
	return recs, nil
}

// progressPaying is a chunk's hot-row section: it adds t to the run's
// counters (errNotRunning when the run's row refuses: cancelled meanwhile)
// and moves the balance for the charges, and returns the run's pending
// count and postponement and what each charge paid.
func (s *Service) progressPaying(ctx context.Context, tx *store.Tx, run model.Run, t chunkTally,
	recs []credits.Recorded) (pending int, postponed int64, paid []credits.Charged, err error) {
	paid = make([]credits.Charged, len(recs))
	moving := 0 // charges with a balance still to move
	for _, r := range recs {
		if !r.Done {
			moving++
		}
	}
	if moving == 1 {
		// The common case: one price, one balance move, in the run's
		// statement.
		i := slices.IndexFunc(recs, func(r credits.Recorded) bool { return !r.Done })
		var used int64
		var moved, ok bool
		pending, postponed, ok, used, moved, err = s.DB.RunProgressPaying(ctx, tx, run.ID, t.outputs, t.failed, t.finished,
			t.spent, t.retries, recs[i].Move)
		if err != nil {
			return 0, 0, nil, err
		}
		if !ok {
			return 0, 0, nil, errNotRunning
		}
		for j, r := range recs {
			if paid[j], err = s.Ledger.Settle(ctx, tx, r, used, moved && j == i); err != nil {
				return 0, 0, nil, err
			}
		}
		return pending, postponed, paid, nil
	}
	pending, postponed, ok, err := store.RunProgress(ctx, tx, run.ID, t.outputs, t.failed, t.finished, t.spent, t.retries)
	if err != nil {
		return 0, 0, nil, err
	}
	if !ok {
		return 0, 0, nil, errNotRunning
	}
	for j, r := range recs {
		var used int64
		var moved bool
		if !r.Done {
			if used, moved, err = store.MoveBalanceWithin(ctx, tx, r.Move); err != nil {
				return 0, 0, nil, err
			}
		}
		if paid[j], err = s.Ledger.Settle(ctx, tx, r, used, moved); err != nil {
			return 0, 0, nil, err
		}
	}
	return pending, postponed, paid, nil
}

func addToGroup(groups []*chargeGroup, r inputResult) []*chargeGroup {
	for _, g := range groups {
		if g.per == r.per {
			g.results += len(r.results)
			g.last = r.in.Idx
			return groups
		}
	}
	return append(groups, &chargeGroup{per: r.per, results: len(r.results), first: r.in.Idx, last: r.in.Idx})
}

// finish closes a run whose inputs are all recorded, queues its final
// callback and frees its concurrency slot. The caller holds the run's row
// (RunProgress), so the run is still RUNNING here. The callback and its job
// are stored before the status changes: on PostgreSQL that change takes the
// workspace's run_slots row (a trigger keeps the count), which every
// admission and every finishing run of the workspace waits for, so it comes
// as late as it can.
func (s *Service) finish(ctx context.Context, tx *store.Tx, runID int64) error {
	r, err := store.GetRunByID(ctx, tx, runID)
	if err != nil {
		return err
	}
	status := model.RunSucceeded
	switch {
	case r.FailedCount == r.InputCount:
		status = model.RunFailed
	case r.FailedCount > 0:
		status = model.RunPartialSucceeded
	}
	r.Status = status
	// What failed, in last_error and in the final callback's error.
	r.LastError = nil
	if r.FailedCount > 0 {
		if r.LastError, err = failureSummary(ctx, tx, r); err != nil {
			return err
		}
	}
	if r.CallbackURL != "" {
		id, err := s.finalCallback(ctx, tx, r)
		if err != nil {
			return err
		}
		if id != 0 {
			if err := s.Queue.Deliveries(ctx, tx, []int64{id}, time.Time{}); err != nil {
				return err
			}
		}
	}
	ok, err := store.SetRunStatus(ctx, tx, runID, []string{model.RunRunning}, status, store.EncodeRunError(r.LastError))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("runs: run %d left RUNNING while its row was locked", runID)
	}
	return s.promote(ctx, tx, r.WorkspaceID)
}

// block moves a run to BLOCKED with the error that needs the user.
func (s *Service) block(ctx context.Context, run model.Run, cause error) error {
	return s.DB.Tx(ctx, func(tx *store.Tx) error { return s.blockTx(ctx, tx, run, cause) })
}

func (s *Service) blockTx(ctx context.Context, tx *store.Tx, run model.Run, cause error) error {
	ae, ok := apperr.As(cause)
	if !ok {
		ae = apperr.Internal(cause)
	}
	last := store.EncodeRunError(&model.RunError{Label: ae.Label, Message: ae.Message, Params: ae.Params})
	ok, err := store.SetRunStatus(ctx, tx, run.ID, []string{model.RunRunning}, model.RunBlocked, last)
	if err != nil || !ok {
		return err
	}
	return s.promote(ctx, tx, run.WorkspaceID)
}
