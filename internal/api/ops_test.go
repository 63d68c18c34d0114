package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/auth"
)

// TestHealthAndMetrics: the operator routes answer without a key; /metrics
// is Prometheus text that counts requests by route pattern.
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		if got := env.Must(200, "GET", "/healthz", "", nil).Obj(); got["status"] != "ok" {
			t.Errorf("healthz: %v", got)
		}
		if got := env.Must(200, "GET", "/readyz", "", nil).Obj(); got["status"] != "ready" {
			t.Errorf("readyz: %v", got)
		}
		key := env.NewWorkspace("Metrics", "unlimited")
		env.Must(200, "GET", "/v4/workspaces", key, nil)
		env.Must(200, "GET", "/v1/workspaces", key, nil)
		env.Do("GET", "/v4/identities/nope", key, nil)
		env.Do("GET", "/v4/no/such/route/"+strings.Repeat("x", 10), key, nil)

		r := env.Must(200, "GET", "/metrics", "", nil)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("metrics Content-Type %q", ct)
		}
		body := string(r.Body)
		for _, want := range []string{
			"# TYPE firstmate_http_requests_total counter",
			`firstmate_http_requests_total{code="200",method="GET",route="GET /v4/workspaces"} 1`,
			`firstmate_http_requests_total{code="200",method="GET",route="GET /v1/workspaces"} 1`,
			`firstmate_http_requests_total{code="404",method="GET",route="GET /v4/identities/{uid}"} 1`,
			`route="unmatched"`,
			"# TYPE firstmate_http_request_duration_seconds histogram",
			"firstmate_http_panics_total 0",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// Label cardinality stays bounded: raw paths never become labels.
		if strings.Contains(body, "/v4/identities/nope") || strings.Contains(body, "/v4/no/such") {
			t.Error("/metrics labels hold raw request paths")
		}
		// Every line is a comment or a sample.
		sample := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfNa]+$`)
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			if !strings.HasPrefix(line, "#") && !sample.MatchString(line) {
				t.Errorf("not Prometheus text: %q", line)
				break
			}
		}
		// A closed database makes /readyz fail in the standard body, but
		// /healthz stays up. A second App on the same store (no job workers
		// to upset) has its database closed under it.
		a2, err := app.Open(context.Background(), env.Store.Config(), slog.New(slog.NewJSONHandler(env.Logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a2.API)
		defer srv.Close()
		a2.DB.Close()
		node2 := &apitest.Env{T: t, Store: env.Store, App: a2, Server: srv, URL: srv.URL, Logs: env.Logs}
		checkError(t, node2, "readyz with the database closed", node2.Do("GET", "/readyz", "", nil), 503, "NOT_READY")
		node2.Must(200, "GET", "/healthz", "", nil)
	})
}

// TestOpenAPIMatchesRoutes: the served OpenAPI document lists exactly the
// (method, path) pairs of the route table and is structurally OpenAPI 3.1.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, "sqlite")
	for _, prefix := range []string{"/v4", "/v1"} {
		r := env.Must(200, "GET", prefix+"/openapi.json", "", nil)
		var doc map[string]any
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("openapi.json: %v", err)
		}
		if prefix == "/v1" {
			continue // same document
		}

		// Same (method, path) pairs. Operator routes ("!/healthz") live
		// outside the /v4 and /v1 servers the document declares, so they are
		// the only ones left out.
		fromTable := map[string]bool{}
		for _, rt := range env.App.API.Routes() {
			if strings.HasPrefix(rt.Path, "!") {
				continue
			}
			fromTable[strings.ToLower(rt.Method)+" "+rt.Path] = true
		}
		fromDoc := map[string]bool{}
		paths, _ := doc["paths"].(map[string]any)
		for p, item := range paths {
			ops, _ := item.(map[string]any)
			for m := range ops {
				switch m {
				case "get", "put", "post", "delete", "options", "head", "patch", "trace":
					fromDoc[m+" "+p] = true
				case "parameters", "summary", "description", "servers", "$ref":
				default:
					t.Errorf("path %s has unknown key %q", p, m)
				}
			}
		}
		for k := range fromTable {
			if !fromDoc[k] {
				t.Errorf("route %s is missing from the OpenAPI document", k)
			}
		}
		for k := range fromDoc {
			if !fromTable[k] {
				t.Errorf("the OpenAPI document lists %s, which the router does not serve", k)
			}
		}
		checkOpenAPIStructure(t, doc)

		// Each documented operation is served under both prefixes (not a
		// router 404/405), and its documented role matches the permission.
		for _, rt := range env.App.API.Routes() {
			if strings.HasPrefix(rt.Path, "!") {
				continue
			}
			op := paths[rt.Path].(map[string]any)[strings.ToLower(rt.Method)].(map[string]any)
			if rt.Perm == auth.Public {
				if sec, ok := op["security"].([]any); !ok || len(sec) != 0 {
					t.Errorf("%s is public but the document asks for a key", routeName(rt))
				}
			} else {
				var roles []string
				for _, r := range op["x-required-role"].([]any) {
					roles = append(roles, r.(string))
				}
				var want []string
				for _, role := range []string{"ops", "owner", "user"} {
					if auth.Allows(role, rt.Perm) {
						want = append(want, role)
					}
				}
				if strings.Join(roles, ",") != strings.Join(want, ",") {
					t.Errorf("%s: x-required-role %v, want %v", routeName(rt), roles, want)
				}
			}
		}
	}
}

// checkOpenAPIStructure checks the parts of the OpenAPI 3.1 structure that
// clients and generators rely on.
func checkOpenAPIStructure(t *testing.T, doc map[string]any) {
	t.Helper()
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %v, want 3.1.x", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		t.Error("info.title is missing")
	}
	if s, _ := info["version"].(string); s == "" {
		t.Error("info.version is missing")
	}
	servers, _ := doc["servers"].([]any)
	var urls []string
	for _, s := range servers {
		u, _ := s.(map[string]any)["url"].(string)
		urls = append(urls, u)
	}
	sort.Strings(urls)
	if strings.Join(urls, ",") != "/v1,/v4" {
		t.Errorf("servers %v, want /v4 and /v1", urls)
	}
	comps, _ := doc["components"].(map[string]any)
	schemes, _ := comps["securitySchemes"].(map[string]any)
	ak, _ := schemes["ApiKey"].(map[string]any)
	if ak["type"] != "apiKey" || ak["in"] != "header" || ak["name"] != "X-API-Key" {
		t.Errorf("securitySchemes.ApiKey = %v", ak)
	}
	errSchema, _ := comps["schemas"].(map[string]any)["Error"].(map[string]any)
	req, _ := errSchema["required"].([]any)
	if len(req) != 6 {
		t.Errorf("components.schemas.Error.required = %v", req)
	}

	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("no paths")
	}
	opIDs := map[string]string{}
	wild := regexp.MustCompile(`\{([^}]+)\}`)
	for p, item := range paths {
		if !strings.HasPrefix(p, "/") {
			t.Errorf("path %q does not start with /", p)
		}
		for m, o := range item.(map[string]any) {
			op, ok := o.(map[string]any)
			if !ok {
				continue
			}
			where := fmt.Sprintf("%s %s", strings.ToUpper(m), p)
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := opIDs[id]; dup {
				t.Errorf("operationId %s is used by %s and %s", id, prev, where)
			}
			opIDs[id] = where
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s has no summary", where)
			}
			resps, _ := op["responses"].(map[string]any)
			if len(resps) == 0 {
				t.Errorf("%s has no responses", where)
			}
			has2xx := false
			for code, rv := range resps {
				if code != "default" && !regexp.MustCompile(`^[1-5]([0-9]{2}|XX)$`).MatchString(code) {
					t.Errorf("%s: response key %q", where, code)
				}
				if strings.HasPrefix(code, "2") {
					has2xx = true
				}
				r, _ := rv.(map[string]any)
				if ref, ok := r["$ref"].(string); ok {
					if !resolves(doc, ref) {
						t.Errorf("%s: %s does not resolve", where, ref)
					}
					continue
				}
				if d, _ := r["description"].(string); d == "" {
					t.Errorf("%s: response %s has no description (required by OpenAPI)", where, code)
				}
				if c, ok := r["content"].(map[string]any); ok {
					for mt, m := range c { // application/json, or a file's type
						if mm, _ := m.(map[string]any); mm["schema"] == nil {
							t.Errorf("%s: response %s content %s has no schema", where, code, mt)
						}
					}
				}
			}
			if !has2xx {
				t.Errorf("%s documents no 2xx response", where)
			}
			// Path parameters: declared once each, required, and only those in the path.
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, pv := range params {
				pm := pv.(map[string]any)
				name, _ := pm["name"].(string)
				in, _ := pm["in"].(string)
				if in != "path" && in != "query" && in != "header" && in != "cookie" {
					t.Errorf("%s: parameter %s in %q", where, name, in)
				}
				if _, ok := pm["schema"]; !ok {
					t.Errorf("%s: parameter %s has no schema", where, name)
				}
				if in == "path" {
					if pm["required"] != true {
						t.Errorf("%s: path parameter %s is not required", where, name)
					}
					if declared[name] {
						t.Errorf("%s: path parameter %s declared twice", where, name)
					}
					declared[name] = true
				}
			}
			for _, w := range wild.FindAllStringSubmatch(p, -1) {
				if !declared[w[1]] {
					t.Errorf("%s: path parameter %s is not declared", where, w[1])
				}
				delete(declared, w[1])
			}
			for name := range declared {
				t.Errorf("%s declares path parameter %s that is not in the path", where, name)
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				c, _ := rb["content"].(map[string]any)
				if _, ok := c["application/json"].(map[string]any)["schema"]; !ok {
					t.Errorf("%s: requestBody has no application/json schema", where)
				}
			}
			if m == "get" || m == "delete" {
				if _, ok := op["requestBody"]; ok && m == "get" {
					t.Errorf("%s documents a request body", where)
				}
			}
		}
	}
	// Every $ref anywhere resolves.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok && !resolves(doc, ref) {
				t.Errorf("$ref %s does not resolve", ref)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
}

func resolves(doc map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
