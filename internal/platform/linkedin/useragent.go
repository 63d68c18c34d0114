package linkedin

import "hash/fnv"

// userAgents are realistic desktop browser user agents. An identity without
// its own (auth_data.user_agent at connect) gets one of them, chosen from a
// stable key, and keeps it: LinkedIn ties a session to the browser that
// created it, and a session that changes browser every call dies sooner.
var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:132.0) Gecko/20100101 Firefox/132.0",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
}

// DefaultUserAgent returns the user agent an identity keeps for good when it
// brought none: the engine calls it with the identity's uid at connect and
// stores the answer with the credentials (Credentials.UserAgent). The driver
// falls back to it, keyed by the li_at cookie, when the credentials carry
// none.
func DefaultUserAgent(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return userAgents[h.Sum32()%uint32(len(userAgents))]
}
