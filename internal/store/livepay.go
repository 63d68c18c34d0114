package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// BalanceMove adds Amount millicredits to one workspace's use for a period,
// if the use stays within Cap.
type BalanceMove struct {
	WorkspaceID, Period, Amount, Cap int64
}

// ErrShort: PayAndRecord found a balance that cannot take its move (or has
// no row yet this period), and wrote nothing.
var ErrShort = errors.New("store: a balance cannot pay for the batch")

// PayAndRecord writes a batch of paid live calls on PostgreSQL in one round
// trip: the balance moves and the finished runs (each carrying its charge)
// go as one pipeline of statements, which PostgreSQL runs as one implicit
// transaction. A move its balance cannot take fails its statement, and with
// it the whole pipeline: nothing is written, and it returns ErrShort; the
// caller then charges what is left in a transaction of its own. used is
// each move's balance use afterwards, in moves' order (lock them in that
// order: callers give them sorted).
//
// The statements are the transaction path's, so PostgreSQL plans them as
// it already does; the pipeline saves the BEGIN, the COMMIT and a round trip
// per statement, which on a busy machine is most of a batch's time.
func PayAndRecord(ctx context.Context, db *Store, moves []BalanceMove, runs []model.Run) (used []int64, err error) {
	for attempt := 0; ; attempt++ {
		// A fresh batch each time: pgx keeps state in the queued queries.
		b := &pgx.Batch{}
		for _, m := range moves {
			b.Queue(payMove, m.WorkspaceID, m.Period, m.Amount, m.Cap)
		}
		if len(runs) > 0 {
			q, args := finishedRunsInsert(postgresDialect{}, runs)
			b.Queue(q, args...)
		}
		used, err = payAndRecord(ctx, db, b, len(moves))
		// A deadlock with another transaction rolled everything back: try
		// again, as DB.TxKeepCaches does.
		if err == nil || attempt >= 3 || !retryable(err) {
			return used, unable(err, "pay and record")
		}
	}
}

func payAndRecord(ctx context.Context, db *Store, b *pgx.Batch, moves int) (used []int64, err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	used = make([]int64, moves)
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("store: PayAndRecord needs a PostgreSQL connection")
		}
		br := c.Conn().SendBatch(ctx, b)
		for i := range used {
			var guard int
			if err := br.QueryRow().Scan(&used[i], &guard); err != nil {
				_ = br.Close()
				return err
			}
		}
		for range b.Len() - moves {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return err
			}
		}
		return br.Close()
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "22012" {
		return nil, ErrShort
	}
	if err != nil {
		return nil, err
	}
	return used, nil
}

// payMove moves one balance when it can take the move. When it cannot (or
// has no row), "moved" is empty and the division fails the statement
// (division_by_zero, 22012), which aborts the pipeline's transaction: a plain
// UPDATE would only report zero rows, too late to stop the statements
// queued behind it. PostgreSQL logs each such error; they come only from
// batches that reach a workspace's last credits (calls are refused before
// the platform call once the balance is seen empty).
const payMove = `WITH moved AS (
		UPDATE credit_balances SET used = used + $3
		WHERE workspace_id = $1 AND period_start = $2 AND used + $3 <= $4
		RETURNING used)
	SELECT (SELECT used FROM moved), 1 / (SELECT COUNT(*) FROM moved)::int`
