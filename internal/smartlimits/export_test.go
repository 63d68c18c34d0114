package smartlimits

import (
	"context"
	"time"
)

// SetCacheCaps lowers the bounds of the copies for a test; restore puts
// them back.
func SetCacheCaps(events, identities int) (restore func()) {
	e, i := maxCachedEvents, maxCachedIdentities
	maxCachedEvents, maxCachedIdentities = events, identities
	return func() { maxCachedEvents, maxCachedIdentities = e, i }
}

// Cached reports how many identities and events the copies hold.
func (l *Limiter) Cached() (identities, events int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.cache), l.cached
}

// ConsumeInOneBatch consumes needs[i] for accs[i] in one batch written the
// way the lane writes it on PostgreSQL (writeDirect, then keep), so that a
// test controls which ops share a batch. It returns each op's error.
func (l *Limiter) ConsumeInOneBatch(ctx context.Context, accs []Account, needs [][]Need, now time.Time) ([]error, error) {
	ops := make([]*op, len(accs))
	for i := range accs {
		ops[i] = &op{acc: accs[i], needs: mergeNeeds(needs[i]), now: now}
	}
	errs, err := l.writeDirect(ctx, l.DB, ops)
	if err == nil {
		l.keep(ops)
	}
	return errs, err
}
