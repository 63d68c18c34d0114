package platform

import (
	"math/rand/v2"
	"strings"
)

// BrowserUserAgents are realistic desktop browser user agents. An identity
// that brought none of its own (auth_data.user_agent at connect) gets one
// of them, picked once and kept for good: platforms tie a session to the
// browser that created it, and a session that changes browser dies sooner.
var BrowserUserAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:132.0) Gecko/20100101 Firefox/132.0",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
}

// PickUserAgent picks one of BrowserUserAgents at random; the caller keeps
// it for the identity.
func PickUserAgent() string {
	return BrowserUserAgents[rand.IntN(len(BrowserUserAgents))]
}

// MaxUserAgentLen bounds a user agent given at connect.
const MaxUserAgentLen = 512

// ValidUserAgent reports whether s can travel as a User-Agent header: not
// empty, at most MaxUserAgentLen bytes, printable ASCII only (a browser's
// navigator.userAgent is; control characters would split the header).
func ValidUserAgent(s string) bool {
	if strings.TrimSpace(s) == "" || len(s) > MaxUserAgentLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
