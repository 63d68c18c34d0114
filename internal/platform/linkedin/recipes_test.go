package linkedin_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

func TestEmbeddedRecipes(t *testing.T) {
	r, err := linkedin.LoadRecipes("")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version == "" || r.APIBase != "/voyager/api" {
		t.Errorf("version %q, api base %q", r.Version, r.APIBase)
	}
	for _, name := range linkedin.RecipeNames() {
		rc, ok := r.Recipe(name)
		if !ok {
			t.Errorf("no recipe %s", name)
			continue
		}
		// feature_access is the one recipe whose facts come from a public
		// endpoint inventory that names no repository; its source says so
		if name != "feature_access" && !strings.Contains(rc.Source, "/") {
			t.Errorf("%s: the source %q names no repository and path", name, rc.Source)
		}
	}
	for _, w := range []string{"connect", "message", "accept_invitation", "withdraw_invitation"} {
		if !linkedin.IsWrite(w) {
			t.Errorf("%s is a write", w)
		}
	}
}

// embeddedJSON is the embedded recipe file as a generic document, to edit.
func embeddedJSON(t *testing.T) map[string]any {
	t.Helper()
	b, err := json.Marshal(linkedin.DefaultRecipes())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, string(b))
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "recipes.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func recipe(doc map[string]any, name string) map[string]any {
	return doc["recipes"].(map[string]any)[name].(map[string]any)
}

// An operator's override file changes an endpoint's path; the driver follows
// it.
func TestOverrideFileChangesAPath(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 30})
	doc := embeddedJSON(t)
	recipe(doc, "profile")["path"] = "/identity/profiles/{public_id}/profileViewV2"
	rs, err := linkedin.LoadRecipes(writeJSON(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	// LinkedIn "moved" the endpoint: the old path is gone, the new one answers
	e.setRewrite(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		switch {
		case strings.HasSuffix(r.URL.Path, "/profileView"):
			w.WriteHeader(http.StatusGone)
			return true
		case strings.HasSuffix(r.URL.Path, "/profileViewV2"):
			r.URL.Path = strings.TrimSuffix(r.URL.Path, "V2")
			next.ServeHTTP(w, r)
			return true
		}
		return false
	})
	call := liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/ada-lovelace/"))
	if _, err := e.run(newSession(cookies("sim_premium")), call); label(err) != "ACTION_BROKEN" {
		t.Fatalf("the built-in recipe against the moved endpoint: %v", err)
	}
	e.d = e.driver(rs)
	e.reset()
	e.must(newSession(cookies("sim_premium")), call)
	if p := e.requests()[0].Path; p != "/voyager/api/identity/profiles/ada-lovelace/profileViewV2" {
		t.Errorf("the driver asked %s", p)
	}
}

func TestMalformedRecipeFilesAreRefused(t *testing.T) {
	cases := map[string]struct {
		edit func(doc map[string]any) any
		want string
	}{
		"not JSON":             {func(map[string]any) any { return nil }, "not a valid recipe file"},
		"unknown field":        {func(d map[string]any) any { d["recipess"] = map[string]any{}; return d }, `unknown field "recipess"`},
		"unknown recipe field": {func(d map[string]any) any { recipe(d, "me")["paht"] = "/me"; return d }, `unknown field "paht"`},
		"missing recipe":       {func(d map[string]any) any { delete(d["recipes"].(map[string]any), "connect"); return d }, "recipes.connect: missing"},
		"unknown recipe":       {func(d map[string]any) any { d["recipes"].(map[string]any)["mee"] = recipe(d, "me"); return d }, "recipes.mee: unknown recipe"},
		"unknown placeholder": {func(d map[string]any) any {
			recipe(d, "profile")["path"] = "/identity/profiles/{public_identifier}/profileView"
			return d
		}, "unknown placeholder {public_identifier}"},
		"malformed placeholder": {func(d map[string]any) any {
			recipe(d, "profile")["path"] = "/identity/profiles/{publicId}/profileView"
			return d
		}, "bad placeholder {publicId}"},
		"unbalanced brace": {func(d map[string]any) any {
			recipe(d, "company")["query"].(map[string]any)["universalName"] = "{universal_name"
			return d
		}, "unclosed '{'"},
		"stray brace": {func(d map[string]any) any { recipe(d, "me")["path"] = "/me}"; return d }, "unbalanced '}'"},
		"placeholder not used": {func(d map[string]any) any {
			recipe(d, "conversation")["path"] = "/messaging/conversations"
			return d
		}, "must use the placeholder {thread_id}"},
		"a write as GET":  {func(d map[string]any) any { recipe(d, "connect")["method"] = "GET"; return d }, "a write must be a POST"},
		"bad method":      {func(d map[string]any) any { recipe(d, "me")["method"] = "FETCH"; return d }, "must be GET or POST"},
		"owned header":    {func(d map[string]any) any { recipe(d, "me")["headers"] = map[string]any{"csrf-token": "x"}; return d }, `header "csrf-token" is set by the driver`},
		"path with query": {func(d map[string]any) any { recipe(d, "me")["path"] = "/me?x=1"; return d }, "query parameters go in query"},
		"no source":       {func(d map[string]any) any { recipe(d, "me")["source"] = ""; return d }, "recipes.me.source"},
		"bad base":        {func(d map[string]any) any { recipe(d, "me")["base"] = "cdn"; return d }, `"cdn" must be "api" or "site"`},
		"no version":      {func(d map[string]any) any { d["version"] = ""; return d }, "version: missing"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			v := c.edit(embeddedJSON(t))
			path := writeFile(t, "{ this is not json")
			if v != nil {
				path = writeJSON(t, v)
			}
			_, err := linkedin.LoadRecipes(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want it to name the file and say %q", err, c.want)
			}
		})
	}
	if _, err := linkedin.LoadRecipes(filepath.Join(t.TempDir(), "nope.json")); err == nil {
		t.Error("a missing file was accepted")
	}
	// a driver built with invalid recipes is refused too
	bad := linkedin.DefaultRecipes()
	delete(bad.Recipes, "me")
	if _, err := linkedin.New(linkedin.Config{Recipes: bad}); err == nil || !strings.Contains(err.Error(), "recipes.me: missing") {
		t.Errorf("New with invalid recipes: %v", err)
	}
}

func TestBaseURL(t *testing.T) {
	for _, u := range []string{"ftp://www.linkedin.com", "www.linkedin.com", "https://www.linkedin.com/?x=1", "http://"} {
		if _, err := linkedin.New(linkedin.Config{BaseURL: u}); err == nil {
			t.Errorf("base URL %q accepted", u)
		}
	}
	for _, u := range []string{"", "https://www.linkedin.com", "http://127.0.0.1:7801/", "https://proxy.internal/linkedin"} {
		if _, err := linkedin.New(linkedin.Config{BaseURL: u}); err != nil {
			t.Errorf("base URL %q: %v", u, err)
		}
	}
}
