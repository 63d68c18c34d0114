package delivery

import (
	"net"
	"net/url"
	"strings"
	"sync"
)

// HostLimiter caps the deliveries in flight per key in this process. It
// never blocks: TryAcquire answers at once, so a worker that is refused can
// snooze its job and take other work (see the package doc).
type HostLimiter struct {
	max      int
	mu       sync.Mutex
	inFlight map[string]int
}

// NewHostLimiter allows maxPerKey concurrent deliveries per key (at least 1).
func NewHostLimiter(maxPerKey int) *HostLimiter {
	return &HostLimiter{max: max(maxPerKey, 1), inFlight: make(map[string]int)}
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
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.inFlight[key]--; l.inFlight[key] <= 0 {
				delete(l.inFlight, key) // keep the map as small as the keys in use
			}
		})
	}, true
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
