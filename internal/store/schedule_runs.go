package store

import (
	"context"
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
	err := queryEach(ctx, q, func(row scanner) error {
		var uid string
		var at int64
		err := row.Scan(&uid, &at)
		out[uid] = Time(at)
		return err
	}, `SELECT uid, postponed_until FROM runs
		WHERE workspace_id = $1 AND uid IN (`+strings.Join(ph, ", ")+`) AND postponed_until IS NOT NULL`, args...)
	if err != nil {
		return nil, unable(err, "read the postponements of %d runs", len(uids))
	}
	return out, nil
}
