package store

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for schedules.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) DueSchedules(ctx context.Context, now time.Time, limit int, fn func(DueSchedule) error) error {
	return DueSchedules(ctx, db.firingReads(), now, limit, fn)
}

func (db *Store) SchedulesDueAt(ctx context.Context, at time.Time, limit int, fn func(DueSchedule) error) error {
	return SchedulesDueAt(ctx, db.firingReads(), at, limit, fn)
}

func (db *Store) NextDueAfter(ctx context.Context, after time.Time) (time.Time, bool, error) {
	return NextDueAfter(ctx, db.r, after)
}

func (db *Store) GetSchedule(ctx context.Context, workspaceID int64, uid string) (model.Schedule, error) {
	return GetSchedule(ctx, db.r, workspaceID, uid)
}

func (db *Store) ListSchedules(ctx context.Context, workspaceID int64, f ScheduleFilter) ([]model.Schedule, error) {
	return ListSchedules(ctx, sqlQ{db.read}, workspaceID, f)
}

func (db *Store) NextDue(ctx context.Context) (time.Time, bool, error) { return NextDue(ctx, db.r) }
