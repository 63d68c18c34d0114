package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2EDrainAnswersOnOpenConnections: what a stopping node does with the
// connections it has (drain.go). A request that began before SIGTERM is
// answered with "Connection: close"; a keep-alive connection left idle in a
// client's pool since before SIGTERM is not closed under the client when
// the listener closes: a request sent on it after the listener refuses new
// connections is answered, with "Connection: close". The drain is long
// (10 s) so that the test's own steps fit in it on a busy machine; the test
// waits for events (the shutdown log, the refused dial), not for times.
func TestE2EDrainAnswersOnOpenConnections(t *testing.T) {
	srv := startServer(t, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()},
		"FIRSTMATE_SHUTDOWN_DRAIN=10s", "FIRSTMATE_SHUTDOWN_TIMEOUT=60s", "FIRSTMATE_ACCESS_LOG=off")
	srv.key = srv.stdout.wait(t, "printed key", keyRE)[1]
	host := strings.TrimPrefix(srv.base, "http://")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(deadline))
		return c, bufio.NewReader(c)
	}
	get := func(c net.Conn, br *bufio.Reader, what string) *http.Response {
		t.Helper()
		fmt.Fprintf(c, "GET /v4/workspaces HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\n\r\n", host, srv.key)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", what, res.StatusCode)
		}
		return res
	}
	// A keep-alive connection, idle after one answer.
	idle, idleR := dial()
	if res := get(idle, idleR, "before SIGTERM"); res.Close {
		t.Fatal("before SIGTERM: the answer closes the connection")
	}
	// A request under way: its headers sent, its body not yet.
	busy, busyR := dial()
	body := `{"name":"Begun before the drain"}`
	fmt.Fprintf(busy, "POST /v4/identities HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", host, srv.key, len(body))
	if status, err := busyR.ReadString('\n'); err != nil || !strings.Contains(status, "100 Continue") {
		t.Fatalf("waiting for 100 Continue: %q %v", status, err)
	}
	_, _ = busyR.ReadString('\n')

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	srv.stderr.wait(t, "shutdown log", regexp.MustCompile(`shutting down`))
	if _, err := io.WriteString(busy, body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(busyR, nil)
	if err != nil {
		t.Fatalf("the request begun before SIGTERM: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !res.Close {
		t.Errorf("the request begun before SIGTERM: %d, Connection %q; want 200 and close", res.StatusCode, res.Header.Get("Connection"))
	}

	// The listener closes (after the drain) ...
	waitFor(t, "the listener to close", deadline, func() bool {
		c, err := net.Dial("tcp", host)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	// ... and the idle connection still carries a request.
	if res := get(idle, idleR, "on the connection left idle since before SIGTERM, after the listener closed"); !res.Close {
		t.Errorf("after the listener closed: the answer keeps the connection (Connection %q), want close", res.Header.Get("Connection"))
	}
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Errorf("exit: %v\nstderr:\n%s", err, srv.stderr)
		}
	case <-time.After(deadline):
		t.Fatal("the server did not exit")
	}
}
