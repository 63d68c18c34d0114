package store

import (
	"context"
	"fmt"
)

// A large async submission is stored while its body is still arriving, in
// batches that each commit on their own: on SQLite one transaction for all
// 100,000 inputs would hold the only writer for the whole upload, and every
// other workspace's writes (live calls, chunk commits) would wait behind it.
//
// The batches belong to a run in status STAGED, which no reader sees
// (runFrom leaves it out, with DISCARDED, and no job works it) until
// PublishStagedRun makes it QUEUED in the submission's last, short
// transaction: the run and all its inputs appear at once or not at all. A submission that fails part-way
// deletes what it staged (DiscardStagedRun); one cut short by a crash leaves
// a STAGED run that SweepStagedRuns deletes once it has been idle for long.
const runStaged = "STAGED"

// InsertStagedRun stores n.Run as a STAGED run, without its idempotency key
// (set when it is published), and returns its id.
func InsertStagedRun(ctx context.Context, q Querier, n NewRun) (int64, error) {
	n.Run.Status = runStaged
	n.IdempotencyKey, n.RequestHash = "", ""
	r, err := InsertRun(ctx, q, n)
	if err != nil {
		return 0, fmt.Errorf("store: unable to insert a staged run: %w", err)
	}
	return r.ID, nil
}

// StageInputs stores a batch of a staged run's inputs in a transaction of
// its own (COPY on PostgreSQL), and marks the run as still being written
// (SweepStagedRuns leaves it alone).
func (db *Store) StageInputs(ctx context.Context, runID int64, in []NewInput) error {
	err := db.TxKeepCaches(ctx, func(tx *Tx) error {
		if err := db.CopyInputs(ctx, tx, runID, in); err != nil {
			return err
		}
		_, err := tx.execContext(ctx, `UPDATE runs SET updated_at = $2 WHERE id = $1 AND status = 'STAGED'`, runID, Now())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unable to stage %d inputs of run %d: %w", len(in), runID, err)
	}
	return nil
}

// PublishStagedRun turns a staged run into a QUEUED one with the fields of
// n (identity, parameters, callback, idempotency key and request
// fingerprint) and its counts, in
// the caller's transaction. It reports false when the run is no longer
// STAGED (swept, or its workspace deleted). A unique violation means
// another run of the workspace took the idempotency key first.
func PublishStagedRun(ctx context.Context, q Querier, runID int64, n NewRun, inputs, chunks int) (bool, error) {
	r := n.Run
	ids, params, idem := storedRequest(n)
	res, err := q.execContext(ctx, `UPDATE runs SET status = 'QUEUED', identity_mode = $2, identity_uids = $3,
			parameters = $4, callback_url = $5, callback_on = $6, callback_headers_kid = $7, callback_headers = $8,
			input_count = $9, pending_count = $9, chunk_count = $10, idempotency_key = $11, request_hash = $13,
			created_at = $12, updated_at = $12
		WHERE id = $1 AND status = 'STAGED'`,
		runID, r.IdentityMode, ids, params, r.CallbackURL, r.CallbackOn, n.CallbackHeadersKID, n.CallbackHeaders,
		inputs, chunks, idem, Now(), n.RequestHash)
	if err != nil {
		return false, unable(err, "publish staged run %v", runID)
	}
	k, err := res.RowsAffected()
	return k == 1, unable(err, "publish staged run %v", runID)
}

// discardBatch is how many inputs one transaction of DiscardStagedRun
// deletes: like the staging batches, short enough not to hold SQLite's
// writer for long.
const discardBatch = 2000

// DiscardStagedRun deletes a staged run and its inputs. It first marks the
// run DISCARDED (hidden too), so that a concurrent PublishStagedRun finds
// nothing to publish rather than a run missing inputs; then deletes the
// inputs a batch per transaction, then the run. A run already published is
// left alone.
func (db *Store) DiscardStagedRun(ctx context.Context, runID int64) error {
	err := db.TxKeepCaches(ctx, func(tx *Tx) error {
		_, err := tx.execContext(ctx, `UPDATE runs SET status = 'DISCARDED', updated_at = $2 WHERE id = $1 AND status = 'STAGED'`,
			runID, Now())
		return err
	})
	for err == nil {
		var n int64
		err = db.TxKeepCaches(ctx, func(tx *Tx) error {
			res, err := tx.execContext(ctx, `DELETE FROM run_inputs WHERE id IN (SELECT i.id FROM run_inputs i
				JOIN runs r ON r.id = i.run_id AND r.status = 'DISCARDED' WHERE i.run_id = $1 LIMIT $2)`, runID, discardBatch)
			if err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil || n > 0 {
				return err
			}
			_, err = tx.execContext(ctx, `DELETE FROM runs WHERE id = $1 AND status = 'DISCARDED'`, runID)
			return err
		})
		if n == 0 {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("store: unable to discard staged run %d: %w", runID, err)
	}
	return nil
}

// SweepStagedRuns discards the staged runs not written to since before (unix
// ms), submissions cut short by a crash, and finishes discards cut short
// the same way. It returns how many runs it discarded.
func (db *Store) SweepStagedRuns(ctx context.Context, before int64) (int, error) {
	ids, err := queryAll(ctx, sqlQ{db.read}, scanInt64, `SELECT id FROM runs
		WHERE (status = 'STAGED' OR status = 'DISCARDED') AND updated_at < $1`, before)
	if err != nil {
		return 0, unable(err, "list staged runs")
	}
	for i, id := range ids {
		if err := db.DiscardStagedRun(ctx, id); err != nil {
			return i, unable(err, "sweep staged runs")
		}
	}
	return len(ids), nil
}
