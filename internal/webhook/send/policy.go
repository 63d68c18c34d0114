package send

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress marks a destination the Policy refuses. Errors from
// Policy.CheckAddr, Policy.ValidateURL, the transport's dials and Sender.Send
// match it with errors.Is.
var ErrForbiddenAddress = errors.New("delivery: destination address not allowed")

// ErrInvalidURL marks a callback or webhook URL refused on its syntax.
var ErrInvalidURL = errors.New("delivery: invalid URL")

// MaxURLLength bounds callback and webhook URLs.
const MaxURLLength = 2048

// Policy says which destination addresses outbound deliveries may reach.
// Public unicast addresses are always allowed; everything in the special
// ranges below is refused unless allow-listed.
type Policy struct {
	// AllowLoopback allows 127.0.0.0/8 and ::1 (and "localhost" in
	// ValidateURL): for a laptop, where receivers run on the same machine.
	AllowLoopback bool
	// AllowCIDRs allow-lists ranges, e.g. a private network that hosts the
	// operator's receivers. Cloud metadata addresses stay refused unless
	// one is listed on its own (a /32 or /128 prefix of exactly it), so
	// allowing 100.64.0.0/10 or 169.254.0.0/16 does not open them.
	AllowCIDRs []netip.Prefix
}

// DevPolicy is local development's (FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true):
// loopback allowed, everything else as strict.
func DevPolicy() Policy { return Policy{AllowLoopback: true} }

// StrictPolicy is the default, on a laptop too: only public addresses.
func StrictPolicy() Policy { return Policy{} }

// The settings that open what a Policy refuses, named in its refusals so
// that an operator knows what to change.
const (
	SettingAllowLoopback = "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK"
	SettingAllowCIDRs    = "FIRSTMATE_CALLBACK_ALLOW_CIDRS"
)

// AddressError is the error for a refused destination. It matches
// ErrForbiddenAddress.
type AddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("delivery: destination %s not allowed (%s)%s", e.Addr, e.Reason, e.hint())
}

// hint names the setting that would allow the destination.
func (e *AddressError) hint() string {
	switch {
	case strings.HasPrefix(e.Reason, "loopback"):
		return "; for local development, " + SettingAllowLoopback + "=true allows loopback receivers"
	case e.Reason == "cloud metadata":
		return "" // allowed only by listing the very address, on purpose not suggested
	case e.Addr.IsValid():
		return "; an operator may allow-list private ranges with " + SettingAllowCIDRs
	}
	return ""
}

func (e *AddressError) Is(target error) bool { return target == ErrForbiddenAddress }

type namedPrefix struct {
	prefix netip.Prefix
	reason string
}

func mustPrefixes(pairs ...string) []namedPrefix {
	out := make([]namedPrefix, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, namedPrefix{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// metadataAddrs are cloud instance-metadata endpoints: AWS, GCP, Azure and
// OpenStack (169.254.169.254), AWS ECS task credentials (169.254.170.2), the
// AWS Nitro IPv6 endpoint and Alibaba Cloud.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("169.254.170.2"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// specialRanges are refused unless allow-listed. Loopback is handled apart,
// because AllowLoopback opens it.
var specialRanges = mustPrefixes(
	"0.0.0.0/8", "this network", // Linux routes 0.0.0.0 to the local host
	"10.0.0.0/8", "private",
	"100.64.0.0/10", "carrier-grade NAT",
	"169.254.0.0/16", "link-local",
	"172.16.0.0/12", "private",
	"192.0.0.0/24", "IETF protocol assignments",
	"192.0.2.0/24", "documentation",
	"192.88.99.0/24", "6to4 relay",
	"192.168.0.0/16", "private",
	"198.18.0.0/15", "benchmarking",
	"198.51.100.0/24", "documentation",
	"203.0.113.0/24", "documentation",
	"224.0.0.0/4", "multicast",
	"240.0.0.0/4", "reserved", // includes 255.255.255.255, broadcast
	"::/96", "unspecified or IPv4-compatible",
	"64:ff9b:1::/48", "local-use NAT64",
	"100::/64", "discard-only",
	"2001::/23", "IETF protocol assignments", // includes Teredo 2001::/32
	"2001:db8::/32", "documentation",
	"3fff::/20", "documentation",
	"fc00::/7", "unique-local",
	"fe80::/10", "link-local",
	"fec0::/10", "site-local",
	"ff00::/8", "multicast",
)

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

func (p Policy) listed(a netip.Addr) bool {
	for _, pre := range p.AllowCIDRs {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// CheckAddr returns nil when deliveries may connect to a, or an
// *AddressError. IPv4-mapped IPv6 addresses are judged as their IPv4
// address, and the IPv4 address embedded in a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address is judged too.
func (p Policy) CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return &AddressError{Addr: a, Reason: "invalid address"}
	}
	a = a.WithZone("").Unmap()
	if slices.Contains(metadataAddrs, a) {
		for _, pre := range p.AllowCIDRs {
			if pre.IsSingleIP() && pre.Addr().Unmap() == a {
				return nil
			}
		}
		return &AddressError{Addr: a, Reason: "cloud metadata"}
	}
	if p.listed(a) {
		return nil
	}
	if a.IsLoopback() {
		if p.AllowLoopback {
			return nil
		}
		return &AddressError{Addr: a, Reason: "loopback"}
	}
	for _, r := range specialRanges {
		if r.prefix.Contains(a) {
			return &AddressError{Addr: a, Reason: r.reason}
		}
	}
	if embedded, ok := embeddedIPv4(a); ok {
		// The embedded address is reached through a translator, whose
		// loopback is not ours: AllowLoopback does not apply.
		if err := (Policy{AllowCIDRs: p.AllowCIDRs}).CheckAddr(embedded); err != nil {
			return &AddressError{Addr: a, Reason: "embeds " + err.(*AddressError).Addr.String()}
		}
	}
	return nil
}

func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case !a.Is6():
		return netip.Addr{}, false
	case nat64Prefix.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// control runs on every connection attempt, after name resolution and
// before connect(2), so it judges the address actually dialled: a name that
// resolves (or re-resolves, in a DNS rebinding attack) to a refused address
// gets nowhere.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &AddressError{Reason: "unparseable address " + strconv.Quote(address)}
	}
	return p.CheckAddr(ap.Addr())
}

// NewDialer returns a dialer that refuses the addresses p refuses.
func (p Policy) NewDialer() *net.Dialer {
	p.AllowCIDRs = slices.Clone(p.AllowCIDRs)
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
}

// NewTransport returns an http.Transport for deliveries: it dials through
// NewDialer and never uses a proxy from the environment (a proxy would make
// its own address the only one checked).
func (p Policy) NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:             nil,
		DialContext:       p.NewDialer().DialContext,
		ForceAttemptHTTP2: true,
		// Keep as many idle connections per receiver as the dispatcher lets
		// attempts run at once to it (FIRSTMATE_CALLBACK_PER_HOST, 32 by
		// default): with fewer, a busy receiver gets a new TCP connection
		// (and a dial-time address check) for most attempts.
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// ValidateURL checks a callback or webhook URL when it is submitted: the
// syntax as the package-level ValidateURL does, and, when the host is a
// literal IP address or a localhost name, p's refusals early. Names are
// resolved only at dial time, where the transport checks them again.
func (p Policy) ValidateURL(raw string) error {
	u, err := parseURL(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(a)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if !p.AllowLoopback && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return &AddressError{Addr: netip.IPv6Loopback(), Reason: "loopback name " + name}
	}
	return nil
}

// ValidateURL checks the syntax of a callback or webhook URL: absolute
// http or https, a host, no user:password, at most MaxURLLength bytes, and
// no numeric host in a non-standard form (2130706433, 0x7f.1). It does not
// know the operator's Policy; use Policy.ValidateURL to also refuse literal
// addresses early. Either way the transport refuses them when dialling.
func ValidateURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if len(raw) > MaxURLLength {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrInvalidURL, MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidURL, strings.TrimPrefix(err.Error(), "parse "+strconv.Quote(raw)+": "))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme must be http or https", ErrInvalidURL)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: must have a host", ErrInvalidURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: must not contain user information", ErrInvalidURL)
	}
	host := u.Hostname()
	if strings.Contains(host, "%") {
		return nil, fmt.Errorf("%w: IPv6 zones are not allowed", ErrInvalidURL)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: invalid port", ErrInvalidURL)
		}
	}
	if _, err := netip.ParseAddr(host); err != nil && looksNumeric(host) {
		return nil, fmt.Errorf("%w: host %q is neither a name nor an IP address in standard form", ErrInvalidURL, host)
	}
	return u, nil
}

// looksNumeric reports whether every label of host is a number (decimal,
// octal or 0x-hex), as in the inet_aton forms some resolvers accept.
func looksNumeric(host string) bool {
	for label := range strings.SplitSeq(strings.TrimSuffix(host, "."), ".") {
		l := strings.ToLower(label)
		if hex, ok := strings.CutPrefix(l, "0x"); ok {
			l = hex
			if l == "" {
				continue
			}
			if strings.Trim(l, "0123456789abcdef") != "" {
				return false
			}
			continue
		}
		if l == "" || strings.Trim(l, "0123456789") != "" {
			return false
		}
	}
	return true
}
