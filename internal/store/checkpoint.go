package store

import (
	"context"
	"database/sql"
	"os"
	"sync"
	"time"
)

// SQLite's WAL grows with every commit until a checkpoint copies its pages
// back into the database file. By default the committing connection does
// that itself once the WAL passes 1,000 pages: the one writer then stops
// committing while it copies and syncs both files, and every caller waiting
// on group commit (the live path's reservations and charges) waits with it.
// On the live benchmark that was ~10 % of the writer's CPU and a fifth of a
// batch's wall time (bench/RESULTS.md, sixth pass).
//
// So a checkpointer copies pages from a connection of its own, shortly after
// commits, while the writer goes on. A checkpoint beside a writer that keeps
// committing cannot finish, though: frames arrive behind it, and SQLite
// restarts the WAL from its beginning only once every frame has been copied.
// The writer's own automatic checkpoint therefore stays, at a higher
// threshold (walAutoCheckpoint): it bounds the file, and when it runs it
// finds all but the newest frames already copied.

// walAutoCheckpoint is the writer's automatic checkpoint threshold in pages
// (of 4 KiB): a 32 MiB WAL, and more by what the writer commits while the
// checkpointer holds the checkpoint lock (the writer's attempt then waits for
// its next commit). Under the live benchmark's load that is a few
// checkpointer rounds. (A variable for tests.)
var walAutoCheckpoint = 8192

// checkpointDelay lets commits accumulate before a checkpoint, so that a
// page that many batches rewrite (the newest leaf of each index, the balance
// row's page) is copied once.
const checkpointDelay = 100 * time.Millisecond

// walSizeLimit is SQLite's journal_size_limit: when SQLite starts the WAL
// over after a checkpoint, it cuts the file back to this size.
const walSizeLimit = 32 << 20

// Once no commit has come for idleAfter, a WAL file larger than
// truncateAbove is emptied by a TRUNCATE checkpoint. Without it a large
// transaction (a big delete, a migration) leaves its WAL on disk until the
// next write, however long the server stays idle. (Variables for tests.)
var (
	idleAfter     = time.Second
	truncateAbove = int64(4 << 20)
)

// checkpointer runs passive checkpoints after commits, and a truncating one
// when the writer is idle (see above).
type checkpointer struct {
	db     *sql.DB
	wal    string // the WAL file's path
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
}

// startCheckpointer opens its connection to the database at dsn and starts
// it; wal is the path of the database's WAL file.
func startCheckpointer(dsn, wal string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, wal: wal, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

// committed tells the checkpointer that the WAL grew. It never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		for kicked := true; kicked; {
			t.Reset(checkpointDelay)
			select {
			case <-c.stop:
				t.Stop()
				return
			case <-t.C:
			}
			// PASSIVE never waits for readers or writers: it copies what it
			// can. An error (the database closing under it, a full disk)
			// leaves the writer's automatic checkpoint to do the work, as it
			// would without this goroutine.
			_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
			t.Reset(idleAfter)
			select {
			case <-c.stop:
				t.Stop()
				return
			case <-c.kick:
				t.Stop()
			case <-t.C:
				kicked = false
				c.truncateIfLarge()
			}
		}
	}
}

// truncateIfLarge empties a large WAL. TRUNCATE waits for readers to leave
// the WAL and keeps writers out meanwhile, but only for the connection's
// short busy timeout: when the database is not idle after all, it gives up
// (SQLITE_BUSY) and the next idle moment tries again.
func (c *checkpointer) truncateIfLarge() {
	fi, err := os.Stat(c.wal)
	if err != nil || fi.Size() <= truncateAbove {
		return
	}
	_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	var err error
	c.closed.Do(func() {
		close(c.stop)
		<-c.done
		err = c.db.Close()
	})
	return err
}
