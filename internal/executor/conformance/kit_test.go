package conformance

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/executor/simexec"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// world is a simulator on loopback.
func world(t *testing.T) (simURL string) {
	t.Helper()
	s, err := sim.New(sim.Config{Seed: 1, HangFor: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	// The simulator first: closing it releases its hanging requests.
	t.Cleanup(func() { s.Close(); ts.Close() })
	return ts.URL
}

// executorOver serves the protocol over a driver (a broken wrapper of the
// sandbox's), with the sandbox's capabilities and conformance section;
// wrap, when set, sits in front of the handler.
func executorOver(t *testing.T, simURL string, drv func(d *simdriver.Driver) platform.Driver, wrap func(secret string, h http.Handler) http.Handler) (url, secret string) {
	t.Helper()
	d := simdriver.New(simURL)
	var pd platform.Driver = d
	if drv != nil {
		pd = drv(d)
	}
	secret = executor.NewSecret()
	h, err := executor.Handler(pd, d, simexec.Capabilities(), secret, executor.WithConformance(simexec.Conformance(d)))
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		h = wrap(secret, h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL, secret
}

func report(t *testing.T, rep Report) string {
	var b bytes.Buffer
	rep.Write(&b)
	return b.String()
}

func TestSandboxExecutorPasses(t *testing.T) {
	url, secret := executorOver(t, world(t), nil, nil)
	rep := Run(context.Background(), Options{URL: url, Secret: secret, Outreach: true, SlowDeadline: time.Second, MaxPages: 30})
	out := report(t, rep)
	t.Log("\n" + out)
	if rep.Failed() {
		t.Fatal("the sandbox executor fails the kit")
	}
	// Everything Firstmate relies on was exercised, not skipped.
	for _, must := range [][2]string{
		{"protocol", "signature: wrong secret"}, {"protocol", "signature: stale timestamp"},
		{"linkedin", "me"}, {"salesnavigator", "me"}, {"recruiterlite", "me"},
		{"linkedin", "linkedin-extract-connections pages"}, {"googlemaps", "googlemaps-search-places pages"},
		{"linkedin", "linkedin-archive-message"}, {"linkedin", "linkedin-invite-event"},
		{"errors", "NOT_CONNECTED"}, {"errors", "STATUS_403"}, {"errors", "STATUS_404"}, {"errors", "STATUS_429"},
		{"errors", "LK_ERROR"}, {"errors", "GENERIC_ERROR"}, {"errors", "PROXY_ERROR"}, {"errors", "INTEGRATION_ERROR"},
		{"errors", "SN_ACCOUNT_UPGRADE"}, {"errors", "BAD_INPUT"}, {"deadline", "slow request"}, {"login", "2fa@sim.test"},
	} {
		if r, ok := rep.Find(must[0], must[1]); !ok || r.Status != Pass {
			t.Errorf("%s / %s: %+v", must[0], must[1], r)
		}
	}
	for _, slug := range executor.ActionsOf("linkedin") {
		if r, ok := rep.Find("linkedin", slug); !ok || r.Status != Pass || strings.Contains(r.Detail, "made-up") {
			t.Errorf("%s not exercised with results: %+v", slug, r)
		}
	}
	if !strings.Contains(out, "passed, 0 failed") {
		t.Fatalf("the summary line is missing:\n%s", out)
	}
}

// quick runs the kit with short bounds: long lists stop early.
func quick(url, secret string) Report {
	return Run(context.Background(), Options{URL: url, Secret: secret, Outreach: true, SlowDeadline: 300 * time.Millisecond, MaxPages: 4})
}

// wantFails checks that the named cases fail with a detail that says why,
// and that little else fails: the report points at the broken rule.
func wantFails(t *testing.T, rep Report, maxFails int, cases map[[2]string]string) {
	t.Helper()
	out := report(t, rep)
	if !rep.Failed() {
		t.Fatalf("the kit passes a broken executor:\n%s", out)
	}
	for c, detail := range cases {
		r, ok := rep.Find(c[0], c[1])
		if !ok || r.Status != Fail || !strings.Contains(r.Detail, detail) {
			t.Errorf("%s / %s: got %+v, want FAIL mentioning %q", c[0], c[1], r, detail)
		}
	}
	if n := rep.Count(Fail); n > maxFails {
		t.Errorf("%d failures, want at most %d:\n%s", n, maxFails, out)
	}
	if t.Failed() {
		t.Log("\n" + out)
	}
}

// An executor that does not check signatures.
func TestKitFailsAnExecutorAcceptingBadSignatures(t *testing.T) {
	url, secret := executorOver(t, world(t), nil, func(secret string, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body bytes.Buffer
			_, _ = body.ReadFrom(r.Body)
			r.Body.Close()
			// Re-sign whatever comes: the signature is never really checked.
			_ = executor.Sign(r.Header, secret, "msg_"+time.Now().Format("150405.000000000"), time.Now(), body.Bytes())
			r.Body = http.NoBody
			if body.Len() > 0 {
				r.Body = nopCloser{bytes.NewReader(body.Bytes())}
			}
			h.ServeHTTP(w, r)
		})
	})
	rep := quick(url, secret)
	wantFails(t, rep, 6, map[[2]string]string{
		{"protocol", "signature: no signature"}:     "must be refused with 401",
		{"protocol", "signature: wrong secret"}:     "answered 200",
		{"protocol", "signature: stale timestamp"}:  "must be refused with 401",
		{"protocol", "signature: future timestamp"}: "must be refused with 401",
		{"protocol", "signature: tampered body"}:    "must be refused with 401",
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// wrapped lets a test change what the sandbox driver answers.
type wrapped struct {
	platform.Driver
	run func(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error)
}

func (w wrapped) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	return w.run(ctx, hc, cred, call)
}

// An executor whose results do not have the action's shape.
func TestKitFailsWrongShapes(t *testing.T) {
	url, secret := executorOver(t, world(t), func(d *simdriver.Driver) platform.Driver {
		return wrapped{d, func(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
			pg, err := d.Run(ctx, hc, cred, call)
			if err == nil && len(pg.Results) > 0 {
				switch call.Action.Slug {
				case "linkedin-extract-company":
					pg.Results[0]["internal_score"] = 0.9
				case "googlemaps-extract-place":
					pg.Results[0]["address"] = 42
				}
			}
			return pg, err
		}}
	}, nil)
	wantFails(t, quick(url, secret), 4, map[[2]string]string{
		{"linkedin", "linkedin-extract-company"}:   "internal_score is not an output field",
		{"googlemaps", "googlemaps-extract-place"}: "address must be string, got integer",
	})
}

// An executor whose lists never end.
func TestKitFailsListsWithoutAnEnd(t *testing.T) {
	url, secret := executorOver(t, world(t), func(d *simdriver.Driver) platform.Driver {
		return wrapped{d, func(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
			switch call.Action.Slug {
			case "linkedin-extract-profile-viewers": // 14 viewers: page 1 again and again
				call.Page, call.Token = 1, ""
				pg, err := d.Run(ctx, hc, cred, call)
				pg.More, pg.NextToken = true, "p:"+time.Now().String()
				return pg, err
			case "linkedin-extract-post-likers": // the same token forever
				pg, err := d.Run(ctx, hc, cred, call)
				pg.More, pg.NextToken = true, "p:again"
				return pg, err
			}
			return d.Run(ctx, hc, cred, call)
		}}
	}, nil)
	wantFails(t, quick(url, secret), 4, map[[2]string]string{
		{"linkedin", "linkedin-extract-profile-viewers pages"}: "repeats page 1",
		{"linkedin", "linkedin-extract-post-likers pages"}:     "already seen",
	})
}

// An executor that does not give up at the deadline.
func TestKitFailsAnExecutorIgnoringTheDeadline(t *testing.T) {
	url, secret := executorOver(t, world(t), func(d *simdriver.Driver) platform.Driver {
		return wrapped{d, func(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
			if cred.Cookies["li_at"] == "sim_hang" {
				time.Sleep(time.Second) // deaf to ctx
				return platform.Page{}, apperr.Upstream(platform.LabelLK524, "late")
			}
			return d.Run(ctx, hc, cred, call)
		}}
	}, nil)
	wantFails(t, quick(url, secret), 1, map[[2]string]string{
		{"deadline", "slow request"}: "no answer by the 300ms deadline",
	})
}

// An executor that answers the wrong labels: a 404 reported as a generic
// failure (which Firstmate would retry), and a label of its own invention.
func TestKitFailsWrongLabels(t *testing.T) {
	url, secret := executorOver(t, world(t), func(d *simdriver.Driver) platform.Driver {
		return wrapped{d, func(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
			pg, err := d.Run(ctx, hc, cred, call)
			if apperr.Is(err, platform.Label404) {
				return pg, apperr.Upstream(platform.LabelGeneric, "something failed")
			}
			return pg, err
		}}
	}, func(_ string, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"label":"SN_ACCOUNT_UPGRADE"`), []byte(`"label":"UPGRADE_PLEASE"`))
			for k, v := range rec.Header() {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	})
	wantFails(t, quick(url, secret), 3, map[[2]string]string{
		{"errors", "STATUS_404"}:         "answered GENERIC_ERROR",
		{"errors", "SN_ACCOUNT_UPGRADE"}: "UPGRADE_PLEASE",
	})
}

// Made-up inputs are valid inputs of their actions, as the API would
// accept them, for every action of the sandbox families.
func TestSamplesAreValidInputs(t *testing.T) {
	for _, fam := range simexec.Families {
		for _, slug := range executor.ActionsOf(fam) {
			a, _ := catalog.Get(slug)
			if _, _, err := Sample(a, nil, nil); err != nil {
				t.Errorf("%s: %v", slug, err)
			}
		}
	}
	a, _ := catalog.Get("linkedin-extract-people")
	if _, _, err := Sample(a, map[string]any{"linkedin_profile_url": "not a url"}, nil); err == nil {
		t.Error("an invalid declared sample accepted")
	}
}

// A report is readable: a section per group, one line per case, a summary.
func TestReportReads(t *testing.T) {
	rep := Report{URL: "https://exec.example", Executor: "x/1", Results: []Result{
		{"protocol", "capabilities", Pass, "protocol 1"},
		{"errors", "STATUS_404", Fail, "answered GENERIC_ERROR"},
		{"errors", "NO_RESULT", Skip, "no trigger case declared"},
	}}
	out := report(t, rep)
	for _, want := range []string{"Executor conformance: https://exec.example (x/1)", "\nprotocol\n", "  PASS  capabilities", "\nerrors\n",
		"  FAIL  STATUS_404", "answered GENERIC_ERROR", "1 passed, 1 failed, 1 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !rep.Failed() {
		t.Fatal("Failed() with a failure")
	}
}

// An executor that cannot be reached fails at once, clearly.
func TestKitAgainstNothing(t *testing.T) {
	rep := Run(context.Background(), Options{URL: "http://127.0.0.1:1", Secret: executor.NewSecret(), Deadline: time.Second})
	r, ok := rep.Find("protocol", "capabilities")
	if !ok || r.Status != Fail || !strings.Contains(r.Detail, "cannot be reached") || len(rep.Results) != 1 {
		t.Fatalf("%+v", rep.Results)
	}
	rep = Run(context.Background(), Options{URL: "http://exec.example.com", Secret: executor.NewSecret()})
	if r, _ := rep.Find("protocol", "client"); r.Status != Fail || !strings.Contains(r.Detail, "https") {
		t.Fatalf("%+v", rep.Results)
	}
}
