package runs

import (
	"context"
	"errors"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func (s *Service) Get(ctx context.Context, workspaceID int64, uid string) (model.Run, error) {
	r, err := s.DB.GetRun(ctx, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return r, apperr.NotFound("run %s not found", uid)
	}
	return r, err
}

func (s *Service) List(ctx context.Context, workspaceID int64, f store.RunFilter) ([]model.Run, error) {
	return s.DB.ListRuns(ctx, workspaceID, f)
}

// Outputs pages an async run's results.
func (s *Service) Outputs(ctx context.Context, workspaceID int64, uid string, limit, offset int) ([]string, error) {
	r, err := s.Get(ctx, workspaceID, uid)
	if err != nil {
		return nil, err
	}
	if r.ExecutionMode != "ASYNC" {
		return nil, apperr.BadInput("outputs are kept for async runs only; run %s is %s", uid, r.ExecutionMode)
	}
	return s.DB.Outputs(ctx, r.ID, limit, offset)
}

// Cancel stops an async run: no further work and no further callbacks;
// the results so far are kept.
func (s *Service) Cancel(ctx context.Context, workspaceID int64, uid string) (model.Run, error) {
	var out model.Run
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetRun(ctx, tx, workspaceID, uid)
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("run %s not found", uid)
		}
		if err != nil {
			return err
		}
		if r.ExecutionMode != "ASYNC" {
			return apperr.Conflict("only async runs can be cancelled; run %s is %s", uid, r.ExecutionMode)
		}
		// Compare-and-set on the status read, so that we know whether a
		// concurrency slot was freed: only a RUNNING run holds one. A
		// QUEUED, BLOCKED (...) run is stopped without touching the slots,
		// so cancelling it never waits on another transaction's admission.
		for {
			if !cancellable(r.Status) {
				return apperr.Conflict("run %s is %s and cannot be cancelled", uid, r.Status)
			}
			ok, err := store.SetRunStatus(ctx, tx, r.ID, []string{r.Status}, model.RunStopped, "")
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if r, err = store.GetRunByID(ctx, tx, r.ID); err != nil { // changed meanwhile: read it again
				return err
			}
		}
		if r.Status == model.RunRunning {
			if err := s.promote(ctx, tx, workspaceID); err != nil {
				return err
			}
		}
		out, err = store.GetRunByID(ctx, tx, r.ID)
		return err
	})
	if err == nil {
		s.halts.halt(out.ID) // this node's chunks stop at once; others within HaltEvery
	}
	return out, err
}

func cancellable(status string) bool {
	switch status {
	case model.RunCreated, model.RunQueued, model.RunScheduled, model.RunRunning, model.RunBlocked:
		return true
	}
	return false
}

// Resume re-queues a BLOCKED run (after the user reconnected an account or
// credits came back). It starts at once if a concurrency slot is free.
func (s *Service) Resume(ctx context.Context, workspaceID int64, uid string) (model.Run, error) {
	var out model.Run
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetRun(ctx, tx, workspaceID, uid)
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("run %s not found", uid)
		}
		if err != nil {
			return err
		}
		if err := s.resumeTx(ctx, tx, r); err != nil {
			return err
		}
		out, err = store.GetRunByID(ctx, tx, r.ID)
		return err
	})
	return out, err
}

func (s *Service) resumeTx(ctx context.Context, tx *store.Tx, r model.Run) error {
	ok, err := store.SetRunStatus(ctx, tx, r.ID, []string{model.RunBlocked}, model.RunQueued, "")
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Conflict("run %s is %s; only BLOCKED runs can be resumed", r.UID, r.Status)
	}
	if err := store.ResetInputAttempts(ctx, tx, r.ID); err != nil {
		return err
	}
	// The user fixed what blocked the run (reconnected an account, bought
	// credits): its chunks read the accounts afresh, not a list this node
	// shared between chunks before the fix.
	s.Engine.ForgetCandidates(r.WorkspaceID)
	_, err = s.admit(ctx, tx, r.ID, r.WorkspaceID)
	return err
}

// ResumeBlockedBy resumes a workspace's BLOCKED runs whose last error is one
// of the labels (e.g. after an account is reconnected). It returns how many
// it resumed.
func (s *Service) ResumeBlockedBy(ctx context.Context, workspaceID int64, labels ...string) (int, error) {
	rs, err := s.DB.ListRuns(ctx, workspaceID, store.RunFilter{Status: []string{model.RunBlocked}, Limit: 1000})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		if r.LastError == nil || !contains(labels, r.LastError.Label) {
			continue
		}
		err := s.DB.Tx(ctx, func(tx *store.Tx) error { return s.resumeTx(ctx, tx, r) })
		if err == nil {
			n++
		} else if !apperr.Is(err, "CONFLICT") {
			return n, err
		}
	}
	return n, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
