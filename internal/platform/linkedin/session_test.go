package linkedin_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// Every request carries the cookie pair, the CSRF header taken from it, and
// the browser-like header set of the recipes.
func TestRequestsCarryTheSessionAndHeaders(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 20})
	s := newSession(cookies("sim_premium"))
	e.must(s, liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/ada-lovelace/")))
	reqs := e.requests()
	if len(reqs) != 2 {
		t.Fatalf("extract-people made %d requests, want profile view + network info", len(reqs))
	}
	for _, r := range reqs {
		if r.Cookies["li_at"] != "sim_premium" || r.Cookies["JSESSIONID"] != `"ajax:1234567890123456789"` {
			t.Errorf("%s: cookies %v", r.Path, r.Cookies)
		}
		if r.Header.Get("csrf-token") != "ajax:1234567890123456789" {
			t.Errorf("%s: csrf-token %q", r.Path, r.Header.Get("csrf-token"))
		}
		for h, want := range map[string]string{"x-restli-protocol-version": "2.0.0", "x-li-lang": "en_US"} {
			if r.Header.Get(h) != want {
				t.Errorf("%s: %s = %q", r.Path, h, r.Header.Get(h))
			}
		}
		if !strings.Contains(r.Header.Get("x-li-track"), `"mpName":"voyager-web"`) {
			t.Errorf("%s: x-li-track %q", r.Path, r.Header.Get("x-li-track"))
		}
	}
	// the recipes' accept headers: plain JSON for the profile view, the
	// normalized form elsewhere
	if reqs[0].Header.Get("accept") != "application/json" || reqs[1].Header.Get("accept") != "application/vnd.linkedin.normalized+json+2.1" {
		t.Errorf("accept: %q, %q", reqs[0].Header.Get("accept"), reqs[1].Header.Get("accept"))
	}
	// a JSESSIONID pasted without its quotes is sent as LinkedIn sets it
	e.reset()
	bare := cookies("sim_premium")
	bare.Cookies["JSESSIONID"] = "ajax:42"
	e.must(newSession(bare), liveCall(t, "linkedin-me", nil))
	if r := e.requests()[0]; r.Cookies["JSESSIONID"] != `"ajax:42"` || r.Header.Get("csrf-token") != "ajax:42" {
		t.Errorf("a bare JSESSIONID: cookie %q, csrf %q", r.Cookies["JSESSIONID"], r.Header.Get("csrf-token"))
	}
}

// LinkedIn rotates JSESSIONID after writes: the driver keeps the new one for
// the rest of the call and reports it through the session sink, and the next
// call, with the stored cookies, uses it.
func TestRotatedJSESSIONIDIsKeptAndSurfaced(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 21})
	s := newSession(cookies("sim_premium"))
	original := s.creds().Cookies["JSESSIONID"]
	friend := e.must(s, liveCall(t, "linkedin-extract-connections", nil)).Results[0]["linkedin_profile_url"]
	if len(s.sets) != 0 {
		t.Fatalf("reads reported cookies: %v", s.sets)
	}
	msg := liveCall(t, "linkedin-message-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": friend}, "parameters": map[string]any{"message": "one"}})
	e.must(s, msg)
	e.must(s, msg) // the second write rotates JSESSIONID
	if len(s.sets) != 1 {
		t.Fatalf("the sink got %d cookie sets, want 1", len(s.sets))
	}
	rotated := s.sets[0]["JSESSIONID"]
	if rotated == "" || rotated == original || !strings.HasPrefix(rotated, `"ajax:`) || s.sets[0]["li_at"] != "sim_premium" {
		t.Fatalf("reported cookies: %v (was %s)", s.sets[0], original)
	}
	e.reset()
	e.must(s, liveCall(t, "linkedin-me", nil))
	r := e.requests()[0]
	if r.Cookies["JSESSIONID"] != rotated || r.Header.Get("csrf-token") != strings.Trim(rotated, `"`) {
		t.Errorf("the next call sent JSESSIONID %s, csrf %s; want %s", r.Cookies["JSESSIONID"], r.Header.Get("csrf-token"), rotated)
	}

	// within one call: accepting invitations writes several times; after
	// the rotation, the rest of the call uses the new pair
	e.reset()
	before := s.creds().Cookies["JSESSIONID"]
	acc := e.must(s, liveCall(t, "linkedin-accept-invitations", nil)).Results
	if len(acc) < 3 {
		t.Fatalf("only %d invitations to accept", len(acc))
	}
	var values []string
	for _, r := range e.requests() {
		if len(values) == 0 || values[len(values)-1] != r.Cookies["JSESSIONID"] {
			values = append(values, r.Cookies["JSESSIONID"])
		}
		if r.Header.Get("csrf-token") != strings.Trim(r.Cookies["JSESSIONID"], `"`) {
			t.Errorf("%s: csrf %s with cookie %s", r.Path, r.Header.Get("csrf-token"), r.Cookies["JSESSIONID"])
		}
	}
	if len(values) < 2 || values[0] != before {
		t.Errorf("JSESSIONID within the call: %v (started with %s)", values, before)
	}
	if s.creds().Cookies["JSESSIONID"] == before || s.creds().Cookies["JSESSIONID"] != values[len(values)-1] {
		t.Errorf("the stored JSESSIONID %s is not the last one used %s", s.creds().Cookies["JSESSIONID"], values[len(values)-1])
	}
}

// With only li_at, the driver gets a JSESSIONID the way the web app does,
// keeps it, and reports it: the next call does not ask again.
func TestOnlyLiAtGetsAJSESSIONID(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 22})
	s := newSession(platform.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": "sim_premium"}})
	e.must(s, liveCall(t, "linkedin-me", nil))
	reqs := e.requests()
	if len(reqs) != 2 || reqs[0].Path != "/uas/authenticate" || reqs[0].Header.Get("csrf-token") != "" {
		t.Fatalf("requests: %+v", reqs)
	}
	js := s.creds().Cookies["JSESSIONID"]
	if js == "" || reqs[1].Cookies["JSESSIONID"] != js || reqs[1].Header.Get("csrf-token") != strings.Trim(js, `"`) {
		t.Fatalf("JSESSIONID %q; the API call sent %q / %q", js, reqs[1].Cookies["JSESSIONID"], reqs[1].Header.Get("csrf-token"))
	}
	e.reset()
	e.must(s, liveCall(t, "linkedin-me", nil))
	for _, r := range e.requests() {
		if r.Path == "/uas/authenticate" {
			t.Error("asked for a JSESSIONID again although one was stored")
		}
	}
}

// The user agent is the identity's own when given, else one chosen from the
// session and kept: the same across calls and across driver instances (a
// restart).
func TestUserAgentIsStable(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 23})
	cred := cookies("sim_premium")
	cred.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) TheUsersOwnBrowser/1.0"
	e.must(newSession(cred), liveCall(t, "linkedin-extract-connections", nil))
	for _, r := range e.requests() {
		if r.Header.Get("User-Agent") != cred.UserAgent {
			t.Errorf("user agent %q, want the user's own", r.Header.Get("User-Agent"))
		}
	}
	uaOf := func(d *linkedin.Driver) map[string]bool {
		e.reset()
		if _, err := d.Run(context.Background(), e.ts.Client(), cookies("sim_premium"), liveCall(t, "linkedin-me", nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Run(context.Background(), e.ts.Client(), cookies("sim_premium"), liveCall(t, "linkedin-extract-sent-invitations", nil)); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range e.requests() {
			out[r.Header.Get("User-Agent")] = true
		}
		return out
	}
	first, restarted := uaOf(e.d), uaOf(e.driver(nil))
	if len(first) != 1 || len(restarted) != 1 {
		t.Fatalf("user agents: %v then %v", first, restarted)
	}
	for ua := range first {
		if !restarted[ua] || !strings.HasPrefix(ua, "Mozilla/5.0 (") || strings.Contains(strings.ToLower(ua), "go-http-client") {
			t.Errorf("user agent %q, after a restart %v", ua, restarted)
		}
		if ua != linkedin.DefaultUserAgent("sim_premium") {
			t.Errorf("user agent %q is not the one kept for this session", ua)
		}
	}
	// different identities are spread over the set, each keeping its own
	seen := map[string]bool{}
	for i := range 50 {
		k := "identity-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if linkedin.DefaultUserAgent(k) != linkedin.DefaultUserAgent(k) {
			t.Fatal("not deterministic")
		}
		seen[linkedin.DefaultUserAgent(k)] = true
	}
	if len(seen) < 3 {
		t.Errorf("50 identities share %d user agents", len(seen))
	}
}

// The identity's traffic leaves through the client it is given, i.e. its
// own egress proxy: a loopback proxy sees every request the sandbox gets.
func TestTrafficGoesThroughTheIdentitysProxy(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 24})
	var proxied atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() { // a proxy gets the absolute URL
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		proxied.Add(1)
		out, _ := http.NewRequest(r.Method, r.URL.String(), r.Body)
		out.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	})}
	go func() { _ = proxy.Serve(ln) }()
	t.Cleanup(func() { _ = proxy.Close() })
	pu, _ := url.Parse("http://" + ln.Addr().String())
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	s := newSession(platform.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": "sim_premium"}})
	if _, err := e.d.Run(s.ctx(), hc, s.creds(), liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/ada-lovelace/"))); err != nil {
		t.Fatal(err)
	}
	if n := int64(len(e.requests())); n != 3 || proxied.Load() != n {
		t.Fatalf("the sandbox got %d requests, the proxy carried %d", n, proxied.Load())
	}
	// an unreachable proxy is the identity's proxy failing, not LinkedIn
	dead := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:1"})}}
	if _, err := e.d.Run(context.Background(), dead, cookies("sim_premium"), liveCall(t, "linkedin-me", nil)); label(err) != platform.LabelProxy {
		t.Fatalf("a dead proxy: %v", err)
	}
}
