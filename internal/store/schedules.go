package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Lists leave out the stored request and the sealed headers: up to 100 rows
// of up to 100 inputs each are not worth reading to show a status.
const scheduleListCols = `s.id, s.uid, s.workspace_id, w.uid, s.member_uid, s.name, s.action_name, s.status, s.cron,
	s.timezone, s.schedule_at, s.next_execution_at, s.last_executed_at, s.last_run_uid, s.created_at, s.updated_at`

const scheduleCols = scheduleListCols + `, s.request, s.callback_headers_kid, s.callback_headers`

const scheduleFrom = ` FROM schedules s JOIN workspaces w ON w.id = s.workspace_id `

func scanSchedule(row interface{ Scan(...any) error }, full bool, extra ...any) (model.Schedule, error) {
	var s model.Schedule
	var at, next, last sql.NullInt64
	var created, updated int64
	dest := []any{&s.ID, &s.UID, &s.WorkspaceID, &s.WorkspaceUID, &s.MemberUID, &s.Name, &s.ActionName, &s.Status, &s.Cron,
		&s.Timezone, &at, &next, &last, &s.LastRunUID, &created, &updated}
	if full {
		dest = append(dest, &s.Request, &s.CallbackHeadersKID, &s.CallbackHeaders)
	}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return s, notFound(err)
	}
	s.ScheduleAt, s.NextExecutionAt, s.LastExecutedAt = NullTime(at), NullTime(next), NullTime(last)
	s.CreatedAt, s.UpdatedAt = Time(created), Time(updated)
	return s, nil
}

func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: Millis(*t), Valid: true}
}

// InsertSchedule stores a new schedule; CreatedAt is its creation time (the
// caller's clock) and the id is returned.
func InsertSchedule(ctx context.Context, q Querier, s model.Schedule) (int64, error) {
	var id int64
	now := Millis(s.CreatedAt)
	err := q.queryRowContext(ctx, `
		INSERT INTO schedules (uid, workspace_id, member_uid, name, action_name, status, cron, timezone, schedule_at,
			next_execution_at, request, callback_headers_kid, callback_headers, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		RETURNING id`,
		s.UID, s.WorkspaceID, s.MemberUID, s.Name, s.ActionName, s.Status, s.Cron, s.Timezone, nullMillis(s.ScheduleAt),
		nullMillis(s.NextExecutionAt), s.Request, s.CallbackHeadersKID, s.CallbackHeaders, now).Scan(&id)
	return id, unable(err, "insert schedule")
}

// GetSchedule finds a schedule by uid inside one workspace only.
func GetSchedule(ctx context.Context, q Querier, workspaceID int64, uid string) (model.Schedule, error) {
	return scanSchedule(q.queryRowContext(ctx, `SELECT `+scheduleCols+scheduleFrom+`WHERE s.workspace_id = $1 AND s.uid = $2`,
		workspaceID, uid), true)
}

// LockSchedule is GetSchedule inside a write transaction, holding the row
// until commit where write transactions run concurrently, so that an edit
// and a firing on another node are serialised.
func (db *Store) LockSchedule(ctx context.Context, tx *Tx, workspaceID int64, uid string) (model.Schedule, error) {
	s, err := scanSchedule(tx.queryRowContext(ctx, `SELECT `+scheduleCols+scheduleFrom+`
		WHERE s.workspace_id = $1
			AND s.uid = $2`+db.dialect.forUpdate("s"),
		workspaceID, uid), true)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s, fmt.Errorf("store: unable to lock schedule %s: %w", uid, err)
	}
	return s, unable(err, "lock schedule %v", uid)
}

// UpdateSchedule writes a schedule's editable fields and status.
func UpdateSchedule(ctx context.Context, q Querier, s model.Schedule) error {
	_, err := q.execContext(ctx, `
		UPDATE schedules SET name = $2, status = $3, cron = $4, timezone = $5, schedule_at = $6, next_execution_at = $7,
			request = $8, callback_headers_kid = $9, callback_headers = $10, updated_at = $11
		WHERE id = $1`,
		s.ID, s.Name, s.Status, s.Cron, s.Timezone, nullMillis(s.ScheduleAt), nullMillis(s.NextExecutionAt), s.Request,
		s.CallbackHeadersKID, s.CallbackHeaders, Millis(s.UpdatedAt))
	return unable(err, "update schedule")
}

// DeleteSchedule removes a schedule; its runs keep their scheduled_run_uid.
func DeleteSchedule(ctx context.Context, q Querier, id int64) error {
	_, err := q.execContext(ctx, `DELETE FROM schedules WHERE id = $1`, id)
	return unable(err, "delete schedule %v", id)
}

// DueSchedule is a schedule ready to fire, with the status of the run its
// last firing created ("" when none, or when that run is gone).
type DueSchedule struct {
	model.Schedule
	LastRunStatus string
}

// DueSchedules calls fn for each of the first limit ACTIVE schedules whose
// next firing is at or before now, most overdue first, as the rows arrive:
// the caller fires the first ones while the rest are still being read. It reads the
// schedules_due index (status, next_execution_at) as a range, in order, so
// its cost is the rows it returns, not the number of schedules. An error
// from fn stops the read and is returned.
//
// The stored request and sealed headers are not read here (a batch of 500
// could weigh hundreds of megabytes); the claimer gets them from the claim
// once it has won.
func DueSchedules(ctx context.Context, q Querier, now time.Time, limit int, fn func(DueSchedule) error) error {
	return dueSchedules(ctx, q, "<=", now, limit, fn)
}

// SchedulesDueAt is DueSchedules for the schedules whose next firing is
// exactly at (not before): the firing loop prepares them ahead of time
// (schedules.Service.Prepare).
func SchedulesDueAt(ctx context.Context, q Querier, at time.Time, limit int, fn func(DueSchedule) error) error {
	return dueSchedules(ctx, q, "=", at, limit, fn)
}

func dueSchedules(ctx context.Context, q Querier, op string, at time.Time, limit int, fn func(DueSchedule) error) error {
	rows, err := q.queryContext(ctx, `SELECT `+scheduleListCols+`, COALESCE(r.status, '')`+scheduleFrom+`
		LEFT JOIN runs r ON r.uid = s.last_run_uid AND s.last_run_uid <> ''
		WHERE s.status = 'ACTIVE' AND s.next_execution_at `+op+` $1
		ORDER BY s.next_execution_at LIMIT $2`, Millis(at), limit)
	if err != nil {
		return unable(err, "read the due schedules")
	}
	var stopped error // fn's, returned as it is
	err = eachRow(rows, func(row scanner) error {
		var d DueSchedule
		s, err := scanSchedule(row, false, &d.LastRunStatus)
		if err != nil {
			return err
		}
		d.Schedule = s
		stopped = fn(d)
		return stopped
	})
	if stopped != nil {
		return stopped
	}
	return unable(err, "read the due schedules")
}

// NextDue is the earliest next_execution_at of the ACTIVE schedules (the
// first entry of the schedules_due index); ok is false when there is none.
func NextDue(ctx context.Context, q Querier) (time.Time, bool, error) {
	var at sql.NullInt64
	err := q.queryRowContext(ctx, `SELECT MIN(next_execution_at) FROM schedules WHERE status = 'ACTIVE'`).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, false, unable(err, "read next due")
	}
	return Time(at.Int64), true, nil
}

// NextDueAfter is the earliest next_execution_at of the ACTIVE schedules
// that is later than after (a range scan of schedules_due); ok is false
// when there is none.
func NextDueAfter(ctx context.Context, q Querier, after time.Time) (time.Time, bool, error) {
	var at sql.NullInt64
	err := q.queryRowContext(ctx, `SELECT MIN(next_execution_at) FROM schedules WHERE status = 'ACTIVE' AND next_execution_at > $1`,
		Millis(after)).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, false, unable(err, "read next due")
	}
	return Time(at.Int64), true, nil
}

// Claim is one firing's compare-and-set on its schedule.
type Claim struct {
	ID int64
	// Due is the next_execution_at the claimer read; the claim fails when
	// another claimer (or an edit) changed it since.
	Due  time.Time
	Next *time.Time // nil: no further firing
	// Status is ACTIVE, or COMPLETED when Next is nil.
	Status string
	// Executed is the firing time to record, nil for a skipped firing.
	Executed *time.Time
	Now      time.Time
	// LastRunUID, when set, is recorded as last_run_uid (the uid of the run
	// the firing creates in the same transaction; ClaimSchedules only).
	LastRunUID string
}

// ClaimSchedule moves a due schedule to its next firing if it still is
// ACTIVE and due at c.Due. It reports whether this caller won: two nodes
// racing for one firing both run it, and exactly one sees true. On
// PostgreSQL the loser waits for the winner's commit and then matches no
// row (READ COMMITTED re-reads the row after the lock), so a run is created
// by whoever commits the claim, in the same transaction.
func ClaimSchedule(ctx context.Context, q Querier, c Claim) (bool, error) {
	res, err := q.execContext(ctx, `
		UPDATE schedules SET next_execution_at = $3, status = $4, last_executed_at = COALESCE($5, last_executed_at),
			updated_at = $6
		WHERE id = $1 AND next_execution_at = $2 AND status = 'ACTIVE'`,
		c.ID, Millis(c.Due), nullMillis(c.Next), c.Status, nullMillis(c.Executed), Millis(c.Now))
	if err != nil {
		return false, unable(err, "claim schedule")
	}
	n, err := res.RowsAffected()
	return n == 1, unable(err, "claim schedule")
}

// LockSchedules locks the rows among ids that are still ACTIVE, in id order
// (so that two batches never wait on each other in a cycle), and returns
// their ids. With skipLocked, rows another transaction holds (another node
// firing them, an edit) are left out instead of waited for. Where writers are
// serial, it returns ids as they are.
func (db *Store) LockSchedules(ctx context.Context, tx *Tx, ids []int64, skipLocked bool) ([]int64, error) {
	out, err := db.dialect.lockSchedules(ctx, tx, ids, skipLocked)
	if err != nil {
		return nil, fmt.Errorf("store: unable to lock %d schedules: %w", len(ids), err)
	}
	return out, nil
}

// Claimed is a claim that won, with the schedule's stored request (read in
// the same statement, for the run the firing creates).
type Claimed struct {
	ID                 int64
	Request            string
	CallbackHeadersKID string
	CallbackHeaders    []byte
}

// ClaimSchedules is ClaimSchedule for many schedules in one transaction:
// each row is the same compare-and-set (still ACTIVE and due at its own
// c.Due), and it returns the claims that won, by schedule id. Each dialect
// writes it its own way (claimSchedules).
func (db *Store) ClaimSchedules(ctx context.Context, tx *Tx, cs []Claim) (map[int64]Claimed, error) {
	won := make(map[int64]Claimed, len(cs))
	if len(cs) == 0 {
		return won, nil
	}
	if err := db.dialect.claimSchedules(ctx, tx, cs, won); err != nil {
		return nil, fmt.Errorf("store: unable to claim %d schedules: %w", len(cs), err)
	}
	return won, nil
}

// scanClaimed adds the claims rows returns to won.
func scanClaimed(rows *sql.Rows, won map[int64]Claimed) error {
	return eachRow(rows, func(s scanner) error {
		var c Claimed
		if err := s.Scan(&c.ID, &c.Request, &c.CallbackHeadersKID, &c.CallbackHeaders); err != nil {
			return err
		}
		won[c.ID] = c
		return nil
	})
}

// ScheduleRequest fills the stored request and sealed callback headers of s.
func ScheduleRequest(ctx context.Context, q Querier, s *model.Schedule) error {
	err := q.queryRowContext(ctx, `SELECT request, callback_headers_kid, callback_headers FROM schedules WHERE id = $1`, s.ID).
		Scan(&s.Request, &s.CallbackHeadersKID, &s.CallbackHeaders)
	return unable(err, "read the request of schedule %d", s.ID)
}

// SetScheduleLastRun records the run a firing created.
func SetScheduleLastRun(ctx context.Context, q Querier, id int64, runUID string) error {
	_, err := q.execContext(ctx, `UPDATE schedules SET last_run_uid = $2 WHERE id = $1`, id, runUID)
	return unable(err, "set schedule last run %v", id)
}

// TimeCond compares a time column with a value; Op is one of = > >= < <=.
type TimeCond struct {
	Op string
	At time.Time
}

// ScheduleFilter is GET /schedules' query.
type ScheduleFilter struct {
	UID, Status, UserUID, ActionName []string
	// Times maps a column of ScheduleTimeColumns to its conditions: the
	// equalities are alternatives (IN), the ranges all apply.
	Times         map[string][]TimeCond
	Limit, Offset int
	// Sort lists columns of ScheduleSortColumns, "-" prefixed for descending.
	Sort []string
}

// ScheduleTimeColumns are the date-time filters of GET /schedules.
var ScheduleTimeColumns = []string{"next_execution_at", "last_executed_at", "created_at", "updated_at"}

// ScheduleSortColumns are the columns GET /schedules may sort on.
var ScheduleSortColumns = map[string]string{
	"created_at": "s.created_at", "updated_at": "s.updated_at", "next_execution_at": "s.next_execution_at",
	"last_executed_at": "s.last_executed_at", "status": "s.status", "action_name": "s.action_name", "name": "s.name",
	"uid": "s.uid",
}

// ListSchedules returns a page of a workspace's schedules.
func ListSchedules(ctx context.Context, q Querier, workspaceID int64, f ScheduleFilter) ([]model.Schedule, error) {
	var l listQuery
	l.cond("s.workspace_id = " + l.arg(workspaceID))
	l.in("s.uid", f.UID)
	l.in("s.status", f.Status)
	l.in("s.member_uid", f.UserUID)
	l.in("s.action_name", f.ActionName)
	for _, name := range ScheduleTimeColumns {
		var eq []string
		for _, c := range f.Times[name] {
			switch c.Op {
			case "=":
				eq = append(eq, l.arg(Millis(c.At)))
			case ">", ">=", "<", "<=":
				l.cond("s." + name + " " + c.Op + " " + l.arg(Millis(c.At)))
			}
		}
		if len(eq) > 0 {
			l.cond("s." + name + " IN (" + strings.Join(eq, ", ") + ")")
		}
	}
	var order []string
	for _, key := range f.Sort {
		dir := " ASC"
		if strings.HasPrefix(key, "-") {
			dir = " DESC"
		}
		col, ok := ScheduleSortColumns[strings.TrimPrefix(key, "-")]
		if !ok {
			continue
		}
		// Nulls last in both directions, on both databases.
		order = append(order, "("+col+" IS NULL) ASC", col+dir)
	}
	order = append(order, "s.created_at ASC", "s.id ASC")
	out, err := list(ctx, q, l.page(scheduleListCols+scheduleFrom, strings.Join(order, ", "), f.Limit, f.Offset), l.args,
		func(s scanner) (model.Schedule, error) { return scanSchedule(s, false) })
	if err != nil {
		return nil, unable(err, "list the schedules of workspace %d", workspaceID)
	}
	return out, nil
}
