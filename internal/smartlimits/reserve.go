package smartlimits

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// Limiter checks and records Smart Limit consumption.
//
// Every change to an identity's limit_events also bumps the identity's
// counter in limit_seqs, in the same transaction. The limiter keeps, per
// identity, the recent events it last read or wrote and the counter value
// they are current at. A consumption is checked against that copy and
// written with "UPDATE limit_seqs ... WHERE seq = <the copy's value>". When
// another node or process changed the identity's events in between, that
// update matches no row, and the identity is checked again against the
// database under its counter's row lock. Within one process the copy is
// always current, so a call's check reads nothing: it costs one counter
// update and one event insert, both shared with concurrent calls through
// group commit. The windows themselves live in the database; the copy only
// saves reading them again.
type Limiter struct {
	DB *store.Store

	laneOnce sync.Once
	lane     *store.Lane[*op]

	// round is what the batch being written leaves for the copies (write
	// sets it, keep applies it). Batches are written one at a time.
	round written

	mu     sync.Mutex
	cache  map[int64]*state
	cached int // events held in cache, bounded by maxCachedEvents
}

// maxCachedEvents bounds the memory of the copies (16 bytes an event). The
// default limits keep an identity's copy to a few thousand events; an
// identity whose overrides let it past an eighth of this is not kept and is
// read from the database on each batch instead. (A variable for tests.)
var maxCachedEvents = 1 << 21

// maxCachedIdentities bounds the number of copies (a few hundred bytes each
// besides their events). (A variable for tests.)
var maxCachedIdentities = 100_000

// Batches is the group commit of consumptions and releases (for metrics).
func (l *Limiter) Batches() store.Batches { return l.writes() }

// writes is the group commit of consumptions and releases, made on first
// use (a Limiter is a struct literal).
func (l *Limiter) writes() *store.Lane[*op] {
	l.laneOnce.Do(func() {
		l.lane = store.NewLane(l.DB, l.write, l.keep)
		l.lane.SetDirect(l.writeDirect)
	})
	return l.lane
}

// Reservation is what one Consume recorded, for Release.
type Reservation struct {
	identityID int64
	at         int64 // unix ms
	needs      []Need
}

// Consume records the needs when every window of every key has room, no
// outreach gap is running (for an OutreachGap need) and the working hours
// are open (for a WorkingHours need), and returns what it recorded (for
// Release and Settle). Otherwise it records nothing and returns a *Refused.
func (l *Limiter) Consume(ctx context.Context, a Account, needs []Need, now time.Time) (Reservation, error) {
	needs, refused := a.prepare(needs, now)
	if refused != nil {
		return Reservation{}, refused
	}
	if len(needs) == 0 {
		return Reservation{}, nil
	}
	o := &op{acc: a, needs: mergeNeeds(needs), now: now}
	if err := l.writes().Do(ctx, o); err != nil {
		return Reservation{}, err
	}
	return o.res, nil
}

// prepare turns the protections among needs into what is recorded: working
// hours decide here (they depend on the clock alone, so there is nothing to
// reserve), an outreach gap gets its random pause (the event's n, in
// milliseconds), and an estimate is brought within the key's maxima.
func (a Account) prepare(needs []Need, now time.Time) ([]Need, *Refused) {
	out := make([]Need, 0, len(needs))
	for _, n := range needs {
		switch {
		case n.Key == WorkingHours:
			if h := a.Hours(); h.Enabled {
				if open, next := h.At(now, a.location()); !open {
					return nil, &Refused{Key: WorkingHours, AvailableAt: next}
				}
			}
			continue
		case n.Key == OutreachGap:
			g := a.Gap()
			if g.Max <= 0 {
				continue
			}
			n.N = int(g.draw().Milliseconds())
		case n.Estimate:
			for _, w := range a.Effective(n.Key, now) {
				if w.Max > 0 && n.N > w.Max {
					n.N = w.Max
				}
			}
			n.Estimate = false
		}
		out = append(out, n)
	}
	return out, nil
}

// Settle records that a call whose reservation estimated its use of key
// (Need.Estimate) used `used` units: the recorded consumption becomes what
// was used, still at the time of the reservation, without a check (the
// call happened). It returns the reservation as it now stands.
//
// Reserving the estimate first is what keeps concurrent calls exact: a page
// starts only when a full page fits, so the recorded count exceeds the
// maximum only when a page returns more than was reserved, which happens
// only when the maximum is below one page (the estimate was cut to it) or a
// page is longer than the estimate: by less than one page.
func (l *Limiter) Settle(ctx context.Context, r Reservation, key string, used int) (Reservation, error) {
	i := slices.IndexFunc(r.needs, func(n Need) bool { return n.Key == key })
	if i < 0 || r.needs[i].N == used || used < 0 {
		return r, nil
	}
	old := Reservation{identityID: r.identityID, at: r.at, needs: []Need{r.needs[i]}}
	if err := l.writes().Do(ctx, &op{release: &old, replace: []Need{{Key: key, N: used}}}); err != nil {
		return r, err
	}
	r.needs = slices.Clone(r.needs)
	r.needs[i].N = used
	return r, nil
}

// Release undoes a consumption whose call did not happen (e.g. the platform
// was unreachable).
func (l *Limiter) Release(ctx context.Context, r Reservation) error {
	if len(r.needs) == 0 {
		return nil
	}
	return l.writes().Do(ctx, &op{release: &r})
}

// op is one Consume, Release or Settle in a batch.
type op struct {
	acc     Account
	needs   []Need
	now     time.Time
	release *Reservation
	// replace, with release, records these needs at the released
	// reservation's time (Settle).
	replace []Need
	res     Reservation // set when a consumption is recorded
}

func (o *op) identityID() int64 {
	if o.release != nil {
		return o.release.identityID
	}
	return o.acc.IdentityID
}

// mergeNeeds adds up the needs of one key: each window must fit their sum
// (checked one by one, two needs of a key would each fit where both do not).
func mergeNeeds(needs []Need) []Need {
	out := make([]Need, 0, len(needs))
	at := make(map[string]int, len(needs))
	for _, n := range needs {
		if i, ok := at[n.Key]; ok {
			out[i].N += n.N
			continue
		}
		at[n.Key] = len(out)
		out = append(out, n)
	}
	return out
}

// event is one recorded consumption of one key.
type event struct {
	at int64 // unix ms
	n  int
}

// keyEvents are a key's events after from (unix ms), oldest first: every
// event of the database in that range, no more.
type keyEvents struct {
	from   int64
	events []event
}

// used sums the units after since.
func (k *keyEvents) used(since int64) int {
	i := sort.Search(len(k.events), func(i int) bool { return k.events[i].at > since })
	n := 0
	for _, e := range k.events[i:] {
		n += e.n
	}
	return n
}

func (k *keyEvents) add(e event) {
	i := sort.Search(len(k.events), func(i int) bool { return k.events[i].at > e.at })
	k.events = append(k.events, event{})
	copy(k.events[i+1:], k.events[i:])
	k.events[i] = e
}

func (k *keyEvents) remove(e event) {
	i := sort.Search(len(k.events), func(i int) bool { return k.events[i].at >= e.at })
	for ; i < len(k.events) && k.events[i].at == e.at; i++ {
		if k.events[i].n == e.n {
			k.events = append(k.events[:i], k.events[i+1:]...)
			return
		}
	}
}

// state is an identity's copy: its events per key, current at counter seq.
type state struct {
	seq  int64
	keys map[string]*keyEvents
}

// covers reports whether the copy holds every event a check of key at now
// counts.
func (s *state) covers(key string, now time.Time) bool {
	k := s.keys[key]
	return k != nil && store.Millis(now.Add(-span(key))) >= k.from
}

func (s *state) size() int {
	n := 0
	for _, k := range s.keys {
		n += len(k.events)
	}
	return n
}

func (s *state) clone() *state {
	c := &state{seq: s.seq, keys: make(map[string]*keyEvents, len(s.keys))}
	for key, k := range s.keys {
		c.keys[key] = &keyEvents{from: k.from, events: append([]event(nil), k.events...)}
	}
	return c
}

// prune drops the events that no window at now or later counts.
func (s *state) prune(now time.Time) {
	for key, k := range s.keys {
		since := store.Millis(now.Add(-span(key)))
		if since <= k.from {
			continue
		}
		i := sort.Search(len(k.events), func(i int) bool { return k.events[i].at > since })
		if i > len(k.events)/2 {
			k.events = append([]event(nil), k.events[i:]...)
		} else {
			k.events = k.events[i:]
		}
		k.from = since
	}
}

// refusal explains why needs do not fit at now (nil: they fit). The copy
// must cover every key of needs.
func (s *state) refusal(a Account, needs []Need, now time.Time) *Refused {
	var refused *Refused
	for _, need := range needs {
		k := s.keys[need.Key]
		if need.Key == OutreachGap {
			if end := k.gapEnd(nil, store.Millis(now)); end > 0 && (refused == nil || store.Time(end).After(refused.AvailableAt)) {
				refused = &Refused{Key: need.Key, AvailableAt: store.Time(end)}
			}
			continue
		}
		for _, w := range a.Effective(need.Key, now) {
			at, ok := k.room(need, w, now)
			if !ok && (refused == nil || at.After(refused.AvailableAt)) {
				refused = &Refused{Key: need.Key, AvailableAt: at}
			}
		}
	}
	return refused
}

// room checks one window. When it is full, it finds the moment enough of
// the window's events age out to fit the need.
func (k *keyEvents) room(need Need, w Window, now time.Time) (time.Time, bool) {
	if need.N > w.Max {
		// Never fits; report the end of a full window as the earliest retry.
		return now.Add(w.Period), false
	}
	since := store.Millis(now.Add(-w.Period))
	used := k.used(since)
	if used+need.N <= w.Max {
		return time.Time{}, true
	}
	excess := used + need.N - w.Max
	i := sort.Search(len(k.events), func(i int) bool { return k.events[i].at > since })
	for _, e := range k.events[i:] {
		excess -= e.n
		if excess <= 0 {
			return store.Time(e.at).Add(w.Period), false
		}
	}
	return now.Add(w.Period), false
}

// gapEnd is when the outreach pauses among k's events and pending end,
// when one is still running at now (unix ms); 0 otherwise. A pause runs
// from its action's time for the event's n milliseconds, so an action a
// node recorded ahead of this node's clock holds it back too.
func (k *keyEvents) gapEnd(pending []event, now int64) int64 {
	var end int64
	i := sort.Search(len(k.events), func(i int) bool { return k.events[i].at > now-maxGap.Milliseconds() })
	for _, es := range [][]event{k.events[i:], pending} {
		for _, e := range es {
			if t := e.at + int64(e.n); t > now && t > end {
				end = t
			}
		}
	}
	return end
}

// spans is each key's longest window: a copy of a key holds that much.
// Overrides change maxima, never periods. An outreach gap's events count
// for at most maxGap.
var spans = func() map[string]time.Duration {
	out := map[string]time.Duration{OutreachGap: maxGap}
	for key, ws := range Defaults("") {
		for _, w := range ws {
			out[key] = max(out[key], w.Period)
		}
	}
	return out
}()

func span(key string) time.Duration {
	if d, ok := spans[key]; ok {
		return d
	}
	return Month
}

// fast is an identity whose batch checked out against its copy: it commits
// if the counter still holds expected.
type fast struct {
	id       int64
	st       *state
	expected int64
	ops      []int
	pending  map[string][]event
}

// written is what a batch leaves for the copies once it commits: the
// identities whose copies were current, and fresh copies of the others.
type written struct {
	fast  []*fast
	fresh map[int64]*state
	now   time.Time
}

// errIdentityGone: the identity was deleted while its call was under way.
var errIdentityGone = errors.New("limits: identity no longer exists")

// write is the lane's write: it runs in the batch's transaction, and runs
// again when the transaction is retried, setting every result afresh.
func (l *Limiter) write(ctx context.Context, tx *store.Tx, ops []*op) ([]error, error) {
	errs := make([]error, len(ops))
	b := l.split(ops, errs)
	err := b.claim(ctx, tx)
	if err == nil {
		err = b.settle(ctx, tx)
	}
	l.round = b.w
	return errs, err
}

// writeDirect is the lane's write on PostgreSQL. The identities whose copies
// were current are claimed in one statement outside any transaction, which
// commits on its own (asynchronously, as asyncCommit says) in one round
// trip; only the others, if any, take a transaction. The claim has
// committed whatever that transaction does, so a failure there fails their
// ops alone.
func (l *Limiter) writeDirect(ctx context.Context, db *store.Store, ops []*op) ([]error, error) {
	errs := make([]error, len(ops))
	b := l.split(ops, errs)
	for attempt := 0; ; attempt++ {
		err := b.claim(ctx, nil)
		if err == nil {
			break
		}
		if attempt >= 3 || !store.Retryable(err) {
			return errs, err
		}
	}
	if len(b.slow) > 0 {
		err := db.TxKeepCaches(ctx, func(tx *store.Tx) error {
			b.w.fresh, b.rows = map[int64]*state{}, nil
			for _, id := range b.slow {
				for _, i := range b.byID[id] {
					errs[i], ops[i].res = nil, Reservation{}
				}
			}
			return b.settle(ctx, tx)
		})
		if err != nil {
			b.w.fresh = map[int64]*state{}
			for _, id := range b.slow {
				for _, i := range b.byID[id] {
					errs[i], ops[i].res = err, Reservation{}
				}
			}
		}
	}
	l.round = b.w
	return errs, nil
}

// batch is one batch of ops on its way to the database.
type batch struct {
	l      *Limiter
	ops    []*op
	errs   []error
	w      written
	byID   map[int64][]int
	copies map[int64]*state
	// slow are the identities the database must decide (see checkCopy), in
	// id order once claim has run.
	slow []int64
	rows []store.LimitEvent // events left to insert
	// claimRecords: the claim inserts the claimed identities' events
	// (store.Store.ClaimRecordsEvents).
	claimRecords bool
}

// split sorts a batch's identities into those whose copies decide (w.fast)
// and the others (slow), setting every result afresh.
func (l *Limiter) split(ops []*op, errs []error) *batch {
	b := &batch{l: l, ops: ops, errs: errs, w: written{fresh: map[int64]*state{}}, byID: map[int64][]int{},
		claimRecords: l.DB.ClaimRecordsEvents()}
	var ids []int64
	for i, o := range ops {
		errs[i], o.res = nil, Reservation{}
		id := o.identityID()
		if _, ok := b.byID[id]; !ok {
			ids = append(ids, id)
		}
		b.byID[id] = append(b.byID[id], i)
		if o.release == nil && o.now.After(b.w.now) {
			b.w.now = o.now
		}
	}
	// Counters are locked in id order within each step (the claim, then the
	// rechecks), which makes deadlocks between nodes' batches rare; the
	// transaction is retried when PostgreSQL breaks one.
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b.copies = make(map[int64]*state, len(ids))
	l.mu.Lock()
	for _, id := range ids {
		if st := l.cache[id]; st != nil {
			b.copies[id] = st
		}
	}
	l.mu.Unlock()
	for _, id := range ids {
		if f := checkCopy(id, b.copies[id], ops, b.byID[id]); f != nil {
			b.w.fast = append(b.w.fast, f)
		} else {
			b.slow = append(b.slow, id)
		}
	}
	return b
}

// claim records the identities whose copies were current in one statement,
// in tx, or on its own outside any transaction when tx is nil (writeDirect);
// those whose counters moved meanwhile join slow.
func (b *batch) claim(ctx context.Context, tx *store.Tx) error {
	if len(b.w.fast) > 0 {
		claims, events := claimOf(b.w.fast, b.ops, b.claimRecords)
		var stale map[int64]bool
		var err error
		if tx == nil {
			stale, err = b.l.DB.ClaimLimitSeqsNow(ctx, claims, events)
		} else {
			stale, err = b.l.DB.ClaimLimitSeqs(ctx, tx, claims, events)
		}
		if err != nil {
			return err
		}
		kept := b.w.fast[:0]
		for _, f := range b.w.fast {
			if stale[f.id] {
				b.slow = append(b.slow, f.id)
				continue
			}
			kept = append(kept, f)
			for _, i := range f.ops {
				b.ops[i].res = reservationOf(b.ops[i])
				if !b.claimRecords {
					b.rows = append(b.rows, eventsOf(b.ops[i])...)
				}
			}
		}
		b.w.fast = kept
	}
	sort.Slice(b.slow, func(i, j int) bool { return b.slow[i] < b.slow[j] })
	return nil
}

// settle decides the slow identities one by one against the database, and
// inserts the events left.
func (b *batch) settle(ctx context.Context, tx *store.Tx) error {
	if len(b.slow) > 0 {
		// See asyncCommit.
		if err := b.l.DB.AsyncCommit(ctx, tx); err != nil {
			return err
		}
	}
	for _, id := range b.slow {
		st, err := b.l.recheck(ctx, tx, id, b.copies[id], b.ops, b.byID[id], b.errs, &b.rows)
		if errors.Is(err, errIdentityGone) {
			for _, i := range b.byID[id] {
				b.errs[i] = err
			}
			continue
		}
		if err != nil {
			return err
		}
		b.w.fresh[id] = st
	}
	return store.InsertLimitEvents(ctx, tx, b.rows)
}

// checkCopy checks an identity's ops against its copy, and returns nil when
// the database must decide: no copy, a copy that does not reach back far
// enough, a release, or a refusal (the copy may be stale, and only a
// current one may refuse).
func checkCopy(id int64, st *state, ops []*op, idx []int) *fast {
	if st == nil {
		return nil
	}
	f := &fast{id: id, st: st, expected: st.seq, ops: idx, pending: map[string][]event{}}
	for _, i := range idx {
		o := ops[i]
		if o.release != nil {
			return nil
		}
		for _, need := range o.needs {
			if !st.covers(need.Key, o.now) {
				return nil
			}
			k := st.keys[need.Key]
			if need.Key == OutreachGap {
				if k.gapEnd(f.pending[need.Key], store.Millis(o.now)) > 0 {
					return nil
				}
				continue
			}
			for _, w := range o.acc.Effective(need.Key, o.now) {
				since := store.Millis(o.now.Add(-w.Period))
				used := k.used(since)
				for _, e := range f.pending[need.Key] {
					if e.at > since {
						used += e.n
					}
				}
				if used+need.N > w.Max {
					return nil
				}
			}
		}
		at := store.Millis(o.now)
		for _, need := range o.needs {
			f.pending[need.Key] = append(f.pending[need.Key], event{at: at, n: need.N})
		}
	}
	return f
}

// asyncCommit: a transaction of reservations commits without waiting for
// its WAL flush on PostgreSQL (store.Store.AsyncCommit; the claim does the
// same). A reservation is followed by its call's charge, whose synchronous
// commit flushes it too, so only a crash of PostgreSQL itself within its WAL
// writer's delay (0.2 s by default) can lose reservations, and then only of
// calls that were in flight. Every live call saves a WAL flush.

// claimOf is the claim of the identities whose copies were current: each
// counter bumped by its ops if unchanged, with the events to record when the
// claim records them.
func claimOf(fs []*fast, ops []*op, withEvents bool) ([]store.LimitClaim, []store.LimitEvent) {
	claims := make([]store.LimitClaim, len(fs))
	var events []store.LimitEvent
	for i, f := range fs {
		claims[i] = store.LimitClaim{IdentityID: f.id, Expected: f.expected, Ops: len(f.ops)}
		if !withEvents {
			continue
		}
		for _, i := range f.ops {
			events = append(events, eventsOf(ops[i])...)
		}
	}
	return claims, events
}

// recheck decides an identity's ops against the database, under the lock
// of its counter, and returns its current copy.
func (l *Limiter) recheck(ctx context.Context, tx *store.Tx, id int64, st *state, ops []*op, idx []int, errs []error,
	rows *[]store.LimitEvent) (*state, error) {
	// Lock the counter, made on the identity's first use, and read it.
	seq, err := store.LockLimitSeq(ctx, tx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errIdentityGone
	}
	if err != nil {
		return nil, err
	}
	if st != nil && st.seq == seq {
		st = st.clone()
	} else {
		st = &state{seq: seq, keys: map[string]*keyEvents{}}
	}
	// Read what the copy lacks: each key back to the earliest window an op
	// counts.
	since := map[string]int64{}
	need := func(key string, from int64) {
		if s, ok := since[key]; !ok || from < s {
			since[key] = from
		}
	}
	for _, i := range idx {
		o := ops[i]
		if o.release != nil {
			for _, n := range o.release.needs {
				need(n.Key, o.release.at-1)
			}
			continue
		}
		for _, n := range o.needs {
			need(n.Key, store.Millis(o.now.Add(-span(n.Key))))
		}
	}
	for key, from := range since {
		if k := st.keys[key]; k != nil && from >= k.from {
			continue
		}
		k, err := loadKey(ctx, tx, id, key, from)
		if err != nil {
			return nil, err
		}
		st.keys[key] = k
	}
	changes := 0
	for _, i := range idx {
		o := ops[i]
		if o.release != nil {
			for _, n := range o.release.needs {
				if err := store.DeleteLimitEvent(ctx, tx, store.LimitEvent{IdentityID: id, Key: n.Key, N: n.N, At: o.release.at}); err != nil {
					return nil, err
				}
				st.keys[n.Key].remove(event{at: o.release.at, n: n.N})
			}
			for _, n := range o.replace {
				if n.N > 0 {
					st.keys[n.Key].add(event{at: o.release.at, n: n.N})
					*rows = append(*rows, store.LimitEvent{IdentityID: id, Key: n.Key, N: n.N, At: o.release.at})
				}
			}
			changes++
			continue
		}
		if r := st.refusal(o.acc, o.needs, o.now); r != nil {
			errs[i] = r
			continue
		}
		at := store.Millis(o.now)
		for _, n := range o.needs {
			st.keys[n.Key].add(event{at: at, n: n.N})
		}
		o.res = reservationOf(o)
		*rows = append(*rows, eventsOf(o)...)
		changes++
	}
	if changes > 0 {
		if err := store.BumpLimitSeq(ctx, tx, id, changes); err != nil {
			return nil, err
		}
		st.seq += int64(changes)
	}
	return st, nil
}

func loadKey(ctx context.Context, tx *store.Tx, id int64, key string, from int64) (*keyEvents, error) {
	evs, err := store.LimitEventsSince(ctx, tx, id, key, from)
	if err != nil {
		return nil, err
	}
	k := &keyEvents{from: from, events: make([]event, len(evs))}
	for i, e := range evs {
		k.events[i] = event{at: e.At, n: e.N}
	}
	return k, nil
}

// reservationOf is what recording o's consumption reserves.
func reservationOf(o *op) Reservation {
	return Reservation{identityID: o.acc.IdentityID, at: store.Millis(o.now), needs: o.needs}
}

// eventsOf are the rows that record o's consumption.
func eventsOf(o *op) []store.LimitEvent {
	at := store.Millis(o.now)
	rows := make([]store.LimitEvent, len(o.needs))
	for i, n := range o.needs {
		rows[i] = store.LimitEvent{IdentityID: o.acc.IdentityID, Key: n.Key, N: n.N, At: at}
	}
	return rows
}

// keep updates the copies after a batch committed.
func (l *Limiter) keep([]*op) {
	w := l.round
	l.round = written{}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cache == nil {
		l.cache = map[int64]*state{}
	}
	for _, f := range w.fast {
		if l.cache[f.id] != f.st || f.st.seq != f.expected {
			continue // cannot happen: only the batch leader changes copies
		}
		before := f.st.size()
		for key, es := range f.pending {
			for _, e := range es {
				f.st.keys[key].add(e)
			}
		}
		f.st.seq += int64(len(f.ops))
		f.st.prune(w.now)
		l.cached += f.st.size() - before
	}
	for id, st := range w.fresh {
		if old := l.cache[id]; old != nil {
			l.cached -= old.size()
			delete(l.cache, id)
		}
		if !w.now.IsZero() {
			st.prune(w.now)
		}
		n := st.size()
		if n > maxCachedEvents/8 {
			continue
		}
		for id := range l.cache { // map order: a random eviction
			if l.cached+n <= maxCachedEvents && len(l.cache) < maxCachedIdentities {
				break
			}
			l.cached -= l.cache[id].size()
			delete(l.cache, id)
		}
		l.cache[id] = st
		l.cached += n
	}
}
