package engine

import (
	"sync"
	"time"
)

// scoreTTL is how old a cached ranking score may be (CandidatesForBatch).
const scoreTTL = time.Second

// scoreCache keeps accounts' remaining Smart Limit capacity for an action
// for scoreTTL, for the ranking of async candidates.
type scoreCache struct {
	mu sync.Mutex
	m  map[scoreKey]scoreEntry
}

type scoreKey struct {
	integration int64
	action      string
}

type scoreEntry struct {
	v  float64
	at time.Time
}

func (c *scoreCache) get(integration int64, action string, use bool) (float64, bool) {
	if !use {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	en, ok := c.m[scoreKey{integration, action}]
	if !ok || time.Since(en.at) > scoreTTL {
		return 0, false
	}
	return en.v, true
}

func (c *scoreCache) put(integration int64, action string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[scoreKey]scoreEntry{} // bounded: start over
	}
	c.m[scoreKey{integration, action}] = scoreEntry{v: v, at: time.Now()}
}
