package limits

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
