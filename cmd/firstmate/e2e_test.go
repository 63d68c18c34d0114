package main

// End-to-end tests of the built binary, run as an operator would: build it,
// start it, read what it prints, call it over HTTP, signal it.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

var bin string // the built binary, set by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "firstmate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "firstmate")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build firstmate:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// deadline bounds every wait, so a hung binary fails the test instead of
// hanging it. It is a safety net, not a performance assertion.
const deadline = 90 * time.Second

// cleanEnv is the environment without any FIRSTMATE_ setting of the caller.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FIRSTMATE_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// lines collects a stream line by line.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
	eof  chan struct{}
	done bool
}

func readLines(r io.Reader) *lines {
	l := &lines{more: make(chan struct{}, 1), eof: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			l.signal()
		}
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
		l.signal()
		close(l.eof)
	}()
	return l
}

func (l *lines) signal() {
	select {
	case l.more <- struct{}{}:
	default:
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// wait returns the first submatch of re in a line, waiting for it to appear.
func (l *lines) wait(t *testing.T, what string, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(deadline)
	for {
		l.mu.Lock()
		for _, line := range l.all {
			if m := re.FindStringSubmatch(line); m != nil {
				l.mu.Unlock()
				return m
			}
		}
		done := l.done
		l.mu.Unlock()
		if done {
			t.Fatalf("%s: the stream ended without a line matching %s:\n%s", what, re, l.String())
		}
		select {
		case <-l.more:
		case <-timeout:
			t.Fatalf("%s: no line matching %s:\n%s", what, re, l.String())
		}
	}
}

// server is a running firstmate process.
type server struct {
	cmd    *exec.Cmd
	stdout *lines
	stderr *lines
	exited chan error
	base   string
	key    string // the printed key, when a demo workspace was created
}

var (
	runningRE = regexp.MustCompile(`Firstmate is running at (\S+) \(database: (\w+)\)`)
	keyRE     = regexp.MustCompile(`^\s+(fm_[a-z2-7]+)\s*$`)
)

func startServer(t *testing.T, args []string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errp, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stdout: readLines(out), stderr: readLines(errp), exited: make(chan error, 1)}
	go func() {
		// Wait closes the pipes: read them to the end first, or the last
		// lines (the shutdown log) could be lost.
		<-s.stdout.eof
		<-s.stderr.eof
		s.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.exited
		}
	})
	m := s.stdout.wait(t, "banner", runningRE)
	s.base = m[1]
	u, err := url.Parse(s.base)
	if err != nil || u.Port() == "" || u.Port() == "0" {
		t.Fatalf("the binary printed %q as its address: it must print the address it is bound to "+
			"(with --addr 127.0.0.1:0, the port the kernel chose)\nstdout:\n%s\nstderr:\n%s", s.base, s.stdout, s.stderr)
	}
	return s
}

// stop signals the server and waits for a clean exit.
func (s *server) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("after %v the server exited with %v\nstderr:\n%s", sig, err, s.stderr)
		}
	case <-time.After(deadline):
		t.Fatalf("the server did not exit after %v", sig)
	}
	s.stderr.wait(t, "shutdown log", regexp.MustCompile(`shutting down`))
}

func call(t *testing.T, method, u, key string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	var v map[string]any
	data, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(data, &v)
	return res.StatusCode, v
}

// runCmd runs a one-shot subcommand and returns its stdout.
func runCmd(t *testing.T, wantOK bool, args []string, env ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if wantOK && err != nil {
		t.Fatalf("firstmate %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
	}
	if !wantOK && err == nil {
		t.Fatalf("firstmate %v succeeded, want a failure\nstdout:\n%s", args, out.String())
	}
	return out.String(), errb.String()
}

// TestE2EServe: first run prints a working key; an operator creates a
// workspace from the CLI while the server runs; SIGTERM exits cleanly; a
// second run keeps everything and prints no new key.
func TestE2EServe(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		data := st.DataDir
		common := []string{"--data-dir", data}
		if st.DatabaseURL != "" {
			common = append(common, "--database-url", st.DatabaseURL)
		}
		srv := startServer(t, append([]string{"--addr", "127.0.0.1:0"}, common...))
		if m := srv.stdout.wait(t, "database", runningRE); m[2] != dialect {
			t.Errorf("the banner names database %q, want %s", m[2], dialect)
		}
		srv.key = srv.stdout.wait(t, "printed key", keyRE)[1]

		code, ws := call(t, "GET", srv.base+"/v4/workspaces", srv.key, nil)
		if code != 200 || ws["plan_name"] != "developer" || ws["name"] != "Demo workspace" {
			t.Fatalf("GET /v4/workspaces with the printed key: %d %v", code, ws)
		}
		code, id := call(t, "POST", srv.base+"/v4/identities", srv.key, map[string]any{"name": "E2E identity"})
		if code != 200 || id["name"] != "E2E identity" {
			t.Fatalf("POST /v4/identities: %d %v", code, id)
		}
		links, _ := id["identity_login_links"].(map[string]any)
		if l, _ := links["linkedin"].(string); !strings.HasPrefix(l, srv.base+"/") {
			t.Errorf("login link %q does not point at the server %s", l, srv.base)
		}
		if code, _ := call(t, "GET", srv.base+"/v1/workspaces", "", nil); code != 401 {
			t.Errorf("no key: %d", code)
		}
		if code, h := call(t, "GET", srv.base+"/healthz", "", nil); code != 200 || h["status"] != "ok" {
			t.Errorf("healthz: %d %v", code, h)
		}

		// An operator creates a workspace while the server runs.
		out, _ := runCmd(t, true, append([]string{"workspace", "create", "--name", "X", "--plan", "trial", "--owner-email", "x@y.z"}, common...))
		m := regexp.MustCompile(`API key: (fm_[a-z2-7]+)`).FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, "plan trial") {
			t.Fatalf("workspace create printed:\n%s", out)
		}
		code, ws = call(t, "GET", srv.base+"/v4/workspaces", m[1], nil)
		if code != 200 || ws["name"] != "X" || ws["plan_name"] != "trial" {
			t.Errorf("the CLI-created key against the running server: %d %v", code, ws)
		}
		out, _ = runCmd(t, true, append([]string{"workspace", "create", "--name", "Y", "--plan", "starter", "--owner-email", "y@y.z", "--json"}, common...))
		var created map[string]string
		if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created["api_key"], "fm_") {
			t.Fatalf("workspace create --json printed %q: %v", out, err)
		}
		if code, ws := call(t, "GET", srv.base+"/v4/workspaces", created["api_key"], nil); code != 200 || ws["uid"] != created["workspace_uid"] {
			t.Errorf("--json key: %d %v", code, ws)
		}
		_, stderr := runCmd(t, false, append([]string{"workspace", "create", "--name", "Z", "--plan", "gold", "--owner-email", "z@y.z"}, common...))
		if !strings.Contains(stderr, "unknown plan") {
			t.Errorf("unknown plan: %s", stderr)
		}

		srv.stop(t, syscall.SIGTERM)
		if strings.Contains(srv.stderr.String(), srv.key) {
			t.Error("the server logged the API key")
		}

		// A second run keeps the data and creates no new demo workspace.
		srv2 := startServer(t, append([]string{"--addr", "127.0.0.1:0"}, common...))
		if keyRE.MatchString(srv2.stdout.String()) || strings.Contains(srv2.stdout.String(), "demo workspace was created") {
			t.Errorf("a restart printed a new key:\n%s", srv2.stdout)
		}
		for _, k := range []string{srv.key, m[1], created["api_key"]} {
			// 429 also proves the key was recognised: on PostgreSQL the
			// trial's 1 req/s window is shared with the previous run.
			if code, _ := call(t, "GET", srv2.base+"/v4/workspaces", k, nil); code != 200 && code != 429 {
				t.Errorf("key after restart: %d", code)
			}
		}
		code, got := call(t, "GET", srv2.base+"/v4/identities/"+id["uid"].(string), srv.key, nil)
		if code != 200 || got["name"] != "E2E identity" {
			t.Errorf("identity after restart: %d %v", code, got)
		}
		srv2.stop(t, os.Interrupt)
	})
}

// TestE2EBootstrapKey: FIRSTMATE_BOOTSTRAP_API_KEY fixes the first key.
func TestE2EBootstrapKey(t *testing.T) {
	const fixed = "fm_bootstrapkeyfortheendtoendtest2345"
	data := t.TempDir()
	srv := startServer(t, []string{"--addr", "127.0.0.1:0", "--data-dir", data}, "FIRSTMATE_BOOTSTRAP_API_KEY="+fixed)
	if got := srv.stdout.wait(t, "printed key", keyRE)[1]; got != fixed {
		t.Errorf("printed key %q, want the bootstrap key", got)
	}
	if code, ws := call(t, "GET", srv.base+"/v4/workspaces", fixed, nil); code != 200 || ws["name"] != "Demo workspace" {
		t.Errorf("bootstrap key: %d %v", code, ws)
	}
	srv.stop(t, syscall.SIGTERM)

	// A malformed bootstrap key is refused at start-up, not silently replaced.
	_, stderr := runCmd(t, false, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, "FIRSTMATE_BOOTSTRAP_API_KEY=short")
	if !strings.Contains(stderr, "fm_") {
		t.Errorf("malformed bootstrap key: %s", stderr)
	}
}

// TestE2ECommands: version, migrate (both databases, twice), help, unknown.
func TestE2ECommands(t *testing.T) {
	out, _ := runCmd(t, true, []string{"version"})
	if !regexp.MustCompile(`^firstmate \S+\n$`).MatchString(out) {
		t.Errorf("version printed %q", out)
	}
	for _, d := range apitest.Dialects(t) {
		st := apitest.NewStore(t, d)
		args := []string{"migrate", "--data-dir", st.DataDir}
		if st.DatabaseURL != "" {
			args = append(args, "--database-url", st.DatabaseURL)
		}
		for i := 0; i < 2; i++ {
			if out, _ := runCmd(t, true, args); !strings.Contains(out, "migrations applied ("+d+")") {
				t.Errorf("migrate on %s printed %q", d, out)
			}
		}
	}
	if out, _ := runCmd(t, true, []string{"help"}); !strings.Contains(out, "usage: firstmate") {
		t.Errorf("help printed %q", out)
	}
	if _, stderr := runCmd(t, false, []string{"frobnicate"}); !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %s", stderr)
	}
	if _, stderr := runCmd(t, false, []string{"migrate", "--database-url", "mysql://x", "--data-dir", t.TempDir()}); !strings.Contains(stderr, "unsupported database URL") {
		t.Errorf("bad database URL: %s", stderr)
	}
	if _, stderr := runCmd(t, false, []string{"workspace", "create", "--data-dir", t.TempDir()}); !strings.Contains(stderr, "required") {
		t.Errorf("workspace create without flags: %s", stderr)
	}
}

// TestE2EGracefulShutdown: a request in flight when SIGTERM arrives
// completes, and its effect is kept. The request is held open by its own
// body: the client sends the headers with Expect: 100-continue, waits for
// the server to ask for the body (so the handler is running), sends SIGTERM,
// waits until the server stops accepting connections, and only then sends
// the body.
func TestE2EGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, []string{"--addr", "127.0.0.1:0", "--data-dir", data})
	srv.key = srv.stdout.wait(t, "printed key", keyRE)[1]
	u, _ := url.Parse(srv.base)

	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(deadline))
	body := `{"name":"In flight at shutdown"}`
	fmt.Fprintf(conn, "POST /v4/identities HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", u.Host, srv.key, len(body))
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, "100 Continue") {
		t.Fatalf("waiting for 100 Continue: %q %v", status, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	srv.stderr.wait(t, "shutdown log", regexp.MustCompile(`shutting down`))
	// Wait (bounded) until the listener is closed: shutdown is under way.
	stopAt := time.Now().Add(deadline)
	for {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(stopAt) {
			t.Fatal("the server still accepts connections after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-srv.exited:
		t.Fatalf("the server exited (%v) with a request in flight", err)
	default:
	}

	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the in-flight response: %v", err)
	}
	data2, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var id map[string]any
	_ = json.Unmarshal(data2, &id)
	if res.StatusCode != 200 || id["name"] != "In flight at shutdown" {
		t.Fatalf("in-flight request: %d %s", res.StatusCode, data2)
	}
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Errorf("exit after graceful shutdown: %v\nstderr:\n%s", err, srv.stderr)
		}
	case <-time.After(deadline):
		t.Fatal("the server did not exit after finishing the in-flight request")
	}

	// The identity made during shutdown is there after a restart.
	srv2 := startServer(t, []string{"--addr", "127.0.0.1:0", "--data-dir", data})
	code, got := call(t, "GET", srv2.base+"/v4/identities/"+id["uid"].(string), srv.key, nil)
	if code != 200 || got["name"] != "In flight at shutdown" {
		t.Errorf("after restart: %d %v", code, got)
	}
	srv2.stop(t, syscall.SIGTERM)
}
