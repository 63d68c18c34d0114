package runs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/delivery"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
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
}

// Submit validates what the schema cannot (callback URL policy, identities),
// then stores the run and all its inputs in one transaction and admits it.
func (s *Service) Submit(ctx context.Context, sub Submission) (model.Run, error) {
	if err := s.CheckSubmission(ctx, sub); err != nil {
		return model.Run{}, err
	}
	if sub.IdempotencyKey != "" {
		if r, err := store.GetRunByIdempotencyKey(ctx, s.DB.R, sub.Principal.WorkspaceID, sub.IdempotencyKey); err == nil {
			return r, nil
		}
	}
	var out model.Run
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.insert(ctx, tx, sub)
		return err
	})
	if err != nil && sub.IdempotencyKey != "" && store.IsUniqueViolation(err) {
		// A concurrent submission with the same key won: return its run.
		return store.GetRunByIdempotencyKey(ctx, s.DB.R, sub.Principal.WorkspaceID, sub.IdempotencyKey)
	}
	return out, err
}

// SubmitTx is Submit inside the caller's transaction, so that a schedule
// firing claims its schedule and creates its run in one commit. Validation
// errors (*apperr.Error) come before any write. IdempotencyKey is stored but
// not looked up: the caller's transaction decides uniqueness.
func (s *Service) SubmitTx(ctx context.Context, tx *sql.Tx, sub Submission) (model.Run, error) {
	if err := s.CheckSubmission(ctx, sub); err != nil {
		return model.Run{}, err
	}
	return s.insert(ctx, tx, sub)
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
func (s *Service) insert(ctx context.Context, tx *sql.Tx, sub Submission) (model.Run, error) {
	a, req := sub.Action, sub.Request
	if s.DB.Dialect == store.Postgres {
		// Take admit's workspace lock before the run's foreign key takes a
		// KEY SHARE lock on the same row: two submissions holding KEY SHARE
		// and both asking for FOR UPDATE deadlock (PostgreSQL aborts one,
		// each second, and concurrent schedule firings crawl).
		if _, err := tx.ExecContext(ctx, `SELECT id FROM workspaces WHERE id = $1 FOR UPDATE`, sub.Principal.WorkspaceID); err != nil {
			return model.Run{}, err
		}
	}
	inputs := make([]store.NewInput, len(req.Inputs))
	size := chunkSize(a, len(inputs))
	for i, in := range req.Inputs {
		b, err := json.Marshal(in.Values)
		if err != nil {
			return model.Run{}, err
		}
		ni := store.NewInput{Idx: i, Chunk: i / size, Input: string(b)}
		if in.CustomData != nil {
			cd, err := json.Marshal(in.CustomData)
			if err != nil {
				return model.Run{}, err
			}
			ni.CustomData = string(cd)
		}
		inputs[i] = ni
	}
	params, _ := json.Marshal(req.Parameters)
	run := model.Run{UID: uuid.NewString(), WorkspaceID: sub.Principal.WorkspaceID, WorkspaceUID: sub.Principal.WorkspaceUID,
		MemberUID: sub.Principal.MemberUID, ActionName: a.Slug, ExecutionMode: "ASYNC", Status: model.RunQueued,
		IdentityMode: req.IdentityMode, IdentityUIDs: req.IdentityIDs, Parameters: string(params),
		CallbackURL: req.Callback.URL, CallbackOn: req.Callback.On, InputCount: len(inputs), ScheduledRunUID: sub.ScheduledRunUID}
	kid, sealed := sub.SealedHeadersKID, sub.SealedHeaders
	if sealed == nil && len(req.Callback.Headers) > 0 {
		h, _ := json.Marshal(req.Callback.Headers)
		kid, sealed = s.Keys.Seal(h, []byte("callback-headers"))
	}
	r, err := store.InsertRun(ctx, tx, store.NewRun{Run: run, CallbackHeadersKID: kid, CallbackHeaders: sealed,
		IdempotencyKey: sub.IdempotencyKey})
	if err != nil {
		return model.Run{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET pending_count = $2, chunk_count = $3 WHERE id = $1`,
		r.ID, len(inputs), (len(inputs)+size-1)/size); err != nil {
		return model.Run{}, err
	}
	if err := s.DB.CopyInputs(ctx, tx, r.ID, inputs); err != nil {
		return model.Run{}, err
	}
	if _, err := s.admit(ctx, tx, r.ID, sub.Principal.WorkspaceID); err != nil {
		return model.Run{}, err
	}
	return store.GetRunByID(ctx, tx, r.ID)
}

// CheckCallback applies the SSRF policy to a callback at submission time.
func (s *Service) CheckCallback(cb catalog.Callback) error {
	if cb.URL != "" {
		if err := s.Callbacks.ValidateURL(cb.URL); err != nil {
			msg := "body/callback/url must be a public http(s) URL"
			if errors.Is(err, delivery.ErrInvalidURL) {
				msg = "body/callback/url must be a valid http(s) URL"
			}
			return apperr.BadInput("%s: %v", msg, err)
		}
	}
	if err := delivery.ValidateHeaders(cb.Headers); err != nil {
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

// admit starts a QUEUED run when the workspace is under its plan's
// concurrent-run cap, enqueuing its pending chunks. It runs inside the
// caller's transaction; on PostgreSQL the workspace row is locked so two
// nodes cannot both take the last slot.
func (s *Service) admit(ctx context.Context, tx *sql.Tx, runID, workspaceID int64) (bool, error) {
	if s.DB.Dialect == store.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM workspaces WHERE id = $1 FOR UPDATE`, workspaceID); err != nil {
			return false, err
		}
	}
	w, err := store.GetWorkspace(ctx, tx, workspaceID)
	if err != nil {
		return false, err
	}
	running, err := store.RunningCount(ctx, tx, workspaceID)
	if err != nil {
		return false, err
	}
	if running >= s.Plans(w.Plan).ConcurrentRuns {
		return false, nil
	}
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

// promote admits the workspace's oldest QUEUED runs while slots are free.
func (s *Service) promote(ctx context.Context, tx *sql.Tx, workspaceID int64) error {
	for {
		id, err := store.OldestQueued(ctx, tx, workspaceID)
		if err != nil || id == 0 {
			return err
		}
		ok, err := s.admit(ctx, tx, id, workspaceID)
		if err != nil || !ok {
			return err
		}
	}
}
