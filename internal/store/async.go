package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
)

// Rows per multi-row INSERT: well under both databases' bound-parameter limits.
const insertBatch = 400

// Placeholders returns one row of a multi-row INSERT for code outside this
// package: "($n, ...)" for cols parameters after the first before.
func Placeholders(before, cols int) string {
	var sb strings.Builder
	rowPlaceholders(&sb, postgresDialect{}, before, cols)
	return sb.String()
}

// NewInput is one async input to store.
type NewInput struct {
	Idx        int
	Chunk      int
	Input      string // JSON object
	CustomData string // JSON, "" for none
}

// InsertInputs stores a run's inputs with multi-row INSERTs.
func (db *Store) InsertInputs(ctx context.Context, q Querier, runID int64, in []NewInput) error {
	now := Now()
	for start := 0; start < len(in); start += insertBatch {
		end := min(start+insertBatch, len(in))
		var sb strings.Builder
		sb.WriteString(`INSERT INTO run_inputs (run_id, idx, chunk, input, custom_data, updated_at) VALUES `)
		args := make([]any, 0, (end-start)*6)
		for i, x := range in[start:end] {
			if i > 0 {
				sb.WriteString(", ")
			}
			rowPlaceholders(&sb, db.dialect, len(args), 6)
			var cd sql.NullString
			if x.CustomData != "" {
				cd = sql.NullString{String: x.CustomData, Valid: true}
			}
			args = append(args, runID, x.Idx, x.Chunk, x.Input, cd, now)
		}
		if _, err := q.execContext(ctx, sb.String(), args...); err != nil {
			return unable(err, "insert inputs %v", runID)
		}
	}
	return nil
}

// Input is a stored input.
type Input struct {
	ID         int64
	Idx        int
	Input      string
	CustomData sql.NullString
	Attempts   int
}

// PendingInputs lists a chunk's inputs still to work, in order.
func PendingInputs(ctx context.Context, q Querier, runID int64, chunk int) ([]Input, error) {
	out, err := queryAll(ctx, q, func(row scanner) (Input, error) {
		var in Input
		err := row.Scan(&in.ID, &in.Idx, &in.Input, &in.CustomData, &in.Attempts)
		return in, err
	}, `SELECT id, idx, input, custom_data, attempts FROM run_inputs
		WHERE run_id = $1 AND chunk = $2 AND status = 'PENDING' ORDER BY idx`, runID, chunk)
	return out, unable(err, "read the pending inputs of run %d, chunk %d", runID, chunk)
}

// PendingChunks lists the chunks of a run that still have work.
func PendingChunks(ctx context.Context, q Querier, runID int64) ([]int, error) {
	out, err := queryAll(ctx, q, func(row scanner) (int, error) {
		var c int
		err := row.Scan(&c)
		return c, err
	}, `SELECT DISTINCT chunk FROM run_inputs WHERE run_id = $1 AND status = 'PENDING' ORDER BY chunk`, runID)
	return out, unable(err, "read the pending chunks of run %d", runID)
}

// PendingChunksOf is PendingChunks for many runs in one query per 500 runs:
// each run's chunks that still hold a PENDING input, in order.
func PendingChunksOf(ctx context.Context, q Querier, runIDs []int64) (map[int64][]int, error) {
	out := make(map[int64][]int, len(runIDs))
	const perStmt = 500
	for start := 0; start < len(runIDs); start += perStmt {
		ids := runIDs[start:min(start+perStmt, len(runIDs))]
		ph := make([]string, len(ids))
		args := make([]any, len(ids))
		for i, id := range ids {
			ph[i], args[i] = "$"+strconv.Itoa(i+1), id
		}
		err := queryEach(ctx, q, func(row scanner) error {
			var id int64
			var c int
			if err := row.Scan(&id, &c); err != nil {
				return err
			}
			out[id] = append(out[id], c)
			return nil
		}, `SELECT DISTINCT run_id, chunk FROM run_inputs WHERE run_id IN (`+strings.Join(ph, ", ")+
			`) AND status = 'PENDING' ORDER BY run_id, chunk`, args...)
		if err != nil {
			return nil, unable(err, "read the pending chunks of %d runs", len(ids))
		}
	}
	return out, nil
}

// ResetInputAttempts gives every pending input of a resumed run fresh attempts.
func ResetInputAttempts(ctx context.Context, q Querier, runID int64) error {
	_, err := q.execContext(ctx, `UPDATE run_inputs SET attempts = 0 WHERE run_id = $1 AND status = 'PENDING'`, runID)
	return unable(err, "reset input attempts %v", runID)
}

// NewOutput is one result row.
type NewOutput struct {
	InputIdx int
	Seq      int
	BatchUID string
	Data     string
}

func (db *Store) InsertOutputs(ctx context.Context, q Querier, runID int64, out []NewOutput) error {
	now := Now()
	for start := 0; start < len(out); start += insertBatch {
		end := min(start+insertBatch, len(out))
		var sb strings.Builder
		sb.WriteString(`INSERT INTO run_outputs (run_id, input_idx, seq, batch_uid, data, created_at) VALUES `)
		args := make([]any, 0, (end-start)*6)
		for i, o := range out[start:end] {
			if i > 0 {
				sb.WriteString(", ")
			}
			rowPlaceholders(&sb, db.dialect, len(args), 6)
			args = append(args, runID, o.InputIdx, o.Seq, o.BatchUID, o.Data, now)
		}
		if _, err := q.execContext(ctx, sb.String(), args...); err != nil {
			return unable(err, "insert outputs %v", runID)
		}
	}
	return nil
}

// Outputs pages a run's results in the order they were stored.
func Outputs(ctx context.Context, q Querier, runID int64, limit, offset int) ([]string, error) {
	out, err := list(ctx, q, `SELECT data FROM run_outputs WHERE run_id = $1 ORDER BY id LIMIT $2 OFFSET $3`,
		[]any{runID, limit, offset}, scanString)
	return out, unable(err, "read the outputs of run %d", runID)
}

// RunProgress applies a chunk's counts to its run, if the run is still
// RUNNING, and returns how many inputs remain pending and when the run was
// postponed until (0: not postponed). ok is false when the run has left
// RUNNING (cancelled meanwhile): the caller rolls back the chunk. On
// PostgreSQL the UPDATE takes the run's row lock, and a concurrent cancel
// is seen here (READ COMMITTED re-checks the WHERE on the locked row).
func RunProgress(ctx context.Context, q Querier, runID int64, outputs, failed, finished int, credits int64, retries int) (pending int, postponedUntil int64, ok bool, err error) {
	var postponed sql.NullInt64
	err = q.queryRowContext(ctx, `UPDATE runs SET output_count = output_count + $2, failed_count = failed_count + $3,
			pending_count = pending_count - $4, credits_used = credits_used + $5, retry_count = retry_count + $6, updated_at = $7,
			synced_at = $7
		WHERE id = $1 AND status = 'RUNNING' RETURNING pending_count, postponed_until`,
		runID, outputs, failed, finished, credits, retries, Now()).Scan(&pending, &postponed)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	return pending, postponed.Int64, err == nil, unable(err, "read run progress %v", runID)
}

// RunProgressPaying is RunProgress and MoveBalanceWithin(m) together: a
// chunk's two hot rows, the run's and the workspace's balance, written in
// one round trip on PostgreSQL (the balance's UPDATE in a WITH of the run's,
// so the run's row is locked first, then the balance), in two statements on
// SQLite (one writer: no row is waited on). Each row stays locked from this
// statement to the commit, so every other chunk of the run and every other
// charge of the workspace waits for one statement and the commit instead of
// two statements and the commit. moved and used are MoveBalanceWithin's;
// when ok is false (the run left RUNNING) the caller rolls back, the balance
// move with it.
func (db *Store) RunProgressPaying(ctx context.Context, tx *Tx, runID int64, outputs, failed, finished int, credits int64,
	retries int, m BalanceMove) (pending int, postponedUntil int64, ok bool, used int64, moved bool, err error) {
	if !db.dialect.rowLocks() {
		if pending, postponedUntil, ok, err = RunProgress(ctx, tx, runID, outputs, failed, finished, credits, retries); err != nil || !ok {
			return pending, postponedUntil, ok, 0, false, err
		}
		used, moved, err = MoveBalanceWithin(ctx, tx, m)
		return pending, postponedUntil, ok, used, moved, err
	}
	var postponed, balance sql.NullInt64
	err = tx.queryRowContext(ctx, `WITH b AS (
			UPDATE credit_balances SET used = used + $8
			WHERE workspace_id = $9 AND period_start = $10 AND used + $8 <= $11
			RETURNING used)
		UPDATE runs SET output_count = output_count + $2, failed_count = failed_count + $3,
			pending_count = pending_count - $4, credits_used = credits_used + $5, retry_count = retry_count + $6, updated_at = $7,
			synced_at = $7
		WHERE id = $1 AND status = 'RUNNING' RETURNING pending_count, postponed_until, (SELECT used FROM b)`,
		runID, outputs, failed, finished, credits, retries, Now(), m.Amount, m.WorkspaceID, m.Period, m.Cap).
		Scan(&pending, &postponed, &balance)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, 0, false, unable(err, "record the progress and charge of run %v", runID)
	}
	return pending, postponed.Int64, true, balance.Int64, balance.Valid, nil
}

// FirstFailedInput is the lowest-indexed FAILED input of a run: its index
// and its error (a RunError in JSON). ok is false when none failed.
func FirstFailedInput(ctx context.Context, q Querier, runID int64) (idx int, errJSON string, ok bool, err error) {
	err = q.queryRowContext(ctx, `SELECT idx, error FROM run_inputs WHERE run_id = $1 AND status = 'FAILED' ORDER BY idx LIMIT 1`,
		runID).Scan(&idx, &errJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return idx, errJSON, err == nil, unable(err, "read first failed input %v", runID)
}

// SetRunStatus moves a run from one of the given statuses to status; it
// reports whether the transition happened (compare-and-set).
func SetRunStatus(ctx context.Context, q Querier, runID int64, from []string, status string, lastError string) (bool, error) {
	args := []any{runID, status, Now(), lastError}
	ph := make([]string, len(from))
	for i, f := range from {
		args = append(args, f)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	extra := ""
	switch {
	case status == "RUNNING":
		extra = ", started_at = COALESCE(started_at, $3), postponed_until = NULL"
	case isTerminal(status):
		extra = ", finished_at = $3, postponed_until = NULL"
	}
	res, err := q.execContext(ctx, `UPDATE runs SET status = $2, updated_at = $3, last_error = CASE WHEN $4 = '' THEN last_error ELSE $4 END`+
		extra+` WHERE id = $1 AND status IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return false, unable(err, "set run status %v", runID)
	}
	n, err := res.RowsAffected()
	return n == 1, unable(err, "set run status %v", runID)
}

func isTerminal(s string) bool {
	switch s {
	case "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "STOPPED", "INVALID":
		return true
	}
	return false
}

// SetRunPostponed records when a Smart Limit lets a run continue (nil clears it).
func SetRunPostponed(ctx context.Context, q Querier, runID int64, until *int64) error {
	var v sql.NullInt64
	if until != nil {
		v = sql.NullInt64{Int64: *until, Valid: true}
	}
	_, err := q.execContext(ctx, `UPDATE runs SET postponed_until = $2, updated_at = $3 WHERE id = $1`, runID, v, Now())
	return unable(err, "set run postponed %v", runID)
}

// RunCallbackHeaders returns a run's sealed callback headers.
func RunCallbackHeaders(ctx context.Context, q Querier, runID int64) (kid string, sealed []byte, err error) {
	err = q.queryRowContext(ctx, `SELECT callback_headers_kid, callback_headers FROM runs WHERE id = $1`, runID).Scan(&kid, &sealed)
	return kid, sealed, notFound(err)
}

// FinishedInput is one input's outcome for FinishInputs.
type FinishedInput struct {
	ID       int64
	Status   string // DONE or FAILED
	Results  int
	ErrJSON  string
	BatchUID string
}

// FinishInputs records the outcomes of a chunk's inputs in one statement,
// each only if it is still PENDING, and returns the ids it finished: those
// the calling transaction now owns. A worker that runs twice finishes
// nothing twice; on PostgreSQL a concurrent pass on the same inputs waits on
// their row locks and, after the first commits, matches none of them.
func (db *Store) FinishInputs(ctx context.Context, q Querier, in []FinishedInput) (map[int64]bool, error) {
	owned := make(map[int64]bool, len(in))
	for start := 0; start < len(in); start += insertBatch {
		end := min(start+insertBatch, len(in))
		var sb strings.Builder
		args := make([]any, 0, 1+(end-start)*5)
		args = append(args, Now())
		// CAST keeps the VALUES columns typed on PostgreSQL (untyped
		// parameters there would be text) and is harmless on SQLite.
		sb.WriteString(`WITH v (id, status, result_count, error, batch_uid) AS (VALUES `)
		for i, x := range in[start:end] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(CAST(")
			db.dialect.param(&sb, len(args)+1)
			sb.WriteString(" AS BIGINT), ")
			db.dialect.param(&sb, len(args)+2)
			sb.WriteString(", CAST(")
			db.dialect.param(&sb, len(args)+3)
			sb.WriteString(" AS BIGINT), ")
			db.dialect.param(&sb, len(args)+4)
			sb.WriteString(", ")
			db.dialect.param(&sb, len(args)+5)
			sb.WriteString(")")
			args = append(args, x.ID, x.Status, x.Results, x.ErrJSON, x.BatchUID)
		}
		sb.WriteString(`)
			UPDATE run_inputs SET status = v.status, result_count = v.result_count, error = v.error, batch_uid = v.batch_uid,
				updated_at = `)
		db.dialect.param(&sb, 1)
		sb.WriteString(`
			FROM v WHERE run_inputs.id = v.id AND run_inputs.status = 'PENDING'
			RETURNING run_inputs.id`)
		if db.dialect.positional() {
			// The timestamp comes last in the text, so it goes last.
			args = append(args[1:], args[0])
		}
		ids, err := queryAll(ctx, q, scanInt64, sb.String(), args...)
		if err != nil {
			return nil, unable(err, "finish %d inputs", len(in))
		}
		for _, id := range ids {
			owned[id] = true
		}
	}
	return owned, nil
}

// BumpInputsAttempts counts a transient failure on each of the inputs.
func BumpInputsAttempts(ctx context.Context, q Querier, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args, in := appendIDs([]any{Now()}, ids)
	_, err := q.execContext(ctx, `UPDATE run_inputs SET attempts = attempts + 1, updated_at = $1 WHERE id IN (`+in+`)`, args...)
	return unable(err, "bump inputs attempts")
}

// appendIDs appends ids to args and returns the "$n, ..." list that
// refers to them.
func appendIDs(args []any, ids []int64) ([]any, string) {
	var sb strings.Builder
	for i, id := range ids {
		if i > 0 {
			sb.WriteString(", ")
		}
		args = append(args, id)
		postgresDialect{}.param(&sb, len(args))
	}
	return args, sb.String()
}
