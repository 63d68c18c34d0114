// Package proxy gives every identity its own egress proxy ("unique IP"): an
// operator-configured pool of proxy URLs tagged by country, one proxy per
// live identity, picked by the country of the identity's time zone, and the
// HTTP client that sends all of that identity's upstream traffic through it.
//
// The pool is configuration; the database mirrors it (table proxies, no
// credentials) and records assignments (table proxy_assignments, UNIQUE on
// both the proxy and the identity), so every node shares them.
package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
)

// Entry is one proxy of the pool.
type Entry struct {
	// Country is an ISO 3166-1 alpha-2 code, upper case.
	Country string
	// URL is the proxy with its credentials. Never log or return it: use
	// Redacted.
	URL *url.URL
	// Fingerprint identifies the proxy in the database: a SHA-256 of scheme,
	// user name and host:port. The password is left out, so rotating it keeps
	// the assignments, and nothing derived from it is stored.
	Fingerprint string
}

// Redacted is the proxy's URL without credentials: scheme://host:port, with
// "***@" where user information was configured.
func (e Entry) Redacted() string { return Redact(e.URL) }

// Redact renders a proxy URL with its user information masked.
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	auth := ""
	if u.User != nil {
		auth = "***@"
	}
	return u.Scheme + "://" + auth + u.Host
}

// endpoint is what the database shows of a proxy: scheme://host:port.
func (e Entry) endpoint() string { return e.URL.Scheme + "://" + e.URL.Host }

// Pool is the configured proxies. The zero Pool is empty: identities'
// traffic goes out directly.
type Pool struct {
	entries []Entry
	byFP    map[string]*Entry
}

// Len is the number of configured proxies.
func (p *Pool) Len() int {
	if p == nil {
		return 0
	}
	return len(p.entries)
}

// Entries returns the configured proxies in configuration order.
func (p *Pool) Entries() []Entry {
	if p == nil {
		return nil
	}
	return append([]Entry(nil), p.entries...)
}

// Countries counts proxies per country, for start-up logs.
func (p *Pool) Countries() map[string]int {
	out := map[string]int{}
	for _, e := range p.Entries() {
		out[e.Country]++
	}
	return out
}

func (p *Pool) lookup(fingerprint string) (*Entry, bool) {
	if p == nil {
		return nil, false
	}
	e, ok := p.byFP[fingerprint]
	return e, ok
}

// Load builds the pool from the two configuration sources, both optional:
// spec is the FIRSTMATE_PROXY_POOL value, file the path in
// FIRSTMATE_PROXY_POOL_FILE. Their proxies are merged; a proxy configured
// twice is an error. Error messages never contain credentials.
//
// spec: comma- or newline-separated COUNTRY=URL items, e.g.
//
//	FR=http://user:pass@10.1.2.3:3128,US=http://user:pass@10.1.2.4:3128
//
// file: one proxy per line, COUNTRY and URL separated by white space (or
// "="); blank lines and lines starting with # are ignored, e.g.
//
//	# Paris exits
//	FR http://user:pass@10.1.2.3:3128
//	US socks5://10.1.2.4:1080
//
// URL schemes: http, https (TLS to the proxy), socks5 and socks5h. Characters
// such as ',', '@', ':' or '#' in a user name or password must be
// percent-encoded, as in any URL.
func Load(spec, file string) (*Pool, error) {
	var entries []Entry
	if strings.TrimSpace(spec) != "" {
		es, err := parse(strings.NewReader(strings.ReplaceAll(spec, ",", "\n")), "FIRSTMATE_PROXY_POOL item")
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("proxy pool file: %w", err)
		}
		es, err := parse(bytes.NewReader(data), "proxy pool file "+file+" line")
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
	}
	p := &Pool{entries: entries, byFP: make(map[string]*Entry, len(entries))}
	for i := range p.entries {
		e := &p.entries[i]
		if prev, dup := p.byFP[e.Fingerprint]; dup {
			return nil, fmt.Errorf("proxy pool: %s is configured twice (as %s and %s)", e.Redacted(), prev.Country, e.Country)
		}
		p.byFP[e.Fingerprint] = e
	}
	return p, nil
}

func parse(r io.Reader, where string) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		country, raw, ok := cutCountry(line)
		if !ok {
			return nil, fmt.Errorf("%s %d: want COUNTRY URL (e.g. FR http://user:pass@10.1.2.3:3128)", where, n)
		}
		e, err := newEntry(country, raw)
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", where, n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return out, nil
}

// cutCountry splits "FR=URL", "FR URL" or "FR\tURL".
func cutCountry(line string) (country, raw string, ok bool) {
	i := strings.IndexAny(line, "= \t")
	if i <= 0 {
		return "", "", false
	}
	country, raw = line[:i], strings.TrimSpace(line[i+1:])
	return country, raw, raw != ""
}

// newEntry validates one proxy. Errors describe the problem without quoting
// the URL, which may hold a password.
func newEntry(country, raw string) (Entry, error) {
	country = strings.ToUpper(strings.TrimSpace(country))
	if err := checkCountry(country); err != nil {
		return Entry{}, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Entry{}, fmt.Errorf("the %s proxy is not a valid URL (credentials with reserved characters must be percent-encoded)", country)
	}
	switch u.Scheme = strings.ToLower(u.Scheme); u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return Entry{}, fmt.Errorf("the %s proxy %s: scheme must be http, https, socks5 or socks5h", country, Redact(u))
	}
	if u.Hostname() == "" {
		return Entry{}, fmt.Errorf("the %s proxy %s has no host", country, Redact(u))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Entry{}, fmt.Errorf("the %s proxy %s: a proxy URL has no path, query or fragment", country, Redact(u))
	}
	u.Path, u.Host = "", strings.ToLower(u.Host)
	if u.Port() == "" {
		// Make the port explicit, so the same proxy written with and without
		// its default port has one fingerprint.
		u.Host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme])
	}
	user := ""
	if u.User != nil {
		user = u.User.Username()
	}
	sum := sha256.Sum256([]byte(u.Scheme + "://" + user + "@" + u.Host))
	return Entry{Country: country, URL: u, Fingerprint: hex.EncodeToString(sum[:])}, nil
}

// checkCountry accepts ISO 3166-1 alpha-2 codes that the time zone table
// knows (every inhabited country), and points out the usual mistakes.
func checkCountry(c string) error {
	if _, ok := countryZones[c]; ok {
		return nil
	}
	switch c {
	case "UK":
		return fmt.Errorf("country %q: the ISO 3166-1 code of the United Kingdom is GB", c)
	case "EU":
		return fmt.Errorf("country %q: tag each proxy with one country (e.g. FR, DE)", c)
	}
	return fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code of the time zone database (e.g. FR, US, GB)", c)
}

// sortedCountries lists the keys of a count map, for stable logs.
func sortedCountries(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
