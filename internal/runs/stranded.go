package runs

import (
	"context"
	"sort"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// BlockStranded blocks a workspace's waiting async runs that counted on
// identityUID's account and no longer have any valid account to work with,
// once that account's session expired or it was deleted. They go BLOCKED
// with the reason (NO_VALID_ACCOUNT_CONFIGURED, or NOT_FOUND for a deleted
// identity) and resume when the account is reconnected.
//
// Waiting means QUEUED, or RUNNING with every chunk snoozed (postponed_until
// in the future, e.g. by a Smart Limit). A RUNNING run that a worker holds,
// or is about to, is left to that worker: it blocks the run itself when it
// finds no account, after committing what it fetched, where blocking it
// from here would make it throw that work away. It returns how many runs
// it blocked.
func (s *Service) BlockStranded(ctx context.Context, workspaceID int64, identityUID string) (int, error) {
	const page = 100
	var waiting []model.Run
	for off := 0; ; off += page {
		rs, err := s.DB.ListRuns(ctx, workspaceID, store.RunFilter{Status: []string{model.RunQueued, model.RunRunning},
			ExecutionMode: []string{"ASYNC"}, Limit: page, Offset: off, Sort: "id"})
		if err != nil {
			return 0, err
		}
		waiting = append(waiting, rs...)
		if len(rs) < page {
			break
		}
	}
	// QUEUED runs first: blocking a RUNNING one frees its slot, and the
	// oldest QUEUED run would be admitted only to block at once.
	sort.SliceStable(waiting, func(i, j int) bool {
		return waiting[i].Status == model.RunQueued && waiting[j].Status != model.RunQueued
	})
	n := 0
	for _, r := range waiting {
		if !countsOn(r, identityUID) || !s.idle(r) {
			continue
		}
		a, ok := catalog.Get(r.ActionName)
		if !ok || !a.NeedsIdentity {
			continue
		}
		p := model.Principal{WorkspaceID: r.WorkspaceID, WorkspaceUID: r.WorkspaceUID, MemberUID: r.MemberUID}
		_, err := s.Engine.Candidates(ctx, p, a, r.IdentityMode, r.IdentityUIDs)
		if err == nil || !blocking(err) {
			continue // another account still serves it
		}
		blocked, err := s.blockWaiting(ctx, r.ID, err)
		if err != nil {
			return n, err
		}
		if blocked {
			n++
		}
	}
	return n, nil
}

// countsOn tells whether a run's identity mode may use the identity.
func countsOn(r model.Run, identityUID string) bool {
	switch r.IdentityMode {
	case "managed":
		return false
	case "auto":
		return len(r.IdentityUIDs) == 0 || contains(r.IdentityUIDs, identityUID)
	}
	return contains(r.IdentityUIDs, identityUID)
}

// idle: no worker holds the run (QUEUED, or RUNNING with its chunks snoozed).
func (s *Service) idle(r model.Run) bool {
	switch r.Status {
	case model.RunQueued:
		return true
	case model.RunRunning:
		return r.PostponedUntil != nil && r.PostponedUntil.After(s.now())
	}
	return false
}

// blockWaiting moves an idle run to BLOCKED, re-checking under its lock
// that it is still idle.
func (s *Service) blockWaiting(ctx context.Context, runID int64, cause error) (bool, error) {
	ae, ok := apperr.As(cause)
	if !ok {
		ae = apperr.Internal(cause)
	}
	last := store.EncodeRunError(&model.RunError{Label: ae.Label, Message: ae.Message, Params: ae.Params})
	blocked := false
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		blocked = false
		if err := s.DB.LockRun(ctx, tx, runID); err != nil {
			return err
		}
		cur, err := store.GetRunByID(ctx, tx, runID)
		if err != nil || !s.idle(cur) {
			return err
		}
		if blocked, err = store.SetRunStatus(ctx, tx, runID, []string{cur.Status}, model.RunBlocked, last); err != nil || !blocked {
			return err
		}
		if err := store.SetRunPostponed(ctx, tx, runID, nil); err != nil {
			return err
		}
		if cur.Status == model.RunRunning {
			return s.promote(ctx, tx, cur.WorkspaceID) // its concurrency slot is free
		}
		return nil
	})
	return blocked, err
}
