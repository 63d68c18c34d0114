package connectpage_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip,
// unless CI is set: there they must run (.ci/deps installs it).
func chromiumPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); CI is not set")
	}
	t.Fatal("CI is set but chromium is not installed: run .ci/deps")
	return ""
}

type browser struct {
	*loginEnv
	ctx   context.Context
	pages strings.Builder // every page the browser showed
}

func newBrowser(t *testing.T) *browser {
	path := chromiumPath(t)
	e := newLoginEnv(t, "sqlite")
	e.Must(200, "PUT", "/v4/workspaces/settings", e.key, map[string]any{"logo_url": e.URL + "/logo.png"})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{loginEnv: e, ctx: ctx}
	t.Cleanup(func() { checkNoSecret(t, "a page", b.pages.String()) })
	return b
}

// tab opens a fresh tab (its own cookies are shared; the page keeps none).
func (b *browser) tab(t *testing.T) context.Context {
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel2)
	return ctx
}

func (b *browser) run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML("html")); err == nil {
		b.pages.WriteString(html)
	}
}

// text reads an element's text (waiting for it).
func (b *browser) text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// submit clicks a form's button and waits for the next page.
func submit(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Evaluate[string](`document.body.dataset.old = "1"`)(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		if _, err := chromedp.Click(sel)(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		// The click navigates: evaluating during the navigation fails, so
		// retry until the new page is complete.
		end := time.Now().Add(30 * time.Second)
		for {
			done, err := chromedp.Evaluate[bool](`!!document.body && !document.body.dataset.old && document.readyState === "complete"`)(ctx, tg)
			if err == nil && done {
				return chromedp.Void{}, nil
			}
			if time.Now().After(end) || ctx.Err() != nil {
				return chromedp.Void{}, fmt.Errorf("no new page after clicking %s (last error: %v)", sel, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (b *browser) link(t *testing.T) (identityUID, link string) {
	t.Helper()
	uid := b.identity()
	r := b.do("POST", "/v4/identities/"+uid+"/generate-login-links", nil)
	link, _ = r.Obj()["linkedin"].(string)
	if !strings.Contains(link, "/connect/") {
		t.Fatalf("login links: %s", r.Body)
	}
	return uid, link
}

func (b *browser) integration(t *testing.T, uid string) map[string]any {
	t.Helper()
	return want(t, b.do("GET", "/v4/identities/"+uid+"/integrations/linkedin", nil), 200, "")
}

func (b *browser) connected(t *testing.T, ctx context.Context, uid string) {
	t.Helper()
	s := b.text(t, ctx, "#status")
	if !strings.Contains(s, "connected") {
		t.Fatalf("not the success page: %q", s)
	}
	g := b.integration(t, uid)
	if g["status"] != "VALID" || g["setup_source"] != "MANUAL" {
		t.Errorf("integration after the page: %v", g)
	}
}

func (b *browser) login(t *testing.T, ctx context.Context, link, user string) {
	t.Helper()
	b.run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "sandbox"),
		submit("#login-submit"))
}

func checkpointOf(t *testing.T, b *browser, ctx context.Context) string {
	t.Helper()
	r, err := chromedp.Run(ctx, chromedp.AttributeValue("#checkpoint", "data-type"))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return r.Value
}

func TestHostedPage(t *testing.T) {
	b := newBrowser(t)

	t.Run("page shows the workspace and nothing else", func(t *testing.T) {
		ctx := b.tab(t)
		uid, link := b.link(t)
		b.run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible("#cookie-form"))
		ws := b.text(t, ctx, "#workspace")
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("html"))
		if !strings.HasPrefix(ws, "Acme Login") {
			t.Errorf("workspace name %q", ws)
		}
		p, _ := b.App.Workspaces.Authenticate(context.Background(), b.key)
		for _, leak := range []string{uid, p.WorkspaceUID, "@example.com", "Login tester"} {
			if strings.Contains(html, leak) {
				t.Errorf("the page leaks %q", leak)
			}
		}
		if !strings.Contains(html, b.URL+"/logo.png") {
			t.Errorf("no logo on the page")
		}
	})

	t.Run("cookie paste, then the link is used", func(t *testing.T) {
		ctx := b.tab(t)
		uid, link := b.link(t)
		b.run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible("#cookie-form"),
			chromedp.SendKeys("#li_at", "sim_classic"), submit("#cookie-submit"))
		b.connected(t, ctx, uid)
		b.run(t, ctx, chromedp.Navigate(link))
		if s := b.text(t, ctx, "#status"); !strings.Contains(s, "already used") {
			t.Errorf("second visit: %q", s)
		}
		req, _ := http.NewRequest("GET", link, nil)
		req.Header.Set("Accept", "text/html")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusGone {
			t.Errorf("used link: %v %v", res.StatusCode, err)
		} else {
			res.Body.Close()
		}
	})

	t.Run("bad cookie", func(t *testing.T) {
		ctx := b.tab(t)
		_, link := b.link(t)
		b.run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible("#cookie-form"),
			chromedp.SendKeys("#li_at", "not-a-session"), submit("#cookie-submit"))
		if s := b.text(t, ctx, "#error"); !strings.Contains(s, "not accepted") {
			t.Errorf("bad cookie: %q", s)
		}
	})

	for _, c := range []struct{ user, typ, code string }{
		{"2fa@sim.test", "2FA", "123456"},
		{"otp@sim.test", "OTP", "654321"},
		{"email@sim.test", "EMAIL", "111111"},
		{"phone@sim.test", "PHONE_REGISTER", "222222"},
		{"captcha@sim.test", "CAPTCHA", "sim-captcha"},
	} {
		t.Run("login with "+c.typ, func(t *testing.T) {
			ctx := b.tab(t)
			uid, link := b.link(t)
			b.login(t, ctx, link, c.user)
			if typ := checkpointOf(t, b, ctx); typ != c.typ {
				t.Fatalf("checkpoint %q, want %q", typ, c.typ)
			}
			if c.typ != "CAPTCHA" {
				b.run(t, ctx, chromedp.SendKeys("#code", "999999"), submit("#code-submit"))
				if s := b.text(t, ctx, "#error"); !strings.Contains(s, "not valid") {
					t.Errorf("wrong code: %q", s)
				}
			}
			// Reloading the link mid-flow shows the checkpoint again.
			b.run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible("#code"),
				chromedp.SendKeys("#code", c.code), submit("#code-submit"))
			b.connected(t, ctx, uid)
		})
	}

	t.Run("login with IN_APP_VALIDATION", func(t *testing.T) {
		ctx := b.tab(t)
		uid, link := b.link(t)
		b.login(t, ctx, link, "inapp@sim.test")
		if typ := checkpointOf(t, b, ctx); typ != "IN_APP_VALIDATION" {
			t.Fatalf("checkpoint %q", typ)
		}
		for i := 1; i <= 2; i++ {
			b.run(t, ctx, submit("#poll-submit"))
			if s := b.text(t, ctx, "#notice"); !strings.Contains(s, "Not approved yet") {
				t.Errorf("poll %d: %q", i, s)
			}
		}
		b.run(t, ctx, submit("#poll-submit"))
		b.connected(t, ctx, uid)
		eventsEqual(t, b.events(b.integration(t, uid)["uid"].(string)), "AUTH_PENDING", "AUTH_SUCCESS")
	})

	t.Run("CAPTCHA fails", func(t *testing.T) {
		ctx := b.tab(t)
		uid, link := b.link(t)
		b.login(t, ctx, link, "captcha-fail@sim.test")
		b.run(t, ctx, chromedp.SendKeys("#code", "wrong-answer"), submit("#code-submit"))
		if s := b.text(t, ctx, "#error"); !strings.Contains(s, "verification failed") {
			t.Errorf("failed captcha: %q", s)
		}
		if g := b.integration(t, uid); g["status"] != "INVALID" {
			t.Errorf("after a failed captcha: %v", g)
		}
		// The link still works: the user may try again.
		b.run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible("#login-form"))
	})

	t.Run("wrong password", func(t *testing.T) {
		ctx := b.tab(t)
		uid, link := b.link(t)
		b.login(t, ctx, link, "wrong@sim.test")
		if s := b.text(t, ctx, "#error"); !strings.Contains(s, "Wrong email or password") {
			t.Errorf("wrong password: %q", s)
		}
		if g := b.integration(t, uid); g["status"] != "INVALID" {
			t.Errorf("after a wrong password: %v", g)
		}
	})

	t.Run("expired link", func(t *testing.T) {
		ctx := b.tab(t)
		_, link := b.link(t)
		token := link[strings.LastIndex(link, "/")+1:]
		if _, err := b.App.DB.Handles().Write.ExecContext(context.Background(), `UPDATE login_links SET expires_at = $1 WHERE token_hash = $2`,
			store.Millis(time.Now().Add(-time.Minute)), auth.HashToken(token)); err != nil {
			t.Fatal(err)
		}
		b.run(t, ctx, chromedp.Navigate(link))
		if s := b.text(t, ctx, "#status"); !strings.Contains(s, "expired") {
			t.Errorf("expired link: %q", s)
		}
	})

	t.Run("forged post", func(t *testing.T) {
		_, link := b.link(t)
		res, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("op=cookie&li_at=sim_classic&csrf=nope"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("post without the CSRF token: %d", res.StatusCode)
		}
	})
}
