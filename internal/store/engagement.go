package store

import (
	"context"
	"database/sql"
	"errors"
)

// Engagement identities are billed by their peak count per credit period.
// The count only changes when one is created or deleted, so raising the
// period's row at each change, with the count on both sides of the change,
// records the exact peak: a period without a row saw a constant count (the
// current one).

// CountEngagementIdentities counts a workspace's engagement identities.
func CountEngagementIdentities(ctx context.Context, q Querier, workspaceID int64) (int, error) {
	var n int
	err := q.queryRowContext(ctx, `SELECT COUNT(*) FROM identities WHERE workspace_id = $1 AND type = 'engagement' AND NOT managed`,
		workspaceID).Scan(&n)
	return n, unable(err, "count engagement identities")
}

// RaiseEngagementPeak raises the recorded peak of the period starting at
// periodStart (unix ms) to at least n.
func RaiseEngagementPeak(ctx context.Context, q Querier, workspaceID, periodStart int64, n int) error {
	_, err := q.execContext(ctx, `
		INSERT INTO engagement_peaks (workspace_id, period_start, peak, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, period_start) DO UPDATE SET
			peak = CASE WHEN excluded.peak > engagement_peaks.peak THEN excluded.peak ELSE engagement_peaks.peak END,
			updated_at = excluded.updated_at`, workspaceID, periodStart, n, Now())
	return unable(err, "raise engagement peak")
}

// EngagementPeak returns the peak of the current period, starting at
// periodStart: the recorded one, or the current count when nothing changed
// in the period.
func EngagementPeak(ctx context.Context, q Querier, workspaceID, periodStart int64) (int, error) {
	var recorded int
	err := q.queryRowContext(ctx, `SELECT peak FROM engagement_peaks WHERE workspace_id = $1 AND period_start = $2`,
		workspaceID, periodStart).Scan(&recorded)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, unable(err, "read engagement peak")
	}
	n, err := CountEngagementIdentities(ctx, q, workspaceID)
	if err != nil {
		return 0, unable(err, "read engagement peak")
	}
	return max(recorded, n), nil
}
