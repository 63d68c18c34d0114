package jobs

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river"

	"github.com/firstmate-oss/firstmate/internal/runs"
)

// ChunkJobs implements runs.BatchQueue: the chunks of many runs (a batch of
// schedule firings) in one River insert instead of one per run.
func (j *Jobs) ChunkJobs(ctx context.Context, tx *sql.Tx, jobs []runs.ChunkJob) error {
	if len(jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, c := range jobs {
		params[i] = river.InsertManyParams{Args: ChunkArgs{RunID: c.RunID, Chunk: c.Chunk}}
	}
	_, err := j.Client.InsertManyFastTx(ctx, tx, params)
	return err
}
