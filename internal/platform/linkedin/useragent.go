package linkedin

import (
	"hash/fnv"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

// DefaultUserAgent is the user agent the driver falls back to, keyed by the
// li_at cookie, when the credentials carry none (Credentials.UserAgent: the
// engine always sets one, the user's own or the one the identity keeps; a
// probe run by hand may not).
func DefaultUserAgent(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	uas := platform.BrowserUserAgents
	return uas[h.Sum32()%uint32(len(uas))]
}
