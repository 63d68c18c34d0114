package store

import (
	"context"
)

// Entry points for keychecks.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) AnySealedSecret(ctx context.Context) (kid string, sealed []byte, ok bool, err error) {
	return AnySealedSecret(ctx, sqlQ{db.write})
}

func (db *Store) KeyChecks(ctx context.Context) (map[string]KeyCheck, error) {
	return KeyChecks(ctx, sqlQ{db.write})
}
