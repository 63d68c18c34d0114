package send

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// No test here sends a packet beyond loopback. Non-loopback refusals are
// checked on CheckAddr and on the dialer's Control hook directly, which is
// what runs before connect(2); the real dials below go to loopback only.

func TestCheckAddr(t *testing.T) {
	strict, dev := StrictPolicy(), DevPolicy()
	cases := []struct {
		addr       string
		strictOK   bool
		devOK      bool
		wantReason string
	}{
		{"127.0.0.1", false, true, "loopback"},
		{"127.8.9.10", false, true, "loopback"},
		{"::1", false, true, "loopback"},
		{"::ffff:127.0.0.1", false, true, "loopback"},
		{"10.0.0.1", false, false, "private"},
		{"172.16.5.4", false, false, "private"},
		{"172.31.255.255", false, false, "private"},
		{"192.168.1.1", false, false, "private"},
		{"::ffff:10.0.0.1", false, false, "private"},
		{"100.64.0.1", false, false, "carrier-grade NAT"},
		{"169.254.1.1", false, false, "link-local"},
		{"169.254.169.254", false, false, "cloud metadata"},
		{"::ffff:169.254.169.254", false, false, "cloud metadata"},
		{"169.254.170.2", false, false, "cloud metadata"},
		{"100.100.100.200", false, false, "cloud metadata"},
		{"fd00:ec2::254", false, false, "cloud metadata"},
		{"0.0.0.0", false, false, "this network"},
		{"::", false, false, "unspecified"},
		{"255.255.255.255", false, false, "reserved"},
		{"224.0.0.1", false, false, "multicast"},
		{"ff02::1", false, false, "multicast"},
		{"fe80::1", false, false, "link-local"},
		{"fe80::1%eth0", false, false, "link-local"},
		{"fc00::1", false, false, "unique-local"},
		{"fd12:3456::1", false, false, "unique-local"},
		{"::127.0.0.1", false, false, "IPv4-compatible"},
		{"64:ff9b::7f00:1", false, false, "embeds 127.0.0.1"},
		{"64:ff9b::a9fe:a9fe", false, false, "embeds 169.254.169.254"},
		{"2002:a00:1::1", false, false, "embeds 10.0.0.1"},
		{"2001:db8::1", false, false, "documentation"},
		{"192.0.2.10", false, false, "documentation"},
		// Public addresses.
		{"93.184.215.14", true, true, ""},
		{"8.8.8.8", true, true, ""},
		{"172.32.0.1", true, true, ""},
		{"2606:4700:4700::1111", true, true, ""},
		{"64:ff9b::808:808", true, true, ""},
		{"::ffff:8.8.8.8", true, true, ""},
	}
	for _, c := range cases {
		a := netip.MustParseAddr(c.addr)
		for _, p := range []struct {
			name   string
			policy Policy
			ok     bool
		}{{"strict", strict, c.strictOK}, {"dev", dev, c.devOK}} {
			err := p.policy.CheckAddr(a)
			if (err == nil) != p.ok {
				t.Errorf("%s CheckAddr(%s) = %v, want allowed=%v", p.name, c.addr, err, p.ok)
				continue
			}
			if err != nil {
				if !errors.Is(err, ErrForbiddenAddress) {
					t.Errorf("%s CheckAddr(%s): %v does not match ErrForbiddenAddress", p.name, c.addr, err)
				}
				if !strings.Contains(err.Error(), c.wantReason) {
					t.Errorf("%s CheckAddr(%s) = %q, want reason %q", p.name, c.addr, err, c.wantReason)
				}
			}
		}
	}
}

func TestAllowCIDRs(t *testing.T) {
	p := Policy{AllowCIDRs: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("100.100.100.200/32"),
	}}
	for addr, ok := range map[string]bool{
		"10.1.2.3":        true,
		"::ffff:10.1.2.3": true,
		"192.168.0.1":     false,
		"127.0.0.1":       false,
		"169.254.1.1":     true,
		// A metadata address is opened only by a prefix of exactly itself.
		"169.254.169.254": false,
		"100.100.100.200": true,
	} {
		if err := p.CheckAddr(netip.MustParseAddr(addr)); (err == nil) != ok {
			t.Errorf("CheckAddr(%s) = %v, want allowed=%v", addr, err, ok)
		}
	}
	// The dialer keeps its own copy of the allow-list.
	d := p.NewDialer()
	p.AllowCIDRs[0] = netip.MustParsePrefix("192.168.0.0/16")
	if err := d.Control("tcp4", "10.1.2.3:443", nil); err != nil {
		t.Errorf("dialer lost its allow-list: %v", err)
	}
}

// Control is the dial-time check: it sees the resolved address, before
// connect(2).
func TestDialerControl(t *testing.T) {
	d := StrictPolicy().NewDialer()
	for _, addr := range []string{"10.0.0.1:80", "169.254.169.254:80", "127.0.0.1:8080", "[::1]:443", "[::ffff:127.0.0.1]:80", "[fe80::1%eth0]:80", "nonsense"} {
		if err := d.Control("tcp", addr, nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("Control(%s) = %v", addr, err)
		}
	}
	if err := d.Control("tcp", "93.184.215.14:443", nil); err != nil {
		t.Errorf("Control(public) = %v", err)
	}
}

func newLoopbackServer(t *testing.T, network, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// Real dials through the transport, to real servers on loopback.
func TestTransportRefusesAtDialTime(t *testing.T) {
	var hits atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	v4 := newLoopbackServer(t, "tcp4", "127.0.0.1:0", h)
	port := v4.Listener.Addr().(*net.TCPAddr).Port

	strict := &http.Client{Transport: StrictPolicy().NewTransport()}
	urls := []string{
		v4.URL,                                   // http://127.0.0.1:port
		"http://localhost:" + strconv.Itoa(port), // a name that resolves to loopback
	}
	if v6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		v6srv := httptest.NewUnstartedServer(h)
		v6srv.Listener.Close()
		v6srv.Listener = v6
		v6srv.Start()
		t.Cleanup(v6srv.Close)
		urls = append(urls, v6srv.URL) // http://[::1]:port
	}
	for _, u := range urls {
		resp, err := strict.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("strict GET %s succeeded", u)
			continue
		}
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("strict GET %s: %v, want ErrForbiddenAddress", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("refused dials reached the server %d times", hits.Load())
	}

	dev := &http.Client{Transport: DevPolicy().NewTransport()}
	for _, u := range urls {
		resp, err := dev.Get(u)
		if err != nil {
			t.Errorf("dev GET %s: %v", u, err)
			continue
		}
		resp.Body.Close()
	}
	if int(hits.Load()) != len(urls) {
		t.Fatalf("dev policy: %d hits, want %d", hits.Load(), len(urls))
	}
}

func TestTransportIgnoresEnvironmentProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://93.184.215.14:3128")
	t.Setenv("HTTPS_PROXY", "http://93.184.215.14:3128")
	if StrictPolicy().NewTransport().Proxy != nil {
		t.Fatal("transport uses a proxy")
	}
}

func TestValidateURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLLength)
	cases := []struct {
		url      string
		syntaxOK bool // package-level ValidateURL
		strictOK bool // StrictPolicy().ValidateURL
		devOK    bool // DevPolicy().ValidateURL
	}{
		{"https://example.com/hook", true, true, true},
		{"http://example.com:8080/hook?x=1", true, true, true},
		{"HTTPS://Example.COM/hook", true, true, true},
		{"https://93.184.215.14/hook", true, true, true},
		{"http://127.0.0.1:8080/cb", true, false, true},
		{"http://[::1]:8080/cb", true, false, true},
		{"http://localhost:8080/cb", true, false, true},
		{"http://LOCALHOST./cb", true, false, true},
		{"http://api.localhost/cb", true, false, true},
		{"http://10.0.0.1/cb", true, false, false},
		{"http://169.254.169.254/latest/meta-data/", true, false, false},
		{"http://[::ffff:169.254.169.254]/", true, false, false},
		{"http://[fd00:ec2::254]/", true, false, false},
		{"http://100.100.100.200/", true, false, false},
		{"http://0.0.0.0:8080/", true, false, false},
		{"ftp://example.com/", false, false, false},
		{"file:///etc/passwd", false, false, false},
		{"javascript:alert(1)", false, false, false},
		{"gopher://example.com/", false, false, false},
		{"//example.com/hook", false, false, false},
		{"/hook", false, false, false},
		{"http:example.com", false, false, false},
		{"https://", false, false, false},
		{"https://:443/", false, false, false},
		{"https://user:pass@example.com/", false, false, false},
		{"https://user@example.com/", false, false, false},
		{"https://example.com:0/", false, false, false},
		{"https://example.com:99999/", false, false, false},
		{"http://2130706433/", false, false, false},
		{"http://0x7f.0.0.1/", false, false, false},
		{"http://0177.0.0.1/", false, false, false},
		{"http://127.1/", false, false, false},
		{"http://[fe80::1%25eth0]/", false, false, false},
		{"https://exa mple.com/", false, false, false},
		{"", false, false, false},
		{long, false, false, false},
	}
	for _, c := range cases {
		check := func(name string, err error, ok bool) {
			if (err == nil) != ok {
				t.Errorf("%s(%.60q) = %v, want ok=%v", name, c.url, err, ok)
				return
			}
			if err != nil && !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("%s(%.60q) = %v: neither ErrInvalidURL nor ErrForbiddenAddress", name, c.url, err)
			}
		}
		check("ValidateURL", ValidateURL(c.url), c.syntaxOK)
		check("strict", StrictPolicy().ValidateURL(c.url), c.strictOK)
		check("dev", DevPolicy().ValidateURL(c.url), c.devOK)
	}
}
