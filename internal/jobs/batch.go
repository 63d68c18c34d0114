package jobs

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// ChunkJobs implements runs.BatchQueue: the chunks of many runs (a batch of
// schedule firings) in one River insert instead of one per run.
func (q *Queue) ChunkJobs(ctx context.Context, tx *store.Tx, jobs []runs.ChunkJob) error {
	if q.client == nil {
		return errNoClient
	}
	if len(jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(jobs))
	pos := 0
	meta := traceMetadata(ctx)
	for i, c := range jobs {
		if i > 0 && jobs[i-1].RunID != c.RunID {
			pos = 0
		}
		params[i] = chunkParams(c.RunID, c.Chunk, pos, meta)
		pos++
	}
	err := store.InsertJobs(ctx, q.client, tx, params)
	return err
}
