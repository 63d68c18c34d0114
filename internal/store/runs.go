package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/model"
)

const runCols = `r.id, r.uid, r.workspace_id, w.uid, r.member_uid, r.action_name, r.execution_mode, r.status, r.identity_mode,
	r.identity_uids, r.parameters, r.callback_url, r.callback_on, r.input_count, r.output_count, r.failed_count,
	r.retry_count, r.credits_used, r.last_error, r.postponed_until, r.scheduled_run_uid, r.started_at, r.finished_at,
	r.created_at, r.updated_at, ` + runSyncedAt

// runSyncedAt is when a run last brought results back from the platform: a
// live run when it answered (if it succeeded), an async run when it last
// recorded a chunk (RunProgress).
const runSyncedAt = `CASE WHEN r.execution_mode = 'LIVE' THEN CASE WHEN r.status = 'SUCCEEDED' THEN r.finished_at END ELSE r.synced_at END`

// runFrom leaves out the runs of async submissions still being stored
// (staging.go).
const runFrom = ` FROM runs r JOIN workspaces w ON w.id = r.workspace_id AND r.status NOT IN ('STAGED', 'DISCARDED') `

func scanRun(row interface{ Scan(...any) error }) (model.Run, error) {
	var r model.Run
	var ids, lastErr string
	var postponed, started, finished, synced sql.NullInt64
	var created, updated int64
	err := row.Scan(&r.ID, &r.UID, &r.WorkspaceID, &r.WorkspaceUID, &r.MemberUID, &r.ActionName, &r.ExecutionMode,
		&r.Status, &r.IdentityMode, &ids, &r.Parameters, &r.CallbackURL, &r.CallbackOn, &r.InputCount, &r.OutputCount,
		&r.FailedCount, &r.RetryCount, &r.CreditsUsed, &lastErr, &postponed, &r.ScheduledRunUID, &started, &finished,
		&created, &updated, &synced)
	if err != nil {
		return r, notFound(err)
	}
	_ = json.Unmarshal([]byte(ids), &r.IdentityUIDs)
	if lastErr != "" {
		r.LastError = &model.RunError{}
		_ = json.Unmarshal([]byte(lastErr), r.LastError)
	}
	r.PostponedUntil, r.StartedAt, r.FinishedAt, r.SyncedAt = NullTime(postponed), NullTime(started), NullTime(finished), NullTime(synced)
	r.CreatedAt, r.UpdatedAt = Time(created), Time(updated)
	return r, nil
}

// EncodeRunError renders a last_error for storage ("" for none).
func EncodeRunError(e *model.RunError) string {
	if e == nil {
		return ""
	}
	b, _ := json.Marshal(e)
	return string(b)
}

// NewRun is what inserting a run takes; sealed callback headers are optional.
type NewRun struct {
	Run                model.Run
	CallbackHeadersKID string
	CallbackHeaders    []byte
	IdempotencyKey     string
	// RequestHash fingerprints the request behind IdempotencyKey (InsertRun
	// only: the other inserts carry no key).
	RequestHash string
}

// InsertRun stores a run and fills its id.
func InsertRun(ctx context.Context, q Querier, n NewRun) (model.Run, error) {
	r := n.Run
	now := Now()
	err := q.queryRowContext(ctx, `
		INSERT INTO runs (`+runInsertCols+`, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24, $25)
		RETURNING id`, append(runInsertArgs(n, now), n.RequestHash)...).Scan(&r.ID)
	r.CreatedAt, r.UpdatedAt = Time(now), Time(now)
	return r, unable(err, "insert run")
}

// InsertFinishedRuns stores finished runs with one multi-row INSERT (live
// calls, recorded together by group commit).
func (db *Store) InsertFinishedRuns(ctx context.Context, q Querier, runs []model.Run) error {
	if len(runs) == 0 {
		return nil
	}
	query, args := finishedRunsInsert(db.dialect, runs)
	if _, err := q.execContext(ctx, query, args...); err != nil {
		return fmt.Errorf("store: unable to insert %d finished runs: %w", len(runs), err)
	}
	return nil
}

func finishedRunsInsert(dialect dialect, runs []model.Run) (string, []any) {
	now := Now()
	var sb strings.Builder
	sb.WriteString(`INSERT INTO runs (` + runInsertCols + `) VALUES `)
	args := make([]any, 0, len(runs)*25)
	for i, r := range runs {
		if i > 0 {
			sb.WriteString(", ")
		}
		rowPlaceholders(&sb, dialect, len(args), 25)
		at := now
		if !r.CreatedAt.IsZero() { // a run that says when it was made (imports, benchmarks)
			at = Millis(r.CreatedAt)
		}
		args = append(append(args, runInsertArgs(NewRun{Run: r}, at)...), at)
	}
	return sb.String(), args
}

const runInsertCols = `uid, workspace_id, member_uid, action_name, execution_mode, status, identity_mode, identity_uids,
	parameters, callback_url, callback_on, callback_headers_kid, callback_headers, input_count, output_count,
	failed_count, credits_used, charge_period, last_error, scheduled_run_uid, idempotency_key, started_at,
	finished_at, created_at, updated_at`

// runInsertArgs are the values of runInsertCols but the last (updated_at,
// which is created_at).
func runInsertArgs(n NewRun, now int64) []any {
	r := n.Run
	ids, _ := json.Marshal(nonNil(r.IdentityUIDs))
	var started, finished sql.NullInt64
	if r.StartedAt != nil {
		started = sql.NullInt64{Int64: Millis(*r.StartedAt), Valid: true}
	}
	if r.FinishedAt != nil {
		finished = sql.NullInt64{Int64: Millis(*r.FinishedAt), Valid: true}
	}
	var period sql.NullInt64
	if r.ChargePeriod != 0 {
		period = sql.NullInt64{Int64: r.ChargePeriod, Valid: true}
	}
	var idem sql.NullString
	if n.IdempotencyKey != "" {
		idem = sql.NullString{String: n.IdempotencyKey, Valid: true}
	}
	params := r.Parameters
	if params == "" {
		params = "{}"
	}
	return []any{r.UID, r.WorkspaceID, r.MemberUID, r.ActionName, r.ExecutionMode, r.Status, r.IdentityMode, string(ids),
		params, r.CallbackURL, r.CallbackOn, n.CallbackHeadersKID, n.CallbackHeaders, r.InputCount, r.OutputCount,
		r.FailedCount, r.CreditsUsed, period, EncodeRunError(r.LastError), r.ScheduledRunUID, idem, started, finished, now}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetRun finds a run by uid inside one workspace only.
func GetRun(ctx context.Context, q Querier, workspaceID int64, uid string) (model.Run, error) {
	return scanRun(q.queryRowContext(ctx, `SELECT `+runCols+runFrom+`WHERE r.workspace_id = $1 AND r.uid = $2`, workspaceID, uid))
}

// GetRunByID is for workers, which carry ids in job arguments.
func GetRunByID(ctx context.Context, q Querier, id int64) (model.Run, error) {
	return scanRun(q.queryRowContext(ctx, `SELECT `+runCols+runFrom+`WHERE r.id = $1`, id))
}

// GetRunByIdempotencyKey finds the run an earlier submission with the same
// key created, with the fingerprint of that submission ("" when unknown).
func GetRunByIdempotencyKey(ctx context.Context, q Querier, workspaceID int64, key string) (model.Run, string, error) {
	var hash string
	r, err := scanRun(scanAlso(q.queryRowContext(ctx, `SELECT `+runCols+`, r.request_hash`+runFrom+
		`WHERE r.workspace_id = $1 AND r.idempotency_key = $2`, workspaceID, key), &hash))
	return r, hash, unable(err, "get run by idempotency key")
}

// scanAlso scans a row's trailing columns into extra, after the ones the
// wrapped scanner asks for.
func scanAlso(row interface{ Scan(...any) error }, extra ...any) interface{ Scan(...any) error } {
	return scanFunc(func(dest ...any) error { return row.Scan(append(dest, extra...)...) })
}

type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// RunFilter is GET /runs' query.
type RunFilter struct {
	Status, ActionName, ExecutionMode, UID, UserUID, ScheduledRunUID []string
	Limit, Offset                                                    int
	// CreatedFrom and CreatedTo (ms, 0 when unset) bound created_at:
	// from inclusive, to exclusive.
	CreatedFrom, CreatedTo int64
	// IdentityUID keeps the runs that named this identity in identity_ids.
	IdentityUID string
	// Sort is a comma-separated list of RunSortColumns names, each "-"
	// prefixed for descending; "" sorts by created_at ascending (the
	// reference's default).
	Sort string
}

// runNullableSort are the sort columns that may be NULL: they sort after
// the others in either direction, on both databases.
var runNullableSort = map[string]bool{"started_at": true, "finished_at": true}

// runOrder renders a RunFilter.Sort as an ORDER BY list, ending with the id
// in the first key's direction so that pages never overlap.
func runOrder(sort string) string {
	var order []string
	tie := " ASC"
	for i, key := range strings.Split(sort, ",") {
		key = strings.TrimSpace(key)
		name := strings.TrimPrefix(key, "-")
		col, ok := RunSortColumns[name]
		if !ok {
			continue
		}
		dir := " ASC"
		if strings.HasPrefix(key, "-") {
			dir = " DESC"
		}
		if i == 0 {
			tie = dir
		}
		if runNullableSort[name] {
			order = append(order, "("+col+" IS NULL) ASC")
		}
		order = append(order, col+dir)
	}
	if len(order) == 0 {
		order = append(order, "r.created_at ASC")
	}
	return strings.Join(append(order, "r.id"+tie), ", ")
}

// RunSortColumns are the columns GET /runs may sort on.
var RunSortColumns = map[string]string{
	"created_at": "r.created_at", "updated_at": "r.updated_at", "started_at": "r.started_at",
	"finished_at": "r.finished_at", "status": "r.status", "action_name": "r.action_name", "id": "r.id",
}

// ListRuns returns a page of a workspace's runs.
func ListRuns(ctx context.Context, q Querier, workspaceID int64, f RunFilter) ([]model.Run, error) {
	var l listQuery
	l.cond("r.workspace_id = " + l.arg(workspaceID))
	l.in("r.status", f.Status)
	l.in("r.action_name", f.ActionName)
	l.in("r.execution_mode", f.ExecutionMode)
	l.in("r.uid", f.UID)
	l.in("r.member_uid", f.UserUID)
	l.in("r.scheduled_run_uid", f.ScheduledRunUID)
	if len(f.ScheduledRunUID) > 0 {
		// Implied by the filter, and spelled out so that the partial index
		// runs_scheduled (00074) serves it.
		l.cond("r.scheduled_run_uid <> ''")
	}
	if f.CreatedFrom > 0 {
		l.cond("r.created_at >= " + l.arg(f.CreatedFrom))
	}
	if f.CreatedTo > 0 {
		l.cond("r.created_at < " + l.arg(f.CreatedTo))
	}
	if f.IdentityUID != "" {
		// identity_uids is a JSON array of uids, which hold no quote or
		// wildcard: matching the quoted uid is exact.
		l.cond("r.identity_uids LIKE " + l.arg(`%"`+strings.NewReplacer("%", "", "_", "", `"`, "").Replace(f.IdentityUID)+`"%`))
	}
	out, err := list(ctx, q, l.page(runCols+runFrom, runOrder(f.Sort), f.Limit, f.Offset), l.args, scanRun)
	if err != nil {
		return nil, unable(err, "list the runs of workspace %d", workspaceID)
	}
	return out, nil
}

// RunsNotRunning returns which of ids are no longer RUNNING (cancelled,
// blocked, finished or deleted): the chunks a node works for them stop
// starting upstream calls, whose results the chunk's commit would discard.
func RunsNotRunning(ctx context.Context, q Querier, ids []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	ph := make([]string, len(ids))
	for i, id := range ids {
		args[i] = id
		ph[i] = fmt.Sprintf("$%d", i+1)
		out[id] = true // deleted unless found RUNNING below
	}
	running, err := queryAll(ctx, q, scanInt64, `SELECT id FROM runs WHERE status = 'RUNNING' AND id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, unable(err, "read which of %d runs are running", len(ids))
	}
	for _, id := range running {
		delete(out, id)
	}
	return out, nil
}
