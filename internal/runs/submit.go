package runs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/tracing"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// Submission is an async run request, from the API or a schedule firing.
type Submission struct {
	Principal       model.Principal
	Action          *catalog.Action
	Request         *catalog.AsyncRequest
	IdempotencyKey  string
	ScheduledRunUID string
	// SealedHeaders carries callback headers already sealed (schedules
	// store them sealed); otherwise Request.Callback.Headers is sealed here.
	SealedHeadersKID string
	SealedHeaders    []byte
	// RunUID is the run's uid when the caller chose it (a schedule firing
	// records it in the claim); empty: a new one.
	RunUID string
	// CreatedAt, when later than the insert, is the run's created_at: a
	// schedule firing prepared ahead of its due time is inserted early in
	// a transaction that commits at that time (schedules.Service.Prepare;
	// SubmitManyTx only).
	CreatedAt time.Time
}

// BulkSubmission is an async run request from the API, whose body is read
// while it is stored.
type BulkSubmission struct {
	Principal      model.Principal
	Action         *catalog.Action
	Body           io.Reader
	IdempotencyKey string
}

// Inputs are staged a batch at a time: up to stageInputs inputs or
// stageBytes of their JSON, whichever comes first. A batch on SQLite holds
// the one writer for a few tens of milliseconds, between which other
// workspaces' writes go through; fewer, larger batches would make them wait
// longer, smaller ones would cost more commits.
const (
	stageInputs = 1000
	stageBytes  = 1 << 20
)

// SubmitStream decodes an async body while it arrives, validating each
// input, and stores the run and its inputs; it answers once all of them are
// committed. A submission that fits in one batch is stored in one
// transaction. A larger one stages its inputs in batches that commit as
// they fill (store.StageInputs) under a run nobody sees yet, and publishes
// the run in a last short transaction that also admits it: either the run
// appears with all its inputs, or (a bad input, a refused callback, a
// storage failure) what was staged is deleted and nothing appears.
//
// With an IdempotencyKey that an earlier run of the workspace holds, the
// body is still decoded and checked (and nothing stored), and that run is
// returned. Two concurrent submissions with the same key make one run: the
// second to publish finds the key taken, discards its inputs and returns
// the first's run.
func (s *Service) SubmitStream(ctx context.Context, sub BulkSubmission) (model.Run, error) {
	if sub.IdempotencyKey != "" {
		r, h, err := s.DB.GetRunByIdempotencyKey(ctx, sub.Principal.WorkspaceID, sub.IdempotencyKey)
		if err == nil {
			// Stored nothing, but the body is still read and checked, and
			// its fingerprint compared with the first request's.
			fp, idx := newFingerprint(sub.Action), 0
			req, _, err := sub.Action.DecodeAsyncStream(sub.Body, func(in catalog.Input) error {
				ni, err := newInput(sub.Action, idx, in)
				idx++
				fp.add(ni)
				return err
			})
			if err == nil {
				err = s.CheckSubmission(ctx, Submission{Principal: sub.Principal, Action: sub.Action, Request: req})
			}
			if err != nil {
				return model.Run{}, err
			}
			return reused(r, h, fp.sum(req))
		}
		if !errors.Is(err, store.ErrNotFound) {
			return model.Run{}, err
		}
	}
	b := &bulk{s: s, ctx: ctx, sub: sub}
	if sub.IdempotencyKey != "" {
		b.fp = newFingerprint(sub.Action)
	}
	req, n, err := sub.Action.DecodeAsyncStream(sub.Body, b.add)
	if err == nil {
		err = s.CheckSubmission(ctx, Submission{Principal: sub.Principal, Action: sub.Action, Request: req})
	}
	if err != nil {
		b.discard()
		return model.Run{}, err
	}
	return b.publish(req, n)
}

// bulk is one SubmitStream's inputs on their way to the database.
type bulk struct {
	s     *Service
	ctx   context.Context
	sub   BulkSubmission
	runID int64 // the staged run; 0 until a first batch is staged
	n     int   // inputs so far
	// batch holds the inputs not staged yet.
	batch      []store.NewInput
	batchBytes int
	// fp fingerprints the request when it has an Idempotency-Key.
	fp *fingerprint
}

// add takes the next valid input (catalog.Action.DecodeAsyncStream).
func (b *bulk) add(in catalog.Input) error {
	ni, err := newInput(b.sub.Action, b.n, in)
	if err != nil {
		return err
	}
	b.n++
	if b.fp != nil {
		b.fp.add(ni)
	}
	b.batch = append(b.batch, ni)
	b.batchBytes += len(ni.Input) + len(ni.CustomData)
	if len(b.batch) >= stageInputs || b.batchBytes >= stageBytes {
		return b.stage()
	}
	return nil
}

// stage commits the batch, under a staged run created by the first one.
func (b *bulk) stage() error {
	if b.runID == 0 {
		run := b.s.newRun(b.sub.Principal, b.sub.Action, &catalog.AsyncRequest{}, 0, "")
		err := b.s.DB.TxKeepCaches(b.ctx, func(tx *store.Tx) error {
			var err error
			b.runID, err = store.InsertStagedRun(b.ctx, tx, store.NewRun{Run: run})
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := b.s.DB.StageInputs(b.ctx, b.runID, b.batch); err != nil {
		return err
	}
	clear(b.batch) // let the batch's strings go
	b.batch, b.batchBytes = b.batch[:0], 0
	return nil
}

// discard deletes what was staged, even when the request is gone (its
// context cancelled); what it cannot delete, SweepStagedRuns will.
func (b *bulk) discard() {
	if b.runID == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Minute)
	defer cancel()
	_ = b.s.DB.DiscardStagedRun(ctx, b.runID)
}

// errUnstaged: the staged run disappeared before it was published.
var errUnstaged = errors.New("runs: the staged run is gone")

// publish stores what is left and makes the run visible and admitted.
func (b *bulk) publish(req *catalog.AsyncRequest, n int) (model.Run, error) {
	s, ctx, sub := b.s, b.ctx, b.sub
	nr := store.NewRun{Run: s.newRun(sub.Principal, sub.Action, req, n, ""), IdempotencyKey: sub.IdempotencyKey}
	if b.fp != nil {
		nr.RequestHash = b.fp.sum(req)
	}
	nr.CallbackHeadersKID, nr.CallbackHeaders = s.sealHeaders(req, "", nil)
	chunks := chunkCount(sub.Action, n)
	var out model.Run
	var err error
	if b.runID == 0 {
		// It all fits in one batch: one transaction.
		err = s.DB.Tx(ctx, func(tx *store.Tx) error {
			var err error
			out, err = s.insert(ctx, tx, store.BulkRun{NewRun: nr, Inputs: b.batch, ChunkCount: chunks})
			return err
		})
	} else {
		if len(b.batch) > 0 {
			err = b.stage()
		}
		if err == nil {
			err = s.DB.Tx(ctx, func(tx *store.Tx) error {
				ok, err := store.PublishStagedRun(ctx, tx, b.runID, nr, n, chunks)
				if err != nil || !ok {
					return cmp.Or(err, errUnstaged)
				}
				if _, err := s.admitNew(ctx, tx, b.runID, sub.Principal.WorkspaceID, chunks); err != nil {
					return err
				}
				out, err = store.GetRunByID(ctx, tx, b.runID)
				return err
			})
		}
		if err != nil {
			b.discard()
		}
	}
	switch {
	case err != nil && sub.IdempotencyKey != "" && store.IsUniqueViolation(err):
		// A concurrent submission with the same key won: its run, if it
		// asked for the same.
		r, h, err := s.DB.GetRunByIdempotencyKey(ctx, sub.Principal.WorkspaceID, sub.IdempotencyKey)
		if err != nil {
			return model.Run{}, err
		}
		return reused(r, h, nr.RequestHash)
	case errors.Is(err, errUnstaged):
		return model.Run{}, apperr.Conflict("the run was deleted while its inputs were being stored (was its workspace deleted?)")
	}
	return out, err
}

// SubmitTx stores a submission inside the caller's transaction, so that a
// schedule firing claims its schedule and creates its run in one commit.
// Validation errors (*apperr.Error) come before any write. IdempotencyKey
// is stored but not looked up: the caller's transaction decides uniqueness.
func (s *Service) SubmitTx(ctx context.Context, tx *store.Tx, sub Submission) (model.Run, error) {
	if err := s.CheckSubmission(ctx, sub); err != nil {
		return model.Run{}, err
	}
	b, err := s.bulkRun(sub)
	if err != nil {
		return model.Run{}, err
	}
	return s.insert(ctx, tx, b)
}

// CheckSubmission is the validation Submit does before writing: the
// callback URL policy and the identities. Schedules call it at creation so
// that a schedule is refused up front, not at its first firing.
func (s *Service) CheckSubmission(ctx context.Context, sub Submission) error {
	if err := s.CheckCallback(sub.Request.Callback); err != nil {
		return err
	}
	return s.checkIdentities(ctx, sub.Principal, sub.Action, sub.Request.IdentityMode, sub.Request.IdentityIDs)
}

// insert stores the run and its inputs and admits it, in tx.
func (s *Service) insert(ctx context.Context, tx *store.Tx, b store.BulkRun) (model.Run, error) {
	r, err := store.InsertRun(ctx, tx, b.NewRun)
	if err != nil {
		return model.Run{}, err
	}
	if err := store.SetRunWork(ctx, tx, r.ID, len(b.Inputs), b.ChunkCount); err != nil {
		return model.Run{}, err
	}
	if err := s.DB.CopyInputs(ctx, tx, r.ID, b.Inputs); err != nil {
		return model.Run{}, err
	}
	// The slot lock is taken last, after the inserts: two submissions to one
	// workspace wait for each other only for the admission and the commit.
	if _, err := s.admitNew(ctx, tx, r.ID, b.Run.WorkspaceID, b.ChunkCount); err != nil {
		return model.Run{}, err
	}
	return store.GetRunByID(ctx, tx, r.ID)
}

// newInput renders input idx of an action's run for storage.
func newInput(a *catalog.Action, idx int, in catalog.Input) (store.NewInput, error) {
	b, err := json.Marshal(in.Values)
	if err != nil {
		return store.NewInput{}, err
	}
	ni := store.NewInput{Idx: idx, Chunk: chunkOf(a, idx), Input: string(b)}
	if in.CustomData != nil {
		cd, err := json.Marshal(in.CustomData)
		if err != nil {
			return store.NewInput{}, err
		}
		ni.CustomData = string(cd)
	}
	return ni, nil
}

// newRun is the QUEUED run of a request of n inputs.
func (s *Service) newRun(p model.Principal, a *catalog.Action, req *catalog.AsyncRequest, n int, uid string) model.Run {
	params, _ := json.Marshal(req.Parameters)
	if uid == "" {
		uid = uuid.NewString()
	}
	return model.Run{UID: uid, WorkspaceID: p.WorkspaceID, WorkspaceUID: p.WorkspaceUID,
		MemberUID: p.MemberUID, ActionName: a.Slug, ExecutionMode: "ASYNC", Status: model.RunQueued,
		IdentityMode: req.IdentityMode, IdentityUIDs: req.IdentityIDs, Parameters: string(params),
		CallbackURL: req.Callback.URL, CallbackOn: req.Callback.On, InputCount: n}
}

// sealHeaders returns the request's callback headers sealed, unless the
// caller has them sealed already.
func (s *Service) sealHeaders(req *catalog.AsyncRequest, kid string, sealed []byte) (string, []byte) {
	if sealed == nil && len(req.Callback.Headers) > 0 {
		h, _ := json.Marshal(req.Callback.Headers)
		kid, sealed = s.Keys.Seal(h, []byte("callback-headers"))
	}
	return kid, sealed
}

// bulkRun renders a submission as the QUEUED run and inputs to store.
func (s *Service) bulkRun(sub Submission) (store.BulkRun, error) {
	a, req := sub.Action, sub.Request
	inputs := make([]store.NewInput, len(req.Inputs))
	for i, in := range req.Inputs {
		var err error
		if inputs[i], err = newInput(a, i, in); err != nil {
			return store.BulkRun{}, err
		}
	}
	run := s.newRun(sub.Principal, a, req, len(inputs), sub.RunUID)
	run.ScheduledRunUID = sub.ScheduledRunUID
	run.CreatedAt = sub.CreatedAt
	kid, sealed := s.sealHeaders(req, sub.SealedHeadersKID, sub.SealedHeaders)
	return store.BulkRun{NewRun: store.NewRun{Run: run, CallbackHeadersKID: kid, CallbackHeaders: sealed,
		IdempotencyKey: sub.IdempotencyKey}, Inputs: inputs, ChunkCount: chunkCount(a, len(inputs))}, nil
}

// SubmitManyTx stores checked submissions (CheckSubmission passed) and the
// already-built terminal runs in invalid (INVALID firings) in tx, with a
// few multi-row statements, and admits the submissions under their
// workspaces' caps in order: as many as there are free slots start RUNNING
// (their chunks enqueued in one River insert), the rest wait QUEUED for
// promote. It returns the submissions' runs, in order. Schedule firings use
// it for a whole batch.
//
// On PostgreSQL the runs and inputs are inserted QUEUED and the batch
// never takes the workspaces' run_slots rows: the workspaces are returned
// in queued, and the caller must call Promote for each of them once tx has
// committed (schedules does, at once, from a goroutine of its own, and its
// loop promotes any workspace left with QUEUED runs and free slots every few
// seconds, so a crash between the commit and the promote delays those runs
// but does not strand them). Every admission and every finishing run of a
// workspace waits for its run_slots row: until 2026-12-07 the batches of a
// burst took it themselves, after their inserts, and so ran one after
// another while the workspace had free slots (the first 1,000 firings of
// 10,000 in the unlimited plan: 0.26-0.52 s waiting per batch of 250,
// statement log, load 20-30). Promote now starts the runs the burst queued
// with one UPDATE, one read and one River insert per call.
//
// SQLite has one writer at a time and no lock to wait for: it reads the
// slots first and inserts the admitted runs RUNNING.
func (s *Service) SubmitManyTx(ctx context.Context, tx *store.Tx, subs []Submission, invalid []model.Run) (runs []model.Run, queued []int64, err error) {
	runs, queued, err = s.submitManyTx(ctx, tx, subs, invalid)
	return runs, queued, err
}

// Promote admits a workspace's oldest QUEUED runs while it has free slots,
// in a transaction of its own (after SubmitManyTx left runs QUEUED without
// the slot lock).
func (s *Service) Promote(ctx context.Context, workspaceID int64) error {
	return s.DB.Tx(ctx, func(tx *store.Tx) error { return s.promote(ctx, tx, workspaceID) })
}

func (s *Service) submitManyTx(ctx context.Context, tx *store.Tx, subs []Submission, invalid []model.Run) ([]model.Run, []int64, error) {
	all := make([]store.BulkRun, 0, len(subs)+len(invalid))
	var wsIDs []int64
	seen := map[int64]bool{}
	for _, sub := range subs {
		b, err := s.bulkRun(sub)
		if err != nil {
			return nil, nil, err
		}
		if len(b.Inputs) == 0 {
			return nil, nil, fmt.Errorf("runs: submission for %s has no input", sub.Action.Slug)
		}
		all = append(all, b)
		if ws := sub.Principal.WorkspaceID; !seen[ws] {
			seen[ws] = true
			wsIDs = append(wsIDs, ws)
		}
	}
	// Slot locks in workspace id order: two batches spanning the same
	// workspaces cannot deadlock on them.
	slices.Sort(wsIDs)
	free := func() (map[int64]int, error) {
		f := make(map[int64]int, len(wsIDs))
		for _, id := range wsIDs {
			running, plan, err := s.DB.LockSlots(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			f[id] = s.Plans(plan).ConcurrentRuns - running
		}
		return f, nil
	}
	// admitted picks the submissions that take a free slot, in order.
	admitted := func(f map[int64]int) []int {
		var out []int
		for i := range subs {
			if ws := all[i].Run.WorkspaceID; f[ws] > 0 {
				f[ws]--
				out = append(out, i)
			}
		}
		return out
	}
	queueAll := s.DB.ConcurrentWrites() // PostgreSQL: see SubmitManyTx
	var start []int
	if !queueAll {
		f, err := free()
		if err != nil {
			return nil, nil, err
		}
		start = admitted(f)
		for _, i := range start {
			all[i].Run.Status = model.RunRunning // the insert trigger counts it in run_slots
		}
	}
	for _, r := range invalid {
		all = append(all, store.BulkRun{NewRun: store.NewRun{Run: r}})
	}
	if err := s.DB.InsertRuns(ctx, tx, all); err != nil {
		return nil, nil, err
	}
	var queued []int64
	if queueAll {
		queued = wsIDs
	}
	out := make([]model.Run, len(subs))
	for i := range subs {
		out[i] = all[i].Run
	}
	var jobs []ChunkJob
	for _, i := range start {
		if out[i].StartedAt == nil {
			now := out[i].CreatedAt // inserted RUNNING
			out[i].StartedAt = &now
		}
		for c := range all[i].ChunkCount {
			jobs = append(jobs, ChunkJob{RunID: out[i].ID, Chunk: c})
		}
	}
	return out, queued, s.enqueueChunks(ctx, tx, jobs)
}

// ChunkJob is one chunk of a run to work.
type ChunkJob struct {
	RunID int64
	Chunk int
}

// BatchQueue is a Queue that also enqueues the chunks of many runs at once
// (one River insert for a batch of schedule firings).
type BatchQueue interface {
	ChunkJobs(ctx context.Context, tx *store.Tx, jobs []ChunkJob) error
}

func (s *Service) enqueueChunks(ctx context.Context, tx *store.Tx, jobs []ChunkJob) error {
	if len(jobs) == 0 {
		return nil
	}
	if bq, ok := s.Queue.(BatchQueue); ok {
		return bq.ChunkJobs(ctx, tx, jobs)
	}
	for start := 0; start < len(jobs); {
		end := start + 1
		for end < len(jobs) && jobs[end].RunID == jobs[start].RunID {
			end++
		}
		chunks := make([]int, 0, end-start)
		for _, j := range jobs[start:end] {
			chunks = append(chunks, j.Chunk)
		}
		if err := s.Queue.Chunks(ctx, tx, jobs[start].RunID, chunks); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// CheckCallback applies the SSRF policy to a callback at submission time.
func (s *Service) CheckCallback(cb catalog.Callback) error {
	if cb.URL != "" {
		if err := s.Callbacks.ValidateURL(cb.URL); err != nil {
			msg := "body/callback/url must be a public http(s) URL"
			if errors.Is(err, send.ErrInvalidURL) {
				msg = "body/callback/url must be a valid http(s) URL"
			}
			return apperr.BadInput("%s: %v", msg, err)
		}
	}
	if err := send.ValidateHeaders(cb.Headers); err != nil {
		return apperr.BadInput("body/callback/headers: %v", err)
	}
	return nil
}

// checkIdentities rejects at submission what can never work: foreign or
// unknown identities (404) and managed mode on outreach actions (400).
// Missing valid integrations are not refused here: the run goes BLOCKED and
// resumes once the account is reconnected.
func (s *Service) checkIdentities(ctx context.Context, p model.Principal, a *catalog.Action, mode string, uids []string) error {
	if !a.NeedsIdentity {
		return nil
	}
	switch mode {
	case "", "direct":
		if len(uids) == 0 {
			return apperr.BadInput("body/identity_ids must NOT have fewer than 1 items when identity_mode is direct")
		}
	case "managed":
		if !a.ManagedAllowed() {
			return apperr.BadInput("identity_mode managed is allowed for extraction and search actions only; %s is %s", a.Slug, a.Kind)
		}
	}
	return s.Engine.CheckIdentityUIDs(ctx, p.WorkspaceID, uids)
}

// admitNew starts a new QUEUED run of chunks chunks when the workspace is
// under its plan's concurrent-run cap, enqueuing all its chunks (every
// input of a new run is pending). It runs inside the caller's transaction
// and reads the slots in use from run_slots under its row lock
// (store.LockSlots), O(1) however many runs are RUNNING; the status change
// itself updates run_slots (trigger).
func (s *Service) admitNew(ctx context.Context, tx *store.Tx, runID, workspaceID int64, chunks int) (bool, error) {
	running, plan, err := s.DB.LockSlots(ctx, tx, workspaceID)
	if err != nil {
		return false, err
	}
	if running >= s.Plans(plan).ConcurrentRuns {
		return false, nil
	}
	ok, err := store.SetRunStatus(ctx, tx, runID, []string{model.RunQueued}, model.RunRunning, "")
	if err != nil || !ok {
		return false, err
	}
	all := make([]int, chunks)
	for c := range all {
		all[c] = c
	}
	return true, s.Queue.Chunks(ctx, tx, runID, all)
}

// admit starts a QUEUED run (a resumed one) when the workspace is under its
// plan's cap, enqueuing its pending chunks; see admitNew.
func (s *Service) admit(ctx context.Context, tx *store.Tx, runID, workspaceID int64) (bool, error) {
	running, plan, err := s.DB.LockSlots(ctx, tx, workspaceID)
	if err != nil {
		return false, err
	}
	if running >= s.Plans(plan).ConcurrentRuns {
		return false, nil
	}
	return s.start(ctx, tx, runID)
}

// start moves a QUEUED run to RUNNING and enqueues its pending chunks; the
// caller holds the slot lock and has checked the cap.
func (s *Service) start(ctx context.Context, tx *store.Tx, runID int64) (bool, error) {
	ok, err := store.SetRunStatus(ctx, tx, runID, []string{model.RunQueued}, model.RunRunning, "")
	if err != nil || !ok {
		return false, err
	}
	chunks, err := store.PendingChunks(ctx, tx, runID)
	if err != nil {
		return false, err
	}
	if len(chunks) == 0 {
		return true, fmt.Errorf("runs: run %d admitted with no pending input", runID)
	}
	return true, s.Queue.Chunks(ctx, tx, runID, chunks)
}

// PromoteWaiting promotes every workspace that has QUEUED async runs and,
// by an unlocked read, free slots: what a lost Promote after SubmitManyTx
// would otherwise leave waiting until another run of the workspace ends.
// The schedules loop calls it every few seconds; the read is one scan of
// the runs_queued partial index.
func (s *Service) PromoteWaiting(ctx context.Context) error {
	var ws []int64
	err := s.DB.View(ctx, func(q store.Querier) (err error) {
		ws, err = store.WorkspacesWithQueuedRuns(ctx, q, 1000)
		return err
	})
	if err != nil {
		return err
	}
	var firstErr error
	for _, id := range ws {
		var running int
		var plan string
		err := s.DB.View(ctx, func(q store.Querier) (err error) {
			running, plan, err = store.ReadSlots(ctx, q, id)
			return err
		})
		if err == nil && running >= s.Plans(plan).ConcurrentRuns {
			continue
		}
		if err == nil {
			err = s.Promote(ctx, id)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// promote admits the workspace's oldest QUEUED runs while slots are free.
// Callers call it after a run of the workspace left RUNNING in tx (finish,
// block, cancel); it is harmless when none did.
func (s *Service) promote(ctx context.Context, tx *store.Tx, workspaceID int64) error {
	running, plan, err := s.DB.LockSlots(ctx, tx, workspaceID)
	if err != nil {
		return err
	}
	free := s.Plans(plan).ConcurrentRuns - running
	// The runs started here are not part of what ctx traces (another run's
	// end, a cancel): their chunks start traces of their own.
	ctx = tracing.Detach(ctx)
	for free > 0 {
		ids, err := store.QueuedRuns(ctx, tx, workspaceID, free)
		if err != nil || len(ids) == 0 {
			return err
		}
		if len(ids) == 1 {
			// A finishing run frees one slot: one run, three statements.
			ok, err := s.start(ctx, tx, ids[0])
			if err != nil {
				return err
			}
			if ok {
				free--
			}
			continue
		}
		// Many at once (a burst of schedule firings left QUEUED, a plan
		// raised): one UPDATE for all of them, one read of their chunks
		// and one River insert, rather than three statements a run, all
		// of it under the run_slots lock. Runs not moved were cancelled
		// meanwhile (PostgreSQL re-reads the row after the canceller
		// commits); the next ones take their slots.
		moved, err := s.DB.StartRuns(ctx, tx, ids, store.Time(store.Now()))
		if err != nil {
			return err
		}
		chunks, err := store.PendingChunksOf(ctx, tx, moved)
		if err != nil {
			return err
		}
		var jobs []ChunkJob
		for _, id := range moved {
			if len(chunks[id]) == 0 {
				return fmt.Errorf("runs: run %d admitted with no pending input", id)
			}
			for _, c := range chunks[id] {
				jobs = append(jobs, ChunkJob{RunID: id, Chunk: c})
			}
		}
		if err := s.enqueueChunks(ctx, tx, jobs); err != nil {
			return err
		}
		free -= len(moved)
	}
	return nil
}
