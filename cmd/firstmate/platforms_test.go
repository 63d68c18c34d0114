package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/executor"
)

// TestE2EPlatforms: `firstmate platforms` prints each family's route and,
// for every action, what serves it or why not, as text and as JSON; a
// misconfiguration fails it (and serve) with the setting named.
func TestE2EPlatforms(t *testing.T) {
	out, _ := runCmd(t, true, []string{"platforms"})
	for _, re := range []string{`(?m)^linkedin\s+sandbox\s+sandbox\s+-\s+FIRSTMATE_PLATFORM_LINKEDIN \(default\)$`,
		`(?m)^hubspot\s+hubspot\s+builtin\s+https://api\.hubapi\.com\s+FIRSTMATE_PLATFORM_HUBSPOT \(default\)$`,
		`(?m)^linkedin-extract-people\s+sandbox$`, `(?m)^hubspot-upsert-contact\s+hubspot \(builtin\)$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("platforms lacks %s:\n%s", re, out)
		}
	}

	// The simulator off, LinkedIn on the session driver, TheFork on an
	// executor: what each action gets, and why.
	secret := executor.NewSecret()
	ex := startSimExec(t, "127.0.0.1:0", secret)
	env := []string{"FIRSTMATE_SIM=off", "FIRSTMATE_PLATFORM_LINKEDIN=session", "FIRSTMATE_PLATFORM_THEFORK=executor:" + ex.url,
		"FIRSTMATE_EXECUTOR_SECRETS=" + secret}
	out, _ = runCmd(t, true, []string{"platforms"}, env...)
	for _, re := range []string{`(?m)^googlemaps\s+off\s+off\s+-\s+FIRSTMATE_PLATFORM_GOOGLEMAPS \(default\)$`,
		`(?m)^thefork\s+executor\s+executor\s+` + regexp.QuoteMeta(ex.url) + `\s+FIRSTMATE_PLATFORM_THEFORK$`,
		`executor ` + regexp.QuoteMeta(ex.url) + `: reached \(firstmate-sim\)`,
		`(?m)^thefork-extract-reviews\s+firstmate-sim \(executor\)$`,
		`(?m)^linkedin-extract-people\s+session \(builtin\)$`,
		`(?m)^linkedin-extract-post\s+UNAVAILABLE: the LinkedIn session driver \(FIRSTMATE_PLATFORM_LINKEDIN=session\) does not run`,
		`(?m)^googlemaps-extract-place\s+UNAVAILABLE: no driver serves the googlemaps actions on this server: FIRSTMATE_PLATFORM_GOOGLEMAPS is off`,
		`warning: FIRSTMATE_PLATFORM_SALESNAVIGATOR is off`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("platforms lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, secret) {
		t.Error("platforms prints the executor's secret")
	}

	out, _ = runCmd(t, true, []string{"platforms", "--json"}, env...)
	var doc struct {
		Routes []struct {
			Family, Kind, Driver, Setting string
		} `json:"routes"`
		Executors []struct {
			URL     string `json:"url"`
			Reached bool   `json:"reached"`
		} `json:"executors"`
		Actions []struct {
			Slug      string `json:"slug"`
			Available bool   `json:"available"`
			Reason    string `json:"unavailable_reason"`
			Driver    *struct{ Kind, Name string }
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("platforms --json: %v\n%s", err, out)
	}
	if len(doc.Routes) != 7 || len(doc.Actions) != len(catalog.All()) || len(doc.Executors) != 1 || !doc.Executors[0].Reached {
		t.Fatalf("platforms --json: %d routes, %d actions, executors %+v", len(doc.Routes), len(doc.Actions), doc.Executors)
	}
	for _, a := range doc.Actions {
		if a.Available == (a.Reason != "") {
			t.Errorf("%s: available %v with reason %q", a.Slug, a.Available, a.Reason)
		}
		if strings.HasPrefix(a.Slug, "googlemaps-") && (a.Available || a.Driver != nil) {
			t.Errorf("%s: %+v", a.Slug, a)
		}
	}

	// A misconfiguration: platforms and serve both refuse, naming it.
	_, errOut := runCmd(t, false, []string{"platforms"}, "FIRSTMATE_PLATFORM_GOOGLEMAPS=places")
	if !strings.Contains(errOut, "FIRSTMATE_GOOGLE_PLACES_KEY") {
		t.Errorf("platforms, places without a key: %s", errOut)
	}
	_, errOut = runCmd(t, false, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()},
		"FIRSTMATE_PLATFORM_THEFORK=executor:http://10.9.8.7", "FIRSTMATE_EXECUTOR_SECRETS="+secret)
	if !strings.Contains(errOut, "FIRSTMATE_PLATFORM_THEFORK") || !strings.Contains(errOut, "https") || strings.Contains(errOut, secret) {
		t.Errorf("serve, plain http executor: %s", errOut)
	}
	if out, _ := runCmd(t, true, []string{"platforms", "--help"}); !strings.Contains(out, "usage: firstmate platforms") {
		t.Errorf("platforms --help: %s", out)
	}
}

// TestE2ESimulatorOff: with FIRSTMATE_SIM=off and nothing else, the banner
// says which families are off (and that HubSpot is real), a LinkedIn cookie
// is INVALID at once with the setting named, and a call answers the 424.
func TestE2ESimulatorOff(t *testing.T) {
	srv := startServer(t, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, "FIRSTMATE_SIM=off")
	srv.key = srv.stdout.wait(t, "printed key", keyRE)[1]
	srv.stdout.wait(t, "off families", regexp.MustCompile(`^\s+off:\s+linkedin, salesnavigator, recruiterlite, googlemaps, tripadvisor, thefork `))
	srv.stdout.wait(t, "real families", regexp.MustCompile(`^\s+real:\s+hubspot \(hubspot, https://api\.hubapi\.com\)$`))
	if strings.Contains(srv.stdout.String(), "sandbox:") {
		t.Errorf("the banner lists sandbox families:\n%s", srv.stdout)
	}
	code, id := call(t, "POST", srv.base+"/v4/identities", srv.key, map[string]any{"name": "Off identity"})
	if code != 200 {
		t.Fatalf("identity: %d %v", code, id)
	}
	code, g := call(t, "POST", srv.base+"/v4/identities/"+id["uid"].(string)+"/integrations/linkedin", srv.key,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "AQEDAR-real-looking"}}})
	if meta, _ := g["meta"].(map[string]any); code != 200 || g["status"] != "INVALID" || meta["setting"] != "FIRSTMATE_PLATFORM_LINKEDIN" {
		t.Errorf("connect: %d %v", code, g)
	}
	code, e := call(t, "POST", srv.base+"/v4/actions/linkedin-extract-people/run/live", srv.key, map[string]any{
		"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada"}, "identity_ids": []string{id["uid"].(string)}})
	if p, _ := e["params"].(map[string]any); code != 424 || e["error_label"] != "ACTION_UNAVAILABLE" || p["setting"] != "FIRSTMATE_PLATFORM_LINKEDIN" {
		t.Errorf("live: %d %v", code, e)
	}
	srv.stop(t, syscall.SIGTERM)
}
