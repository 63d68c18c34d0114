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
// Every node writes a heartbeat to the nodes table every NodeDeadAfter/8
// (750 ms by default), on a database connection of its own
// (store.NodeRiverDriver): on the node's shared pool a busy node's
// heartbeats and takeover scans waited for its chunk commits. Every node
// also looks at the others' heartbeats: a node silent for NodeDeadAfter (6 s
// by default) is dead, and
//   - the jobs it was running (River's attempted_by names it) are made
//     available again at once, whatever their kind, instead of RescueAfter
//     after they started; its chunks go to queue QueueTakenOver, whose
//     workers every node keeps free, and are worked by runs.ResumeChunk,
//     whose calls go first in the in-flight budget and whose first output
//     is committed as soon as it is fetched;
//   - if it was River's leader, its leadership row is removed and the other
//     electors are told, as River's own resignation does: the leader-only
//     periodic work (health ticks, rentals, pruning) moves within the same
//     time, not after River's 15 s lease and 5 s election poll.
//
// The heartbeat is also a lease on the work a node runs: the node holds its
// jobs until fenceAfter (three quarters of NodeDeadAfter) after it sent its
// last heartbeat that succeeded, and a timer cancels its running chunks and
// deliveries then (a job started after that is cancelled at once), whether
// the heartbeat failed, hangs, or the process itself was stalled. The lease
// runs from when the heartbeat was sent, which is before the database
// stamped it: a node has stopped its work a quarter of NodeDeadAfter before
// the others may take it over, whatever the database's latency. A live
// node's long jobs are never taken over, since its heartbeat keeps going
// whatever its jobs do. Times are the database's clock (store.NodeHeartbeat)
// for the others, the node's monotonic clock for its own lease.
//
// A node that stops cleanly marks itself dead when its jobs are done (Stop):
// what it could not finish in time is taken over within a second.
//
// Nodes of older versions write no heartbeat; their jobs keep being rescued
// by time (rescue.go). SQLite has one node and no heartbeats.

// DefaultNodeDeadAfter is NodeDeadAfter's default. It was 8 s; 6 s leaves
// a killed node's chunks about 7 s of detection out of the 15 s failover
// target, the rest for the resumed pass's first call and commit on a busy
// survivor. It is not lower because a live node must keep its lease (three
// quarters of it, 4.5 s) on a busy machine: on two cores at a 1-min load of
// 25-32, heartbeats on their own connection took up to 2.6 s, and with 5 s
// (a 3.75 s lease) a live node lost its lease about once in five kills,
// cancelling all its running work (bench/RESULTS.md, failover, third pass).
const DefaultNodeDeadAfter = 6 * time.Second

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

// leases holds the cancel functions of the jobs running on this node, and
// the end of the node's lease on them.
type leases struct {
	mu   sync.Mutex
	next int
	m    map[int]context.CancelFunc
	// until is when the lease ends unless renewed (zero: no lease kept,
	// as on SQLite or before the first heartbeat).
	until time.Time
}

// hold returns a context for a job that fence cancels, and its release. A
// job that starts when the lease has ended is cancelled at once: the other
// nodes may be taking over this node's work.
func (l *leases) hold(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	l.mu.Lock()
	if l.m == nil {
		l.m = map[int]context.CancelFunc{}
	}
	id := l.next
	l.next++
	l.m[id] = cancel
	if !l.until.IsZero() && !time.Now().Before(l.until) {
		cancel()
	}
	l.mu.Unlock()
	return ctx, func() {
		l.mu.Lock()
		delete(l.m, id)
		l.mu.Unlock()
		cancel()
	}
}

// renew extends the lease to until.
func (l *leases) renew(until time.Time) {
	l.mu.Lock()
	l.until = until
	l.mu.Unlock()
}

// held says whether the lease is held now.
func (l *leases) held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.until.IsZero() && time.Now().Before(l.until)
}

// expire cancels every running job if the lease has ended, and reports
// whether it had and how many jobs it cancelled.
func (l *leases) expire() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until.IsZero() || time.Now().Before(l.until) {
		return false, 0
	}
	for _, c := range l.m {
		c()
	}
	return true, len(l.m)
}

// NodeID is this node's id (River's client id).
func (j *Jobs) NodeID() string { return j.nodeID }

// beatEvery is the heartbeat period for a dead-after time.
func beatEvery(deadAfter time.Duration) time.Duration {
	return min(max(deadAfter/8, 250*time.Millisecond), 2*time.Second)
}

// nodeLoop beats and fences until ctx ends (PostgreSQL only), and runs
// the takeover scan beside it.
func (j *Jobs) nodeLoop(ctx context.Context) {
	defer close(j.nodeDone)
	every := beatEvery(j.deadAfter)
	fenceAfter := j.deadAfter * 3 / 4
	// The takeover scan runs in a loop of its own: when it shared the
	// heartbeat's, a slow scan (a busy database) delayed the next beat,
	// and a live node at load 30 lost its lease several times a minute.
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		j.takeOverLoop(ctx, every)
	}()
	defer func() { <-scanDone }()
	t := time.NewTicker(every)
	defer t.Stop()
	// The fence fires at the lease's end unless a heartbeat renewed it
	// meanwhile; it does not wait for a heartbeat call to fail or return.
	var lastOK time.Time
	fence := time.AfterFunc(time.Hour, func() {
		if ended, n := j.leases.expire(); ended && j.log != nil {
			j.log.Warn("jobs: heartbeat lease ended: cancelled this node's running jobs before another node takes them",
				"jobs", n, "lease", fenceAfter.String())
		}
	})
	defer fence.Stop()
	host, _ := os.Hostname()
	for {
		sent := time.Now()
		// A heartbeat may take until the lease ends: giving up sooner
		// would only close the connection and make the next one slower.
		timeout := max(every*2, time.Until(lastOK.Add(fenceAfter)))
		bctx, cancel := context.WithTimeout(ctx, timeout)
		err := j.db.NodeHeartbeat(bctx, j.nodeID, host, j.version)
		cancel()
		switch {
		case err == nil:
			lastOK = sent
			j.leases.renew(sent.Add(fenceAfter))
			fence.Reset(time.Until(sent.Add(fenceAfter)))
			if d := time.Since(sent); d > fenceAfter/4 && j.log != nil {
				j.log.Warn("jobs: slow heartbeat", "took", d.Round(time.Millisecond).String())
			}
		case ctx.Err() != nil:
			return
		case j.log != nil:
			j.log.Warn("jobs: heartbeat failed", "since_last", time.Since(lastOK).Round(time.Millisecond).String(), "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// takeOverLoop takes over the work of dead nodes every period while this
// node holds its own lease (a node cut off from the database judges no
// one) until ctx ends.
func (j *Jobs) takeOverLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !j.leases.held() {
			continue
		}
		if n, err := j.takeOver(ctx); err != nil && ctx.Err() == nil && j.log != nil {
			j.log.Warn("jobs: taking over the work of dead nodes failed", "error", err.Error())
		} else if n > 0 && j.log != nil {
			j.log.Info("jobs: took over the jobs of a dead node", "jobs", n)
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
	n, chunks, err := j.rescue(ctx, j.db.NodeRiverDriver().GetExecutor(), horizon, func(job *rivertype.JobRow) bool {
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
