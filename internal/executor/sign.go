package executor

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// ReplayWindow is how far a request's webhook-timestamp may be from the
// executor's clock, either way; older (or newer) requests are refused with
// 401, and a webhook-id is refused a second time within the window.
const ReplayWindow = 5 * time.Minute

// NewSecret returns a fresh executor secret ("whsec_" and base64 of 32 random bytes).
func NewSecret() string { return send.NewSecret() }

// CheckSecret reports whether secret is a usable whsec_ secret.
func CheckSecret(secret string) error {
	if _, err := send.Sign(secret, "check", time.Unix(0, 0), nil); err != nil {
		return fmt.Errorf("executor: the secret must be whsec_ followed by the base64 of 24 to 64 random bytes: %w", err)
	}
	return nil
}

// Sign sets the Standard Webhooks headers of a request whose body is body,
// as Firstmate does: webhook-id (unique per request), webhook-timestamp
// (unix seconds) and webhook-signature ("v1," + base64 of
// HMAC-SHA256(key, id + "." + timestamp + "." + body)). Executors in Go may
// use it in their tests; the conformance kit uses it to send bad ones.
func Sign(h http.Header, secret, id string, ts time.Time, body []byte) error {
	sig, err := send.Sign(secret, id, ts, body)
	if err != nil {
		return err
	}
	h.Set(send.HeaderID, id)
	h.Set(send.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(send.HeaderSignature, sig)
	return nil
}

// ids makes unique message ids cheaply: a random prefix per process and a
// counter.
type ids struct {
	prefix string
	mu     sync.Mutex
	n      uint64
}

func newIDs(kind string) *ids {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &ids{prefix: kind + "_" + hex.EncodeToString(b) + "_"}
}

func (g *ids) next() string {
	g.mu.Lock()
	g.n++
	n := g.n
	g.mu.Unlock()
	return g.prefix + strconv.FormatUint(n, 36)
}

// replayCache remembers the webhook-ids seen within the replay window, so a
// captured request cannot be played again. It is bounded: when full, ids
// older than the window are dropped first, then the whole cache (a replay
// then needs a flood of fresh signed requests first, which only a holder of
// the secret can make).
type replayCache struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	window time.Duration
	max    int
}

func newReplayCache(window time.Duration, max int) *replayCache {
	return &replayCache{seen: map[string]time.Time{}, window: window, max: max}
}

// fresh records id and reports whether it was not seen within the window.
func (c *replayCache) fresh(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.seen[id]; ok && now.Sub(t) < 2*c.window {
		return false
	}
	if len(c.seen) >= c.max {
		for k, t := range c.seen {
			if now.Sub(t) >= 2*c.window {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			clear(c.seen)
		}
	}
	c.seen[id] = now
	return true
}
