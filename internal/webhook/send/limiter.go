package send

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// HostLimiter caps the deliveries in flight per key in this process.
// Acquire waits a bounded time for a slot, which a release hands to the
// longest waiting; package webhook uses it and defers a delivery it
// refuses to a later job (see the package doc). TryAcquire answers at once.
type HostLimiter struct {
	max      int
	mu       sync.Mutex
	inFlight map[string]int
	// waiters of a key, oldest first; a key has some only while it is full.
	waiters map[string][]chan func()
}

// NewHostLimiter allows maxPerKey concurrent deliveries per key (at least 1).
func NewHostLimiter(maxPerKey int) *HostLimiter {
	return &HostLimiter{max: max(maxPerKey, 1), inFlight: make(map[string]int), waiters: make(map[string][]chan func())}
}

// TryAcquire takes a slot for key if one is free. The release function
// gives it back; calling it more than once is harmless.
func (l *HostLimiter) TryAcquire(key string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[key] >= l.max {
		return nil, false
	}
	l.inFlight[key]++
	return l.releaser(key), true
}

// Acquire takes a slot for key, waiting up to wait (or until ctx ends) for
// one to be released.
func (l *HostLimiter) Acquire(ctx context.Context, key string, wait time.Duration) (release func(), ok bool) {
	l.mu.Lock()
	if l.inFlight[key] < l.max {
		l.inFlight[key]++
		l.mu.Unlock()
		return l.releaser(key), true
	}
	ch := make(chan func(), 1)
	l.waiters[key] = append(l.waiters[key], ch)
	l.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case rel := <-ch:
		return rel, true
	case <-t.C:
	case <-ctx.Done():
	}
	l.mu.Lock()
	ws, removed := l.waiters[key], false
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i:i], ws[i+1:]...)
			removed = true
			break
		}
	}
	if len(ws) == 0 {
		delete(l.waiters, key)
	} else {
		l.waiters[key] = ws
	}
	l.mu.Unlock()
	if !removed {
		(<-ch)() // handed a slot as it gave up: pass it on
	}
	return nil, false
}

// releaser returns the release of one slot of key: it hands the slot to the
// oldest waiter, if any, or frees it.
func (l *HostLimiter) releaser(key string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			if ws := l.waiters[key]; len(ws) > 0 {
				w := ws[0]
				if len(ws) == 1 {
					delete(l.waiters, key)
				} else {
					l.waiters[key] = ws[1:]
				}
				l.mu.Unlock()
				w <- l.releaser(key) // buffered: never blocks
				return
			}
			defer l.mu.Unlock()
			if l.inFlight[key]--; l.inFlight[key] <= 0 {
				delete(l.inFlight, key) // keep the map as small as the keys in use
			}
		})
	}
}

// InFlight returns the slots taken for key.
func (l *HostLimiter) InFlight(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight[key]
}

// HostKey is the limiter key of a URL: its lower-cased host and port, with
// the scheme's default port made explicit, so http://A.example and
// http://a.example:80/x share one. Unparsable URLs get the raw string.
func HostKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return rawURL
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port)
}
