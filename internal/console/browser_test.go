package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/firstmate-oss/firstmate/internal/console"
)

// The console is tested as a user meets it: the built binary on a fresh
// data directory, driven by Debian's chromium. One binary and one browser
// serve every subtest of TestConsole, in order (the newcomer sets the
// owner's password first).

const ownerEmail = "owner@firstmate.local"
const ownerPassword = "correct-horse-battery"

type fixture struct {
	base     string // http://127.0.0.1:port
	link     string // the printed set-password link
	key      string // the printed owner API key
	bin      string
	dataDir  string
	env      []string
	browser  context.Context // the first browser context (the owner's)
	shotsDir string
}

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

// start builds the binary, runs it on a fresh data directory and reads
// what its first start prints.
func start(t *testing.T) *fixture {
	chromium := chromiumPath(t)
	dir := t.TempDir()
	f := &fixture{bin: filepath.Join(dir, "firstmate"), dataDir: filepath.Join(dir, "data")}
	build := exec.Command("go", "build", "-o", f.bin, "./cmd/firstmate")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the binary: %v\n%s", err, out)
	}
	f.env = append(os.Environ(), "FIRSTMATE_ADDR=127.0.0.1:0", "FIRSTMATE_DATA_DIR="+f.dataDir,
		"FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true", "FIRSTMATE_CALLBACK_RETRY_SCHEDULE=0s,1h", "FIRSTMATE_LOG_LEVEL=warn")
	cmd := exec.Command(f.bin)
	cmd.Env = f.env
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	runningRE := regexp.MustCompile(`running at (http://\S+)`)
	deadline := time.After(60 * time.Second)
	for f.base == "" || f.link == "" || f.key == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the binary exited; stderr:\n%s", stderr.String())
			}
			l = strings.TrimSpace(l)
			if m := runningRE.FindStringSubmatch(l); m != nil {
				f.base = m[1]
			}
			if strings.Contains(l, "/set-password/") && strings.HasPrefix(l, "http") {
				f.link = l
			}
			if strings.HasPrefix(l, "fm_") {
				f.key = l
			}
		case <-deadline:
			t.Fatalf("no start-up banner within 60 s; stderr:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	f.browser = bctx
	f.shotsDir = os.Getenv("FIRSTMATE_SCREENSHOTS")
	if f.shotsDir == "" {
		f.shotsDir = filepath.Join(os.TempDir(), "firstmate-console-screenshots")
	}
	if err := os.MkdirAll(f.shotsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// tab opens a tab in the given browser context.
func tab(t *testing.T, parent context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel2)
	return ctx
}

// incognito opens a second browser context: its own cookies.
func (f *fixture) incognito(t *testing.T) context.Context {
	ctx, cancel := chromedp.NewContext(f.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel2)
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
		t.Fatalf("browser at %s: %v\npage: %s", loc, err, body)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(short, chromedp.Text(sel))
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("browser: text of %s at %s: %v", sel, loc, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", js, err)
	}
	return v
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
		end := time.Now().Add(60 * time.Second)
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

func setValue(sel, v string) chromedp.Action[chromedp.Void] { return chromedp.SetValue(sel, v) }

// api calls the API with a key (the test's model of what is stored).
func (f *fixture) api(t *testing.T, key, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.base+"/v4"+path, rd)
	req.Header.Set("X-API-Key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (f *fixture) apiObj(t *testing.T, key, method, path string, body any, want int) map[string]any {
	t.Helper()
	st, b := f.api(t, key, method, path, body)
	if st != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func (f *fixture) apiList(t *testing.T, key, path string) []map[string]any {
	t.Helper()
	st, b := f.api(t, key, "GET", path, nil)
	if st != 200 {
		t.Fatalf("GET %s: %d %s", path, st, b)
	}
	var l []map[string]any
	_ = json.Unmarshal(b, &l)
	return l
}

func (f *fixture) signIn(t *testing.T, ctx context.Context, email, password string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(f.base+"/login"), chromedp.WaitVisible("#login-form"),
		setValue("#email", email), setValue("#password", password), submit("#signin"))
	if who := text(t, ctx, "#who"); !strings.Contains(who, email) {
		t.Fatalf("signed in as %q, want %s", who, email)
	}
}

// receiver is a callback endpoint on loopback that records what it gets.
type receiver struct {
	*httptest.Server
	fail atomic.Bool
	mu   sync.Mutex
	got  []http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.got = append(r.got, req.Header.Clone())
		r.mu.Unlock()
		if r.fail.Load() {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, h := range r.got {
		out = append(out, h.Get("webhook-id"))
	}
	return out
}

// waitFor polls cond until it holds (a browser page updates by itself).
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (f *fixture) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, dark := range []bool{false, true} {
		do(t, ctx, darkMode(dark))
		for _, w := range []int64{1280, 390} {
			if w < 500 {
				do(t, ctx, chromedp.EmulateViewport(w, 900, chromedp.EmulateMobile))
			} else {
				do(t, ctx, chromedp.EmulateViewport(w, 900))
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			suffix := ""
			if dark {
				suffix = "-dark"
			}
			p := filepath.Join(f.shotsDir, fmt.Sprintf("%s-%d%s.png", name, w, suffix))
			if err := os.WriteFile(p, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	do(t, ctx, darkMode(false), chromedp.EmulateViewport(1280, 900))
}

// httpSession signs in with a plain HTTP client (cookie jar), as a browser
// would post the form.
func (f *fixture) httpSession(t *testing.T, email, password string) (*http.Client, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(f.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csrf := formCSRF(t, string(page))
	res, err = c.PostForm(f.base+"/login", url.Values{"_csrf": {csrf}, "email": {email}, "password": {password}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return c, res.StatusCode
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func formCSRF(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the page: %.300s", page)
	}
	return m[1]
}

func TestConsole(t *testing.T) {
	f := start(t)
	t.Logf("screenshots are saved under %s", f.shotsDir)
	fmt.Printf("console screenshots: %s\n", f.shotsDir)
	owner := tab(t, f.browser)
	good := newReceiver(t)
	var identityUID, asyncRun string

	t.Run("newcomer", func(t *testing.T) {
		// The console is at /, and sends a stranger to sign in.
		do(t, owner, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible("#login-form"))
		// The printed link sets the demo owner's password.
		do(t, owner, chromedp.Navigate(f.link), chromedp.WaitVisible("#set-password"))
		if e := text(t, owner, "#for-email"); e != ownerEmail {
			t.Fatalf("set-password page for %q", e)
		}
		do(t, owner, setValue("#password", ownerPassword), setValue("#password2", ownerPassword), submit("#set-password"))
		if fl := text(t, owner, "#flash"); !strings.Contains(fl, "Password set") {
			t.Fatalf("after setting the password: %q", fl)
		}
		f.signIn(t, owner, ownerEmail, ownerPassword)
		// The link works once.
		do(t, owner, chromedp.Navigate(f.link))
		if m := text(t, owner, "#message"); !strings.Contains(m, "already used") {
			t.Errorf("second use of the link: %q", m)
		}
		before := f.apiObj(t, f.key, "GET", "/workspaces", nil, 200)["credits_used"].(float64)

		// Create an identity and connect a sandbox account by cookie.
		do(t, owner, chromedp.Navigate(f.base+"/identities"), setValue("#name", "Ada Sandbox"),
			setValue("#timezone", "Europe/Paris"), submit("#create"))
		if h := text(t, owner, "#identity-title"); h != "Ada Sandbox" {
			t.Fatalf("identity page title %q", h)
		}
		loc, _ := chromedp.Run(owner, chromedp.Location())
		identityUID = loc[strings.LastIndex(loc, "/")+1:]
		if i := strings.IndexByte(identityUID, '?'); i >= 0 {
			identityUID = identityUID[:i]
		}
		do(t, owner, setValue("#li_at", "sim_classic"), submit("#connect"))
		if s := text(t, owner, "#integ-status"); s != "VALID" {
			t.Fatalf("integration status after connecting: %q", s)
		}
		g := f.apiObj(t, f.key, "GET", "/identities/"+identityUID+"/integrations/linkedin", nil, 200)
		if g["status"] != "VALID" {
			t.Fatalf("the API sees %v", g["status"])
		}
		f.shot(t, owner, "identity")

		// Try an action live.
		do(t, owner, chromedp.Navigate(f.base+"/actions/linkedin-extract-people"), chromedp.WaitVisible("#try-form"),
			setValue("#input", `{"linkedin_profile_url":"https://www.linkedin.com/in/ada-lovelace"}`),
			chromedp.SetValue("#identity_uid", identityUID), submit("#run"))
		if s := text(t, owner, "#result-status"); s != "HTTP 200" {
			t.Fatalf("try it: %s: %s", s, text(t, owner, "#result"))
		}
		if c := text(t, owner, "#curl"); !strings.Contains(c, f.base+"/v4/actions/linkedin-extract-people/run/live") ||
			!strings.Contains(c, "X-API-Key") || strings.Contains(c, f.key) {
			t.Errorf("curl command: %s", c)
		}
		f.shot(t, owner, "action-try")
		liveRun := text(t, owner, "#result-run")

		// The run is on Runs.
		do(t, owner, chromedp.Navigate(f.base+"/runs"), chromedp.WaitVisible("table.runs"))
		runs := text(t, owner, "table.runs")
		if !strings.Contains(runs, liveRun) || !strings.Contains(runs, "linkedin-extract-people") {
			t.Errorf("Runs does not list the live run %s:\n%s", liveRun, runs)
		}
		// The credits moved on the Overview, as the API counts them.
		after := f.apiObj(t, f.key, "GET", "/workspaces", nil, 200)["credits_used"].(float64)
		if after <= before {
			t.Fatalf("credits used %v -> %v: the live run charged nothing", before, after)
		}
		do(t, owner, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible("#credits-used"))
		if s := text(t, owner, "#credits-used"); num(s) != after {
			t.Errorf("overview shows %s credits used, the API %v", s, after)
		}
		if tbl := text(t, owner, "#credits-table"); !strings.Contains(tbl, "linkedin-extract-people") {
			t.Errorf("credits table: %s", tbl)
		}

		// An async run from "try it", watched to the end without a reload.
		inputs := `[{"linkedin_profile_url":"https://www.linkedin.com/in/grace-hopper","custom_data":{"note":"<img src=x onerror=alert(2)>"}},` +
			`{"linkedin_profile_url":"https://www.linkedin.com/in/alan-turing"},{"linkedin_profile_url":"https://www.linkedin.com/in/edsger-dijkstra"}]`
		do(t, owner, chromedp.Navigate(f.base+"/actions/linkedin-extract-people"), chromedp.WaitVisible("#try-form"),
			chromedp.SetValue("#mode", "async"), setValue("#input", inputs), chromedp.SetValue("#identity_uid", identityUID),
			setValue("#callback", good.URL+"/cb"), submit("#run"))
		if s := text(t, owner, "#result-status"); s != "HTTP 200" {
			t.Fatalf("async try: %s: %s", s, text(t, owner, "#result"))
		}
		asyncRun = text(t, owner, "#result-run")
		do(t, owner, submit("#result-run"), chromedp.WaitVisible("#run-status"))
		eval[bool](t, owner, `window.__sameDocument = true`)
		// A run still going listens to its event stream (a finished one has none).
		if eval[bool](t, owner, `!!document.querySelector("#run-live[data-sse]")`) {
			waitFor(t, "the run page to listen to its event stream", 20*time.Second, func() bool {
				m := eval[string](t, owner, `document.querySelector("#run-live").dataset.liveMode || ""`)
				return m == "sse" || text(t, owner, "#run-status") == "SUCCEEDED"
			})
		}
		waitFor(t, "the run page to show SUCCEEDED", 60*time.Second, func() bool {
			return text(t, owner, "#run-status") == "SUCCEEDED"
		})
		if !eval[bool](t, owner, `window.__sameDocument === true`) {
			t.Fatal("the page reloaded; it should update by itself")
		}
		run := f.apiObj(t, f.key, "GET", "/runs/"+asyncRun, nil, 200)
		if got := text(t, owner, "#run-outputs"); got != fmt.Sprint(run["output_count"]) {
			t.Errorf("live output count %s, the API %v", got, run["output_count"])
		}
		// Its outputs as CSV: one row per output, as the API lists them.
		do(t, owner, chromedp.Reload(), chromedp.WaitVisible("#csv"))
		csv := eval[string](t, owner, `fetch("/runs/`+asyncRun+`/outputs.csv").then(r => r.text())`)
		outs := f.apiList(t, f.key, "/runs/"+asyncRun+"/outputs?limit=100")
		rows := strings.Split(strings.TrimSpace(csv), "\n")
		if len(outs) == 0 || len(rows) != len(outs)+1 {
			t.Fatalf("CSV has %d lines for %d outputs:\n%.500s", len(rows), len(outs), csv)
		}
		for k := range outs[0] {
			if !strings.Contains(rows[0], k) {
				t.Errorf("CSV header %q lacks %q", rows[0], k)
			}
		}
		f.shot(t, owner, "run")
	})

	t.Run("failing callback replayed from the run page", func(t *testing.T) {
		bad := newReceiver(t)
		bad.fail.Store(true)
		do(t, owner, chromedp.Navigate(f.base+"/actions/googlemaps-extract-place"), chromedp.WaitVisible("#try-form"),
			chromedp.SetValue("#mode", "async"),
			setValue("#input", `{"google_maps_place_url":"https://www.google.com/maps/place/Cafe+Replay/"}`),
			setValue("#callback", bad.URL+"/hook"), submit("#run"))
		if s := text(t, owner, "#result-status"); s != "HTTP 200" {
			t.Fatalf("async try: %s: %s", s, text(t, owner, "#result"))
		}
		uid := text(t, owner, "#result-run")
		waitFor(t, "the run to finish and its callbacks to fail", 60*time.Second, func() bool {
			r := f.apiObj(t, f.key, "GET", "/runs/"+uid, nil, 200)
			cbs := f.apiList(t, f.key, "/runs/callbacks?run_uid[]="+uid)
			failed := 0
			for _, c := range cbs {
				if c["status"] == "FAILED" {
					failed++
				}
			}
			return r["status"] == "SUCCEEDED" && failed > 0 && failed == len(cbs)
		})
		bad.fail.Store(false)
		seen := len(bad.ids())
		do(t, owner, chromedp.Navigate(f.base+"/runs/"+uid), chromedp.WaitVisible("#callbacks"))
		if s := text(t, owner, "#callbacks"); !strings.Contains(s, "FAILED") {
			t.Fatalf("callbacks table: %s", s)
		}
		do(t, owner, submit("button.replay"))
		if fl := text(t, owner, "#flash"); fl != "Callback replayed" {
			t.Fatalf("after replay: %q", fl)
		}
		waitFor(t, "the replay to reach the receiver", 30*time.Second, func() bool { return len(bad.ids()) > seen })
		ids := bad.ids()
		replayed := ids[len(ids)-1]
		found := false
		for _, id := range ids[:seen] {
			found = found || id == replayed
		}
		if !found {
			t.Errorf("the replay's webhook-id %s is none of the failed attempts' %v", replayed, ids[:seen])
		}
		waitFor(t, "a SUCCESS child delivery", 30*time.Second, func() bool {
			for _, c := range f.apiList(t, f.key, "/runs/callbacks?run_uid[]="+uid) {
				if c["parent_uid"] != "" && c["status"] == "SUCCESS" {
					return true
				}
			}
			return false
		})
		do(t, owner, chromedp.Reload(), chromedp.WaitVisible("#callbacks"))
		if s := text(t, owner, "#callbacks"); !strings.Contains(s, "SUCCESS") {
			t.Errorf("the page does not show the replay's success: %s", s)
		}
	})

	var userEmail = "reader@example.test"
	t.Run("members: invite, accept elsewhere, user sees no write control", func(t *testing.T) {
		do(t, owner, chromedp.Navigate(f.base+"/members"), chromedp.WaitVisible("#invite-form"))
		if s := text(t, owner, "#members"); !strings.Contains(s, "last owner cannot be removed") {
			t.Errorf("the last-owner rule is not shown: %s", s)
		}
		do(t, owner, setValue("#inv-email", userEmail), chromedp.SetValue("#inv-role", "user"), submit("#invite"))
		invite := text(t, owner, "#invite-url")
		f.shot(t, owner, "members")

		other := f.incognito(t)
		do(t, other, chromedp.Navigate(invite), chromedp.WaitVisible("#accept"),
			setValue("#name", "Reader"), setValue("#password", "reader-password-1"), setValue("#password2", "reader-password-1"),
			submit("#accept"))
		userKey := text(t, other, "#new-key")
		if !strings.HasPrefix(userKey, "fm_") {
			t.Fatalf("accepted page key %q", userKey)
		}
		f.signIn(t, other, userEmail, "reader-password-1")
		if r := text(t, other, "#role"); r != "user" {
			t.Fatalf("role %q", r)
		}
		// Every page: no form that writes, except signing out and the
		// member's own API keys (the permission table's Self).
		for _, p := range []string{"/", "/identities", "/identities/" + identityUID, "/runs", "/runs/" + asyncRun, "/schedules",
			"/actions", "/actions/linkedin-extract-people", "/members", "/settings", "/api-reference"} {
			do(t, other, chromedp.Navigate(f.base+p), chromedp.WaitReady("main"))
			writes := eval[[]string](t, other, `Array.from(document.querySelectorAll("form[method=post]")).filter(f =>
				f.getAttribute("action") !== "/logout" && !["key-create","key-revoke"].includes((f.querySelector("[name=op]")||{}).value))
				.map(f => f.outerHTML.slice(0, 120))`)
			if len(writes) > 0 {
				t.Errorf("%s shows the user role %d write controls: %v", p, len(writes), writes)
			}
		}
		// A forged write with a valid session and CSRF token: the server refuses.
		do(t, other, chromedp.Navigate(f.base+"/identities"), chromedp.WaitReady("main"))
		st := eval[float64](t, other, `fetch("/identities", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "name=Forged+by+a+user&_csrf=" + encodeURIComponent(document.querySelector("input[name=_csrf]").value)}).then(r => r.status)`)
		if st != 403 {
			t.Errorf("forged identity creation by a user: %v, want 403", st)
		}
		for _, id := range f.apiList(t, f.key, "/identities?query=Forged") {
			t.Errorf("the forged identity exists: %v", id)
		}
	})

	t.Run("CSRF refused without the token", func(t *testing.T) {
		do(t, owner, chromedp.Navigate(f.base+"/identities"), chromedp.WaitReady("main"))
		for _, body := range []string{"name=No+token+here", "name=Wrong+token+here&_csrf=abcdefghijklmnopqrstuvwxyz234567"} {
			st := eval[float64](t, owner, `fetch("/identities", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
				body: "`+body+`"}).then(r => r.status)`)
			if st != 403 {
				t.Errorf("POST %s: %v, want 403", body, st)
			}
		}
		for _, q := range []string{"No token", "Wrong token"} {
			if l := f.apiList(t, f.key, "/identities?query="+url.QueryEscape(q)); len(l) > 0 {
				t.Errorf("identity %q was created: %v", q, l)
			}
		}
		// The signed-out forms use a double-submit token.
		c := &http.Client{}
		res, err := c.PostForm(f.base+"/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 403 {
			t.Errorf("login without the token: %d", res.StatusCode)
		}
	})

	t.Run("hostile names and custom_data render as text", func(t *testing.T) {
		hostile := `<script>alert(1)</script>`
		do(t, owner, chromedp.Navigate(f.base+"/identities"), setValue("#name", hostile), submit("#create"))
		if h := text(t, owner, "#identity-title"); h != hostile {
			t.Errorf("title %q", h)
		}
		for _, p := range []string{"/identities", "/runs/" + asyncRun, "/settings"} {
			do(t, owner, chromedp.Navigate(f.base+p), chromedp.WaitReady("main"))
			if n := eval[float64](t, owner, `document.scripts.length`); n != 1 {
				t.Errorf("%s runs %v scripts, want only app.js", p, n)
			}
			if n := eval[float64](t, owner, `document.querySelectorAll("img[src=x]").length`); n != 0 {
				t.Errorf("%s holds an injected image", p)
			}
		}
		do(t, owner, chromedp.Navigate(f.base+"/identities"), chromedp.WaitReady("main"))
		names := eval[[]string](t, owner, `Array.from(document.querySelectorAll("a.identity-name")).map(a => a.textContent)`)
		found := false
		for _, n := range names {
			found = found || n == hostile
		}
		if !found {
			t.Errorf("the hostile name is not shown as text: %v", names)
		}
	})

	t.Run("a session of workspace A never sees workspace B", func(t *testing.T) {
		cmd := exec.Command(f.bin, "workspace", "create", "--name", "Bravo Corp Hidden", "--owner-email", "bravo@example.test", "--plan", "developer", "--json")
		cmd.Env = f.env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("workspace create: %v %s", err, out)
		}
		var b struct {
			WorkspaceUID string `json:"workspace_uid"`
			APIKey       string `json:"api_key"`
		}
		if err := json.Unmarshal(out[bytes.IndexByte(out, '{'):], &b); err != nil {
			t.Fatalf("workspace create output: %s", out)
		}
		bid := f.apiObj(t, b.APIKey, "POST", "/identities", map[string]any{"name": "Bravo Secret Identity"}, 200)["uid"].(string)
		f.apiObj(t, b.APIKey, "POST", "/identities/"+bid+"/integrations/linkedin",
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}}, 200)
		st, body := f.api(t, b.APIKey, "POST", "/actions/googlemaps-extract-place/run/async", map[string]any{
			"inputs":   []any{map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Bravo+Secret+Cafe/"}},
			"callback": map[string]any{"url": good.URL + "/bravo"}})
		if st != 200 {
			t.Fatalf("B's async run: %d %s", st, body)
		}
		var br map[string]any
		_ = json.Unmarshal(body, &br)
		brun := br["run_uid"].(string)
		secrets := []string{b.WorkspaceUID, bid, brun, "Bravo Secret", "Bravo Corp", "bravo@example.test"}

		c, st := f.httpSession(t, ownerEmail, ownerPassword)
		if st != http.StatusSeeOther {
			t.Fatalf("sign in over HTTP: %d", st)
		}
		seen := map[string]bool{}
		queue := []string{"/"}
		hrefRE := regexp.MustCompile(`href="(/[^"]*)"`)
		pages := 0
		for len(queue) > 0 && pages < 400 {
			p := queue[0]
			queue = queue[1:]
			if seen[p] {
				continue
			}
			seen[p] = true
			res, err := c.Get(f.base + p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			pages++
			if res.StatusCode != 200 {
				t.Errorf("GET %s: %d", p, res.StatusCode)
			}
			ct := res.Header.Get("Content-Type")
			if strings.HasPrefix(ct, "text/html") && res.Header.Get("Content-Security-Policy") != console.CSP {
				t.Errorf("GET %s: CSP %q", p, res.Header.Get("Content-Security-Policy"))
			}
			for _, s := range secrets {
				if strings.Contains(string(body), s) {
					t.Errorf("GET %s shows workspace B's %q", p, s)
				}
			}
			for _, m := range hrefRE.FindAllStringSubmatch(string(body), -1) {
				u := strings.ReplaceAll(m[1], "&amp;", "&")
				if strings.HasPrefix(u, "/static/") || strings.HasPrefix(u, "/v4/") || seen[u] {
					continue
				}
				queue = append(queue, u)
			}
		}
		if pages < 15 {
			t.Errorf("the crawl reached only %d pages", pages)
		}
		t.Logf("crawled %d pages as workspace A", pages)
		// B's objects, asked for by uid, do not exist for A.
		for _, p := range []string{"/identities/" + bid, "/runs/" + brun, "/runs/" + brun + "/outputs.csv", "/runs/" + brun + "/live.json"} {
			res, err := c.Get(f.base + p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 404 {
				t.Errorf("A GET %s: %d, want 404", p, res.StatusCode)
			}
			if strings.Contains(string(body), "Bravo") {
				t.Errorf("A GET %s leaks B's data", p)
			}
		}
		// The signed-out pages carry the CSP too.
		res, err := http.Get(f.base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.Header.Get("Content-Security-Policy") != console.CSP {
			t.Errorf("/login CSP %q", res.Header.Get("Content-Security-Policy"))
		}
	})

	t.Run("login throttling per account", func(t *testing.T) {
		// A member of its own, so that no other subtest is locked out.
		inv := f.apiObj(t, f.key, "POST", "/members", map[string]any{"email": "throttled@example.test", "role": "ops"}, 201)
		tok, _ := inv["token"].(string)
		if tok == "" {
			t.Fatalf("invitation: %v", inv)
		}
		f.apiObj(t, "", "POST", "/invitations/"+tok+"/accept", map[string]any{"password": "throttled-password"}, 201)
		for i := 0; i < 5; i++ {
			if _, st := f.httpSession(t, "throttled@example.test", "wrong-password-"+fmt.Sprint(i)); st != 401 {
				t.Fatalf("wrong password %d: %d, want 401", i, st)
			}
		}
		if _, st := f.httpSession(t, "throttled@example.test", "throttled-password"); st != 429 {
			t.Errorf("the right password after 5 failures: %d, want 429 (throttled)", st)
		}
		if _, st := f.httpSession(t, ownerEmail, ownerPassword); st != http.StatusSeeOther {
			t.Errorf("another account from the same address: %d, want a sign-in", st)
		}
	})

	consoleGaps(t, f, owner, identityUID, userEmail)

	t.Run("screenshots of every page", func(t *testing.T) {
		sched := f.apiObj(t, f.key, "POST", "/actions/googlemaps-extract-place/run/schedule", map[string]any{
			"inputs":   []any{map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Weekly/"}},
			"callback": map[string]any{"url": good.URL + "/sched"}, "cron": "0 9 * * 1-5", "timezone": "Europe/Paris",
			"name": "Weekday cafés"}, 200)
		suid := sched["schedule_uid"].(string)
		for _, p := range []struct{ name, path string }{
			{"overview", "/"}, {"identities", "/identities"}, {"runs", "/runs"}, {"schedules", "/schedules"},
			{"schedule", "/schedules/" + suid}, {"actions", "/actions"}, {"action", "/actions/linkedin-extract-people"},
			{"settings", "/settings"}, {"api-reference", "/api-reference"}, {"members", "/members"}, {"agents", "/agents"},
			{"identity", "/identities/" + identityUID}, {"run", "/runs/" + asyncRun},
		} {
			do(t, owner, chromedp.Navigate(f.base+p.path), chromedp.WaitReady("main"))
			if p.name == "schedule" {
				if n := eval[float64](t, owner, `document.querySelectorAll("#next-firings li").length`); n != 5 {
					t.Errorf("schedule preview shows %v firings, want 5", n)
				}
			}
			f.shot(t, owner, p.name)
		}
		anon := f.incognito(t)
		do(t, anon, chromedp.Navigate(f.base+"/login"), chromedp.WaitVisible("#login-form"))
		f.shot(t, anon, "login")
	})
}
