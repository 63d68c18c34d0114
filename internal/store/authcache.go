package store

import (
	"context"
	"sync/atomic"
	"time"
)

// The principal cache (CachedPrincipal) and its invalidation.
//
// Every API request resolves its key to a principal (key, member, role,
// workspace, plan). That read used to be emptied with the other read caches
// by every write transaction of the process, so under async work (a chunk
// commit every few milliseconds) nearly every request read its key again: a
// round trip on PostgreSQL. What a principal depends on changes rarely: a
// key revoked or deleted, a member's role changed or the member removed, a
// workspace's plan or name changed or the workspace deleted. Triggers on
// those tables (migration 00095) bump one counter row, auth_epoch, in the
// same transaction as the change.
//
// Each process reads the counter at most every authPollEvery, in the
// background of a request (never on a request's path while the cache is
// fresh), and a changed value empties the principal cache. A cached
// principal is only served while the last successful read of the counter
// started less than ReadCacheTTL ago: a revocation committed at T on any
// node is then never served after T + ReadCacheTTL, even when reads of the
// counter are slow or failing (the cache then stops serving and every
// request reads its key). Changes made through this process are seen at
// once: the services that make them call InvalidateAuth after committing.
//
// Why a polled counter rather than LISTEN/NOTIFY: it works the same on
// SQLite (the CLI writing the same file) and on PostgreSQL, it needs no
// dedicated connection, and a lost notification cannot leave a revoked key
// working: the bound above holds by construction. Four tiny reads a second
// per busy node are the price.

// authPollEvery is how often a busy process reads auth_epoch.
const authPollEvery = 250 * time.Millisecond

// principalMaxAge bounds an entry's age even when nothing changes (a
// belt-and-braces bound: every change the principal depends on moves the
// epoch).
const principalMaxAge = time.Minute

type authWatch struct {
	// gen tags principal cache entries; it moves when the epoch does and
	// on InvalidateAuth.
	gen atomic.Uint64
	// epoch is the last auth_epoch value read (0 before the first read:
	// the counter starts at 1).
	epoch atomic.Int64
	// polledAt is when the last successful read of the epoch started
	// (Unix nanoseconds; 0: never).
	polledAt atomic.Int64
	polling  atomic.Bool
}

// valid reports whether an entry read at 'at' may be served at now (its
// generation already matched).
func (a *authWatch) valid(at, now time.Time) bool {
	p := a.polledAt.Load()
	return p != 0 && now.Sub(time.Unix(0, p)) < ReadCacheTTL && now.Sub(at) < principalMaxAge
}

// refresh reads the epoch when the last read is older than authPollEvery:
// in the background while the cache is still fresh, else before answering
// (the first request after a second of quiet pays one small query).
func (a *authWatch) refresh(db *Store) {
	now := time.Now()
	last := time.Unix(0, a.polledAt.Load())
	if now.Sub(last) < authPollEvery || !a.polling.CompareAndSwap(false, true) {
		return
	}
	if now.Sub(last) < ReadCacheTTL {
		go a.poll(db)
		return
	}
	a.poll(db)
}

func (a *authWatch) poll(db *Store) {
	defer a.polling.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	var n int64
	if err := db.r.queryRowContext(ctx, `SELECT n FROM auth_epoch WHERE id = 1`).Scan(&n); err != nil {
		return // the cache goes stale and stops serving; requests read their keys
	}
	if a.epoch.Swap(n) != n {
		a.gen.Add(1)
	}
	a.polledAt.Store(start.UnixNano())
}

// InvalidateAuth empties the principal cache. Services call it after
// committing a change to what a principal holds (a key revoked, a role
// changed, a member removed), so that this process refuses at once; other
// processes see the change through auth_epoch.
func (db *Store) InvalidateAuth() { db.auth.gen.Add(1) }
