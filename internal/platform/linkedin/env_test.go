package linkedin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/sim"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

const referencePath = "../../../../shared/reference/captaindata-v4-actions.openapi.json"

var (
	schemaMu      sync.Mutex
	outputSchemas = map[string]*validate.Schema{}
)

// referenceOutput compiles, from the vendor reference itself, the output
// component of an action (e.g. LinkedinExtractPeopleOutput).
func referenceOutput(t *testing.T, slug string) *validate.Schema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := outputSchemas[slug]; ok {
		return s
	}
	raw, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("the reference file is needed to check outputs: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	name := ""
	for _, part := range strings.Split(slug, "-") {
		name += strings.ToUpper(part[:1]) + part[1:]
	}
	name += "Output"
	src, ok := doc.Components.Schemas[name]
	if !ok {
		t.Fatalf("reference has no %s", name)
	}
	s, err := validate.Compile(name, src)
	if err != nil {
		t.Fatal(err)
	}
	outputSchemas[slug] = s
	return s
}

// checkOutputs validates each result, in its wire form, against the
// reference output schema, and checks it carries only catalogued fields.
func checkOutputs(t *testing.T, slug string, results []map[string]any) {
	t.Helper()
	s := referenceOutput(t, slug)
	a := mustAction(t, slug)
	known := map[string]bool{}
	for _, f := range a.Outputs {
		known[f.Name] = true
	}
	for i, r := range results {
		for k, v := range r {
			if !known[k] {
				t.Errorf("%s result %d: field %q is not an output of the action", slug, i, k)
			}
			if v == nil || v == "" {
				t.Errorf("%s result %d: field %q is present but empty: absent fields must be left out", slug, i, k)
			}
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%s result %d does not marshal: %v", slug, i, err)
		}
		v, e := validate.DecodeJSON(b)
		if e != nil {
			t.Fatal(e)
		}
		if e := s.Validate("output", v); e != nil {
			t.Errorf("%s result %d does not match the reference: %s\n%s", slug, i, e.Message, b)
		}
	}
}

func mustAction(t *testing.T, slug string) *catalog.Action {
	t.Helper()
	a, ok := catalog.Get(slug)
	if !ok {
		t.Fatalf("%s not in the catalogue", slug)
	}
	return a
}

// liveCall decodes a live body through the catalogue, as the API does.
func liveCall(t *testing.T, slug string, body map[string]any) platform.Call {
	t.Helper()
	a := mustAction(t, slug)
	if body == nil {
		body = map[string]any{}
	}
	b, _ := json.Marshal(body)
	req, err := a.DecodeLive(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return platform.Call{Action: a, Input: req.Input.Values, Params: req.Parameters, Page: 1, PageSize: a.PageSize}
}

func in(field, value string) map[string]any {
	return map[string]any{"input": map[string]any{field: value}}
}

func label(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Label
	}
	return fmt.Sprintf("not an apperr: %v", err)
}

func param(err error, k string) string {
	if e, ok := apperr.As(err); ok {
		return e.Params[k]
	}
	return ""
}

// seen is one request the sandbox received.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Cookies                map[string]string
}

// env is the sandbox (its web-API face) and a driver pointed at it. A spy
// in front of the sandbox records every request; rewrite, when set, may
// answer instead of the sandbox.
type env struct {
	t   *testing.T
	sim *sim.Server
	ts  *httptest.Server
	d   *linkedin.Driver

	mu      sync.Mutex
	reqs    []seen
	rewrite func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
}

func newEnv(t *testing.T, cfg sim.Config) *env {
	t.Helper()
	if cfg.World == (sim.WorldSize{}) {
		cfg.World = sim.WorldSize{People: 20_000, Companies: 600}
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: s}
	h := s.Handler()
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck := map[string]string{}
		for _, c := range r.Cookies() {
			ck[c.Name] = c.Value
			if c.Quoted {
				ck[c.Name] = `"` + c.Value + `"`
			}
		}
		e.mu.Lock()
		e.reqs = append(e.reqs, seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Cookies: ck})
		rw := e.rewrite
		e.mu.Unlock()
		if rw != nil && rw(w, r, h) {
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { e.ts.Close(); s.Close() })
	e.d = e.driver(nil)
	return e
}

func (e *env) driver(r *linkedin.Recipes) *linkedin.Driver {
	e.t.Helper()
	d, err := linkedin.New(linkedin.Config{BaseURL: e.ts.URL, Recipes: r})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) requests() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.reqs...)
}

func (e *env) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reqs = nil
}

func (e *env) setRewrite(f func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rewrite = f
}

// cookies are a session as a user would paste it.
func cookies(liAt string) platform.Credentials {
	return platform.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": liAt, "JSESSIONID": `"ajax:1234567890123456789"`}}
}

// session keeps the cookies a call reports, as the engine stores them.
type session struct {
	mu   sync.Mutex
	cred platform.Credentials
	sets []map[string]string
}

func newSession(c platform.Credentials) *session { return &session{cred: c} }

func (s *session) ctx() context.Context {
	return platform.WithSessionSink(context.Background(), func(m map[string]string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.cred.Cookies = m
		s.sets = append(s.sets, m)
	})
}

func (s *session) creds() platform.Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cred
}

func (e *env) run(s *session, call platform.Call) (platform.Page, error) {
	return e.d.Run(s.ctx(), e.ts.Client(), s.creds(), call)
}

func (e *env) must(s *session, call platform.Call) platform.Page {
	e.t.Helper()
	pg, err := e.run(s, call)
	if err != nil {
		e.t.Fatalf("%s: %v", call.Action.Slug, err)
	}
	checkOutputs(e.t, call.Action.Slug, pg.Results)
	return pg
}

// all pages one call through to the end, with the engine's page tokens.
func (e *env) all(s *session, call platform.Call, maxPages int) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for page := 1; ; page++ {
		if page > maxPages {
			e.t.Fatalf("%s: still more after %d pages", call.Action.Slug, maxPages)
		}
		call.Page = page
		pg := e.must(s, call)
		out = append(out, pg.Results...)
		if !pg.More {
			return out
		}
		call.Token = pg.NextToken
	}
}

// simJSON reads one of the simulator's own routes (its first face).
func (e *env) simJSON(liAt, path string, v any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "li_at", Value: liAt})
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		e.t.Fatalf("%s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		e.t.Fatal(err)
	}
}
