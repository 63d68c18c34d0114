package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
)

// Node heartbeats (PostgreSQL; see package jobs, nodes.go). Every time here
// is the database's clock, so that the nodes' own clocks may disagree.

// dbNowMillis is the database's current time in unix milliseconds.
const dbNowMillis = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`

// nodeConn is where the heartbeat and the takeover run: their own
// connection on PostgreSQL (conns.nodes), the writer elsewhere.
func (db *Store) nodeConn() *sql.DB {
	if db.nodes != nil {
		return db.nodes
	}
	return db.write
}

// NodeRiverDriver is the River driver on the heartbeat's connection, for
// the takeover of a dead node's jobs (package jobs, nodes.go): the scan
// does not wait for the node's busy pool.
func (db *Store) NodeRiverDriver() JobDriver {
	if db.nodes != nil {
		return riverdatabasesql.New(db.nodes)
	}
	return db.RiverDriver()
}

// NodeHeartbeat records that node id is alive now.
func (db *Store) NodeHeartbeat(ctx context.Context, id, host, version string) error {
	_, err := db.nodeConn().ExecContext(ctx, `INSERT INTO nodes (id, host, version, started_at, heartbeat_at)
		VALUES ($1, $2, $3, `+dbNowMillis+`, `+dbNowMillis+`)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = `+dbNowMillis, id, host, version)
	if err != nil {
		return fmt.Errorf("store: node heartbeat: %w", err)
	}
	return nil
}

// NodeGone marks node id as dead at once (a node that stops cleanly): what
// it still holds is taken over without waiting.
func (db *Store) NodeGone(ctx context.Context, id string) error {
	_, err := db.nodeConn().ExecContext(ctx, `UPDATE nodes SET heartbeat_at = 0 WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: node gone: %w", err)
	}
	return nil
}

// NodeStates splits the known nodes into those alive (heartbeat within
// deadAfter) and those dead, and forgets the nodes dead for a day.
func (db *Store) NodeStates(ctx context.Context, deadAfter time.Duration) (alive, dead map[string]bool, err error) {
	if _, err := db.nodeConn().ExecContext(ctx, `DELETE FROM nodes WHERE heartbeat_at < `+dbNowMillis+` - $1`,
		(24 * time.Hour).Milliseconds()); err != nil {
		return nil, nil, fmt.Errorf("store: prune nodes: %w", err)
	}
	alive, dead = map[string]bool{}, map[string]bool{}
	err = queryEach(ctx, sqlQ{db.nodeConn()}, func(row scanner) error {
		var id string
		var ok bool
		if err := row.Scan(&id, &ok); err != nil {
			return err
		}
		if ok {
			alive[id] = true
		} else {
			dead[id] = true
		}
		return nil
	}, `SELECT id, heartbeat_at >= `+dbNowMillis+` - $1 FROM nodes`, deadAfter.Milliseconds())
	if err != nil {
		return nil, nil, unable(err, "read the node states")
	}
	return alive, dead, nil
}

// EvictLeader ends the River leadership of a dead node: its row goes, and
// the other nodes' electors hear it on River's leadership channel (the
// notification River's own resignation sends) and elect a new leader at
// once, instead of after the row's 15 s lease and their 5 s poll. It
// reports whether the node was leader.
func (db *Store) EvictLeader(ctx context.Context, nodeID string) (bool, error) {
	var n int
	err := db.nodeConn().QueryRowContext(ctx, `WITH gone AS (DELETE FROM river_leader WHERE leader_id = $1 RETURNING leader_id)
		SELECT count(pg_notify(current_schema() || '.river_leadership',
			json_build_object('leader_id', leader_id, 'action', 'resigned')::text)) FROM gone`, nodeID).Scan(&n)
	if err != nil && err != sql.ErrNoRows {
		return false, fmt.Errorf("store: evict leader: %w", err)
	}
	return n > 0, nil
}

// Leader is River's current leader (its node id), "" when none.
func (db *Store) Leader(ctx context.Context) (string, error) {
	var id string
	err := db.nodeConn().QueryRowContext(ctx, `SELECT leader_id FROM river_leader LIMIT 1`).Scan(&id)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: leader: %w", err)
	}
	return id, nil
}

// MoveAvailableJobs moves to queue to the jobs of ids that are still
// available in queue from (PostgreSQL): a dead node's chunks, just made
// available again, go to the queue whose workers every node keeps free for
// taken-over work. A job another worker took meanwhile stays where it is.
func (db *Store) MoveAvailableJobs(ctx context.Context, ids []int64, from, to string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := db.nodeConn().ExecContext(ctx, `UPDATE river_job SET queue = $1
		WHERE id = ANY($2) AND state = 'available' AND queue = $3`, to, ids, from)
	if err != nil {
		return 0, fmt.Errorf("store: move taken-over jobs to queue %s: %w", to, err)
	}
	n, err := res.RowsAffected()
	return n, unable(err, "count the jobs moved to queue %s", to)
}
