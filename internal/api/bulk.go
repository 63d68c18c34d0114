package api

import (
	"context"
	"strconv"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

// DefaultBulkSubmissions is how many bulk submissions a node stores at once
// unless configured otherwise.
const DefaultBulkSubmissions = 2

// defaultBulkWait is how long a bulk submission waits for a free slot
// before it is refused.
const defaultBulkWait = 5 * time.Second

// bulkGate bounds the async submissions with large bodies (over the live
// limit, or of unknown length) that a node stores at once. Each holds little
// memory now (it is stored as it arrives), but it keeps a core busy
// decoding and the database writing for seconds: more at once would only
// slow every one of them, and everyone else's calls. Smaller submissions do
// not queue here.
type bulkGate struct {
	slots chan struct{}
}

func newBulkGate(n int) *bulkGate {
	if n <= 0 {
		n = DefaultBulkSubmissions
	}
	return &bulkGate{slots: make(chan struct{}, n)}
}

// acquire takes a slot, waiting up to wait (0: 5 s); release gives it
// back. When none frees up in time it answers 503 SERVER_BUSY with a
// Retry-After, before anything of the body was read.
func (g *bulkGate) acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	if wait <= 0 {
		wait = defaultBulkWait
	}
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	retry := strconv.Itoa(max(1, int(wait/time.Second)))
	return nil, apperr.Config(503, "SERVER_BUSY", "this server is already storing %d large async submissions; retry in %s s",
		cap(g.slots), retry).With("retry_after", retry)
}
