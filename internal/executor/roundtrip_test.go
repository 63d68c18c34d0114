package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/executor/conformance"
	"github.com/firstmate-oss/firstmate/internal/executor/simexec"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

func sameJSON(t *testing.T, what string, a, b any) {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(ja) != string(jb) {
		t.Fatalf("%s differs:\ndirect:   %.600s\nexecutor: %.600s", what, ja, jb)
	}
}

func sameError(t *testing.T, what string, direct, viaExec error) {
	t.Helper()
	d, x := asApp(t, direct), asApp(t, viaExec)
	if d.Status != x.Status || d.Label != x.Label || d.Message != x.Message || platform.Transient(direct) != platform.Transient(viaExec) ||
		platform.IsSessionExpired(direct) != platform.IsSessionExpired(viaExec) || platform.RetryAfter(direct) != platform.RetryAfter(viaExec) {
		t.Fatalf("%s: direct %d %s %q (transient %v), through the executor %d %s %q (transient %v)", what,
			d.Status, d.Label, d.Message, platform.Transient(direct), x.Status, x.Label, x.Message, platform.Transient(viaExec))
	}
	sameJSON(t, what+" params", d.Params, x.Params)
}

// Every extract and search action of the sandbox gives, through the
// executor over loopback HTTP, exactly what the driver gives directly:
// the same results, page tokens and errors, page 1 and page 2.
func TestRoundTripMatchesDirect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n := 0
	for _, fam := range simexec.Families {
		for _, slug := range executor.ActionsOf(fam) {
			a := action(t, slug)
			if a.Kind == catalog.KindOutreach {
				continue // writes: the second call would see the first's effect
			}
			input, params, err := conformance.Sample(a, nil, nil)
			if err != nil {
				t.Fatalf("%s: %v", slug, err)
			}
			var cred platform.Credentials
			if a.NeedsIdentity {
				cred = cookie("sim_managed_1")
				if fam == "recruiterlite" {
					cred = cookie("sim_managed_recruiter")
				}
			}
			call := platform.Call{Action: a, Input: input, Params: params, Page: 1}
			for page := 1; page <= 2; page++ {
				want, derr := e.direct.Run(ctx, e.directHC, cred, call)
				got, xerr := e.c.Run(ctx, nil, cred, call)
				if (derr == nil) != (xerr == nil) {
					t.Fatalf("%s page %d: direct error %v, executor error %v", slug, page, derr, xerr)
				}
				if derr != nil {
					sameError(t, slug, derr, xerr)
					break
				}
				sameJSON(t, slug+" results", want.Results, got.Results)
				if want.NextToken != got.NextToken || want.More != got.More {
					t.Fatalf("%s page %d: direct (%q, %v), executor (%q, %v)", slug, page, want.NextToken, want.More, got.NextToken, got.More)
				}
				n++
				if !got.More {
					break
				}
				call.Page, call.Token = page+1, got.NextToken
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d pages compared", n)
	}
}

func TestMeAndLoginRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	li := e.c.ForFamily("linkedin")
	acc, err := li.Me(ctx, nil, cookie("sim_salesnav"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.direct.Me(ctx, e.directHC, cookie("sim_salesnav"))
	if err != nil {
		t.Fatal(err)
	}
	if acc != want || acc.Level != platform.LevelSalesNav || acc.Name == "" {
		t.Fatalf("me through the executor %+v, direct %+v", acc, want)
	}
	// An expired session keeps its meaning: the integration goes INVALID.
	_, derr := e.direct.Me(ctx, e.directHC, cookie("sim_gone"))
	_, xerr := li.Me(ctx, nil, cookie("sim_gone"))
	if !platform.IsSessionExpired(xerr) {
		t.Fatalf("unknown session: %v", xerr)
	}
	sameError(t, "me", derr, xerr)

	// Login with a 2FA checkpoint, then its code.
	r, err := li.Login(ctx, nil, "2fa@sim.test", "sandbox")
	if err != nil || r.Checkpoint == nil || r.Checkpoint.Type != "2FA" || r.Checkpoint.State == "" {
		t.Fatalf("login: %+v %v", r, err)
	}
	_, err = li.Checkpoint(ctx, nil, r.Checkpoint.State, "999999")
	if ae := asApp(t, err); ae.Status != 400 || ae.Label != "BAD_INPUT" {
		t.Fatalf("wrong code: %+v", ae)
	}
	done, err := li.Checkpoint(ctx, nil, r.Checkpoint.State, "123456")
	if err != nil || done.Checkpoint != nil || done.Cookies["li_at"] == "" || done.Level != platform.LevelPremium {
		t.Fatalf("checkpoint: %+v %v", done, err)
	}
	if _, err := li.Me(ctx, nil, platform.SessionCredentials(done)); err != nil {
		t.Fatalf("me with the new session: %v", err)
	}
	// A wrong password keeps the reason the identity service stores.
	_, err = li.Login(ctx, nil, "wrong@sim.test", "nope")
	if ae := asApp(t, err); ae.Label != platform.LabelIntegration || ae.Params["reason"] != "INVALID_CREDENTIALS" {
		t.Fatalf("wrong password: %+v", ae)
	}
	// Me needs to know the family.
	if _, err := e.c.Me(ctx, nil, cookie("sim_salesnav")); err == nil {
		t.Fatal("Me without a family must fail")
	}
}

// The sandbox's error triggers give the same labels, retry decisions and
// session verdicts through the executor as directly.
func TestErrorsKeepTheirMeaning(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		slug, field, value, cookie string
		label                      string
	}{
		{"linkedin-extract-people", "linkedin_profile_url", "https://www.linkedin.com/in/missing-person/", "sim_salesnav", platform.Label404},
		{"googlemaps-extract-place", "google_maps_place_url", "https://www.google.com/maps/place/error-429-x/", "", platform.Label429},
		{"googlemaps-extract-place", "google_maps_place_url", "https://www.google.com/maps/place/error-503-x/", "", platform.LabelGeneric},
		{"linkedin-extract-people", "linkedin_profile_url", "https://www.linkedin.com/in/jane-doe/", "sim_unknown_cookie", platform.LabelNotConnected},
		{"salesnavigator-search-company-employees", "sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme", "sim_premium", platform.LabelSNUpgrade},
	}
	for _, c := range cases {
		a := action(t, c.slug)
		cred := platform.Credentials{}
		if c.cookie != "" {
			cred = cookie(c.cookie)
		}
		call := platform.Call{Action: a, Input: map[string]any{c.field: c.value}, Params: map[string]any{}, Page: 1}
		_, derr := e.direct.Run(ctx, e.directHC, cred, call)
		_, xerr := e.c.Run(ctx, nil, cred, call)
		if !apperr.Is(xerr, c.label) {
			t.Fatalf("%s: got %v, want %s", c.value, xerr, c.label)
		}
		sameError(t, c.label, derr, xerr)
	}
	// An unreachable proxy is the identity's proxy failing, as with a
	// built-in driver given a client through that proxy.
	pctx := platform.WithProxyURL(ctx, "http://127.0.0.1:1")
	_, err := run(e.c, pctx, "googlemaps-extract-place", map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe/"})
	if !apperr.Is(err, platform.LabelProxy) || !platform.Transient(err) {
		t.Fatalf("unreachable proxy: %v", err)
	}
}

// countingProxy is an HTTP forward proxy on loopback that counts what goes
// through it and which credentials it was given.
type countingProxy struct {
	URL   string
	n     atomic.Int64
	auths chan string
}

func newCountingProxy(t *testing.T) *countingProxy {
	t.Helper()
	p := &countingProxy{auths: make(chan string, 100)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.n.Add(1)
		select {
		case p.auths <- r.Header.Get("Proxy-Authorization"):
		default:
		}
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
		for k, v := range r.Header {
			if k != "Proxy-Authorization" && k != "Proxy-Connection" {
				out.Header[k] = v
			}
		}
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
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

// The identity's proxy URL reaches the executor, and the executor's
// platform traffic goes through it, with its credentials.
func TestProxyURLCarriesTheExecutorsTraffic(t *testing.T) {
	e := newEnv(t)
	p := newCountingProxy(t)
	u, _ := url.Parse(p.URL)
	u.User = url.UserPassword("ident-7", "pr0xy-s3cret")
	ctx := platform.WithProxyURL(context.Background(), u.String())

	before := e.sim.Stats()["salesnav"].Calls
	pg, err := run(e.c, ctx, "linkedin-extract-people", map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/jane-doe/"})
	if err != nil || len(pg.Results) != 1 {
		t.Fatalf("run through the proxy: %v", err)
	}
	if p.n.Load() == 0 {
		t.Fatal("the executor's platform traffic did not go through the identity's proxy")
	}
	if got := e.sim.Stats()["salesnav"].Calls; got <= before {
		t.Fatal("the simulator saw no call")
	}
	auth := <-p.auths
	if !strings.HasPrefix(auth, "Basic ") {
		t.Fatalf("the proxy got no credentials: %q", auth)
	}
	// Without a proxy URL, the traffic leaves directly.
	n := p.n.Load()
	if _, err := run(e.c, context.Background(), "linkedin-extract-people", map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/jane-doe/"}); err != nil {
		t.Fatal(err)
	}
	if p.n.Load() != n {
		t.Fatal("a call without a proxy URL went through the proxy")
	}
	// A proxy URL the executor cannot use is the proxy's failure.
	_, err = run(e.c, platform.WithProxyURL(context.Background(), "ftp://u:p@127.0.0.1:21"), "linkedin-extract-people",
		map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/jane-doe/"})
	if !apperr.Is(err, platform.LabelProxy) {
		t.Fatalf("ftp proxy: %v", err)
	}
}

// Neither the executor's logs nor the errors the client returns (causes
// included, which the API logs) carry credentials or proxy passwords.
func TestCredentialsNeverLogged(t *testing.T) {
	e := newEnv(t)
	p := newCountingProxy(t)
	u, _ := url.Parse(p.URL)
	u.User = url.UserPassword("ident-7", "pr0xy-s3cret")
	secrets := []string{"sim_salesnav", "sim_secret_cookie_zz", "hunter2-p4ss", "pr0xy-s3cret", e.secret}
	var errs []error
	ctx := platform.WithProxyURL(context.Background(), u.String())
	li := e.c.ForFamily("linkedin")
	_, err := run(e.c, ctx, "linkedin-extract-people", map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/jane-doe/"})
	errs = append(errs, err)
	_, err = run(e.c, ctx, "linkedin-extract-people", map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/missing-x/"})
	errs = append(errs, err)
	_, err = li.Me(ctx, nil, cookie("sim_secret_cookie_zz"))
	errs = append(errs, err)
	_, err = li.Login(ctx, nil, "wrong@sim.test", "hunter2-p4ss")
	errs = append(errs, err)
	bad, _ := url.Parse("http://ident-7:pr0xy-s3cret@127.0.0.1:1")
	_, err = li.Me(platform.WithProxyURL(context.Background(), bad.String()), nil, cookie("sim_salesnav"))
	errs = append(errs, err)
	_, err = li.Me(platform.WithProxyURL(context.Background(), "socks9://ident-7:pr0xy-s3cret@[::1"), nil, cookie("sim_salesnav"))
	errs = append(errs, err)
	logs := e.logs.String()
	if strings.Count(logs, "\n") < 5 || !strings.Contains(logs, "NOT_CONNECTED") {
		t.Fatalf("the executor logged too little to judge:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the executor's log carries %q:\n%s", s, logs)
		}
		for i, err := range errs {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("error %d carries %q: %v", i, s, err)
			}
		}
	}
	if errs[0] != nil || errs[1] == nil || errs[4] == nil || errs[5] == nil {
		t.Fatalf("unexpected outcomes: %v", errs)
	}
}

// The handler refuses what its capabilities do not claim, and a request
// that is not the protocol's.
func TestHandlerRefusesWhatItDoesNotServe(t *testing.T) {
	s := newEnv(t)
	d := s.direct
	caps := executor.Capabilities{Families: []executor.Family{{Name: "googlemaps", Actions: []string{"googlemaps-extract-place"}}}}
	secret := executor.NewSecret()
	h, err := executor.Handler(d, nil, caps, secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, h)
	c, _ := executor.New(ts, secret, nil, 0)
	ctx := context.Background()
	_, err = run(c, ctx, "googlemaps-search-places", map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/x/"})
	if ae := asApp(t, err); ae.Label != platform.LabelIntegration || ae.Params[executor.ParamExecutorFault] != "" {
		t.Fatalf("unclaimed action: %+v", ae)
	}
	if _, err := c.ForFamily("linkedin").Me(ctx, nil, cookie("sim_salesnav")); !apperr.Is(err, platform.LabelIntegration) {
		t.Fatalf("me of an unserved family: %v", err)
	}
	if _, err := c.ForFamily("googlemaps").Login(ctx, nil, "a", "b"); !apperr.Is(err, platform.LabelIntegration) {
		t.Fatalf("login without an authenticator: %v", err)
	}
	pg, err := run(c, ctx, "googlemaps-extract-place", map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe/"})
	if err != nil || len(pg.Results) != 1 {
		t.Fatalf("claimed action: %v", err)
	}
	// Capabilities that claim nonsense are refused at construction.
	for _, bad := range []executor.Capabilities{
		{Families: []executor.Family{{Name: "myspace"}}},
		{Families: []executor.Family{{Name: "googlemaps", Actions: []string{"linkedin-extract-people"}}}},
		{Families: []executor.Family{{Name: "linkedin", Login: true}}},
		{Protocol: 2},
	} {
		if _, err := executor.Handler(d, nil, bad, secret); err == nil {
			t.Errorf("capabilities %+v accepted", bad)
		}
	}
	if _, err := executor.Handler(d, nil, caps, "not-a-secret"); err == nil {
		t.Error("a bad secret accepted")
	}
}

// A driver that panics is the executor's failure: a 500, which the client
// takes as transient, and the handler keeps serving.
func TestDriverPanic(t *testing.T) {
	secret := executor.NewSecret()
	h, err := executor.Handler(panicky{}, nil, executor.Capabilities{Families: []executor.Family{{Name: "thefork", Actions: []string{"thefork-extract-reviews"}}}}, secret)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := executor.New(newServer(t, h), secret, nil, 0)
	for i := 0; i < 2; i++ {
		_, err = run(c, context.Background(), "thefork-extract-reviews", map[string]any{"thefork_reviews_url": "https://www.thefork.com/restaurant/x-r1"})
		ae := asApp(t, err)
		if ae.Label != platform.LabelGeneric || !platform.Transient(err) || ae.Params[executor.ParamExecutorFault] != "executor_error" {
			t.Fatalf("panic: %+v", ae)
		}
	}
}

type panicky struct{}

func (panicky) Me(context.Context, *http.Client, platform.Credentials) (platform.Account, error) {
	panic("boom")
}

func (panicky) Run(context.Context, *http.Client, platform.Credentials, platform.Call) (platform.Page, error) {
	panic(errors.New("boom"))
}
