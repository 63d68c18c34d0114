package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/sim"
)

func TestProbeCommand(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 5, World: sim.WorldSize{People: 20_000, Companies: 600}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })

	var out, errOut bytes.Buffer
	if err := run([]string{"probe", "linkedin", "--li-at", "sim_premium", "--base-url", ts.URL}, &out, &errOut); err != nil {
		t.Fatalf("probe: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, a := range []string{"linkedin-me", "linkedin-search-people", "linkedin-withdraw-invitations"} {
		if !regexpLine(out.String(), a, "ok") {
			t.Errorf("no %q line with ok:\n%s", a, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"probe", "linkedin", "--li-at", "sim_premium", "--jsessionid", "ajax:1", "--base-url", ts.URL, "--json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res []struct{ Action, Status string }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res) != 14 {
		t.Fatalf("--json: %v %d results\n%s", err, len(res), out.String())
	}
	// an expired session: the command says what broke and exits non-zero
	out.Reset()
	err = run([]string{"probe", "linkedin", "--li-at", "not-a-session", "--jsessionid", "ajax:1", "--base-url", ts.URL}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "changed or broke") || !strings.Contains(out.String(), "NOT_CONNECTED") {
		t.Fatalf("an invalid session: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{{"probe"}, {"probe", "linkedin"}, {"probe", "linkedin", "--li-at", "x", "--recipes", "/nonexistent.json"},
		{"probe", "linkedin", "--li-at", "x", "--base-url", "ftp://x"}, {"probe", "linkedin", "--li-at", "x", "--proxy", "::"}} {
		if err := run(bad, &out, &errOut); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func regexpLine(out, action, status string) bool {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == action && f[1] == status {
			return true
		}
	}
	return false
}

// The probe takes LinkedIn's origin and the recipes file from the settings
// its error messages name (FIRSTMATE_LINKEDIN_URL, FIRSTMATE_LINKEDIN_RECIPES);
// its flags win.
func TestProbeCommandSettings(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 5, World: sim.WorldSize{People: 2_000, Companies: 100}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })

	t.Setenv("FIRSTMATE_LINKEDIN_URL", ts.URL)
	var out, errOut bytes.Buffer
	if err := run([]string{"probe", "linkedin", "--li-at", "sim_premium"}, &out, &errOut); err != nil {
		t.Fatalf("probe with FIRSTMATE_LINKEDIN_URL: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !regexpLine(out.String(), "linkedin-me", "ok") {
		t.Errorf("FIRSTMATE_LINKEDIN_URL: no linkedin-me line with ok:\n%s", out.String())
	}
	missing := t.TempDir() + "/no-such-recipes.json"
	t.Setenv("FIRSTMATE_LINKEDIN_RECIPES", missing)
	err = run([]string{"probe", "linkedin", "--li-at", "sim_premium"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no-such-recipes.json") {
		t.Errorf("FIRSTMATE_LINKEDIN_RECIPES naming a missing file: %v", err)
	}
	// The flags win over both settings.
	out.Reset()
	t.Setenv("FIRSTMATE_LINKEDIN_URL", "http://127.0.0.1:1")
	if err := run([]string{"probe", "linkedin", "--li-at", "sim_premium", "--base-url", ts.URL, "--recipes", ""}, &out, &errOut); err != nil {
		t.Fatalf("flags over settings: %v\n%s", err, out.String())
	}
}
