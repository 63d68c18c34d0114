package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Smart Limits' rows: limit_events holds each identity's consumption (n of a
// key at a time), limit_seqs one counter per identity that every change of
// its events bumps, so that a node's in-memory copy of the events is known
// current while the counter still has the value the copy was read at.

// LimitEvent is one limit_events row.
type LimitEvent struct {
	IdentityID int64
	Key        string
	N          int
	At         int64
}

// LimitClaim bumps an identity's counter by Ops if it still is Expected.
type LimitClaim struct {
	IdentityID int64
	Expected   int64
	Ops        int
}

// ClaimRecordsEvents says whether ClaimLimitSeqs also inserts the claimed
// identities' events. It does on PostgreSQL (one round trip for the common
// batch); on SQLite, where a statement costs no round trip, the caller
// inserts them with InsertLimitEvents.
func (db *Store) ClaimRecordsEvents() bool { return db.dialect.writableCTEs() }

// ClaimLimitSeqs bumps, in one statement inside tx, the counters of claims
// whose counter is still the expected one, and returns the identities whose
// counter moved meanwhile (stale). See ClaimRecordsEvents for events.
func (db *Store) ClaimLimitSeqs(ctx context.Context, tx *Tx, claims []LimitClaim, events []LimitEvent) (stale map[int64]bool, err error) {
	return db.claimLimitSeqs(ctx, tx, claims, events)
}

// ClaimLimitSeqsNow is ClaimLimitSeqs outside any transaction, on
// PostgreSQL only: the statement commits on its own, asynchronously (see
// AsyncCommit), in one round trip.
func (db *Store) ClaimLimitSeqsNow(ctx context.Context, claims []LimitClaim, events []LimitEvent) (stale map[int64]bool, err error) {
	if !db.dialect.asyncCommit() {
		return nil, errors.New("store: a claim outside a transaction needs PostgreSQL")
	}
	return db.claimLimitSeqs(ctx, sqlQ{db.write}, claims, events)
}

func (db *Store) claimLimitSeqs(ctx context.Context, q Querier, claims []LimitClaim, events []LimitEvent) (map[int64]bool, error) {
	// With data-modifying CTEs (PostgreSQL), the statement also inserts the
	// events and commits asynchronously: one round trip for the batch.
	pg := db.dialect.writableCTEs()
	var args []any
	arg := func(v any) int {
		args = append(args, v)
		return len(args)
	}
	var values, evs strings.Builder
	for i, c := range claims {
		if i > 0 {
			values.WriteString(", ")
		}
		fmt.Fprintf(&values, "(CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT))",
			arg(c.IdentityID), arg(c.Expected), arg(c.Ops))
	}
	if pg {
		for _, e := range events {
			if evs.Len() > 0 {
				evs.WriteString(", ")
			}
			fmt.Fprintf(&evs, "(CAST($%d AS BIGINT), CAST($%d AS TEXT), CAST($%d AS BIGINT), CAST($%d AS BIGINT))",
				arg(e.IdentityID), arg(e.Key), arg(e.N), arg(e.At))
		}
	}
	// VALUES columns are column1, column2, ... on both databases.
	update := `
		UPDATE limit_seqs
		SET seq = limit_seqs.seq + v.column3
		FROM (VALUES ` + values.String() + `) AS v
		WHERE limit_seqs.identity_id = v.column1 AND limit_seqs.seq = v.column2
		RETURNING limit_seqs.identity_id`
	query := update
	if pg && evs.Len() > 0 {
		// Data-modifying CTEs run whether or not they are read; "recorded"
		// inserts the events of the identities "claimed" returns, and
		// "async" makes the transaction commit without waiting for its WAL
		// flush (see AsyncCommit).
		query = `
		WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
		claimed AS (` + update + `),
		recorded AS (
			INSERT INTO limit_events (identity_id, key, n, at)
			SELECT e.column1, e.column2, e.column3, e.column4
			FROM (VALUES ` + evs.String() + `) AS e
			WHERE e.column1 IN (SELECT identity_id FROM claimed))
		SELECT claimed.identity_id
		FROM claimed, async`
	} else if pg {
		query = `
		WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
		claimed AS (` + update + `)
		SELECT claimed.identity_id
		FROM claimed, async`
	}
	rows, err := q.queryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to claim %d Smart Limits counters: %w", len(claims), err)
	}
	defer rows.Close()
	stale := make(map[int64]bool, len(claims))
	for _, c := range claims {
		stale[c.IdentityID] = true
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: unable to read a claimed Smart Limits counter: %w", err)
		}
		delete(stale, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to claim %d Smart Limits counters: %w", len(claims), err)
	}
	return stale, nil
}

// LockLimitSeq locks an identity's counter until tx ends, creating it on the
// identity's first use, and returns its value; ErrNotFound when the identity
// no longer exists.
func LockLimitSeq(ctx context.Context, tx *Tx, identityID int64) (int64, error) {
	var seq int64
	err := tx.queryRowContext(ctx, `
		INSERT INTO limit_seqs (identity_id, seq)
		SELECT id, 0
		FROM identities
		WHERE id = $1
		ON CONFLICT (identity_id) DO UPDATE SET seq = limit_seqs.seq
		RETURNING seq`, identityID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: unable to lock the Smart Limits counter of identity %d: %w", identityID, err)
	}
	return seq, nil
}

// BumpLimitSeq adds changes to an identity's counter (locked by LockLimitSeq).
func BumpLimitSeq(ctx context.Context, tx *Tx, identityID int64, changes int) error {
	if _, err := tx.execContext(ctx, `
		UPDATE limit_seqs
		SET seq = seq + $1
		WHERE identity_id = $2`, changes, identityID); err != nil {
		return fmt.Errorf("store: unable to bump the Smart Limits counter of identity %d: %w", identityID, err)
	}
	return nil
}

// LimitEventsSince reads an identity's events of key after from, oldest
// first (IdentityID and Key are left empty).
func LimitEventsSince(ctx context.Context, q Querier, identityID int64, key string, from int64) ([]LimitEvent, error) {
	rows, err := q.queryContext(ctx, `
		SELECT n, at
		FROM limit_events
		WHERE identity_id = $1 AND key = $2 AND at > $3
		ORDER BY at`, identityID, key, from)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the %s events of identity %d: %w", key, identityID, err)
	}
	defer rows.Close()
	var out []LimitEvent
	for rows.Next() {
		var e LimitEvent
		if err := rows.Scan(&e.N, &e.At); err != nil {
			return nil, fmt.Errorf("store: unable to read an %s event of identity %d: %w", key, identityID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the %s events of identity %d: %w", key, identityID, err)
	}
	return out, nil
}

// DeleteLimitEvent deletes one event equal to e (a released reservation's).
func DeleteLimitEvent(ctx context.Context, tx *Tx, e LimitEvent) error {
	if _, err := tx.execContext(ctx, `
		DELETE FROM limit_events
		WHERE id = (
			SELECT id
			FROM limit_events
			WHERE identity_id = $1 AND key = $2 AND at = $3 AND n = $4
			LIMIT 1)`, e.IdentityID, e.Key, e.At, e.N); err != nil {
		return fmt.Errorf("store: unable to release an %s event of identity %d: %w", e.Key, e.IdentityID, err)
	}
	return nil
}

// InsertLimitEvents writes events in multi-row INSERTs.
func InsertLimitEvents(ctx context.Context, tx *Tx, events []LimitEvent) error {
	const chunk = 200
	for len(events) > 0 {
		part := events[:min(chunk, len(events))]
		events = events[len(part):]
		args := make([]any, 0, 4*len(part))
		var values strings.Builder
		for i, e := range part {
			if i > 0 {
				values.WriteString(", ")
			}
			values.WriteString(Placeholders(len(args), 4))
			args = append(args, e.IdentityID, e.Key, e.N, e.At)
		}
		if _, err := tx.execContext(ctx, `
		INSERT INTO limit_events (identity_id, key, n, at)
		VALUES `+values.String(), args...); err != nil {
			return fmt.Errorf("store: unable to record %d Smart Limits events: %w", len(part), err)
		}
	}
	return nil
}

// PruneLimitEvents deletes, among the oldest batch events by id, those
// before before, and returns how many it deleted. Events are appended in
// time order, so the oldest rows by id are the oldest events: the statement
// never scans the table.
func PruneLimitEvents(ctx context.Context, tx *Tx, batch int, before int64) (int64, error) {
	res, err := tx.execContext(ctx, `
		DELETE FROM limit_events
		WHERE id IN (
			SELECT id
			FROM (
				SELECT id, at
				FROM limit_events
				ORDER BY id
				LIMIT $1) oldest
			WHERE at < $2)`, batch, before)
	if err != nil {
		return 0, fmt.Errorf("store: unable to prune the Smart Limits events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: unable to count the pruned Smart Limits events: %w", err)
	}
	return n, nil
}

// LimitUsage sums an identity's consumption of key after since, and the time
// of its oldest event in that window (0 when none).
func (db *Store) LimitUsage(ctx context.Context, identityID int64, key string, since int64) (used int, oldest int64, err error) {
	if err := db.r.queryRowContext(ctx, `
		SELECT COALESCE(SUM(n), 0), COALESCE(MIN(at), 0)
		FROM limit_events
		WHERE identity_id = $1 AND key = $2 AND at > $3`, identityID, key, since).Scan(&used, &oldest); err != nil {
		return 0, 0, fmt.Errorf("store: unable to read the %s usage of identity %d: %w", key, identityID, err)
	}
	return used, oldest, nil
}

// LimitUsages sums, in one statement, the consumption of every identity of
// ids for every key of keys after each of sinces (unix ms): out[id][key][i]
// is the sum after sinces[i]. An identity or key without events is absent.
// Auto and managed calls rank their candidates with it (see
// smartlimits.Limiter.RemainingOf), one read for all of them.
func (db *Store) LimitUsages(ctx context.Context, ids []int64, keys []string, sinces []int64) (map[int64]map[string][]int, error) {
	out := map[int64]map[string][]int{}
	if len(ids) == 0 || len(keys) == 0 || len(sinces) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(sinces)+len(ids)+len(keys)+1)
	sums := make([]string, len(sinces))
	from := sinces[0]
	for i, s := range sinces {
		args = append(args, s)
		sums[i] = fmt.Sprintf("COALESCE(SUM(CASE WHEN at > $%d THEN n ELSE 0 END), 0)", len(args))
		from = min(from, s)
	}
	args = append(args, from)
	fromArg := len(args)
	idPh := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		idPh[i] = fmt.Sprintf("$%d", len(args))
	}
	keyPh := make([]string, len(keys))
	for i, k := range keys {
		args = append(args, k)
		keyPh[i] = fmt.Sprintf("$%d", len(args))
	}
	rows, err := db.r.QueryContext(ctx, `
		SELECT identity_id, key, `+strings.Join(sums, ", ")+`
		FROM limit_events
		WHERE identity_id IN (`+strings.Join(idPh, ", ")+`)
			AND key IN (`+strings.Join(keyPh, ", ")+`)
			AND at > $`+strconv.Itoa(fromArg)+`
		GROUP BY identity_id, key`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the limit usage of %d identities: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key string
		used := make([]int, len(sinces))
		dest := []any{&id, &key}
		for i := range used {
			dest = append(dest, &used[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: unable to read the limit usage of %d identities: %w", len(ids), err)
		}
		if out[id] == nil {
			out[id] = map[string][]int{}
		}
		out[id][key] = used
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the limit usage of %d identities: %w", len(ids), err)
	}
	return out, nil
}
