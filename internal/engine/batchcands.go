package engine

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// batchTTL is how long the async chunks of a node share one ranked
// candidate list (CandidatesForBatch).
const batchTTL = time.Second

// batchCache keeps the ranked candidate lists of async chunks for batchTTL,
// one per (workspace, action, mode, identities), loaded once however many
// chunks ask at the same moment. Without it every chunk of a run over 1,000
// identities read, ranked and copied all 1,000 accounts: 800 chunks of a
// 20,000-input run made that most of the node's CPU, and the copies held by
// the chunks at work (a few hundred at once) most of its memory (over 1 GB
// measured). A chunk already works a whole pass, minutes at most, with the
// list it read when it started; sharing it between chunks for a second
// more changes no rule: each call still checks its account's status,
// pause and Smart Limits when it runs.
type batchCache struct {
	mu sync.Mutex
	m  map[string]*batchEntry
}

type batchEntry struct {
	ready chan struct{} // closed once accs and err are set
	accs  []store.Account
	set   *LockSet
	err   error
	at    time.Time
}

// batchCacheMax bounds the entries kept: past it the cache starts over.
const batchCacheMax = 10_000

// get returns the list cached under key, or loads it (one load at a time
// per key; the others wait for it). The list is shared: callers must not
// modify it.
func (c *batchCache) get(key string, load func() ([]store.Account, error)) ([]store.Account, *LockSet, error) {
	c.mu.Lock()
	if en, ok := c.m[key]; ok {
		select {
		case <-en.ready:
			if time.Since(en.at) < batchTTL {
				c.mu.Unlock()
				return en.accs, en.set, en.err
			}
		default:
			c.mu.Unlock()
			<-en.ready
			return en.accs, en.set, en.err
		}
	}
	en := &batchEntry{ready: make(chan struct{})}
	if c.m == nil || len(c.m) >= batchCacheMax {
		c.m = map[string]*batchEntry{}
	}
	c.m[key] = en
	c.mu.Unlock()
	en.accs, en.err = load()
	en.at = time.Now()
	if en.err == nil {
		en.set = NewLockSet(en.accs)
	} else {
		// Errors are shared with the chunks that waited for this load, and
		// not kept: the next chunk asks again.
		c.mu.Lock()
		if c.m[key] == en {
			delete(c.m, key)
		}
		c.mu.Unlock()
	}
	close(en.ready)
	return en.accs, en.set, en.err
}

// forget drops the lists of a workspace.
func (c *batchCache) forget(workspace int64) {
	prefix := strconv.FormatInt(workspace, 10) + "|"
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if strings.HasPrefix(k, prefix) {
			delete(c.m, k)
		}
	}
}

// ForgetCandidates makes the next async chunks of a workspace read its
// accounts afresh: a run is resumed (after its user reconnected an account,
// say), or this node found an account's session expired. Other nodes see
// such a change within batchTTL.
func (e *Engine) ForgetCandidates(workspaceID int64) { e.batches.forget(workspaceID) }

// batchKey names a candidate list: no client-chosen uid can make two
// requests share a key (each is length-prefixed).
func batchKey(workspace int64, slug, mode string, uids []string) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(workspace, 10))
	b.WriteString("|" + slug + "|" + mode + "|")
	if uids == nil {
		b.WriteString("*")
	}
	b.WriteString(strconv.Itoa(len(uids)))
	for _, u := range uids {
		b.WriteString("," + strconv.Itoa(len(u)) + ":" + u)
	}
	return b.String()
}
