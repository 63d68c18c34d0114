package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/model"
)

const deliveryCols = `d.id, d.uid, d.parent_uid, d.kind, d.workspace_id, w.uid, COALESCE(d.run_id, 0), COALESCE(r.uid, ''),
	d.batch_uid, d.ref_uid, d.event, d.url, d.payload, d.status, d.http_status, d.retry_count, d.next_attempt_at,
	d.last_error, d.created_at, d.updated_at`

const deliveryFrom = ` FROM deliveries d JOIN workspaces w ON w.id = d.workspace_id LEFT JOIN runs r ON r.id = d.run_id `

func scanDelivery(row interface{ Scan(...any) error }) (model.Delivery, error) {
	var d model.Delivery
	var status sql.NullInt64
	var next sql.NullInt64
	var created, updated int64
	err := row.Scan(&d.ID, &d.UID, &d.ParentUID, &d.Kind, &d.WorkspaceID, &d.WorkspaceUID, &d.RunID, &d.RunUID, &d.BatchUID,
		&d.RefUID, &d.Event, &d.URL, &d.Payload, &d.Status, &status, &d.RetryCount, &next, &d.LastError, &created, &updated)
	if status.Valid {
		s := int(status.Int64)
		d.HTTPStatus = &s
	}
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = NullTime(next), Time(created), Time(updated)
	return d, notFound(err)
}

// InsertDelivery stores a delivery. An original (no parent) whose ref_uid
// already exists is not stored again: it returns id 0.
func InsertDelivery(ctx context.Context, q Querier, d model.Delivery) (int64, error) {
	now := Now()
	var runID sql.NullInt64
	if d.RunID != 0 {
		runID = sql.NullInt64{Int64: d.RunID, Valid: true}
	}
	var id int64
	err := q.queryRowContext(ctx, `
		INSERT INTO deliveries (uid, parent_uid, kind, workspace_id, run_id, batch_uid, ref_uid, event, url, payload, status,
			next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'PENDING', $11, $11, $11)
		ON CONFLICT DO NOTHING
		RETURNING id`,
		d.UID, d.ParentUID, d.Kind, d.WorkspaceID, runID, d.BatchUID, d.RefUID, d.Event, d.URL, d.Payload, now).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, unable(err, "insert delivery")
}

// InsertDeliveries stores originals in multi-row INSERTs and returns the
// ids of those stored; one whose ref_uid exists already is skipped, as in
// InsertDelivery.
func (db *Store) InsertDeliveries(ctx context.Context, q Querier, ds []model.Delivery) ([]int64, error) {
	const cols = 14
	now := Now()
	var ids []int64
	for start := 0; start < len(ds); start += insertBatch {
		end := min(start+insertBatch, len(ds))
		var sb strings.Builder
		sb.WriteString(`INSERT INTO deliveries (uid, parent_uid, kind, workspace_id, run_id, batch_uid, ref_uid, event, url, payload,
			status, next_attempt_at, created_at, updated_at) VALUES `)
		args := make([]any, 0, (end-start)*cols)
		for i, d := range ds[start:end] {
			if i > 0 {
				sb.WriteString(", ")
			}
			rowPlaceholders(&sb, db.dialect, len(args), cols)
			var runID sql.NullInt64
			if d.RunID != 0 {
				runID = sql.NullInt64{Int64: d.RunID, Valid: true}
			}
			args = append(args, d.UID, d.ParentUID, d.Kind, d.WorkspaceID, runID, d.BatchUID, d.RefUID, d.Event, d.URL, d.Payload,
				"PENDING", now, now, now)
		}
		sb.WriteString(` ON CONFLICT DO NOTHING RETURNING id`)
		rows, err := q.queryContext(ctx, sb.String(), args...)
		if err != nil {
			return nil, unable(err, "insert %d deliveries", len(ds))
		}
		stored, err := scanIDs(rows)
		if err != nil {
			return nil, unable(err, "insert %d deliveries", len(ds))
		}
		ids = append(ids, stored...)
	}
	return ids, nil
}

// MarkDeliveriesSucceeded records a successful attempt for each of the
// deliveries (the common outcome, in one statement per answer status). A
// delivery still PENDING succeeded on its first attempt (retry_count 0);
// one that had failed (FAILED, retry_count r after r+1 attempts) made one
// more retry.
func MarkDeliveriesSucceeded(ctx context.Context, q Querier, ids []int64, httpStatus int) error {
	if len(ids) == 0 {
		return nil
	}
	args, in := appendIDs([]any{httpStatus, Now()}, ids)
	_, err := q.execContext(ctx, `UPDATE deliveries SET status = 'SUCCESS', http_status = $1, next_attempt_at = NULL, last_error = '',
		retry_count = CASE WHEN status = 'PENDING' THEN 0 ELSE retry_count + 1 END, updated_at = $2 WHERE id IN (`+in+`)`, args...)
	return unable(err, "mark deliveries succeeded")
}

// recordConns is how many PostgreSQL connections of a node record delivery
// attempts (out of the node's pool_max_conns).
const recordConns = 2

// nodeConns are the connections of the node heartbeat and of the takeover
// scan (nodeConn), one each.
const nodeConns = 2

// Recorder is where delivery attempts are recorded. On PostgreSQL it is a
// pool of its own: the run workers, which may all wait on a run's row lock
// at once, hold every connection of the main pool for as long, and an
// answered callback waiting that long to be recorded is sent again by a
// crash meanwhile. Its commits do not wait for the WAL flush: a callback
// answered but not yet recorded is sent again after a crash, so the
// shorter the wait, the fewer are. That is safe for at-least-once: a
// PostgreSQL crash that loses a record loses with it the (synchronous)
// completion of the job that made the attempt, since the flush of a commit
// covers every earlier one, and the job runs again. On SQLite it is the
// writer, whose commits do not wait for a flush either (synchronous=NORMAL).
func (db *Store) Recorder() Querier {
	if db.records != nil {
		return sqlQ{db.records}
	}
	return sqlQ{db.write}
}

// RecordTx runs fn in a transaction on the Recorder. It changes none of the
// rows the read caches hold.
func (db *Store) RecordTx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.records == nil {
		return db.txRetry(ctx, fn)
	}
	for attempt := 0; ; attempt++ {
		err := runTx(ctx, db.records, "a transaction recording deliveries", fn)
		if err == nil || attempt >= 3 || !retryable(err) {
			return err
		}
	}
}

// StopDelivery makes a delivery FAILED for good without an attempt (its run
// was cancelled, or a replay took over its retries): no next attempt, the
// reason in last_error, the last attempt's http_status and retry_count kept.
func StopDelivery(ctx context.Context, q Querier, id int64, reason string) error {
	_, err := q.execContext(ctx, `UPDATE deliveries SET status = 'FAILED', next_attempt_at = NULL, last_error = $2, updated_at = $3
		WHERE id = $1`, id, reason, Now())
	return unable(err, "stop delivery %v", id)
}

// RunHasUnattemptedBatches reports whether one of a run's batch callbacks
// (originals, not replays) has not had an attempt finish yet: a delivery
// stays PENDING until its first attempt ends, in success or failure.
func RunHasUnattemptedBatches(ctx context.Context, q Querier, runID int64) (bool, error) {
	var one int
	err := q.queryRowContext(ctx, `SELECT 1 FROM deliveries WHERE run_id = $1 AND status = 'PENDING' AND event = ''
		AND parent_uid = '' LIMIT 1`, runID).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, unable(err, "read run has unattempted batches %v", runID)
}

// GetDeliveriesByID loads deliveries for a worker.
func GetDeliveriesByID(ctx context.Context, q Querier, ids []int64) ([]model.Delivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args, in := appendIDs(nil, ids)
	rows, err := q.queryContext(ctx, `
		SELECT `+deliveryCols+deliveryFrom+`
		WHERE d.id IN (`+in+`)
		ORDER BY d.id`, args...)
	if err != nil {
		return nil, unable(err, "get %d deliveries", len(ids))
	}
	out, err := scanAll(rows, scanDelivery)
	if err != nil {
		return nil, unable(err, "get %d deliveries", len(ids))
	}
	return out, nil
}

// GetDelivery finds a delivery by uid inside one workspace only.
func GetDelivery(ctx context.Context, q Querier, workspaceID int64, kind, uid string) (model.Delivery, error) {
	return scanDelivery(q.queryRowContext(ctx, `SELECT `+deliveryCols+deliveryFrom+`WHERE d.workspace_id = $1 AND d.kind = $2 AND d.uid = $3`,
		workspaceID, kind, uid))
}

// DeliveryAttempt records the outcome of one attempt.
type DeliveryAttempt struct {
	Status     string
	HTTPStatus int // 0: no answer
	Retries    int
	NextAt     *int64
	Error      string
}

// UpdateDelivery records an attempt's outcome.
func UpdateDelivery(ctx context.Context, q Querier, id int64, a DeliveryAttempt) error {
	var hs, next sql.NullInt64
	if a.HTTPStatus != 0 {
		hs = sql.NullInt64{Int64: int64(a.HTTPStatus), Valid: true}
	}
	if a.NextAt != nil {
		next = sql.NullInt64{Int64: *a.NextAt, Valid: true}
	}
	_, err := q.execContext(ctx, `UPDATE deliveries SET status = $2, http_status = $3, retry_count = $4, next_attempt_at = $5,
		last_error = $6, updated_at = $7 WHERE id = $1`, id, a.Status, hs, a.Retries, next, a.Error, Now())
	return unable(err, "update delivery %v", id)
}

// DeliveryFilter is the query of the delivery lists.
type DeliveryFilter struct {
	Kind          string
	Status        []string
	RunUID        []string
	Limit, Offset int
	// Sort lists the keys, most significant first, each a column of
	// DeliverySortColumns with an optional "-" for descending order. None:
	// newest first.
	Sort []string
}

// DeliverySortColumns are the sortable columns.
var DeliverySortColumns = map[string]string{"created_at": "d.created_at", "updated_at": "d.updated_at", "status": "d.status",
	"retry_count": "d.retry_count"}

// ListDeliveries returns a page of a workspace's deliveries of one kind.
func ListDeliveries(ctx context.Context, q Querier, workspaceID int64, f DeliveryFilter) ([]model.Delivery, error) {
	var l listQuery
	l.cond("d.workspace_id = " + l.arg(workspaceID))
	l.cond("d.kind = " + l.arg(f.Kind))
	l.in("d.status", f.Status)
	l.in("r.uid", f.RunUID)
	out, err := list(ctx, q, l.page(deliveryCols+deliveryFrom, deliveryOrder(f.Sort), f.Limit, f.Offset), l.args, scanDelivery)
	if err != nil {
		return nil, unable(err, "list the %s deliveries of workspace %d", f.Kind, workspaceID)
	}
	return out, nil
}

// deliveryOrder renders DeliveryFilter.Sort as an ORDER BY list (newest
// first without one), ending with the id in the first key's direction so
// that pages never overlap.
func deliveryOrder(sort []string) string {
	var keys []string
	tie := " DESC" // rows equal on every key come in id order, the first key's way
	for i, k := range sort {
		col, ok := DeliverySortColumns[strings.TrimPrefix(k, "-")]
		if !ok {
			continue
		}
		dir := " ASC"
		if strings.HasPrefix(k, "-") {
			dir = " DESC"
		}
		if i == 0 {
			tie = dir
		}
		keys = append(keys, col+dir)
	}
	if len(keys) == 0 {
		keys = []string{"d.created_at DESC"}
	}
	return strings.Join(keys, ", ") + ", d.id" + tie
}
