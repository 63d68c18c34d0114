package runs_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// strict turns the loopback allowance off, as a production operator would.
func strict(a *app.App) {
	a.Runs.Callbacks = send.StrictPolicy()
	a.Dispatch.Sender = send.NewSender(send.Options{Policy: send.StrictPolicy(), Timeout: 3 * time.Second})
}

// loopbackName returns a host name (not "localhost") that resolves only to
// loopback addresses on this machine, or "".
func loopbackName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.EqualFold(h, "localhost") {
		return ""
	}
	addrs, err := net.LookupHost(h)
	if err != nil || len(addrs) == 0 {
		return ""
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return ""
		}
	}
	return h
}

// TestAsyncCallbackSSRF: with the loopback allowance off (contract §7),
// callback URLs to loopback, private, link-local and metadata addresses are
// refused at submission with 400, and a name that resolves to loopback is
// refused at dial time: its delivery ends FAILED at the first attempt and no
// request reaches the loopback receiver. No traffic is ever sent to a
// non-loopback address: those are judged by the policy only.
func TestAsyncCallbackSSRF(t *testing.T) {
	t.Parallel()
	e := startAsync(t, "sqlite", asyncOpts{setup: strict})
	rc := newReceiver(t)
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	body := func(url string) map[string]any {
		return map[string]any{"inputs": placeInputs(1, "ssrf"), "callback": map[string]any{"url": url, "on": "all"}}
	}
	for _, u := range []string{
		"http://127.0.0.1:" + port + "/cb",
		"http://127.1.2.3/cb",
		"http://[::1]:" + port + "/cb",
		"http://[::ffff:127.0.0.1]:" + port + "/cb",
		"http://0.0.0.0:" + port + "/cb",
		"http://localhost:" + port + "/cb",
		"http://api.localhost:" + port + "/cb",
		"http://10.0.0.1/cb",
		"http://192.168.1.1/cb",
		"http://172.16.0.1/cb",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://100.100.100.200/",
		"http://2130706433/cb",
		"http://0x7f.1/cb",
		"ftp://example.com/cb",
		"http://user:pw@example.com/cb",
	} {
		r := e.Do("POST", "/v4/actions/googlemaps-extract-place/run/async", e.Key, body(u))
		msg, _ := r.Obj()["message"].(string)
		if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(msg, "body/callback/url") {
			t.Errorf("callback %s: %d %s, want 400 BAD_INPUT naming body/callback/url", u, r.Status, r.Body)
		}
	}
	if runs := e.Must(200, "GET", "/v4/runs", e.Key, nil).Arr(); len(runs) != 0 {
		t.Errorf("refused submissions created runs: %v", runs)
	}

	// The sender refuses literal private and metadata addresses before any
	// dial; nothing leaves this machine.
	for _, u := range []string{"http://10.0.0.1:9/cb", "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/"} {
		res := e.App.Dispatch.Sender.Send(context.Background(), send.Request{URL: u, Body: []byte(`{}`), ID: "msg_1",
			Secret: send.NewSecret()})
		if !errors.Is(res.Err, send.ErrForbiddenAddress) || !res.Permanent() || res.HTTPStatus != 0 {
			t.Errorf("Send to %s: %+v, want a permanent ErrForbiddenAddress", u, res)
		}
	}

	// A name accepted at submission that resolves to loopback is refused
	// when dialled (as a DNS rebinding would be).
	name := loopbackName()
	if name == "" {
		t.Log("no host name resolving to loopback only: the dial-time check is covered by internal/webhook/send's tests")
		return
	}
	t.Logf("dial-time check through %s", name)
	sub := e.submit(e.Key, "googlemaps-extract-place", body("http://"+name+":"+port+"/cb"))
	uid := sub["run_uid"].(string)
	e.waitStatus(e.Key, uid, 2*time.Minute, "SUCCEEDED")
	end := time.Now().Add(time.Minute)
	for {
		ds := e.callbacks(e.Key, uid, "")
		done := len(ds) == 2
		for _, d := range ds {
			done = done && d["status"] == "FAILED"
		}
		if done {
			for _, d := range ds {
				le, _ := d["last_error"].(string)
				// One attempt, refused for good: no retry made or due.
				if d["retry_count"] != float64(0) || d["next_attempt_at"] != nil || d["http_status"] != nil ||
					!strings.Contains(le, "not allowed") {
					t.Errorf("delivery to %s: %v", name, d)
				}
			}
			break
		}
		if time.Now().After(end) {
			t.Fatalf("deliveries to %s never failed: %v", name, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := rc.all(); len(got) != 0 {
		t.Errorf("the loopback receiver got %d requests through %s", len(got), name)
	}
}

// TestAsyncCallbackPolicyFromEnv: the operator settings
// FIRSTMATE_CALLBACK_ALLOW_LOOPBACK and FIRSTMATE_CALLBACK_ALLOW_CIDRS reach
// the submission check (judged without sending anything).
func TestAsyncCallbackPolicyFromEnv(t *testing.T) {
	check := func(t *testing.T, want map[string]bool) {
		t.Helper()
		e := startAsync(t, "sqlite", asyncOpts{noWorkers: true, defaultPolicy: true})
		for u, ok := range want {
			err := e.App.Runs.Callbacks.ValidateURL(u)
			if (err == nil) != ok {
				t.Errorf("%s: %v, want allowed=%v", u, err, ok)
			}
		}
	}
	t.Run("default", func(t *testing.T) {
		t.Setenv("FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", "")
		t.Setenv("FIRSTMATE_CALLBACK_ALLOW_CIDRS", "")
		check(t, map[string]bool{"http://127.0.0.1:9/": false, "http://localhost:9/": false, "http://[::1]:9/": false,
			"http://10.0.0.1/": false, "http://169.254.169.254/": false, "https://hooks.example.com/": true})
	})
	t.Run("loopback for local development", func(t *testing.T) {
		t.Setenv("FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", "true")
		t.Setenv("FIRSTMATE_CALLBACK_ALLOW_CIDRS", "")
		check(t, map[string]bool{"http://127.0.0.1:9/": true, "http://localhost:9/": true, "http://10.0.0.1/": false,
			"http://169.254.169.254/": false})
	})
	t.Run("strict with a private range", func(t *testing.T) {
		t.Setenv("FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", "false")
		t.Setenv("FIRSTMATE_CALLBACK_ALLOW_CIDRS", "10.0.0.0/8, 169.254.0.0/16")
		check(t, map[string]bool{"http://127.0.0.1:9/": false, "http://localhost:9/": false, "http://10.0.0.1/": true,
			"http://10.255.0.1/": true, "http://192.168.0.1/": false, "http://169.254.1.1/": true,
			"http://169.254.169.254/": false})
	})
	t.Run("a malformed allowance fails closed", func(t *testing.T) {
		t.Setenv("FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", "flase")
		check(t, map[string]bool{"http://127.0.0.1:9/": false})
	})
}
