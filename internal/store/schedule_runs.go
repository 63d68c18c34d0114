package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RunsPostponedUntil returns when each run among uids (of one workspace)
// that waits on a Smart Limit continues: runs not postponed are left out.
// Schedules show their last run's (postponed_until).
func RunsPostponedUntil(ctx context.Context, q Querier, workspaceID int64, uids []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(uids) == 0 {
		return out, nil
	}
	args := []any{workspaceID}
	ph := make([]string, len(uids))
	for i, u := range uids {
		args = append(args, u)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	rows, err := q.queryContext(ctx, `SELECT uid, postponed_until FROM runs
		WHERE workspace_id = $1 AND uid IN (`+strings.Join(ph, ", ")+`) AND postponed_until IS NOT NULL`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the runs' postponements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid string
		var at int64
		if err := rows.Scan(&uid, &at); err != nil {
			return nil, fmt.Errorf("store: unable to read the runs' postponements: %w", err)
		}
		out[uid] = Time(at)
	}
	return out, rows.Err()
}
