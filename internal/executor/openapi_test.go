package executor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const docURL = "file:///executor-protocol.json"

// openapiSchemas compiles the document's component schemas with a JSON
// Schema 2020-12 validator, the dialect OpenAPI 3.1 uses.
func openapiSchemas(t *testing.T) func(name string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(executor.OpenAPI()))
	if err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	return func(name string) *jsonschema.Schema {
		s, err := c.Compile(docURL + "#/components/schemas/" + name)
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		return s
	}
}

func validateAgainst(t *testing.T, s *jsonschema.Schema, what string, raw []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s is not JSON: %v", what, err)
	}
	if err := s.Validate(v); err != nil {
		t.Fatalf("%s does not follow the published protocol: %v\n%s", what, err, raw)
	}
}

// The document describes the protocol as the code speaks it: the paths,
// the labels, and every request the client sends and every answer the
// handler gives validate against its schemas.
func TestOpenAPIDescribesTheWire(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Version string }  `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(executor.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Version != "1" {
		t.Fatalf("openapi %q, version %q", doc.OpenAPI, doc.Info.Version)
	}
	want := map[string]string{executor.PathCapabilities: "get", executor.PathMe: "post", executor.PathRun: "post",
		executor.PathLogin: "post", executor.PathCheckpoint: "post"}
	if len(doc.Paths) != len(want) {
		t.Fatalf("paths: %v", doc.Paths)
	}
	for p, m := range want {
		if doc.Paths[p][m] == nil {
			t.Errorf("the document lacks %s %s", m, p)
		}
	}
	schema := openapiSchemas(t)

	// The label enum is the code's.
	var labels struct {
		Components struct {
			Schemas struct {
				ErrorDetail struct {
					Properties struct {
						Label struct{ Enum []string }
					}
				}
			}
		}
	}
	_ = json.Unmarshal(executor.OpenAPI(), &labels)
	got := labels.Components.Schemas.ErrorDetail.Properties.Label.Enum
	wantLabels := append(executor.Labels(), executor.LabelUnauthorized, executor.LabelBadRequest, executor.LabelNotFound, executor.LabelInternal)
	sort.Strings(got)
	sort.Strings(wantLabels)
	if !slices.Equal(got, wantLabels) {
		t.Fatalf("documented labels %v, the code's %v", got, wantLabels)
	}

	// The schemas have teeth.
	for name, bad := range map[string]string{
		"RunRequest":    `{"request_id":"r","deadline":"2026-01-01T00:00:00Z","timeout_ms":1,"family":"linkedin","credentials":{},"proxy_url":"","action":"a","input":{},"parameters":{},"page":1,"page_token":"","page_size":0,"surprise":1}`,
		"RunResponse":   `{"results":"x","next_page_token":"","has_more":false}`,
		"ErrorResponse": `{"error":{"label":"ON_FIRE","message":"x"}}`,
		"MeRequest":     `{"request_id":"r"}`,
		"LoginResponse": `{"status":"MAYBE"}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if schema(name).Validate(v) == nil {
			t.Errorf("%s accepts %s", name, bad)
		}
	}

	// Requests, as the client sends them.
	f := newFake(t, time.Second, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.URL.Path {
		case executor.PathMe:
			answer(200, `{"account":{"level":"Premium","name":"A","permalink":"p","external_id":"1"}}`)(w, r, body)
		case executor.PathRun:
			answer(200, `{"results":[{"first_name":"A"}],"next_page_token":"","has_more":false}`)(w, r, body)
		default:
			answer(200, `{"status":"CHECKPOINT","checkpoint":{"type":"OTP","state":"s"}}`)(w, r, body)
		}
	})
	ctx := platform.WithProxyURL(context.Background(), "socks5://u:p@10.0.0.1:1080")
	li := f.c.ForFamily("linkedin")
	if _, err := li.Me(ctx, nil, cookie("c")); err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("MeRequest"), "the me request", f.last().body)
	if _, err := run(f.c, ctx, "linkedin-extract-people", profileInput); err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("RunRequest"), "the run request", f.last().body)
	if _, err := li.Login(ctx, nil, "u@x.test", "pw"); err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("LoginRequest"), "the login request", f.last().body)
	if _, err := li.Checkpoint(ctx, nil, "s", "123"); err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("CheckpointRequest"), "the checkpoint request", f.last().body)

	// Answers, as the handler gives them (the sandbox executor).
	e := newEnv(t)
	answers := recordAnswers(t, e)
	c := e.c.ForFamily("linkedin")
	if _, err := c.Capabilities(ctx); err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("Capabilities"), "the capabilities", answers.last(t))
	if _, err := c.Me(context.Background(), nil, cookie("sim_salesnav")); err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("MeResponse"), "the me answer", answers.last(t))
	for _, slug := range []string{"linkedin-extract-people", "linkedin-search-people", "linkedin-extract-messages"} {
		in := profileInput
		if slug == "linkedin-search-people" {
			in = map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=x"}
		}
		_, _ = run(e.c, context.Background(), slug, in) // extract-messages answers 404: an error body
		validateAgainst(t, schema("RunResponse"), slug, nil2(answers.last(t), schema("ErrorResponse"), t))
	}
	r, err := c.Login(context.Background(), nil, "otp@sim.test", "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("LoginResponse"), "the login answer", answers.last(t))
	_, _ = c.Checkpoint(context.Background(), nil, r.Checkpoint.State, "000000")
	validateAgainst(t, schema("ErrorResponse"), "a wrong code", answers.last(t))
	if _, err := c.Checkpoint(context.Background(), nil, r.Checkpoint.State, "654321"); err != nil {
		t.Fatal(err)
	}
	validateAgainst(t, schema("LoginResponse"), "the checkpoint answer", answers.last(t))
	req, _ := http.NewRequest(http.MethodGet, e.url+executor.PathCapabilities, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	validateAgainst(t, schema("ErrorResponse"), "a 401", b)

	// The document is what GET /v4/executor-protocol.json serves.
	rec := httptest.NewRecorder()
	executor.OpenAPIHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v4/executor-protocol.json", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), executor.OpenAPI()) || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("OpenAPIHandler: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// nil2 returns a success body for checking, after checking an error body
// against the error schema (then it returns a trivially valid run answer).
func nil2(body []byte, errSchema *jsonschema.Schema, t *testing.T) []byte {
	if bytes.Contains(body, []byte(`"error"`)) {
		validateAgainst(t, errSchema, "an error answer", body)
		return []byte(`{"results":[],"next_page_token":"","has_more":false}`)
	}
	return body
}

// answerLog keeps the bodies the sandbox executor sends, through a
// recording transport on the client side.
type answerLog struct{ bodies [][]byte }

func (a *answerLog) last(t *testing.T) []byte {
	t.Helper()
	if len(a.bodies) == 0 {
		t.Fatal("no answer recorded")
	}
	return a.bodies[len(a.bodies)-1]
}

type recordingTransport struct {
	log  *answerLog
	next http.RoundTripper
}

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := rt.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	rt.log.bodies = append(rt.log.bodies, b)
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res, nil
}

func recordAnswers(t *testing.T, e *env) *answerLog {
	log := &answerLog{}
	hc := &http.Client{Transport: recordingTransport{log: log, next: http.DefaultTransport}}
	c, err := executor.New(e.url, e.secret, hc, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	if !strings.HasPrefix(e.url, "http://127.0.0.1") {
		t.Fatal("not loopback")
	}
	return log
}
