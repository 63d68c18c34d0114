package console

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := newThrottle()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := 0; i < maxFailsPerAccount; i++ {
		if w := th.blocked("a@x", "1.1.1.1", now); w != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		th.fail("a@x", "1.1.1.1", now)
	}
	if w := th.blocked("a@x", "2.2.2.2", now); w != throttleWindow {
		t.Errorf("the account is not blocked from another address: %v", w)
	}
	if w := th.blocked("b@x", "1.1.1.1", now); w != 0 {
		t.Errorf("another account from the address is blocked after %d failures: %v", maxFailsPerAccount, w)
	}
	if w := th.blocked("a@x", "1.1.1.1", now.Add(throttleWindow)); w != 0 {
		t.Errorf("still blocked when the window has passed: %v", w)
	}
	// Per address: many accounts, one address.
	for i := 0; i < maxFailsPerIP; i++ {
		th.fail(string(rune('c'+i%20))+"@y", "3.3.3.3", now)
	}
	if w := th.blocked("new@y", "3.3.3.3", now.Add(time.Minute)); w != throttleWindow-time.Minute {
		t.Errorf("the address is not blocked after %d failures: %v", maxFailsPerIP, w)
	}
	// A success clears the account's count, not the address's.
	th.success("new@y")
	if w := th.blocked("new@y", "3.3.3.3", now.Add(time.Minute)); w == 0 {
		t.Errorf("the address's block was lifted by a success")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/runs?x=1": "/runs?x=1", "//evil.test/": "/", "https://evil.test": "/",
		"/\\evil.test": "/", "": "/", "/v4/workspaces": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNextFirings(t *testing.T) {
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC) // a Friday; Paris goes to summer time on the 29th
	got, desc, err := nextFirings("0 9 * * 1-5", "Europe/Paris", now, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Mon 2026-03-30 09:00 CEST", "Tue 2026-03-31 09:00 CEST", "Wed 2026-04-01 09:00 CEST",
		"Thu 2026-04-02 09:00 CEST", "Fri 2026-04-03 09:00 CEST"}
	if len(got) != 5 {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("firing %d: %s, want %s", i, got[i], want[i])
		}
	}
	if desc != "at 09:00, Monday to Friday" {
		t.Errorf("description %q", desc)
	}
	if _, _, err := nextFirings("61 * * * *", "UTC", now, 5); err == nil {
		t.Error("a bad cron previewed")
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "@x": "'@x", "plain": "plain", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q", in, got)
		}
	}
}

func TestTemplatesParse(t *testing.T) {
	c, err := New(Deps{API: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"overview", "identities", "identity", "runs", "run", "schedules", "schedule", "actions",
		"action", "members", "settings", "reference", "login", "setpassword", "invite", "message"} {
		if c.pages[n] == nil {
			t.Errorf("no page %s", n)
		}
	}
}

func TestFigures(t *testing.T) {
	for in, want := range map[any]string{0.0: "0", 999.0: "999", 1000.0: "1,000", 1234567.0: "1,234,567", -12345.0: "-12,345",
		1234.5: "1,234.50", "100000": "100,000", nil: "", "": ""} {
		if got := fmtn(in); got != want {
			t.Errorf("fmtn(%v) = %q, want %q", in, got, want)
		}
	}
	if label("NONE") != "not connected" || label("VALID") != "VALID" {
		t.Error("label")
	}
	if s := string(hbarChart([]series{{Name: "NONE", Total: 1200}})); !strings.Contains(s, "not connected") || strings.Contains(s, "NONE") ||
		!strings.Contains(s, "1,200") {
		t.Errorf("health chart: %s", s)
	}
	ov := map[string]any{"profile_visits": 7.0, "connection_requests": map[string]any{"7d": 100.0}}
	for _, c := range []struct{ key, window, want string }{{"profile_visits", "24h", "7"}, {"connection_requests", "7d", "100"},
		{"connection_requests", "24h", ""}, {"messages", "24h", ""}} {
		if got := override(ov, c.key, c.window); got != c.want {
			t.Errorf("override %s/%s = %q, want %q", c.key, c.window, got, c.want)
		}
	}
}
