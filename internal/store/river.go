package store

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// River, the job queue, runs on the store's database inside the store's
// transactions, and its client and driver are typed on the transaction of
// database/sql. These names let internal/jobs hold them without importing
// database/sql, and InsertJobs enqueues inside a Tx without handing the
// *sql.Tx out of the store.

// JobClient is River's client on the store's database.
type JobClient = river.Client[*sql.Tx]

// JobDriver is River's driver on the store's database (Store.RiverDriver).
type JobDriver = riverdriver.Driver[*sql.Tx]

// JobClientFromContext is the client running the River worker whose ctx
// this is (river.ClientFromContext).
func JobClientFromContext(ctx context.Context) *JobClient {
	return river.ClientFromContext[*sql.Tx](ctx)
}

// InsertJobs enqueues jobs inside tx: they become visible when tx commits.
func InsertJobs(ctx context.Context, c *JobClient, tx *Tx, jobs []river.InsertManyParams) error {
	_, err := c.InsertManyFastTx(ctx, tx.tx, jobs)
	return unable(err, "enqueue %d jobs", len(jobs))
}

// InsertJob enqueues one job inside tx (River's InsertTx).
func InsertJob(ctx context.Context, c *JobClient, tx *Tx, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := c.InsertTx(ctx, tx.tx, args, opts)
	return unable(err, "enqueue a %s job", args.Kind())
}
