package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// Fast failover on PostgreSQL: node heartbeats and leases.
//
// Every node writes a heartbeat to the nodes table every second or so
// (NodeDeadAfter/8). Every node also looks at the others' heartbeats: a
// node silent for NodeDeadAfter (8 s by default) is dead, and
//   - the jobs it was running (River's attempted_by names it) are made
//     available again at once, whatever their kind, instead of RescueAfter
//     after they started: a killed node's chunks resume on another node
//     within about NodeDeadAfter plus a second;
//   - if it was River's leader, its leadership row is removed and the other
//     electors are told, as River's own resignation does: the leader-only
//     periodic work (health ticks, rentals, pruning) moves within the same
//     time, not after River's 15 s lease and 5 s election poll.
//
// The heartbeat is also a lease on the work a node runs: a node that cannot
// renew it for fenceAfter (three quarters of NodeDeadAfter), cut off from
// the database, cancels its running chunks and deliveries itself, so that it
// has stopped before the others take them over; a live node's long jobs are
// never taken over, since its heartbeat keeps going whatever its jobs do.
// Times are the database's clock (store.NodeHeartbeat).
//
// A node that stops cleanly marks itself dead when its jobs are done (Stop):
// what it could not finish in time is taken over within a second.
//
// Nodes of older versions write no heartbeat; their jobs keep being rescued
// by time (rescue.go). SQLite has one node and no heartbeats.

// DefaultNodeDeadAfter is NodeDeadAfter's default.
const DefaultNodeDeadAfter = 8 * time.Second

// newNodeID names this process for River (its client id) and the nodes
// table: the host name and a random suffix, unique per start.
func newNodeID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "node"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "_" + hex.EncodeToString(b)
}

// leases holds the cancel functions of the jobs running on this node.
type leases struct {
	mu   sync.Mutex
	next int
	m    map[int]context.CancelFunc
}

// hold returns a context for a job that fence cancels, and its release.
func (l *leases) hold(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	l.mu.Lock()
	if l.m == nil {
		l.m = map[int]context.CancelFunc{}
	}
	id := l.next
	l.next++
	l.m[id] = cancel
	l.mu.Unlock()
	return ctx, func() {
		l.mu.Lock()
		delete(l.m, id)
		l.mu.Unlock()
		cancel()
	}
}

// fence cancels every running job and reports how many.
func (l *leases) fence() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.m {
		c()
	}
	return len(l.m)
}

// NodeID is this node's id (River's client id).
func (j *Jobs) NodeID() string { return j.nodeID }

// beatEvery is the heartbeat period for a dead-after time.
func beatEvery(deadAfter time.Duration) time.Duration {
	return min(max(deadAfter/8, 250*time.Millisecond), 2*time.Second)
}

// nodeLoop beats, fences and takes over until ctx ends (PostgreSQL only).
func (j *Jobs) nodeLoop(ctx context.Context) {
	defer close(j.nodeDone)
	every := beatEvery(j.deadAfter)
	fenceAfter := j.deadAfter * 3 / 4
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK, fenced := time.Now(), false
	host, _ := os.Hostname()
	for {
		bctx, cancel := context.WithTimeout(ctx, every*2)
		err := j.db.NodeHeartbeat(bctx, j.nodeID, host, j.version)
		cancel()
		switch {
		case err == nil:
			lastOK, fenced = time.Now(), false
		case ctx.Err() != nil:
			return
		case time.Since(lastOK) > fenceAfter && !fenced:
			fenced = true
			n := j.leases.fence()
			if j.log != nil {
				j.log.Warn("jobs: heartbeat lost: cancelling this node's running jobs before another node takes them",
					"jobs", n, "since", time.Since(lastOK).Round(time.Millisecond).String(), "error", err.Error())
			}
		}
		if err == nil {
			if n, err := j.takeOver(ctx); err != nil && ctx.Err() == nil && j.log != nil {
				j.log.Warn("jobs: taking over the work of dead nodes failed", "error", err.Error())
			} else if n > 0 && j.log != nil {
				j.log.Info("jobs: took over the jobs of a dead node", "jobs", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// takeOver rescues the jobs of dead nodes and ends a dead node's leadership.
func (j *Jobs) takeOver(ctx context.Context) (int, error) {
	_, dead, err := j.db.NodeStates(ctx, j.deadAfter)
	if err != nil || len(dead) == 0 {
		return 0, err
	}
	leader, err := j.db.Leader(ctx)
	if err != nil {
		return 0, err
	}
	if dead[leader] {
		if ok, err := j.db.EvictLeader(ctx, leader); err != nil {
			return 0, err
		} else if ok && j.log != nil {
			j.log.Info("jobs: the leader node is dead: leadership released for another node", "node", leader)
		}
	}
	// A dead node's jobs started before it died, at least half of
	// deadAfter ago: the horizon leaves out any job started since by a
	// live node.
	horizon := time.Now().UTC().Add(-j.deadAfter / 2)
	n, chunks, err := j.rescue(ctx, horizon, func(job *rivertype.JobRow) bool {
		return len(job.AttemptedBy) > 0 && dead[job.AttemptedBy[len(job.AttemptedBy)-1]]
	}, "node dead: taken over after "+j.deadAfter.String()+" without heartbeat")
	if err != nil {
		return n, err
	}
	// The dead node's chunks were being worked: their runs' outputs stop
	// until they run again. In queue QueueRuns they would wait for a
	// worker of the live nodes, all of them busy with chunks of their own
	// for a pass or more (measured: 7-10 s more, then the pass); in
	// QueueTakenOver, whose workers are idle but for such jobs, they start
	// within River's fetch poll.
	if _, err := j.db.MoveAvailableJobs(ctx, chunks, QueueRuns, QueueTakenOver); err != nil {
		return n, err
	}
	return n, nil
}
