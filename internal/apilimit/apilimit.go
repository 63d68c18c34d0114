// Package apilimit enforces the per-workspace API rate limit: fixed
// one-second and one-minute windows per (workspace, route group), sized by the
// plan's tier. Requests over the limit still count, so a client that ignores
// Retry-After stays limited. Two implementations of Limiter: Memory, exact
// within one process (SQLite, one node), and SQL, exact across the nodes
// sharing a PostgreSQL database; internal/app picks one.
package apilimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Tier is a plan's API rate: zero values mean no limit on that window.
type Tier struct {
	PerSecond, PerMinute int
}

// Decision is the outcome of one request, and what the headers report.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Time
	RetryAfter time.Duration
}

// Limiter counts requests. Memory is exact within one process (the embedded
// SQLite deployment is one node); SQL is exact across nodes sharing a database.
type Limiter interface {
	Allow(ctx context.Context, workspaceID int64, group string, tier Tier, now time.Time) (Decision, error)
}

// decide turns the two windows' counts (this request included) into a decision.
func decide(tier Tier, now time.Time, secCount, minCount int) Decision {
	secEnd := now.Truncate(time.Second).Add(time.Second)
	minEnd := now.Truncate(time.Minute).Add(time.Minute)
	d := Decision{Allowed: true, Limit: tier.PerMinute, Remaining: tier.PerMinute - minCount, Reset: minEnd}
	if tier.PerMinute == 0 || (tier.PerSecond > 0 && tier.PerSecond-secCount < tier.PerMinute-minCount) {
		d.Limit, d.Remaining, d.Reset = tier.PerSecond, tier.PerSecond-secCount, secEnd
	}
	if tier.PerMinute > 0 && minCount > tier.PerMinute {
		d.Allowed = false
		d.Limit, d.Reset, d.RetryAfter = tier.PerMinute, minEnd, minEnd.Sub(now)
	} else if tier.PerSecond > 0 && secCount > tier.PerSecond {
		d.Allowed = false
		d.Limit, d.Reset, d.RetryAfter = tier.PerSecond, secEnd, secEnd.Sub(now)
	}
	if d.Remaining < 0 {
		d.Remaining = 0
	}
	return d
}

// Memory is an in-process limiter.
type Memory struct {
	seed   maphash.Seed
	shards [64]memShard
}

type memShard struct {
	mu sync.Mutex
	m  map[memKey]*window
}

type memKey struct {
	workspace int64
	group     string
}

type window struct {
	secStart, minStart int64
	secCount, minCount int
}

func NewMemory() *Memory {
	m := &Memory{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].m = map[memKey]*window{}
	}
	return m
}

func (m *Memory) Allow(_ context.Context, workspaceID int64, group string, tier Tier, now time.Time) (Decision, error) {
	var h maphash.Hash
	h.SetSeed(m.seed)
	h.WriteString(group)
	sh := &m.shards[(h.Sum64()^uint64(workspaceID))%uint64(len(m.shards))]
	sec, min := now.Unix(), now.Unix()/60
	sh.mu.Lock()
	w := sh.m[memKey{workspaceID, group}]
	if w == nil {
		w = &window{}
		sh.m[memKey{workspaceID, group}] = w
	}
	// Windows only move forward: a request that read the clock before the
	// current window opened counts in it rather than reopening its own.
	if sec > w.secStart {
		w.secStart, w.secCount = sec, 0
	}
	if min > w.minStart {
		w.minStart, w.minCount = min, 0
	}
	w.secCount++
	w.minCount++
	s, mc := w.secCount, w.minCount
	sh.mu.Unlock()
	return decide(tier, now, s, mc), nil
}

// Windows counts requests in windows shared by every node (store.Store does,
// in its rate_windows table).
type Windows interface {
	CountRequest(ctx context.Context, workspaceID int64, group string, sec, min int64) (secCount, minCount int, err error)
}

// SQL counts in the database with one upsert per request, so every node
// sharing the database sees the same counts. Requests wait for the row lock
// in no particular order, so the windows only move forward (see Memory).
type SQL struct {
	DB Windows
}

func (l SQL) Allow(ctx context.Context, workspaceID int64, group string, tier Tier, now time.Time) (Decision, error) {
	secCount, minCount, err := l.DB.CountRequest(ctx, workspaceID, group, now.Unix(), now.Unix()/60)
	if err != nil {
		return Decision{}, err
	}
	return decide(tier, now, secCount, minCount), nil
}
