package store

import (
	"context"
	"fmt"
)

// CountRequest counts one API request of a workspace's route group in its
// fixed one-second and one-minute windows (rate_windows, one upsert), and
// returns both windows' counts with it. Requests wait for the row lock in no
// particular order, so the windows only move forward: a request that read
// the clock before the current window opened counts in it.
func (db *Store) CountRequest(ctx context.Context, workspaceID int64, group string, sec, min int64) (secCount, minCount int, err error) {
	err = db.write.QueryRowContext(ctx, `
		INSERT INTO rate_windows AS r (workspace_id, grp, sec_start, sec_count, min_start, min_count)
		VALUES ($1, $2, $3, 1, $4, 1)
		ON CONFLICT (workspace_id, grp) DO UPDATE SET
			sec_count = CASE WHEN excluded.sec_start > r.sec_start THEN 1 ELSE r.sec_count + 1 END,
			sec_start = CASE WHEN excluded.sec_start > r.sec_start THEN excluded.sec_start ELSE r.sec_start END,
			min_count = CASE WHEN excluded.min_start > r.min_start THEN 1 ELSE r.min_count + 1 END,
			min_start = CASE WHEN excluded.min_start > r.min_start THEN excluded.min_start ELSE r.min_start END
		RETURNING sec_count, min_count`, workspaceID, group, sec, min).Scan(&secCount, &minCount)
	if err != nil {
		return 0, 0, fmt.Errorf("store: unable to count a request of workspace %d (%s): %w", workspaceID, group, err)
	}
	return secCount, minCount, nil
}
