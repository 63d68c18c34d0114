package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// The managed pool: the operator's member-less workspace whose managed
// identities are the accounts that identity_mode "managed" rents out.

// OperatorPool returns the operator pool workspace (the first one marked), or
// ErrNotFound when none is marked yet.
func OperatorPool(ctx context.Context, q Querier) (model.Principal, error) {
	var p model.Principal
	err := q.queryRowContext(ctx, `
		SELECT id, uid, name, plan
		FROM workspaces
		WHERE operator_pool
		ORDER BY id
		LIMIT 1`).
		Scan(&p.WorkspaceID, &p.WorkspaceUID, &p.WorkspaceName, &p.Plan)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Principal{}, ErrNotFound
	}
	if err != nil {
		return model.Principal{}, fmt.Errorf("store: unable to fetch the operator pool: %w", err)
	}
	return p, nil
}

// MarkOperatorPool makes workspace id the operator pool.
func MarkOperatorPool(ctx context.Context, tx *Tx, workspaceID int64) error {
	if _, err := tx.execContext(ctx, `
		UPDATE workspaces
		SET operator_pool = TRUE
		WHERE id = $1`, workspaceID); err != nil {
		return fmt.Errorf("store: unable to mark workspace %d as the operator pool: %w", workspaceID, err)
	}
	return nil
}

// ManagedIdentityUIDs lists the uids of the workspace's managed identities,
// oldest first.
func (db *Store) ManagedIdentityUIDs(ctx context.Context, workspaceID int64) ([]string, error) {
	uids, err := queryAll(ctx, db.r, scanString, `
		SELECT uid
		FROM identities
		WHERE workspace_id = $1 AND managed
		ORDER BY id`, workspaceID)
	return uids, unable(err, "list the managed identities of workspace %d", workspaceID)
}

// CountManagedIdentities counts the workspace's managed identities.
func (db *Store) CountManagedIdentities(ctx context.Context, workspaceID int64) (int, error) {
	var n int
	if err := db.r.queryRowContext(ctx, `
		SELECT COUNT(*)
		FROM identities
		WHERE workspace_id = $1 AND managed`, workspaceID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count the managed identities of workspace %d: %w", workspaceID, err)
	}
	return n, nil
}

// LinkTarget is what a login link connects: the identity and its workspace's
// branding.
type LinkTarget struct {
	IdentityUID   string
	WorkspaceID   int64
	WorkspaceName string
	LogoURL       string
}

// LoginLinkTarget reads the identity a login link names, with its workspace;
// ErrNotFound when the identity is gone.
func (db *Store) LoginLinkTarget(ctx context.Context, identityID int64) (LinkTarget, error) {
	var t LinkTarget
	err := db.r.queryRowContext(ctx, `
		SELECT i.uid, w.id, w.name, w.logo_url
		FROM identities i
		JOIN workspaces w ON w.id = i.workspace_id
		WHERE i.id = $1`, identityID).
		Scan(&t.IdentityUID, &t.WorkspaceID, &t.WorkspaceName, &t.LogoURL)
	if errors.Is(err, sql.ErrNoRows) {
		return LinkTarget{}, ErrNotFound
	}
	if err != nil {
		return LinkTarget{}, fmt.Errorf("store: unable to fetch the login link target of identity %d: %w", identityID, err)
	}
	return t, nil
}

// RunStatus reads a run's status; ok is false when the run is gone.
func (db *Store) RunStatus(ctx context.Context, runID int64) (status string, ok bool, err error) {
	err = db.r.queryRowContext(ctx, `
		SELECT status
		FROM runs
		WHERE id = $1`, runID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: unable to fetch the status of run %d: %w", runID, err)
	}
	return status, true, nil
}

// SetRunWork records how many inputs a new run holds and in how many chunks
// its workers take them.
func SetRunWork(ctx context.Context, tx *Tx, runID int64, pending, chunks int) error {
	if _, err := tx.execContext(ctx, `
		UPDATE runs
		SET pending_count = $2, chunk_count = $3
		WHERE id = $1`, runID, pending, chunks); err != nil {
		return fmt.Errorf("store: unable to set the work of run %d: %w", runID, err)
	}
	return nil
}
