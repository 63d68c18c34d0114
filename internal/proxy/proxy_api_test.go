package proxy_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/proxy"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// These tests run Firstmate in-process against its embedded simulator, with
// real HTTP forward proxies on loopback as the pool. Each proxy records what
// it forwarded and the local addresses of its own upstream connections; it
// stamps X-Forwarded-For with a per-user "exit IP". The simulator's
// /_sim/stats then tells, per sandbox account, which addresses and which
// X-Forwarded-For each request came with: together they prove that an
// identity's traffic arrived through its own proxy, and never directly.

// fwdProxy is a minimal HTTP forward proxy (absolute-form requests, Basic
// proxy authentication). Several users on one listener are several pool
// proxies, as with commercial gateways: each user has its own exit IP.
type fwdProxy struct {
	name string
	srv  *httptest.Server
	tr   *http.Transport

	mu    sync.Mutex
	users map[string]string // user → password
	exit  map[string]string // user → X-Forwarded-For it stamps
	seen  []seenReq
	local map[string]bool // local addresses of upstream connections
}

type seenReq struct {
	User, Method, URL, Cookie string
}

func newFwdProxy(t testing.TB, name string) *fwdProxy {
	p := &fwdProxy{name: name, users: map[string]string{}, exit: map[string]string{}, local: map[string]bool{}}
	d := &net.Dialer{Timeout: 5 * time.Second}
	p.tr = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			p.mu.Lock()
			p.local[c.LocalAddr().String()] = true
			p.mu.Unlock()
		}
		return c, err
	}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

var exitSeq struct {
	sync.Mutex
	n int
}

// URL adds a user and returns its proxy URL with credentials.
func (p *fwdProxy) URL(user, pass string) string {
	exitSeq.Lock()
	exitSeq.n++
	ip := fmt.Sprintf("203.0.%d.%d", 113+exitSeq.n/250, exitSeq.n%250+1)
	exitSeq.Unlock()
	p.mu.Lock()
	p.users[user], p.exit[user] = pass, ip
	p.mu.Unlock()
	return "http://" + user + ":" + pass + "@" + p.srv.Listener.Addr().String()
}

// Exit is the X-Forwarded-For value the proxy stamps for user.
func (p *fwdProxy) Exit(user string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit[user]
}

// Redacted is how Firstmate shows this proxy's users: no credentials.
func (p *fwdProxy) Redacted() string { return "http://***@" + p.srv.Listener.Addr().String() }

// Close kills the proxy: its port refuses connections from now on.
func (p *fwdProxy) Close() {
	p.srv.Close()
	p.tr.CloseIdleConnections()
}

func (p *fwdProxy) Seen() []seenReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seenReq(nil), p.seen...)
}

func (p *fwdProxy) IsLocal(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.local[addr]
}

func (p *fwdProxy) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := proxyAuth(r.Header.Get("Proxy-Authorization"))
	p.mu.Lock()
	want, known := p.users[user]
	exit := p.exit[user]
	p.mu.Unlock()
	if !ok || !known || pass != want {
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect || !r.URL.IsAbs() {
		http.Error(w, "forward proxy: absolute-form requests only", http.StatusBadRequest)
		return
	}
	cookie := ""
	if c, err := r.Cookie("li_at"); err == nil {
		cookie = c.Value
	}
	p.mu.Lock()
	p.seen = append(p.seen, seenReq{User: user, Method: r.Method, URL: r.URL.String(), Cookie: cookie})
	p.mu.Unlock()
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	out.Header.Set("X-Forwarded-For", exit)
	out.Header.Set("Via", "1.1 "+p.name)
	res, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for k, vs := range res.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

func proxyAuth(h string) (user, pass string, ok bool) {
	raw, found := strings.CutPrefix(h, "Basic ")
	if !found {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok
}

// managedEntries gives the managed-pool sandbox identities (time zone UTC)
// their proxies: Iceland is UTC all year, so they pick these first.
func managedEntries(p *fwdProxy) string {
	var b strings.Builder
	for i := range sim.ManagedCookies() {
		fmt.Fprintf(&b, ",IS=%s", p.URL(fmt.Sprintf("managed%d", i+1), fmt.Sprintf("pw-managed-%d", i+1)))
	}
	return b.String()
}

// start opens Firstmate with a proxy pool spec ("" = direct mode).
func start(t *testing.T, dialect, pool string) *apitest.Env {
	t.Helper()
	st := apitest.NewStore(t, dialect)
	cfg := st.Config()
	cfg.ProxyPool = pool
	logs := &apitest.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	srv := httptest.NewServer(a.API)
	a.Cfg.PublicURL = srv.URL
	if err := a.Jobs.Start(context.Background()); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	env := &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	t.Cleanup(env.Close)
	return env
}

func createIdentity(t *testing.T, env *apitest.Env, key, name, tz string) map[string]any {
	t.Helper()
	return env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": name, "timezone": tz}).Obj()
}

func connect(t *testing.T, env *apitest.Env, key, uid, cookie string) {
	t.Helper()
	g := env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": cookie}}}).Obj()
	if g["status"] != "VALID" {
		t.Fatalf("connect %s: %v", cookie, g)
	}
}

func live(env *apitest.Env, key, uid string, n int) apitest.Resp {
	return env.Do("POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{
		"input":        map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/proxy-test-%d", n)},
		"identity_ids": []string{uid}})
}

func mustLive(t *testing.T, env *apitest.Env, key, uid string, n int) {
	t.Helper()
	if r := live(env, key, uid, n); r.Status != 200 {
		t.Fatalf("live call: %d %s", r.Status, r.Body)
	}
}

// proxyOf returns the identity object's "proxy" member; present says
// whether the key exists at all.
func proxyOf(id map[string]any) (p map[string]any, present bool) {
	v, present := id["proxy"]
	p, _ = v.(map[string]any)
	return p, present
}

func wantProxyCountry(t *testing.T, what string, id map[string]any, country string) {
	t.Helper()
	p, _ := proxyOf(id)
	if p == nil || p["country"] != country || p["status"] != "ASSIGNED" || p["assigned_at"] == nil {
		t.Fatalf("%s: proxy %v, want country %s ASSIGNED", what, id["proxy"], country)
	}
	if len(p) != 3 {
		t.Fatalf("%s: proxy shows more than country, status and assigned_at: %v", what, p)
	}
}

var statsClient = &http.Client{Timeout: 20 * time.Second}

type accountStats struct {
	Calls        int64            `json:"calls"`
	RemoteAddrs  map[string]int64 `json:"remote_addrs"`
	RemoteHosts  map[string]int64 `json:"remote_hosts"`
	ForwardedFor map[string]int64 `json:"forwarded_for"`
}

// simStats reads the simulator's per-account statistics over HTTP.
func simStats(t *testing.T, env *apitest.Env) map[string]accountStats {
	t.Helper()
	res, err := statsClient.Get(env.App.SimURL + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Accounts map[string]accountStats `json:"accounts"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Accounts
}

// checkThrough asserts that every request the simulator saw from account
// came through proxy p as user: with that user's exit IP and from one of
// the proxy's own upstream connections, and that the proxy's log agrees.
func checkThrough(t *testing.T, env *apitest.Env, account, cookie string, p *fwdProxy, user string) {
	t.Helper()
	st, ok := simStats(t, env)[account]
	if !ok || st.Calls == 0 {
		t.Fatalf("the simulator saw no call from %s", account)
	}
	exit := p.Exit(user)
	if len(st.ForwardedFor) != 1 || st.ForwardedFor[exit] != st.Calls {
		t.Fatalf("%s: %d calls, forwarded_for %v: want all from %s (%s via %s)", account, st.Calls, st.ForwardedFor, exit, user, p.name)
	}
	for addr := range st.RemoteAddrs {
		if !p.IsLocal(addr) {
			t.Fatalf("%s: a request came from %s, which is not a connection of proxy %s", account, addr, p.name)
		}
	}
	var seen int64
	for _, r := range p.Seen() {
		if r.Cookie == cookie {
			if r.User != user {
				t.Fatalf("%s: proxy %s forwarded its traffic as user %s, want %s", account, p.name, r.User, user)
			}
			seen++
		}
	}
	if seen != st.Calls {
		t.Fatalf("%s: proxy %s forwarded %d requests, the simulator saw %d", account, p.name, seen, st.Calls)
	}
}

func neverSaw(t *testing.T, p *fwdProxy, cookie string) {
	t.Helper()
	for _, r := range p.Seen() {
		if r.Cookie == cookie {
			t.Fatalf("proxy %s forwarded a request of %s: %+v", p.name, cookie, r)
		}
	}
}

func noSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("%s contains the proxy credential %q", what, s)
		}
	}
}

func TestEachIdentityGoesOutThroughItsOwnProxy(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		fr, us, is := newFwdProxy(t, "fr"), newFwdProxy(t, "us"), newFwdProxy(t, "is")
		pool := "FR=" + fr.URL("paris", "pw-paris-s3cret") + ",US=" + us.URL("nyc", "pw-nyc-s3cret") + managedEntries(is)
		env := start(t, dialect, pool)
		if logs := env.Logs.String(); strings.Contains(logs, proxy.DirectWarning) || !strings.Contains(logs, "proxy pool configured") {
			t.Fatalf("start-up logs do not announce the pool:\n%s", logs)
		}
		key := env.NewWorkspace("Proxy Co", "developer")
		paris := createIdentity(t, env, key, "Paris desk", "Europe/Paris")
		nyc := createIdentity(t, env, key, "New York desk", "America/New_York")
		wantProxyCountry(t, "Europe/Paris", paris, "FR")
		wantProxyCountry(t, "America/New_York", nyc, "US")
		parisUID, nycUID := paris["uid"].(string), nyc["uid"].(string)

		connect(t, env, key, parisUID, "sim_classic")
		connect(t, env, key, nycUID, "sim_premium")
		for i := 0; i < 3; i++ {
			mustLive(t, env, key, parisUID, i)
			mustLive(t, env, key, nycUID, i)
		}

		checkThrough(t, env, "classic", "sim_classic", fr, "paris")
		checkThrough(t, env, "premium", "sim_premium", us, "nyc")
		neverSaw(t, fr, "sim_premium")
		neverSaw(t, us, "sim_classic")
		// The managed pool's sandbox identities got proxies too, one each.
		exits := map[string]string{}
		for i := range sim.ManagedCookies() {
			user := fmt.Sprintf("managed%d", i+1)
			exits[is.Exit(user)] = user
		}
		stats := simStats(t, env)
		for _, a := range sim.Accounts() {
			if a.Behaviour != "managed" {
				continue
			}
			var user string
			for exit := range stats[a.Name].ForwardedFor {
				user = exits[exit]
			}
			if user == "" {
				t.Fatalf("managed account %s did not come through the IS proxy: %+v", a.Name, stats[a.Name])
			}
			delete(exits, is.Exit(user))
			checkThrough(t, env, a.Name, a.Cookie, is, user)
		}

		got := env.Must(200, "GET", "/v4/identities/"+parisUID, key, nil).Obj()
		wantProxyCountry(t, "GET", got, "FR")
		list := env.Must(200, "GET", "/v4/identities", key, nil)
		secrets := []string{"pw-paris-s3cret", "pw-nyc-s3cret", "pw-managed-1", "paris:", "nyc:"}
		noSecrets(t, "GET /identities", string(list.Body), secrets...)
		noSecrets(t, "the server log", env.Logs.String(), secrets...)
		rows, err := env.App.Proxies.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(rows)
		noSecrets(t, "the operator listing", string(data), secrets...)
		if !strings.Contains(string(data), `"proxy":"http://***@127.0.0.1:`) {
			t.Fatalf("the operator listing does not show redacted proxies: %s", data)
		}
	})
}

func TestConcurrentCreationsNeverShareAProxy(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		fr, is := newFwdProxy(t, "fr"), newFwdProxy(t, "is")
		var spec strings.Builder
		for i := 1; i <= 10; i++ {
			fmt.Fprintf(&spec, "FR=%s,", fr.URL(fmt.Sprintf("fr%d", i), "pw"))
		}
		env := start(t, dialect, strings.TrimSuffix(spec.String(), ",")+managedEntries(is))
		ctx := context.Background()
		free := func() (n int) {
			rows, err := env.App.Proxies.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.IdentityUID == "" {
					n++
				}
			}
			return n
		}
		if n := free(); n != 10 {
			t.Fatalf("%d free proxies after start-up, want 10 (the managed pool holds the IS ones)", n)
		}
		keys := make([]string, 4)
		for i := range keys {
			keys[i] = env.NewWorkspace(fmt.Sprintf("Tenant %d", i), "developer")
		}
		type result struct {
			r   apitest.Resp
			key string
		}
		results := make(chan result, 20)
		var wg sync.WaitGroup
		startGun := make(chan struct{})
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startGun
				key := keys[i%len(keys)]
				results <- result{env.Do("POST", "/v4/identities", key, map[string]any{"name": fmt.Sprintf("Parallel %d", i),
					"timezone": "Europe/Paris"}), key}
			}()
		}
		close(startGun)
		wg.Wait()
		close(results)
		created := map[string]string{} // uid → key
		failed := 0
		for res := range results {
			switch res.r.Status {
			case 200:
				id := res.r.Obj()
				wantProxyCountry(t, "parallel create", id, "FR")
				created[id["uid"].(string)] = res.key
			case 503:
				body := res.r.Obj()
				if body["error_label"] != proxy.LabelPoolExhausted || body["error_scope"] != "config" ||
					!strings.Contains(body["message"].(string), "no free proxy") {
					t.Fatalf("exhausted pool: %s", res.r.Body)
				}
				failed++
			default:
				t.Fatalf("parallel create: %d %s", res.r.Status, res.r.Body)
			}
		}
		if len(created) != 10 || failed != 10 {
			t.Fatalf("%d created, %d refused; want 10 and 10", len(created), failed)
		}
		holders := map[string]string{} // identity uid → proxy
		rows, _ := env.App.Proxies.List(ctx)
		for _, r := range rows {
			if r.Country == "FR" {
				if _, ok := created[r.IdentityUID]; !ok {
					t.Fatalf("FR proxy %d is held by %q, not by a created identity", r.ID, r.IdentityUID)
				}
				if prev, dup := holders[r.IdentityUID]; dup {
					t.Fatalf("identity %s holds two proxies (%s and %d)", r.IdentityUID, prev, r.ID)
				}
				holders[r.IdentityUID] = fmt.Sprint(r.ID)
			}
		}
		if len(holders) != 10 {
			t.Fatalf("%d identities hold FR proxies, want 10", len(holders))
		}
		var assignments, proxies, identities int
		if err := env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT proxy_id), COUNT(DISTINCT identity_id)
			FROM proxy_assignments`).Scan(&assignments, &proxies, &identities); err != nil {
			t.Fatal(err)
		}
		if want := 10 + len(sim.ManagedCookies()); assignments != want || proxies != want || identities != want {
			t.Fatalf("assignments %d, distinct proxies %d, distinct identities %d; want %d each", assignments, proxies, identities, want)
		}

		// Deleting an identity releases its proxy for the next one.
		var gone, goneKey string
		for uid, key := range created {
			gone, goneKey = uid, key
			break
		}
		env.Must(200, "DELETE", "/v4/identities/"+gone, goneKey, nil)
		if n := free(); n != 1 {
			t.Fatalf("%d free proxies after a delete, want 1", n)
		}
		next := createIdentity(t, env, keys[0], "Next in line", "Europe/Paris")
		wantProxyCountry(t, "after a delete", next, "FR")
		rows, _ = env.App.Proxies.List(ctx)
		for _, r := range rows {
			if fmt.Sprint(r.ID) == holders[gone] && r.IdentityUID != next["uid"] {
				t.Fatalf("the released proxy went to %q, want the new identity", r.IdentityUID)
			}
		}
		r := env.Do("POST", "/v4/identities", keys[1], map[string]any{"name": "One too many"})
		if r.Status != 503 || r.Label() != proxy.LabelPoolExhausted {
			t.Fatalf("create on a full pool: %d %s", r.Status, r.Body)
		}
	})
}

func TestTimezoneChangeMovesTheIdentityToAnotherCountry(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		fr, us, is := newFwdProxy(t, "fr"), newFwdProxy(t, "us"), newFwdProxy(t, "is")
		env := start(t, dialect, "FR="+fr.URL("fr", "pw")+",US="+us.URL("us", "pw")+managedEntries(is))
		key := env.NewWorkspace("Movers", "developer")
		id := createIdentity(t, env, key, "Traveller", "Europe/Paris")
		uid := id["uid"].(string)
		wantProxyCountry(t, "created", id, "FR")
		connect(t, env, key, uid, "sim_classic")
		mustLive(t, env, key, uid, 1)
		checkThrough(t, env, "classic", "sim_classic", fr, "fr")

		moved := env.Must(200, "PUT", "/v4/identities/"+uid, key, map[string]any{"timezone": "America/New_York"}).Obj()
		wantProxyCountry(t, "moved to New York", moved, "US")
		before := simStats(t, env)["classic"].Calls
		mustLive(t, env, key, uid, 2)
		st := simStats(t, env)["classic"]
		if got := st.ForwardedFor[us.Exit("us")]; got != st.Calls-before || got == 0 {
			t.Fatalf("after the move: %d new calls, %d through the US proxy (forwarded_for %v)", st.Calls-before, got,
				st.ForwardedFor)
		}
		if st.ForwardedFor[fr.Exit("fr")] != before {
			t.Fatalf("the FR proxy still carries the identity: %v", st.ForwardedFor)
		}

		// A move within the country keeps the proxy, and so the IP.
		p, _ := proxyOf(moved)
		same := env.Must(200, "PUT", "/v4/identities/"+uid, key, map[string]any{"timezone": "America/Chicago"}).Obj()
		q, _ := proxyOf(same)
		if q == nil || q["country"] != "US" || q["assigned_at"] != p["assigned_at"] {
			t.Fatalf("same-country move: proxy %v, was %v", q, p)
		}
		// The FR proxy is free again: a new Paris identity gets it.
		wantProxyCountry(t, "the released FR proxy", createIdentity(t, env, key, "Parisian", "Europe/Paris"), "FR")
	})
}

func TestDeadProxyAnswersProxyErrorUntilRefreshed(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		jp1, jp2, is := newFwdProxy(t, "jp1"), newFwdProxy(t, "jp2"), newFwdProxy(t, "is")
		env := start(t, dialect, "JP="+jp1.URL("tokyo1", "pw-jp1-s3cret")+",JP="+jp2.URL("tokyo2", "pw-jp2-s3cret")+
			managedEntries(is))
		key := env.NewWorkspace("Tokyo Co", "developer")
		id := createIdentity(t, env, key, "Tokyo desk", "Asia/Tokyo")
		uid := id["uid"].(string)
		wantProxyCountry(t, "created", id, "JP")
		connect(t, env, key, uid, "sim_classic")
		mustLive(t, env, key, uid, 1)
		checkThrough(t, env, "classic", "sim_classic", jp1, "tokyo1")

		jp1.Close() // its port now refuses connections
		time.Sleep(50 * time.Millisecond)
		r := live(env, key, uid, 2)
		if r.Status != 424 || r.Label() != "PROXY_ERROR" {
			t.Fatalf("live call through a dead proxy: %d %s", r.Status, r.Body)
		}
		noSecrets(t, "the PROXY_ERROR body", string(r.Body), "pw-jp1-s3cret", "tokyo1")
		if msg, _ := r.Obj()["message"].(string); !strings.Contains(msg, "refresh-proxy") {
			t.Fatalf("the PROXY_ERROR message does not say how to recover: %q", msg)
		}

		// Another workspace cannot refresh it; a read-only call changes nothing.
		other := env.NewWorkspace("Other Co", "developer")
		if r := env.Do("POST", "/v4/identities/"+uid+"/refresh-proxy", other, nil); r.Status != 404 {
			t.Fatalf("refresh from another workspace: %d %s", r.Status, r.Body)
		}
		refreshed := env.Must(200, "POST", "/v4/identities/"+uid+"/refresh-proxy", key, nil).Obj()
		wantProxyCountry(t, "refreshed", refreshed, "JP")
		if p, _ := proxyOf(refreshed); p["assigned_at"] == id["proxy"].(map[string]any)["assigned_at"] {
			t.Fatalf("refresh kept the assignment: %v", p)
		}
		mustLive(t, env, key, uid, 3)
		st := simStats(t, env)["classic"]
		if len(st.ForwardedFor) != 2 || st.ForwardedFor[jp1.Exit("tokyo1")]+st.ForwardedFor[jp2.Exit("tokyo2")] != st.Calls ||
			st.ForwardedFor[jp2.Exit("tokyo2")] == 0 {
			t.Fatalf("after the refresh: %d calls, forwarded_for %v", st.Calls, st.ForwardedFor)
		}
		for addr := range st.RemoteAddrs {
			if !jp1.IsLocal(addr) && !jp2.IsLocal(addr) {
				t.Fatalf("a request reached the simulator from %s, not through a proxy", addr)
			}
		}

		rows, _ := env.App.Proxies.List(context.Background())
		for _, r := range rows {
			switch r.Proxy {
			case jp1.Redacted():
				if r.Healthy || r.IdentityUID != "" || r.UnhealthyAt == nil {
					t.Fatalf("the dead proxy after refresh: %+v", r)
				}
			case jp2.Redacted():
				if !r.Healthy || r.IdentityUID != uid {
					t.Fatalf("the new proxy after refresh: %+v", r)
				}
			}
		}

		// No other proxy is free (the dead one is out of rotation): a second
		// refresh fails as config and leaves the identity where it is.
		r = env.Do("POST", "/v4/identities/"+uid+"/refresh-proxy", key, nil)
		if r.Status != 503 || r.Label() != proxy.LabelPoolExhausted || r.Obj()["error_scope"] != "config" {
			t.Fatalf("refresh with nothing free: %d %s", r.Status, r.Body)
		}
		mustLive(t, env, key, uid, 4)
		if got := simStats(t, env)["classic"].ForwardedFor[jp2.Exit("tokyo2")]; got < 2 {
			t.Fatalf("after a failed refresh the identity left its proxy: %v", got)
		}
	})
}

func TestDirectModeWithoutPool(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := start(t, dialect, "")
		if !strings.Contains(env.Logs.String(), proxy.DirectWarning) {
			t.Fatalf("no start-up warning about direct egress:\n%s", env.Logs.String())
		}
		key := env.NewWorkspace("Laptop", "developer")
		id := createIdentity(t, env, key, "Dev", "Europe/Paris")
		if p, present := proxyOf(id); !present || p != nil {
			t.Fatalf("direct mode: proxy %v (present %v), want null", id["proxy"], present)
		}
		uid := id["uid"].(string)
		connect(t, env, key, uid, "sim_classic")
		mustLive(t, env, key, uid, 1)
		st := simStats(t, env)["classic"]
		if st.Calls == 0 || len(st.ForwardedFor) != 0 || st.RemoteHosts["127.0.0.1"] != st.Calls {
			t.Fatalf("direct mode: %+v", st)
		}
		r := env.Do("POST", "/v4/identities/"+uid+"/refresh-proxy", key, nil)
		if r.Status != 409 || r.Obj()["error_scope"] != "config" {
			t.Fatalf("refresh without a pool: %d %s", r.Status, r.Body)
		}
		got := env.Must(200, "GET", "/v4/identities/"+uid, key, nil).Obj()
		if p, present := proxyOf(got); !present || p != nil {
			t.Fatalf("GET in direct mode: proxy %v", got["proxy"])
		}
	})
}
