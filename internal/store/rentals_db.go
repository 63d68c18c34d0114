package store

import (
	"context"
)

// Entry points for rentals.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) ActiveRental(ctx context.Context, identityID int64, platform string) (Rental, error) {
	return ActiveRental(ctx, sqlQ{db.read}, identityID, platform)
}

func (db *Store) DueRentals(ctx context.Context, now int64, limit int) ([]Rental, error) {
	return DueRentals(ctx, sqlQ{db.read}, now, limit)
}

func (db *Store) PoolRentalEnds(ctx context.Context) (map[int64]int64, error) {
	return PoolRentalEnds(ctx, db.r)
}
