package engine

import (
	"container/list"
	"context"
	"log/slog"
	"sync"
	"time"
)

// LeaseFunc asks the shared store for a family's slots on this node: the
// family's limit across nodes, the slots the node could use now and those it
// holds; it answers the slots granted (store.Store.RenewFamilyLease).
type LeaseFunc func(ctx context.Context, family string, limit, wanted, inUse int) (int, error)

// Lease timing: a node renews its leases every LeaseEvery (and at once when
// a call finds no slot), and stops using slots it could not renew for
// LeaseTTL/2, before its lease lapses for the other nodes.
const (
	LeaseEvery = time.Second
	LeaseTTL   = 5 * time.Second
)

// FamilyLimits bounds the upstream calls of a platform family in flight
// (FIRSTMATE_PLATFORM_<FAMILY>_CONCURRENCY), for an upstream's own quotas.
// Without a LeaseFunc the bound is the node's; with one (PostgreSQL) it is
// shared by every node through leases in the database, and a node uses
// only the slots it leased.
type FamilyLimits struct {
	fams map[string]*familySem
	stop context.CancelFunc
	wg   sync.WaitGroup
}

type familySem struct {
	name  string
	limit int
	lease LeaseFunc
	log   *slog.Logger
	kick  chan struct{}

	mu      sync.Mutex
	cap     int // slots this node may use now
	used    int
	waiters list.List // of chan struct{}
	renewed time.Time
}

// NewFamilyLimits makes the limits (family -> calls in flight). lease nil:
// each node applies the limits alone (one node, SQLite). Call Start to
// keep the leases when lease is set.
func NewFamilyLimits(limits map[string]int, lease LeaseFunc, log *slog.Logger) *FamilyLimits {
	f := &FamilyLimits{fams: map[string]*familySem{}}
	for name, n := range limits {
		if n <= 0 {
			continue
		}
		s := &familySem{name: name, limit: n, lease: lease, log: log, kick: make(chan struct{}, 1)}
		s.waiters.Init()
		if lease == nil {
			s.cap = n
		}
		f.fams[name] = s
	}
	return f
}

// Limit is a family's limit (0: none).
func (f *FamilyLimits) Limit(family string) int {
	if f == nil || f.fams[family] == nil {
		return 0
	}
	return f.fams[family].limit
}

// Start renews the leases (when there is a LeaseFunc) until Stop.
func (f *FamilyLimits) Start() {
	if f == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	for _, s := range f.fams {
		if s.lease == nil {
			continue
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			s.run(ctx)
		}()
	}
}

// Stop ends the renewals (the leases lapse, or the caller drops them).
func (f *FamilyLimits) Stop() {
	if f == nil || f.stop == nil {
		return
	}
	f.stop()
	f.wg.Wait()
}

// Families lists the limited families.
func (f *FamilyLimits) Families() []string {
	if f == nil {
		return nil
	}
	var out []string
	for name := range f.fams {
		out = append(out, name)
	}
	return out
}

// Acquire takes a slot of the family for one call (no limit: at once).
func (f *FamilyLimits) Acquire(ctx context.Context, family string) (func(), error) {
	if f == nil || f.fams[family] == nil {
		return func() {}, nil
	}
	return f.fams[family].acquire(ctx)
}

func (s *familySem) acquire(ctx context.Context) (func(), error) {
	s.mu.Lock()
	if s.used < s.cap && s.waiters.Len() == 0 {
		s.used++
		s.mu.Unlock()
		return s.releaser(), nil
	}
	ch := make(chan struct{})
	e := s.waiters.PushBack(ch)
	s.mu.Unlock()
	s.wake()
	select {
	case <-ch:
		return s.releaser(), nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	select {
	case <-ch: // granted as ctx ended: pass it on
		s.used--
		s.grant()
	default:
		s.waiters.Remove(e)
	}
	s.mu.Unlock()
	return nil, ctx.Err()
}

// wake asks the lease loop to renew now (more slots are wanted).
func (s *familySem) wake() {
	if s.lease == nil {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *familySem) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.used--
			s.grant()
			s.mu.Unlock()
		})
	}
}

// grant hands free slots to waiters in order; the caller holds s.mu.
func (s *familySem) grant() {
	for s.used < s.cap && s.waiters.Len() > 0 {
		ch := s.waiters.Remove(s.waiters.Front()).(chan struct{})
		s.used++
		close(ch)
	}
}

func (s *familySem) run(ctx context.Context) {
	t := time.NewTicker(LeaseEvery)
	defer t.Stop()
	for {
		s.renew(ctx)
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.cap = 0
			s.mu.Unlock()
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

func (s *familySem) renew(ctx context.Context) {
	s.mu.Lock()
	// Twice the demand: room for the next calls without a renewal each.
	wanted, inUse := min(2*(s.used+s.waiters.Len()), s.limit), s.used
	s.mu.Unlock()
	n, err := s.lease(ctx, s.name, s.limit, wanted, inUse)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil && s.log != nil {
			s.log.Warn("renewing a family's concurrency lease", "family", s.name, "error", err)
		}
		if time.Since(s.renewed) > LeaseTTL/2 {
			s.cap = 0 // the lease may lapse for the other nodes: stop taking slots
		}
		return
	}
	s.renewed = time.Now()
	s.cap = n
	s.grant()
}
