package main

// The remote executor protocol end to end (issue 15): Firstmate with every
// sandbox family routed to the built binary's `firstmate sim --executor`,
// a separate process as an operator would run it, through live, async and
// schedule mode, logins and checkpoints, and a kill -9 of the executor in
// the middle of an async run.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/executor"
)

// simExec is a running `firstmate sim --executor`.
type simExec struct {
	t      *testing.T
	addr   string
	url    string
	secret string
	args   []string
	cmd    *exec.Cmd
	exited chan error
}

func startSimExec(t *testing.T, addr, secret string, args ...string) *simExec {
	t.Helper()
	s := &simExec{t: t, addr: addr, secret: secret, args: args}
	s.start()
	t.Cleanup(s.stop)
	return s
}

var execBannerRE = regexp.MustCompile(`^executor protocol: (http://127\.0\.0\.1:\d+) `)

func (s *simExec) start() {
	s.t.Helper()
	cmd := exec.Command(bin, append([]string{"sim", "--addr", s.addr, "--executor"}, s.args...)...)
	cmd.Env = cleanEnv("FIRSTMATE_SIM_EXECUTOR_SECRET=" + s.secret)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	lines := readLines(out)
	exited := make(chan error, 1)
	go func() { <-lines.eof; exited <- cmd.Wait() }()
	s.cmd, s.exited = cmd, exited
	s.url = lines.wait(s.t, "executor banner", execBannerRE)[1]
	u, _ := url.Parse(s.url)
	s.addr = u.Host // a restart listens on the same address
}

// kill9 kills the executor with SIGKILL, as a crash would.
func (s *simExec) kill9() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	<-s.exited
}

func (s *simExec) stop() {
	if s.cmd != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// routeToExecutor routes every sandbox family to the executor at u, as an
// operator would in the environment, and starts no in-process simulator.
func routeToExecutor(t *testing.T, u, secret string) {
	for _, fam := range []string{"LINKEDIN", "SALESNAVIGATOR", "RECRUITERLITE", "GOOGLEMAPS", "TRIPADVISOR", "THEFORK"} {
		t.Setenv("FIRSTMATE_PLATFORM_"+fam, "executor:"+u)
	}
	t.Setenv("FIRSTMATE_EXECUTOR_SECRETS", u+"="+secret)
	t.Setenv("FIRSTMATE_SIM", "off")
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not after %s", what, d)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func runStatus(t *testing.T, env *apitest.Env, key, uid string, want ...string) map[string]any {
	t.Helper()
	var r map[string]any
	waitFor(t, "run "+uid+" "+fmt.Sprint(want), 90*time.Second, func() bool {
		r = env.Must(200, "GET", "/v4/runs/"+uid, key, nil).Obj()
		for _, w := range want {
			if r["status"] == w {
				return true
			}
		}
		switch r["status"] {
		case "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "BLOCKED", "STOPPED":
			t.Fatalf("run %s is %v, want %v: %v", uid, r["status"], want, r)
		}
		return false
	})
	return r
}

func TestE2EExecutorRoutedSuite(t *testing.T) {
	secret := executor.NewSecret()
	ex := startSimExec(t, "127.0.0.1:0", secret, "--latency", "15ms")
	routeToExecutor(t, ex.url, secret)
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		if env.App.Sim != nil || env.App.SimURL != "" {
			t.Fatalf("an in-process simulator runs at %q: every family should go to the executor", env.App.SimURL)
		}
		key := env.NewWorkspace("Executor "+dialect, "unlimited")
		hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer hooks.Close()

		// The catalogue names the executor the actions go to.
		d := env.Must(200, "GET", "/v4/actions/linkedin-extract-people", key, nil).Obj()
		if drv, _ := d["driver"].(map[string]any); d["available"] != true || drv["kind"] != "executor" || drv["name"] != "firstmate-sim" {
			t.Fatalf("GET /actions/linkedin-extract-people: %v", d)
		}

		// Connections: a cookie is checked by the executor's me, a password
		// login goes through its login and checkpoint.
		id := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Executor identity"}).Obj()["uid"].(string)
		g := env.Must(200, "POST", "/v4/identities/"+id+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_managed_1"}}}).Obj()
		if g["status"] != "VALID" || g["level"] != "Sales Navigator" {
			t.Fatalf("cookie through the executor: %v", g)
		}
		env.Must(200, "PUT", "/v4/identities/"+id+"/limits", key, map[string]any{"profile_visits": 100_000, "profile_enrichments": 100_000})
		id2 := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Executor login"}).Obj()["uid"].(string)
		g = env.Must(200, "POST", "/v4/identities/"+id2+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"basic": map[string]any{"username": "2fa@sim.test", "password": "sandbox"}}}).Obj()
		if cp, _ := g["checkpoint"].(map[string]any); g["status"] != "PENDING" || cp["type"] != "2FA" {
			t.Fatalf("login through the executor: %v", g)
		}
		g = env.Must(200, "POST", "/v4/identities/"+id2+"/integrations/linkedin/checkpoint", key, map[string]any{"code": "123456"}).Obj()
		if g["status"] != "VALID" {
			t.Fatalf("checkpoint through the executor: %v", g)
		}
		env.Must(200, "PUT", "/v4/identities/"+id2+"/limits", key, map[string]any{"profile_visits": 100_000, "profile_enrichments": 100_000})

		// Live: an extract, a search with its next page, a place, and an
		// upstream error that keeps its label.
		p := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{
			"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}, "identity_ids": []string{id}}).Obj()
		if p["full_name"] != "Ada Lovelace" {
			t.Errorf("live extract: %v", p)
		}
		search := map[string]any{"input": map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=designer"},
			"identity_ids": []string{id}}
		r := env.Must(200, "POST", "/v4/actions/linkedin-search-people/run/live", key, search)
		next, _ := url.Parse(r.Header.Get("X-Pagination-Next"))
		if len(r.Arr()) == 0 || next == nil || next.RawQuery == "" {
			t.Fatalf("live search: %d results, next %q", len(r.Arr()), r.Header.Get("X-Pagination-Next"))
		}
		r2 := env.Must(200, "POST", next.RequestURI(), key, search)
		if len(r2.Arr()) == 0 || r2.Arr()[0].(map[string]any)["linkedin_profile_url"] == r.Arr()[0].(map[string]any)["linkedin_profile_url"] {
			t.Errorf("page 2: %v", r2.Arr())
		}
		pl := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/live", key,
			map[string]any{"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"}}).Obj()
		if pl["place_name"] != "Cafe Lumiere" {
			t.Errorf("live place: %v", pl)
		}
		if e := env.Do("POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{
			"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/missing-person"}, "identity_ids": []string{id}}); e.Status != 424 || e.Label() != "STATUS_404" {
			t.Errorf("a missing profile through the executor: %d %s", e.Status, e.Body)
		}

		// Schedule: a firing goes through the executor.
		sc := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/schedule", key, map[string]any{
			"inputs":   []any{map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"}},
			"callback": map[string]any{"url": hooks.URL + "/sched", "on": "final"}, "schedule_at": time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)}).Obj()
		var fired string
		waitFor(t, "the schedule's firing", 60*time.Second, func() bool {
			for _, x := range env.Must(200, "GET", "/v4/runs?scheduled_run_uid[]="+sc["schedule_uid"].(string), key, nil).Arr() {
				fired = x.(map[string]any)["uid"].(string)
			}
			return fired != ""
		})
		if fr := runStatus(t, env, key, fired, "SUCCEEDED"); fr["output_count"] != float64(1) {
			t.Errorf("the schedule's run: %v", fr)
		}

		// Async through a crash of the executor: a workspace of its own, so
		// that its consumption is the run's alone.
		ckey := env.NewWorkspace("Executor crash "+dialect, "unlimited")
		var ids []string
		for i := 2; i <= 3; i++ {
			uid := env.Must(200, "POST", "/v4/identities", ckey, map[string]any{"name": fmt.Sprintf("Crash %d", i)}).Obj()["uid"].(string)
			g := env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", ckey,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": fmt.Sprintf("sim_managed_%d", i)}}}).Obj()
			if g["status"] != "VALID" {
				t.Fatalf("connect: %v", g)
			}
			env.Must(200, "PUT", "/v4/identities/"+uid+"/limits", ckey, map[string]any{"profile_visits": 100_000, "profile_enrichments": 100_000})
			ids = append(ids, uid)
		}
		const n = 150
		inputs := make([]any, n)
		for i := range inputs {
			inputs[i] = map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/exec-crash-%s-%d", dialect, i)}
		}
		sub := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/async", ckey, map[string]any{
			"inputs": inputs, "identity_ids": ids, "identity_mode": "auto", "callback": map[string]any{"url": hooks.URL + "/crash", "on": "final"}}).Obj()
		uid := sub["run_uid"].(string)
		var atKill float64
		waitFor(t, "the first outputs", 60*time.Second, func() bool {
			r := env.Must(200, "GET", "/v4/runs/"+uid, ckey, nil).Obj()
			atKill, _ = r["output_count"].(float64)
			return atKill > 0
		})
		if atKill >= n {
			t.Fatalf("the run finished before the kill")
		}
		ex.kill9()
		time.Sleep(300 * time.Millisecond) // calls in flight fail; work retries them
		ex.start()
		done := runStatus(t, env, ckey, uid, "SUCCEEDED")
		t.Logf("killed at %v outputs of %d", atKill, n)
		seen := map[string]int{}
		for off := 0; ; off += 100 {
			page := env.Must(200, "GET", fmt.Sprintf("/v4/runs/%s/outputs?limit=100&offset=%d", uid, off), ckey, nil).Arr()
			for _, o := range page {
				seen[o.(map[string]any)["linkedin_profile_url"].(string)]++
			}
			if len(page) < 100 {
				break
			}
		}
		if len(seen) != n || done["output_count"] != float64(n) {
			t.Errorf("after the crash: %d distinct outputs, run %v", len(seen), done)
		}
		for u, c := range seen {
			if c != 1 {
				t.Errorf("%s stored %d times", u, c)
			}
		}
		cons := env.Must(200, "GET", "/v4/workspaces/consumption", ckey, nil).Obj()
		rows, _ := cons["consumptions"].([]any)
		if len(rows) != 1 || rows[0].(map[string]any)["results"] != float64(n) || rows[0].(map[string]any)["credits_used"] != float64(n) {
			t.Errorf("charges after the crash: %v", cons)
		}
	})
}
