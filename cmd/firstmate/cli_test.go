package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/config"
)

// commandFlags is every subcommand an operator can type and the flags it
// takes, written from the commands' purpose (README), not from cli.go.
var commandFlags = map[string][]string{
	"serve":            {"addr", "public-url", "data-dir", "database-url"},
	"migrate":          {"data-dir", "database-url"},
	"workspace create": {"name", "plan", "owner-email", "json", "data-dir", "database-url"},
	"keys create":      {"workspace", "role", "member", "name", "json", "data-dir", "database-url"},
	"keys list":        {"workspace", "json", "data-dir", "database-url"},
	"keys revoke":      {"workspace", "key", "data-dir", "database-url"},
	"pool add":         {"name", "li-at", "data-dir", "database-url"},
	"pool list":        {"json", "data-dir", "database-url"},
	"pool check":       {"data-dir", "database-url"},
	"pool remove":      {"uid", "data-dir", "database-url"},
	"pool rent":        {"workspace", "identity", "days", "platform", "data-dir", "database-url"},
	"pool expire":      {"data-dir", "database-url"},
	"proxies list":     {"json", "data-dir", "database-url"},
	"platforms":        {"json", "wait"},
	"sim":              {"addr", "seed", "data-file", "latency", "executor", "executor-secret"},
	"sim accounts":     {"json"},
	"executor check":   {"secret", "secret-file", "deadline", "slow-deadline", "max-pages", "outreach", "cases"},
	"probe linkedin":   {"li-at", "jsessionid", "user-agent", "proxy", "base-url", "recipes", "write", "profile", "message", "company", "timeout", "json"},
	"version":          {},
}

// runIn runs the binary in dir with a clean environment.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv("HOME=" + dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func assertEmpty(t *testing.T, dir, after string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s created %s in the working directory", after, e.Name())
	}
}

var flagLineRE = regexp.MustCompile(`(?m)^\s+--?([a-z][a-z-]*)\b`)

// TestE2EHelp: --help and -h print the whole usage, naming every command,
// and exit 0; each command's --help prints its own flags only, exits 0 and
// creates nothing (run in an empty directory, where the default data
// directory would otherwise appear).
func TestE2EHelp(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, stderr, err := runIn(t, dir, args...)
		if err != nil {
			t.Fatalf("firstmate %v: %v\n%s", args, err, stderr)
		}
		for name := range commandFlags {
			if !strings.Contains(out, "\n  "+name+" ") && !strings.Contains(out, "\n  "+name+"\n") {
				t.Errorf("firstmate %v does not list %q:\n%s", args, name, out)
			}
		}
		if !strings.Contains(out, "help config") {
			t.Errorf("firstmate %v does not mention help config", args)
		}
	}
	assertEmpty(t, dir, "firstmate --help")

	for name, want := range commandFlags {
		for _, h := range []string{"--help", "-h"} {
			args := append(strings.Fields(name), h)
			out, stderr, err := runIn(t, dir, args...)
			if err != nil {
				t.Errorf("firstmate %s %s: %v\n%s", name, h, err, stderr)
				continue
			}
			if !strings.HasPrefix(out, "usage: firstmate "+name) {
				t.Errorf("firstmate %s %s printed:\n%s", name, h, out)
			}
			var got []string
			for _, m := range flagLineRE.FindAllStringSubmatch(out, -1) {
				got = append(got, m[1])
			}
			sort.Strings(got)
			exp := append([]string(nil), want...)
			sort.Strings(exp)
			if strings.Join(got, " ") != strings.Join(exp, " ") {
				t.Errorf("firstmate %s %s lists the flags %v, want %v:\n%s", name, h, got, exp, out)
			}
			assertEmpty(t, dir, "firstmate "+name+" "+h)
		}
		// help COMMAND says the same.
		viaHelp, _, err := runIn(t, dir, append([]string{"help"}, strings.Fields(name)...)...)
		direct, _, _ := runIn(t, dir, append(strings.Fields(name), "--help")...)
		if err != nil || viaHelp != direct {
			t.Errorf("firstmate help %s (%v) differs from firstmate %s --help:\n%s", name, err, name, viaHelp)
		}
	}
	// A group alone lists its commands; asked for help, it succeeds.
	out, _, err := runIn(t, dir, "pool", "--help")
	if err != nil || !strings.Contains(out, "pool check") || !strings.Contains(out, "pool rent") {
		t.Errorf("firstmate pool --help: %v\n%s", err, out)
	}
	if _, stderr, err := runIn(t, dir, "pool"); err == nil || !strings.Contains(stderr, "pool add") {
		t.Errorf("firstmate pool (no command): %v\n%s", err, stderr)
	}
	assertEmpty(t, dir, "firstmate pool")

	// help config is the configuration reference, every variable in it.
	out, _, err = runIn(t, dir, "help", "config")
	if err != nil || out != config.Help() {
		t.Errorf("firstmate help config: %v\n%s", err, out)
	}
	for _, v := range []string{"FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", "FIRSTMATE_CALLBACK_ALLOW_CIDRS", "FIRSTMATE_ACCESS_LOG"} {
		if !strings.Contains(out, v) {
			t.Errorf("firstmate help config does not list %s", v)
		}
	}
}

// TestE2EMalformedSetting: a malformed variable stops serve with a message
// naming it, instead of being ignored.
func TestE2EMalformedSetting(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--data-dir", dir)
	cmd.Env = cleanEnv("FIRSTMATE_RUN_WORKERS=lots")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err == nil || !strings.Contains(errb.String(), "FIRSTMATE_RUN_WORKERS") {
		t.Errorf("serve with FIRSTMATE_RUN_WORKERS=lots: %v\n%s", err, errb.String())
	}
}

// TestKeysRecovery: an operator who lost every key of a workspace makes a
// new one from the command line (by workspace name or uid), lists and
// revokes keys; each change is in the workspace's audit log as an operator
// action. A name two workspaces share is refused.
func TestKeysRecovery(t *testing.T) {
	for _, d := range apitest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			st := apitest.NewStore(t, d)
			t.Setenv("FIRSTMATE_SECRET_KEY", st.SecretKey)
			base := []string{"--data-dir", st.DataDir}
			if st.DatabaseURL != "" {
				base = append(base, "--database-url", st.DatabaseURL)
			}
			cli := func(wantOK bool, args ...string) (string, string) {
				t.Helper()
				var out, errb bytes.Buffer
				err := run(append(args, base...), &out, &errb)
				if wantOK && err != nil {
					t.Fatalf("firstmate %v: %v\n%s", args, err, errb.String())
				}
				if !wantOK {
					if err == nil {
						t.Fatalf("firstmate %v succeeded:\n%s", args, out.String())
					}
					return out.String(), err.Error()
				}
				return out.String(), errb.String()
			}
			decode := func(s string) map[string]string {
				t.Helper()
				var m map[string]string
				if err := json.Unmarshal([]byte(s), &m); err != nil {
					t.Fatalf("%q: %v", s, err)
				}
				return m
			}
			out, _ := cli(true, "workspace", "create", "--name", "Lost Keys Ltd", "--plan", "unlimited", "--owner-email", "boss@lost.test", "--json")
			ws := decode(out)
			lostKey := ws["api_key"] // the key the workspace then loses

			out, _ = cli(true, "keys", "create", "--workspace", "lost keys ltd", "--json")
			rec := decode(out)
			if rec["workspace_uid"] != ws["workspace_uid"] || rec["role"] != "owner" || rec["member_email"] != "boss@lost.test" ||
				!strings.HasPrefix(rec["api_key"], "fm_") || rec["api_key"] == lostKey {
				t.Fatalf("keys create by name: %v", rec)
			}
			out, _ = cli(true, "keys", "create", "--workspace", ws["workspace_uid"], "--name", "ci")
			if !regexp.MustCompile(`(?m)^  fm_[a-z2-7]+$`).MatchString(out) || !strings.Contains(out, "boss@lost.test (owner)") {
				t.Errorf("keys create by uid printed:\n%s", out)
			}
			if _, msg := cli(false, "keys", "create", "--workspace", ws["workspace_uid"], "--role", "ops"); !strings.Contains(msg, "no member with the role ops") {
				t.Errorf("--role ops without an ops member: %s", msg)
			}
			if _, msg := cli(false, "keys", "create", "--workspace", "No Such Workspace"); !strings.Contains(msg, "No Such Workspace") {
				t.Errorf("unknown workspace: %s", msg)
			}

			// The recovered key works, as the owner, against a server on the same data.
			e := apitest.StartOn(t, st)
			if r := e.Do("GET", "/v4/workspaces", rec["api_key"], nil); r.Status != 200 || r.Obj()["uid"] != ws["workspace_uid"] {
				t.Fatalf("GET /v4/workspaces with the recovered key: %d %s", r.Status, r.Body)
			}

			// keys list shows the three keys, with their members, never the keys.
			out, _ = cli(true, "keys", "list", "--workspace", ws["workspace_uid"], "--json")
			var keys []map[string]any
			if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 3 {
				t.Fatalf("keys list: %v %s", err, out)
			}
			if strings.Contains(out, rec["api_key"]) || strings.Contains(out, lostKey) {
				t.Errorf("keys list printed a key")
			}
			if keys[0]["prefix"] != lostKey[:11] || keys[1]["uid"] != rec["key_uid"] || keys[1]["member_email"] != "boss@lost.test" {
				t.Errorf("keys list: %v", keys)
			}

			// Revoke the lost key by its prefix: it stops working.
			out, _ = cli(true, "keys", "revoke", "--workspace", ws["workspace_uid"], "--key", lostKey[:11])
			if !strings.Contains(out, "revoked key") {
				t.Errorf("keys revoke: %s", out)
			}
			e.App.DB.Invalidate() // revoked by another process: skip the node's one-second read cache
			if r := e.Do("GET", "/v4/workspaces", lostKey, nil); r.Status != 401 {
				t.Errorf("the revoked key: %d", r.Status)
			}
			if _, msg := cli(false, "keys", "revoke", "--workspace", ws["workspace_uid"], "--key", keys[0]["uid"].(string)); !strings.Contains(msg, "already revoked") {
				t.Errorf("revoking twice: %s", msg)
			}

			// The audit log names the operator as the actor.
			r := e.Do("GET", "/v4/audit-events?target_type=api_key", rec["api_key"], nil)
			var evs []struct {
				Action    string         `json:"action"`
				TargetUID string         `json:"target_uid"`
				Actor     map[string]any `json:"actor"`
				Detail    map[string]any `json:"detail"`
			}
			if err := json.Unmarshal(r.Body, &evs); err != nil || r.Status != 200 {
				t.Fatalf("audit events: %d %s", r.Status, r.Body)
			}
			seen := map[string]int{}
			for _, ev := range evs {
				if ev.Actor["operator"] != true || ev.Actor["member_uid"] != "" || ev.Detail["via"] != "operator" {
					t.Errorf("audit event %s: actor %v detail %v", ev.Action, ev.Actor, ev.Detail)
				}
				seen[ev.Action]++
			}
			if seen["api_key.create"] != 2 || seen["api_key.revoke"] != 1 {
				t.Errorf("audit events: %v", seen)
			}

			// A second workspace with the same name (another case): the name is ambiguous.
			cli(true, "workspace", "create", "--name", "LOST KEYS LTD", "--plan", "trial", "--owner-email", "other@lost.test")
			if _, msg := cli(false, "keys", "create", "--workspace", "Lost Keys Ltd"); !strings.Contains(msg, "give the uid") ||
				!strings.Contains(msg, ws["workspace_uid"]) {
				t.Errorf("ambiguous name: %s", msg)
			}
		})
	}
}

// TestREADMEWarnsOfTheFirstBuild: next to the command that starts
// Firstmate, the README says that the first run compiles for a while,
// silently, and how long.
func TestREADMEWarnsOfTheFirstBuild(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i := strings.Index(text, "go run ./cmd/firstmate")
	if i < 0 {
		t.Fatal("the README does not show go run ./cmd/firstmate")
	}
	near := text[i:min(len(text), i+1200)]
	if !regexp.MustCompile("first\\s+`go run`[^.]*compiles").MatchString(near) ||
		!regexp.MustCompile(`\d[\d½.,]*\s+minutes?\s+on\s+an?\s+[\w -]*2-core`).MatchString(near) {
		t.Errorf("the README does not say, next to go run, how long the first compilation takes:\n%s", near)
	}
}

// The executor secret from the environment is not shown as a flag default
// by firstmate sim --help (help output ends up in terminals and bug reports).
func TestSimHelpHidesTheExecutorSecret(t *testing.T) {
	const secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
	t.Setenv("FIRSTMATE_SIM_EXECUTOR_SECRET", secret)
	var out, errb bytes.Buffer
	if err := run([]string{"sim", "--help"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "-executor-secret") || strings.Contains(out.String()+errb.String(), secret) {
		t.Errorf("firstmate sim --help with FIRSTMATE_SIM_EXECUTOR_SECRET set:\n%s", out.String())
	}
}
