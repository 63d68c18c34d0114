package store

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for members.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) GetMember(ctx context.Context, workspaceID int64, uid string) (model.Member, error) {
	return GetMember(ctx, db.r, workspaceID, uid)
}

func (db *Store) ListMembers(ctx context.Context, workspaceID int64) ([]model.Member, error) {
	return ListMembers(ctx, db.r, workspaceID)
}

func (db *Store) ListInvitations(ctx context.Context, workspaceID int64) ([]model.Invitation, error) {
	return ListInvitations(ctx, db.r, workspaceID)
}

func (db *Store) DeleteInvitation(ctx context.Context, workspaceID int64, uid string) error {
	return DeleteInvitation(ctx, sqlQ{db.write}, workspaceID, uid)
}

func (db *Store) ReissueInvitation(ctx context.Context, workspaceID int64, uid, tokenHash string, expires time.Time) (model.Invitation, error) {
	return ReissueInvitation(ctx, sqlQ{db.write}, workspaceID, uid, tokenHash, expires)
}
