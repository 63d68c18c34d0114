package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for console.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) ConsoleSessionByHash(ctx context.Context, tokenHash string) (ConsoleSession, error) {
	return ConsoleSessionByHash(ctx, sqlQ{db.write}, tokenHash)
}

func (db *Store) DeleteConsoleSession(ctx context.Context, tokenHash string) error {
	return DeleteConsoleSession(ctx, sqlQ{db.write}, tokenHash)
}

func (db *Store) InsertConsoleSession(ctx context.Context, tokenHash string, memberID int64, csrf string, now, expires int64) error {
	return InsertConsoleSession(ctx, sqlQ{db.write}, tokenHash, memberID, csrf, now, expires)
}

func (db *Store) InsertPasswordLink(ctx context.Context, tokenHash string, memberID, expires int64) error {
	return InsertPasswordLink(ctx, sqlQ{db.write}, tokenHash, memberID, expires)
}

func (db *Store) IntegrationHealth(ctx context.Context, workspaceID int64) (map[string]int64, error) {
	return IntegrationHealth(ctx, db.r, workspaceID)
}

func (db *Store) MemberByID(ctx context.Context, id int64) (model.Member, error) {
	return MemberByID(ctx, db.r, id)
}

func (db *Store) MembersByEmail(ctx context.Context, email string) ([]MemberLogin, error) {
	return MembersByEmail(ctx, db.r, email)
}

func (db *Store) PasswordLinkMember(ctx context.Context, tokenHash string, now int64) (int64, error) {
	return PasswordLinkMember(ctx, db.r, tokenHash, now)
}

func (db *Store) RunActivity(ctx context.Context, workspaceID, since, until int64) ([]RunActivityRow, error) {
	return RunActivity(ctx, db.r, workspaceID, since, until)
}

func (db *Store) TouchConsoleSession(ctx context.Context, id, now int64) error {
	return TouchConsoleSession(ctx, sqlQ{db.write}, id, now)
}
