package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// ReadCacheTTL bounds how long a cached read may be served. Within one
// process a cached read is never stale: every write transaction (Store.Tx)
// empties the workspace and account caches, and the services that change
// keys, roles and members empty the principal cache (InvalidateAuth). The
// TTL covers writes this process cannot see: other nodes sharing the
// PostgreSQL database, and CLI commands writing the same SQLite file. A key
// revoked or an integration removed on another node stops working here
// within this long. Principals stay cached longer while nothing they depend
// on changes: their bound is the auth epoch's (authcache.go).
const ReadCacheTTL = time.Second

// readCacheMax bounds a cache's entries; a full cache starts over.
const readCacheMax = 10_000

// readCache keeps the results of reads that every API call makes and that
// change rarely: the principal behind an API key, the accounts able to run an
// action. Entries are tagged with the database's write generation read
// before the query, so a result read while a write committed is never kept
// past that write.
type readCache[V any] struct {
	db *Store
	mu sync.Mutex
	m  map[string]cacheEntry[V]
	// genOf is the generation entries are tagged with (db.gen unless set);
	// valid, when set, replaces the TTL check (the principal cache's
	// freshness is the auth epoch's, see authcache.go).
	genOf func() uint64
	valid func(at, now time.Time) bool
}

type cacheEntry[V any] struct {
	v   V
	gen uint64
	at  time.Time
}

func newReadCache[V any](db *Store) *readCache[V] {
	return &readCache[V]{db: db, m: map[string]cacheEntry[V]{}}
}

// get returns the cached value for key, or loads it. load reports whether
// its result may be cached (errors and misses are not).
func (c *readCache[V]) get(key string, load func() (V, bool, error)) (V, error) {
	genOf, valid := c.db.gen.Load, func(at, now time.Time) bool { return now.Sub(at) < ReadCacheTTL }
	if c.genOf != nil {
		genOf = c.genOf
	}
	if c.valid != nil {
		valid = c.valid
	}
	gen := genOf()
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.gen == gen && valid(e.at, now) {
		return e.v, nil
	}
	v, keep, err := load()
	if err != nil || !keep {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= readCacheMax {
		clear(c.m)
	}
	c.m[key] = cacheEntry[V]{v: v, gen: gen, at: now}
	c.mu.Unlock()
	return v, nil
}

// Invalidate makes every cached read stale. Store.Tx calls it after each write
// transaction; code that writes outside Store.Tx (tests, tools) calls it itself.
func (db *Store) Invalidate() { db.gen.Add(1) }

// CachedPrincipal is PrincipalByKeyHash through the principal cache. A
// key revoked, a member demoted or removed, a workspace's plan changed is
// seen at once when done through this process (InvalidateAuth), and within
// ReadCacheTTL when done elsewhere (another node, the CLI): see
// authcache.go.
func (db *Store) CachedPrincipal(ctx context.Context, hash string) (model.Principal, error) {
	db.auth.refresh(db)
	return db.principals.get(hash, func() (model.Principal, bool, error) {
		p, err := PrincipalByKeyHash(ctx, db.r, hash)
		return p, err == nil, err
	})
}

// CachedWorkspace is GetWorkspace through the read cache.
func (db *Store) CachedWorkspace(ctx context.Context, id int64) (model.Workspace, error) {
	return db.workspaces.get(strconv.FormatInt(id, 10), func() (model.Workspace, bool, error) {
		w, err := GetWorkspace(ctx, db.r, id)
		return w, err == nil, err
	})
}

// CachedAccounts is Accounts through the read cache. The caller owns the
// returned slice.
func (db *Store) CachedAccounts(ctx context.Context, q AccountQuery) ([]Account, error) {
	var key strings.Builder
	key.WriteString(strconv.FormatInt(q.WorkspaceID, 10))
	if q.Pool {
		key.WriteString("|pool")
	}
	for _, list := range [][]string{q.IdentityUIDs, q.Platforms, q.Statuses} {
		// nil and empty differ for IdentityUIDs (all, none).
		if list == nil {
			key.WriteString("|*")
			continue
		}
		// Length-prefixed, so that no client-chosen uid can make two
		// queries share a key.
		key.WriteString("|" + strconv.Itoa(len(list)))
		for _, s := range list {
			key.WriteString("," + strconv.Itoa(len(s)) + ":" + s)
		}
	}
	accs, err := db.accounts.get(key.String(), func() ([]Account, bool, error) {
		accs, err := Accounts(ctx, db.r, q)
		return accs, err == nil, err
	})
	return append([]Account(nil), accs...), unable(err, "read cached accounts")
}
