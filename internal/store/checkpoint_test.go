package store

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// fileSize is the size of path, 0 when it does not exist.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func createBlobs(t *testing.T, db *Store) {
	t.Helper()
	if _, err := db.write.Exec(`CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

// The checkpointer copies committed pages into the database file while the
// writer's own automatic checkpoint (at walAutoCheckpoint pages) has not
// run: without it, the pages stay in the WAL.
func TestCheckpointerCopiesBesideTheWriter(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	createBlobs(t, db)
	before := fileSize(t, db.Path)
	// 2 MiB: ~512 pages, far below the writer's threshold.
	const size = 2 << 20
	if err := db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.execContext(ctx, `INSERT INTO blobs (b) VALUES ($1)`, bytes.Repeat([]byte{7}, size))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, db.Path) < before+size {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (was %d before a %d-byte commit): nothing checkpointed",
				fileSize(t, db.Path), before, size)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A writer that never pauses still gets its WAL restarted: the checkpointer
// cannot finish beside it, and the writer's own checkpoint bounds the file.
func TestWALStaysBoundedUnderContinuousWrites(t *testing.T) {
	defer func(n int) { walAutoCheckpoint = n }(walAutoCheckpoint)
	walAutoCheckpoint = 1024
	db := openTestSQLite(t)
	ctx := context.Background()
	createBlobs(t, db)
	// Each commit adds a 16 KiB row: ~5 new pages, so that the checkpointer
	// always has pages to copy while the writer adds more: ~15,000 frames in
	// all, over ten times the threshold.
	const commits = 3000
	blob := bytes.Repeat([]byte{1}, 16<<10)
	for range commits {
		if err := db.Tx(ctx, func(tx *Tx) error {
			_, err := tx.execContext(ctx, `INSERT INTO blobs (b) VALUES ($1)`, blob)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The file keeps its high-water mark, and the writer's checkpoint can
	// only restart the WAL when it wins the checkpoint lock from the
	// checkpointer: on a loaded machine (CI at load 25) the checkpointer's
	// rounds are slow, and 3,800 frames (3.7 times the threshold) were seen.
	// Never restarted, the WAL would hold all ~15,000 frames; the bound is
	// six thresholds, well apart from both.
	const frame = 4096 + 24
	wal := fileSize(t, db.Path+"-wal")
	if limit := int64(6*walAutoCheckpoint) * frame; wal > limit {
		t.Fatalf("WAL is %d bytes after %d commits, want at most %d: it was never restarted", wal, commits, limit)
	}
	t.Logf("WAL %d bytes after %d commits", wal, commits)
}
