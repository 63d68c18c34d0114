package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/reftest"
)

// The MCP endpoint (issue 21), driven by the official SDK's client over a
// real loopback listener.

// mcpTranscript records the JSON-RPC bodies a client sent and received.
type mcpTranscript struct {
	mu      sync.Mutex
	entries []string
}

// keyHeader sends the API key (X-API-Key, or Authorization: Bearer) on
// every request and, with a transcript, records request and response.
type keyHeader struct {
	key    string
	bearer bool
	rec    *mcpTranscript
}

func (k keyHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if k.bearer {
		r.Header.Set("Authorization", "Bearer "+k.key)
	} else {
		r.Header.Set("X-API-Key", k.key)
	}
	var reqBody []byte
	if k.rec != nil && r.Body != nil {
		reqBody, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || k.rec == nil {
		return res, err
	}
	resBody, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	k.rec.mu.Lock()
	k.rec.entries = append(k.rec.entries, fmt.Sprintf("--> %s %s\n%s\n<-- %d\n%s\n", r.Method, r.URL.Path,
		strings.TrimSpace(string(reqBody)), res.StatusCode, strings.TrimSpace(string(resBody))))
	k.rec.mu.Unlock()
	return res, nil
}

func mcpConnect(t *testing.T, env *apitest.Env, key string, bearer bool, rec *mcpTranscript) *mcp.ClientSession {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: env.URL + "/mcp", DisableStandaloneSSE: true,
		HTTPClient: &http.Client{Transport: keyHeader{key: key, bearer: bearer, rec: rec}}}
	c := mcp.NewClient(&mcp.Implementation{Name: "firstmate-test", Version: "1"}, nil)
	s, err := c.Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect to /mcp: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mcpTools(t *testing.T, s *mcp.ClientSession) map[string]*mcp.Tool {
	t.Helper()
	out := map[string]*mcp.Tool{}
	for tool, err := range s.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatalf("list tools: %v", err)
		}
		out[tool.Name] = tool
	}
	return out
}

// mcpCall calls a tool and decodes its structured content.
func mcpCall(t *testing.T, s *mcp.ClientSession, name string, args any) (map[string]any, bool) {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: protocol error %v", name, err)
	}
	if len(res.Content) != 1 {
		t.Fatalf("call %s: %d content items, want 1", name, len(res.Content))
	}
	text := res.Content[0].(*mcp.TextContent).Text
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("call %s: content is not a JSON object: %s", name, trunc([]byte(text)))
	}
	return out, res.IsError
}

// mcpOK calls a tool that must succeed.
func mcpOK(t *testing.T, s *mcp.ClientSession, name string, args any) map[string]any {
	t.Helper()
	out, isErr := mcpCall(t, s, name, args)
	if isErr {
		t.Fatalf("call %s: tool error %v", name, out)
	}
	return out
}

// mcpFails calls a tool that must fail with the standard error body.
func mcpFails(t *testing.T, env *apitest.Env, s *mcp.ClientSession, name string, args any, status int, label string) map[string]any {
	t.Helper()
	out, isErr := mcpCall(t, s, name, args)
	if !isErr {
		t.Fatalf("call %s: succeeded, want %d %s: %v", name, status, label, out)
	}
	raw, _ := json.Marshal(out)
	return checkError(t, env, "tool "+name, apitest.Resp{Status: int(toFloat(out["status_code"])), Body: raw,
		Header: http.Header{"Content-Type": {"application/json"}}}, status, label)
}

func toFloat(v any) float64 { f, _ := v.(float64); return f }

// simCalls is how many requests the simulator has served.
func simCalls(env *apitest.Env) int64 {
	var n int64
	for _, st := range env.App.Sim.Stats() {
		n += st.Calls
	}
	return n
}

// referenceSlugs are the actions of the vendor reference.
func referenceSlugs(t *testing.T) []string {
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(reftest.Read(t, reftest.ActionsOpenAPI), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for p := range doc.Paths {
		if strings.HasPrefix(p, "/actions/") && strings.HasSuffix(p, "/run/live") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(p, "/actions/"), "/run/live"))
		}
	}
	sort.Strings(out)
	return out
}

// expectedHints is the test's own reading of a slug: read-only for reads
// (extract, search, me, id lookups); outreach for what the other side
// notices or the inbox housekeeping; destructive unless it is housekeeping.
func expectedHints(slug string) (readOnly, destructive bool) {
	verb := strings.SplitN(slug, "-", 2)[1]
	for _, r := range []string{"extract-", "search-", "peopleid-from"} {
		if strings.HasPrefix(verb, r) {
			return true, false
		}
	}
	if verb == "me" {
		return true, false
	}
	switch verb {
	case "archive-message", "mark-message-as-read":
		return false, false
	}
	return false, true
}

var mcpFixedTools = []string{"run-start-async", "run-status", "run-outputs", "run-cancel", "identity-list", "identity-limits",
	"workspace-credits", "approval-status"}

// TestMCP: discovery, calls, paging, runs and resources, roles, tenancy,
// rails (outreach off by default, dry runs, approvals), hostile arguments
// and the audit log, on both databases.
func TestMCP(t *testing.T) {
	// One family off by routing: none of its actions may become a tool.
	t.Setenv("FIRSTMATE_PLATFORM_THEFORK", "off")
	slugs := referenceSlugs(t)
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := &lvClock{}
		env := lvStart(t, dialect, func(a *app.App) { a.Agents.Now = clk.Now })
		key := env.NewWorkspace("MCP", "unlimited")
		env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"smart_limit_overrides": apitest.WithoutProtections(
			map[string]any{"search_pages": 5000, "search_results": 100000})})
		uid := lvIdentity(t, env, key, "MCP classic", "sim_classic")
		owner := mcpConnect(t, env, key, false, nil)

		t.Run("outreach off by default", func(t *testing.T) {
			st := env.Must(200, "GET", "/v4/workspaces/mcp", key, nil).Obj()
			if st["outreach_enabled"] != false || st["approval_required"] != false || st["endpoint"] != env.URL+"/mcp" {
				t.Fatalf("default rails %v", st)
			}
			tools := mcpTools(t, owner)
			for name, tool := range tools {
				if tool.Annotations == nil {
					t.Fatalf("%s has no annotations", name)
				}
				if ro, _ := expectedHints(name); !ro && strings.HasPrefix(name, "linkedin-") {
					t.Errorf("outreach tool %s listed while outreach is off", name)
				}
			}
			before := simCalls(env)
			body := mcpFails(t, env, owner, "linkedin-connect-profile", lvConnectBody(uid, 1), 403, "FORBIDDEN")
			if body["params"].(map[string]any)["reason"] != "outreach_disabled" {
				t.Fatalf("refusal %v", body)
			}
			if simCalls(env) != before {
				t.Fatal("a refused outreach call reached the platform")
			}
		})

		env.Must(200, "PUT", "/v4/workspaces/mcp", key, map[string]any{"outreach_enabled": true})

		t.Run("list tools", func(t *testing.T) {
			tools := mcpTools(t, owner)
			for _, slug := range slugs {
				tool, ok := tools[slug]
				if strings.HasPrefix(slug, "thefork-") {
					if ok {
						t.Errorf("%s is listed though FIRSTMATE_PLATFORM_THEFORK=off", slug)
					}
					continue
				}
				if !ok {
					t.Errorf("available action %s has no tool", slug)
					continue
				}
				ro, destructive := expectedHints(slug)
				a := tool.Annotations
				if a.ReadOnlyHint != ro {
					t.Errorf("%s: readOnlyHint %v, want %v", slug, a.ReadOnlyHint, ro)
				}
				if !ro && (a.DestructiveHint == nil || *a.DestructiveHint != destructive) {
					t.Errorf("%s: destructiveHint %v, want %v", slug, a.DestructiveHint, destructive)
				}
				sch, _ := tool.InputSchema.(map[string]any)
				props, _ := sch["properties"].(map[string]any)
				for _, p := range []string{"dry_run", "parameters"} {
					if props[p] == nil {
						t.Errorf("%s: input schema lacks %s", slug, p)
					}
				}
				if strings.HasPrefix(slug, "linkedin-") && slug != "linkedin-me" && slug != "linkedin-peopleid-from-salesnavigatorid" && (props["identity_ids"] == nil || props["identity_mode"] == nil) {
					t.Errorf("%s: input schema lacks identity_ids or identity_mode: %v", slug, props)
				}
				if tool.Description == "" || strings.Contains(tool.Description, "\n\n") {
					t.Errorf("%s: description %q", slug, tool.Description)
				}
			}
			for _, name := range mcpFixedTools {
				if tools[name] == nil {
					t.Errorf("tool %s is missing", name)
				}
			}
			// Nothing else: only catalogue actions and the fixed tools.
			ref := map[string]bool{}
			for _, s := range slugs {
				ref[s] = true
			}
			for name := range tools {
				if !ref[name] && !strings.HasPrefix(name, "hubspot-") && !slices.Contains(mcpFixedTools, name) {
					t.Errorf("unexpected tool %s", name)
				}
			}
		})

		t.Run("extraction same as the API", func(t *testing.T) {
			in := map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/firm-1/"}}
			api := lvLive(env, key, "linkedin-extract-company", in, "")
			if api.Status != 200 {
				t.Fatalf("API: %d %s", api.Status, trunc(api.Body))
			}
			out := mcpOK(t, owner, "linkedin-extract-company", in)
			got, _ := json.Marshal(out["result"])
			var want any
			_ = json.Unmarshal(api.Body, &want)
			wantRaw, _ := json.Marshal(want)
			if !bytes.Equal(got, wantRaw) {
				t.Fatalf("MCP result differs from the API's:\n%s\n%s", got, wantRaw)
			}
			if out["run_uid"] == "" || out["run_uid"] == nil {
				t.Fatalf("no run_uid: %v", out)
			}
		})

		t.Run("page to the end", func(t *testing.T) {
			args := map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/bakery+in+lyon/"}}
			seen := map[string]bool{}
			pages := 0
			for {
				pages++
				if pages > 200 {
					t.Fatal("no end after 200 pages")
				}
				out := mcpOK(t, owner, "googlemaps-search-places", args)
				for _, r := range out["result"].([]any) {
					u := r.(map[string]any)["google_maps_place_url"].(string)
					if seen[u] {
						t.Fatalf("%s twice", u)
					}
					seen[u] = true
				}
				next, _ := out["next_cursor"].(string)
				if next == "" {
					break
				}
				args["cursor"] = next
			}
			total := lvSimTotal(t, env, "/maps/search?count=1&query=bakery+in+lyon", "")
			if len(seen) != total || pages < 2 {
				t.Fatalf("paged %d results over %d pages; the platform holds %d", len(seen), pages, total)
			}
		})

		t.Run("async run and its outputs resource", func(t *testing.T) {
			places := []any{
				map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"},
				map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Chez+Marcel/"},
			}
			out := mcpOK(t, owner, "run-start-async", map[string]any{"action": "googlemaps-extract-place", "inputs": places})
			run, _ := out["run_uid"].(string)
			if run == "" || out["outputs_resource"] != "firstmate://runs/"+run+"/outputs" {
				t.Fatalf("start: %v", out)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				st := mcpOK(t, owner, "run-status", map[string]any{"run_uid": run})["result"].(map[string]any)
				if st["status"] == "SUCCEEDED" {
					break
				}
				if st["status"] == "FAILED" || time.Now().After(deadline) {
					t.Fatalf("run status %v", st)
				}
				time.Sleep(25 * time.Millisecond)
			}
			res, err := owner.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "firstmate://runs/" + run + "/outputs"})
			if err != nil {
				t.Fatal(err)
			}
			var rows []map[string]any
			if err := json.Unmarshal([]byte(res.Contents[0].Text), &rows); err != nil || len(rows) != 2 {
				t.Fatalf("resource: %v %s", err, res.Contents[0].Text)
			}
			api := env.Must(200, "GET", "/v4/runs/"+run+"/outputs", key, nil)
			var apiRows []map[string]any
			_ = json.Unmarshal(api.Body, &apiRows)
			a, _ := json.Marshal(apiRows)
			b, _ := json.Marshal(rows)
			if !bytes.Equal(a, b) {
				t.Fatalf("resource differs from GET /outputs:\n%s\n%s", b, a)
			}
			// The outputs tool pages with a cursor.
			first := mcpOK(t, owner, "run-outputs", map[string]any{"run_uid": run, "limit": 1})
			second := mcpOK(t, owner, "run-outputs", map[string]any{"run_uid": run, "limit": 1, "cursor": first["next_cursor"]})
			if len(first["result"].([]any)) != 1 || len(second["result"].([]any)) != 1 {
				t.Fatalf("outputs pages %v / %v", first, second)
			}
			// A foreign run's resource is not found.
			other := env.NewWorkspace("MCP other run", "unlimited")
			if _, err := mcpConnect(t, env, other, false, nil).ReadResource(context.Background(),
				&mcp.ReadResourceParams{URI: "firstmate://runs/" + run + "/outputs"}); err == nil {
				t.Fatal("another workspace read the run's outputs")
			} else if !strings.Contains(err.Error(), "404") {
				t.Fatalf("foreign run: %v", err)
			}
		})

		t.Run("user key", func(t *testing.T) {
			u := addMember(t, env, key, "user@mcp.test", "user")
			s := mcpConnect(t, env, u.Key, true, nil) // Authorization: Bearer
			tools := mcpTools(t, s)
			if len(tools) == 0 {
				t.Fatal("a user key sees no tool")
			}
			for name, tool := range tools {
				if !tool.Annotations.ReadOnlyHint {
					t.Errorf("user key sees %s, which is not read-only", name)
				}
			}
			for _, name := range []string{"linkedin-connect-profile", "linkedin-extract-company", "run-start-async"} {
				if tools[name] != nil {
					t.Errorf("user key sees %s, which the API refuses the user role", name)
				}
			}
			before := simCalls(env)
			mcpFails(t, env, s, "linkedin-connect-profile", lvConnectBody(uid, 2), 403, "FORBIDDEN")
			mcpFails(t, env, s, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/firm-1/"}}, 403, "FORBIDDEN")
			if simCalls(env) != before {
				t.Fatal("a user key's call reached the platform")
			}
			mcpOK(t, s, "workspace-credits", nil)
			mcpOK(t, s, "identity-list", nil)
		})

		t.Run("foreign identity", func(t *testing.T) {
			other := env.NewWorkspace("MCP foreign", "unlimited")
			foreign := lvIdentity(t, env, other, "Foreign", "sim_premium")
			before := simCalls(env)
			in := map[string]any{"identity_ids": []string{foreign},
				"input": map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/firm-1/"}}
			mcpFails(t, env, owner, "linkedin-extract-company", in, 404, "NOT_FOUND")
			in["dry_run"] = true
			mcpFails(t, env, owner, "linkedin-extract-company", in, 404, "NOT_FOUND")
			mcpFails(t, env, owner, "identity-limits", map[string]any{"identity_uid": foreign, "action": "linkedin-connect-profile"}, 404, "NOT_FOUND")
			if simCalls(env) != before {
				t.Fatal("a call with a foreign identity reached the platform")
			}
		})

		t.Run("dry run", func(t *testing.T) {
			// One connection request a day for this identity: the first call
			// spends it; the dry run then reports the limit, without a call.
			dry := lvIdentity(t, env, key, "MCP dry", "sim_premium")
			env.Must(200, "PUT", "/v4/identities/"+dry+"/limits", key, map[string]any{"connection_requests": 1})
			args := lvConnectBody(dry, 10)
			args["dry_run"] = true
			before := simCalls(env)
			ok := mcpOK(t, owner, "linkedin-connect-profile", args)
			if ok["would_run"] != true || ok["identity_uid"] != dry || ok["blocked"] != nil {
				t.Fatalf("dry run within limits: %v", ok)
			}
			if simCalls(env) != before {
				t.Fatal("a dry run reached the platform")
			}
			if r := lvLive(env, key, "linkedin-connect-profile", lvConnectBody(dry, 11), ""); r.Status != 200 {
				t.Fatalf("real call: %d %s", r.Status, trunc(r.Body))
			}
			before = simCalls(env)
			blocked := mcpOK(t, owner, "linkedin-connect-profile", args)
			b, _ := blocked["blocked"].(map[string]any)
			if blocked["would_run"] != false || b == nil || b["error_label"] != "LIMIT_REACHED" ||
				b["params"].(map[string]any)["limit_key"] != "connection_requests" {
				t.Fatalf("dry run over the limit: %v", blocked)
			}
			if simCalls(env) != before {
				t.Fatal("a dry run reached the platform")
			}
			// The live call is refused with the same label.
			mcpFails(t, env, owner, "linkedin-connect-profile", lvConnectBody(dry, 12), 429, "LIMIT_REACHED")
		})

		t.Run("approval", func(t *testing.T) {
			env.Must(200, "PUT", "/v4/workspaces/mcp", key, map[string]any{"approval_required": true, "approval_ttl_seconds": 120})
			defer env.Must(200, "PUT", "/v4/workspaces/mcp", key, map[string]any{"approval_required": false})
			before := simCalls(env)
			p := mcpOK(t, owner, "linkedin-connect-profile", lvConnectBody(uid, 20))
			ap, _ := p["approval_uid"].(string)
			if p["status"] != "PENDING" || ap == "" {
				t.Fatalf("approval mode: %v", p)
			}
			if st := mcpOK(t, owner, "approval-status", map[string]any{"approval_uid": ap})["result"].(map[string]any); st["status"] != "PENDING" {
				t.Fatalf("status %v", st)
			}
			if simCalls(env) != before {
				t.Fatal("a pending approval reached the platform")
			}
			list := env.Must(200, "GET", "/v4/approvals", key, nil).Arr()
			if len(list) != 1 || list[0].(map[string]any)["uid"] != ap {
				t.Fatalf("pending approvals %v", list)
			}
			// A user member cannot confirm; another workspace cannot see it.
			usr := addMember(t, env, key, "user2@mcp.test", "user")
			checkError(t, env, "user confirms", env.Do("POST", "/v4/approvals/"+ap, usr.Key, map[string]any{"decision": "confirm"}), 403, "FORBIDDEN")
			other := env.NewWorkspace("MCP approvals other", "unlimited")
			checkError(t, env, "foreign confirm", env.Do("POST", "/v4/approvals/"+ap, other, map[string]any{"decision": "confirm"}), 404, "NOT_FOUND")
			if simCalls(env) != before {
				t.Fatal("a refused confirmation reached the platform")
			}
			done := env.Must(200, "POST", "/v4/approvals/"+ap, key, map[string]any{"decision": "confirm"}).Obj()
			if done["status"] != "SUCCEEDED" || done["run_uid"] == "" || done["result"] == nil {
				t.Fatalf("confirmed: %v", done)
			}
			if simCalls(env) == before {
				t.Fatal("the confirmed call did not reach the platform")
			}
			if st := mcpOK(t, owner, "approval-status", map[string]any{"approval_uid": ap})["result"].(map[string]any); st["status"] != "SUCCEEDED" {
				t.Fatalf("status after confirm %v", st)
			}
			checkError(t, env, "confirm twice", env.Do("POST", "/v4/approvals/"+ap, key, map[string]any{"decision": "confirm"}), 409, "CONFLICT")

			// Expiry: past its lifetime an approval reads EXPIRED and can no
			// longer be confirmed.
			before = simCalls(env)
			p = mcpOK(t, owner, "linkedin-connect-profile", lvConnectBody(uid, 21))
			ap2, _ := p["approval_uid"].(string)
			clk.Advance(121 * time.Second)
			if st := mcpOK(t, owner, "approval-status", map[string]any{"approval_uid": ap2})["result"].(map[string]any); st["status"] != "EXPIRED" {
				t.Fatalf("status after expiry %v", st)
			}
			checkError(t, env, "confirm expired", env.Do("POST", "/v4/approvals/"+ap2, key, map[string]any{"decision": "confirm"}), 409, "CONFLICT")
			if l := env.Must(200, "GET", "/v4/approvals", key, nil).Arr(); len(l) != 0 {
				t.Fatalf("expired approval still pending: %v", l)
			}
			if simCalls(env) != before {
				t.Fatal("an expired approval reached the platform")
			}
			// A key's rails can require approval on their own, never allow
			// outreach the workspace turned off.
			kuid := principal(t, env, key).KeyUID
			kr := env.Must(200, "PUT", "/v4/api-keys/"+kuid+"/mcp", key, map[string]any{"outreach_enabled": false}).Obj()
			if kr["effective"].(map[string]any)["outreach_enabled"] != false {
				t.Fatalf("key rails %v", kr)
			}
			if tools := mcpTools(t, owner); tools["linkedin-connect-profile"] != nil {
				t.Fatal("outreach listed for a key whose rails turn it off")
			}
			env.Must(200, "PUT", "/v4/api-keys/"+kuid+"/mcp", key, map[string]any{"outreach_enabled": nil})
			checkError(t, env, "foreign key rails", env.Do("GET", "/v4/api-keys/"+principal(t, env, other).KeyUID+"/mcp", key, nil), 404, "NOT_FOUND")
		})

		t.Run("hostile arguments", func(t *testing.T) {
			before := simCalls(env)
			company := map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/firm-1/"}
			mcpFails(t, env, owner, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid}, "input": 5}, 400, "BAD_INPUT")
			mcpFails(t, env, owner, "linkedin-extract-company", map[string]any{"identity_ids": "me", "input": company}, 400, "BAD_INPUT")
			body := mcpFails(t, env, owner, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid}, "input": company, "sneaky": 1}, 400, "BAD_INPUT")
			if body["params"].(map[string]any)["additionalProperty"] != "sneaky" {
				t.Fatalf("unknown field: %v", body)
			}
			mcpFails(t, env, owner, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid}, "input": company, "dry_run": "yes"}, 400, "BAD_INPUT")
			mcpFails(t, env, owner, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid}, "input": company, "cursor": "page=1&x=2"}, 400, "BAD_PARAMETERS")
			huge := strings.Repeat("x", 2<<20)
			mcpFails(t, env, owner, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/" + huge}}, 413, "BAD_INPUT")
			mcpFails(t, env, owner, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/\u0000nul"}}, 400, "BAD_INPUT")
			mcpFails(t, env, owner, "run-status", map[string]any{"run_uid": 123}, 400, "BAD_INPUT")
			mcpFails(t, env, owner, "run-status", map[string]any{"run_uid": "../../workspaces"}, 404, "NOT_FOUND")
			mcpFails(t, env, owner, "run-status", map[string]any{"run_uid": strings.Repeat("r", 5000)}, 400, "BAD_INPUT")
			mcpFails(t, env, owner, "run-start-async", map[string]any{"action": "no-such-action", "inputs": []any{company}}, 404, "NOT_FOUND")
			mcpFails(t, env, owner, "identity-list", []any{1, 2}, 400, "BAD_INPUT")
			if simCalls(env) != before {
				t.Fatal("a refused call reached the platform")
			}
			// Over the endpoint's own body limit: the standard 413 body.
			req, _ := http.NewRequest("POST", env.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"identity-list","arguments":{"query":"`+strings.Repeat("y", 5<<20)+`"}}}`))
			req.Header.Set("X-API-Key", key)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			checkError(t, env, "huge MCP request", apitest.Resp{Status: res.StatusCode, Header: res.Header, Body: raw}, 413, "BAD_INPUT")
			// The server still answers.
			mcpOK(t, owner, "workspace-credits", map[string]any{})
		})

		t.Run("authentication", func(t *testing.T) {
			for _, k := range []string{"", randomKey()} {
				req, _ := http.NewRequest("POST", env.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
				req.Header.Set("Content-Type", "application/json")
				if k != "" {
					req.Header.Set("Authorization", "Bearer "+k)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				checkError(t, env, "MCP without a valid key", apitest.Resp{Status: res.StatusCode, Header: res.Header, Body: raw}, 401, "UNAUTHORIZED")
			}
		})

		t.Run("audit log", func(t *testing.T) {
			p := principal(t, env, key)
			evs := env.Must(200, "GET", "/v4/audit-events?action=mcp.tool_call&limit=200", key, nil).Arr()
			outcomes := map[string]bool{}
			for _, e := range evs {
				m := e.(map[string]any)
				actor := m["actor"].(map[string]any)
				if actor["key_uid"] == p.KeyUID {
					outcomes[m["detail"].(map[string]any)["outcome"].(string)] = true
				}
			}
			for _, o := range []string{"ok", "error", "dry_run", "pending_approval"} {
				if !outcomes[o] {
					t.Errorf("no audited call with outcome %s by the owner's key (%v)", o, outcomes)
				}
			}
		})
	})
}

// TestMCPTranscript saves a short session (request and response JSON) to
// the file FIRSTMATE_MCP_TRANSCRIPT names (docs/mcp-transcript.md holds
// one); without it, it only checks the session works.
func TestMCPTranscript(t *testing.T) {
	env := lvStart(t, "sqlite", nil)
	key := env.NewWorkspace("Transcript", "unlimited")
	rec := &mcpTranscript{}
	s := mcpConnect(t, env, key, true, rec)
	tools := mcpTools(t, s)
	if tools["googlemaps-extract-place"] == nil {
		t.Fatal("no googlemaps-extract-place tool")
	}
	in := map[string]any{"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"}}
	mcpOK(t, s, "googlemaps-extract-place", in)
	in["dry_run"] = true
	mcpOK(t, s, "googlemaps-extract-place", in)
	mcpFails(t, env, s, "linkedin-connect-profile", lvConnectBody("nobody", 1), 403, "FORBIDDEN")
	// A client of the 2025-06-18 protocol (initialize, then requests
	// without a session): the stateless endpoint serves it too.
	for i, msg := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"old","version":"1"}}}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"workspace-credits","arguments":{}}}`,
	} {
		req, _ := http.NewRequest("POST", env.URL+"/mcp", strings.NewReader(msg))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if i > 0 {
			req.Header.Set("MCP-Protocol-Version", "2025-06-18")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var out struct {
			Result map[string]any `json:"result"`
			Error  any            `json:"error"`
		}
		if res.StatusCode != 200 || json.Unmarshal(raw, &out) != nil || out.Error != nil || out.Result == nil {
			t.Fatalf("2025-06-18 client, message %d: %d %s", i+1, res.StatusCode, trunc(raw))
		}
		if i == 1 && len(out.Result["tools"].([]any)) < 10 {
			t.Fatalf("2025-06-18 tools/list: %s", trunc(raw))
		}
	}
	path := os.Getenv("FIRSTMATE_MCP_TRANSCRIPT")
	if path == "" {
		return
	}
	var b strings.Builder
	b.WriteString("# MCP session transcript\n\nRecorded by `TestMCPTranscript` (internal/api/mcp_test.go) with the SDK's client " +
		"against /mcp on a loopback listener: initialize, tools/list (cut), an extraction, its dry run, and an outreach call " +
		"refused because outreach is off by default. The key is redacted.\n\n```text\n")
	for _, e := range rec.entries {
		e = strings.ReplaceAll(e, key, "fm_REDACTED")
		if strings.Contains(e, `"tools/list"`) {
			// The list is long (every action): keep its first tool.
			if i := strings.Index(e, `},{"annotations"`); i > 0 {
				e = e[:i] + `}, ... ]}}` + "\n"
			}
		}
		b.WriteString(e + "\n")
	}
	b.WriteString("```\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d exchanges written to %s", len(rec.entries), path)
}
