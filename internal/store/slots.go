package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// LockSlots returns how many of a workspace's async runs are RUNNING
// (run_slots.running, kept exact by triggers, migration 00044) and the
// workspace's plan. It locks the run_slots row until commit, so that two
// transactions admitting runs in one workspace take turns and neither
// exceeds the cap (where writers are serial, they take turns anyway). The lock
// is on run_slots, which nothing references, so it does not conflict with
// the KEY SHARE locks inserts referencing the workspace take.
func (db *Store) LockSlots(ctx context.Context, tx *Tx, workspaceID int64) (running int, plan string, err error) {
	q := `
		SELECT s.running, w.plan
		FROM run_slots s
		JOIN workspaces w ON w.id = s.workspace_id
		WHERE s.workspace_id = $1` + db.dialect.forUpdate("s")
	for attempt := 0; ; attempt++ {
		err = tx.queryRowContext(ctx, q, workspaceID).Scan(&running, &plan)
		if !errors.Is(err, sql.ErrNoRows) || attempt > 0 {
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return 0, "", fmt.Errorf("store: unable to lock the run slots of workspace %d: %w", workspaceID, err)
			}
			return running, plan, notFound(err)
		}
		// A workspace created by hand without its row (the insert trigger
		// makes it): start from the runs, as the migration did.
		if _, err = tx.execContext(ctx, `
			INSERT INTO run_slots (workspace_id, running)
			SELECT id, (
				SELECT COUNT(*)
				FROM runs
				WHERE workspace_id = $1
					AND execution_mode = 'ASYNC'
					AND status = 'RUNNING')
			FROM workspaces
			WHERE id = $1
			ON CONFLICT DO NOTHING`, workspaceID); err != nil {
			return 0, "", fmt.Errorf("store: unable to create the run slots of workspace %d: %w", workspaceID, err)
		}
	}
}

// ReadSlots is LockSlots without the lock: the slots in use as last
// committed, and the workspace's plan. A workspace without its row reads
// as having none in use.
func ReadSlots(ctx context.Context, q Querier, workspaceID int64) (running int, plan string, err error) {
	err = q.queryRowContext(ctx, `SELECT COALESCE(s.running, 0), w.plan FROM workspaces w
		LEFT JOIN run_slots s ON s.workspace_id = w.id WHERE w.id = $1`, workspaceID).Scan(&running, &plan)
	return running, plan, notFound(err)
}

// Slots reads run_slots.running without locking (tests, diagnostics).
func Slots(ctx context.Context, q Querier, workspaceID int64) (int, error) {
	var n int
	err := q.queryRowContext(ctx, `SELECT running FROM run_slots WHERE workspace_id = $1`, workspaceID).Scan(&n)
	return n, notFound(err)
}

// QueuedRuns returns up to limit of a workspace's QUEUED async runs, oldest
// first (index runs_queued).
func QueuedRuns(ctx context.Context, q Querier, workspaceID int64, limit int) ([]int64, error) {
	out, err := queryAll(ctx, q, scanInt64, `SELECT id FROM runs WHERE workspace_id = $1 AND status = 'QUEUED' AND execution_mode = 'ASYNC'
		ORDER BY id LIMIT $2`, workspaceID, limit)
	return out, unable(err, "read the queued runs of workspace %d", workspaceID)
}

// WorkspacesWithQueuedRuns lists up to limit workspaces that have QUEUED
// async runs (index runs_queued).
func WorkspacesWithQueuedRuns(ctx context.Context, q Querier, limit int) ([]int64, error) {
	rows, err := q.queryContext(ctx, `SELECT DISTINCT workspace_id FROM runs WHERE status = 'QUEUED' AND execution_mode = 'ASYNC'
		ORDER BY workspace_id LIMIT $1`, limit)
	if err != nil {
		return nil, unable(err, "read the workspaces with queued runs")
	}
	return scanIDs(rows)
}

// BulkRun is one run of InsertRuns with its inputs.
type BulkRun struct {
	NewRun
	Inputs     []NewInput
	ChunkCount int
}

// runsPerInsert bounds a multi-row INSERT into runs to 200 x 26 parameters.
const runsPerInsert = 200

// runsPerUnnest bounds the runs of one INSERT ... SELECT FROM unnest on
// PostgreSQL (23 array parameters whatever the count).
const runsPerUnnest = 1000

// insertRunsUnnest inserts rs[start:end] on PostgreSQL with one array
// parameter per column: a multi-row VALUES of 200 runs is 4,600 parameters
// for pgx to encode one by one and for PostgreSQL to parse, bind and plan
// (a statement per distinct row count), which was the largest part of the
// firing's own CPU (2026-12-07, profile of a 10,000-firing burst).
func insertRunsUnnest(ctx context.Context, tx *Tx, rs []BulkRun, start, end int, byUID map[string]int, now int64) error {
	n := end - start
	var (
		uids, members, actions, modes, statuses, idModes, idUIDs, params, cbURLs, cbOns, kids, lastErrs, schedUIDs = make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		wsIDs, inputCounts, pendings, chunkCounts = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		headers                                   = make([][]byte, n)
		idems                                     = make([]*string, n)
		starteds, finisheds                       = make([]*int64, n), make([]*int64, n)
		times                                     = make([]int64, n)
	)
	for i, b := range rs[start:end] {
		r := b.Run
		ids, _ := json.Marshal(nonNil(r.IdentityUIDs))
		p := r.Parameters
		if p == "" {
			p = "{}"
		}
		uids[i], wsIDs[i], members[i], actions[i], modes[i], statuses[i], idModes[i] = r.UID, r.WorkspaceID, r.MemberUID,
			r.ActionName, r.ExecutionMode, r.Status, r.IdentityMode
		idUIDs[i], params[i], cbURLs[i], cbOns[i], kids[i], headers[i] = string(ids), p, r.CallbackURL, r.CallbackOn,
			b.CallbackHeadersKID, b.CallbackHeaders
		inputCounts[i], lastErrs[i], schedUIDs[i] = int64(r.InputCount), EncodeRunError(r.LastError), r.ScheduledRunUID
		if b.IdempotencyKey != "" {
			k := b.IdempotencyKey
			idems[i] = &k
		}
		if r.Status == "RUNNING" {
			t := now
			starteds[i] = &t
		}
		if r.FinishedAt != nil {
			t := Millis(*r.FinishedAt)
			finisheds[i] = &t
		}
		pendings[i] = int64(len(b.Inputs))
		if isTerminal(r.Status) {
			pendings[i] = 0
		}
		chunkCounts[i], times[i] = int64(b.ChunkCount), createdAt(r, now)
	}
	rows, err := tx.queryContext(ctx, `INSERT INTO runs (uid, workspace_id, member_uid, action_name, execution_mode, status,
			identity_mode, identity_uids, parameters, callback_url, callback_on, callback_headers_kid, callback_headers,
			input_count, last_error, scheduled_run_uid, idempotency_key, started_at, finished_at, pending_count, chunk_count,
			created_at, updated_at)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::bigint[], $15::text[],
			$16::text[], $17::text[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22::bigint[], $22::bigint[])
		RETURNING id, uid`,
		uids, wsIDs, members, actions, modes, statuses, idModes, idUIDs, params, cbURLs, cbOns, kids, headers,
		inputCounts, lastErrs, schedUIDs, idems, starteds, finisheds, pendings, chunkCounts, times)
	if err != nil {
		return unable(err, "insert runs")
	}
	return unable(scanInsertedRuns(rows, rs, byUID, now), "insert runs")
}

// scanInsertedRuns fills the ID and times of the runs an INSERT ... RETURNING
// id, uid wrote, matched by uid.
func scanInsertedRuns(rows *sql.Rows, rs []BulkRun, byUID map[string]int, now int64) error {
	return eachRow(rows, func(row scanner) error {
		var id int64
		var uid string
		if err := row.Scan(&id, &uid); err != nil {
			return err
		}
		r := &rs[byUID[uid]].Run
		r.ID = id
		r.CreatedAt = Time(createdAt(*r, now))
		r.UpdatedAt = r.CreatedAt
		return nil
	})
}

// storedRequest is how a new run's request is stored: its identity uids as
// a JSON array, its parameters ("{}" for none) and its idempotency key
// (NULL for none).
func storedRequest(n NewRun) (ids, params string, idem sql.NullString) {
	b, _ := json.Marshal(nonNil(n.Run.IdentityUIDs))
	params = n.Run.Parameters
	if params == "" {
		params = "{}"
	}
	if n.IdempotencyKey != "" {
		idem = sql.NullString{String: n.IdempotencyKey, Valid: true}
	}
	return string(b), params, idem
}

// insertRunsValues inserts rs[start:end] with one multi-row VALUES (23
// parameters a run): the way on a database without array parameters.
func insertRunsValues(ctx context.Context, tx *Tx, d dialect, rs []BulkRun, start, end int, byUID map[string]int, now int64) error {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO runs (uid, workspace_id, member_uid, action_name, execution_mode, status, identity_mode,
		identity_uids, parameters, callback_url, callback_on, callback_headers_kid, callback_headers, input_count,
		last_error, scheduled_run_uid, idempotency_key, started_at, finished_at, pending_count, chunk_count,
		created_at, updated_at) VALUES `)
	const cols = 23
	args := make([]any, 0, (end-start)*cols)
	for i, b := range rs[start:end] {
		if i > 0 {
			sb.WriteString(", ")
		}
		rowPlaceholders(&sb, d, len(args), cols)
		r := b.Run
		ids, params, idem := storedRequest(b.NewRun)
		var started, finished sql.NullInt64
		if r.Status == "RUNNING" {
			started = sql.NullInt64{Int64: now, Valid: true}
		}
		if r.FinishedAt != nil {
			finished = sql.NullInt64{Int64: Millis(*r.FinishedAt), Valid: true}
		}
		pending := len(b.Inputs)
		if isTerminal(r.Status) {
			pending = 0
		}
		args = append(args, r.UID, r.WorkspaceID, r.MemberUID, r.ActionName, r.ExecutionMode, r.Status, r.IdentityMode,
			ids, params, r.CallbackURL, r.CallbackOn, b.CallbackHeadersKID, b.CallbackHeaders, r.InputCount,
			EncodeRunError(r.LastError), r.ScheduledRunUID, idem, started, finished, pending, b.ChunkCount,
			createdAt(r, now), createdAt(r, now))
	}
	sb.WriteString(` RETURNING id, uid`)
	rows, err := tx.queryContext(ctx, sb.String(), args...)
	if err != nil {
		return unable(err, "insert runs")
	}
	return unable(scanInsertedRuns(rows, rs, byUID, now), "insert runs")
}

// createdAt is the created_at (and updated_at) a run is inserted with:
// the insert's time, or the run's CreatedAt when that is later. A schedule
// firing prepared ahead of its due time (schedules.Service.Prepare) is
// inserted a few seconds early in a transaction that commits at the due
// time, and is created then; a created_at is never earlier than its insert.
func createdAt(r model.Run, now int64) int64 {
	if !r.CreatedAt.IsZero() {
		return max(now, Millis(r.CreatedAt))
	}
	return now
}

// InsertRuns stores runs and their inputs with multi-row INSERTs and fills
// each Run.ID. Run.UID must be set (the ids are matched back by uid:
// neither database promises RETURNING in VALUES order). A run with status
// RUNNING gets started_at; pending_count is its input count unless it is
// terminal (INVALID). created_at is the insert's time, or Run.CreatedAt
// when that is later (createdAt).
func (db *Store) InsertRuns(ctx context.Context, tx *Tx, rs []BulkRun) error {
	now := Now()
	byUID := make(map[string]int, len(rs))
	for i := range rs {
		byUID[rs[i].Run.UID] = i
	}
	// How the runs' rows are written differs (dialect.insertRuns); their
	// inputs are written alike.
	if err := db.dialect.insertRuns(ctx, tx, rs, byUID, now); err != nil {
		return err
	}
	// Every run's inputs, across runs, in multi-row INSERTs.
	var sb strings.Builder
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.execContext(ctx, sb.String(), args...)
		sb.Reset()
		args = args[:0]
		return err
	}
	for _, b := range rs {
		for _, x := range b.Inputs {
			if len(args) == 0 {
				sb.WriteString(`INSERT INTO run_inputs (run_id, idx, chunk, input, custom_data, updated_at) VALUES `)
			} else {
				sb.WriteString(", ")
			}
			rowPlaceholders(&sb, db.dialect, len(args), 6)
			var cd sql.NullString
			if x.CustomData != "" {
				cd = sql.NullString{String: x.CustomData, Valid: true}
			}
			args = append(args, b.Run.ID, x.Idx, x.Chunk, x.Input, cd, now)
			if len(args) >= insertBatch*6 {
				if err := flush(); err != nil {
					return unable(err, "insert the inputs of %d runs", len(rs))
				}
			}
		}
	}
	return unable(flush(), "insert the inputs of %d runs", len(rs))
}

// StartRuns moves the given QUEUED runs to RUNNING (started_at = at) with one
// UPDATE per 500 and returns the ids it moved; a run no longer QUEUED is
// left alone, and so is a LIVE one. The caller holds the workspace's slot lock (LockSlots) and
// has checked the cap. On PostgreSQL the statement-level trigger of
// migration 00045 adds them to run_slots with one update per statement.
func (db *Store) StartRuns(ctx context.Context, tx *Tx, ids []int64, at time.Time) ([]int64, error) {
	now := Millis(at)
	var out []int64
	const perStmt = 500
	for start := 0; start < len(ids); start += perStmt {
		rows, err := db.dialect.startRuns(ctx, tx, ids[start:min(start+perStmt, len(ids))], now)
		if err != nil {
			return nil, fmt.Errorf("store: unable to start %d runs: %w", len(ids), err)
		}
		moved, err := scanIDs(rows)
		if err != nil {
			return nil, fmt.Errorf("store: unable to start %d runs: %w", len(ids), err)
		}
		out = append(out, moved...)
	}
	return out, nil
}
