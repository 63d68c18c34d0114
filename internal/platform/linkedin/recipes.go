package linkedin

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
)

// The endpoint recipes are data: one embedded file per driver version, which
// an operator overrides with a file of the same format when LinkedIn moves an
// endpoint (FIRSTMATE_LINKEDIN_RECIPES). The mapping of answers stays in Go.

//go:embed recipes/voyager.json
var embeddedRecipes []byte

// Recipes is one recipe file.
type Recipes struct {
	Version string            `json:"version"`
	Notes   []string          `json:"notes,omitempty"`
	APIBase string            `json:"api_base"` // path prefix of the API, e.g. /voyager/api
	Headers map[string]string `json:"headers"`  // sent with every recipe (a recipe's own win)
	Recipes map[string]Recipe `json:"recipes"`
}

// Recipe is one endpoint.
type Recipe struct {
	Method  string            `json:"method"`
	Base    string            `json:"base,omitempty"` // "api" (default): under api_base; "site": from the site root
	Path    string            `json:"path"`
	Query   map[string]string `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"` // literal values
	Source  string            `json:"source"`            // where the facts come from
	Note    string            `json:"note,omitempty"`
}

// placeholder kinds
const (
	phValue = iota // user data: fully percent-encoded
	phRaw          // a Rest.li fragment the driver built (its data already encoded)
)

// recipeSpec is what the Go side of a recipe supplies and needs.
type recipeSpec struct {
	vars  map[string]int // placeholders the driver fills
	needs []string       // placeholders the recipe must use
	write bool           // the recipe changes something on LinkedIn
}

var recipeSpecs = map[string]recipeSpec{
	"session":              {},
	"me":                   {},
	"sales_licenses":       {},
	"feature_access":       {},
	"profile":              {vars: map[string]int{"public_id": phValue}, needs: []string{"public_id"}},
	"network_info":         {vars: map[string]int{"public_id": phValue}, needs: []string{"public_id"}},
	"company":              {vars: map[string]int{"universal_name": phValue}, needs: []string{"universal_name"}},
	"search":               {vars: map[string]int{"start": phValue, "keywords_clause": phRaw, "query_parameters": phRaw}, needs: []string{"start", "query_parameters"}},
	"connect":              {write: true},
	"message":              {write: true},
	"connections":          {vars: map[string]int{"start": phValue, "count": phValue}, needs: []string{"start"}},
	"conversations":        {vars: map[string]int{"created_before": phValue}, needs: []string{"created_before"}},
	"conversation":         {vars: map[string]int{"thread_id": phValue}, needs: []string{"thread_id"}},
	"conversation_events":  {vars: map[string]int{"thread_id": phValue, "created_before": phValue}, needs: []string{"thread_id", "created_before"}},
	"received_invitations": {vars: map[string]int{"start": phValue, "count": phValue}, needs: []string{"start"}},
	"accept_invitation":    {vars: map[string]int{"invitation_id": phValue}, needs: []string{"invitation_id"}, write: true},
	"sent_invitations":     {vars: map[string]int{"start": phValue, "count": phValue}, needs: []string{"start"}},
	"withdraw_invitation":  {vars: map[string]int{"invitation_id": phValue}, needs: []string{"invitation_id"}, write: true},
}

// RecipeNames lists the recipes a file must define, sorted.
func RecipeNames() []string {
	out := make([]string, 0, len(recipeSpecs))
	for k := range recipeSpecs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DefaultRecipes returns the embedded recipes.
func DefaultRecipes() *Recipes {
	r, err := ParseRecipes(embeddedRecipes)
	if err != nil {
		panic("linkedin: the embedded recipes are invalid: " + err.Error())
	}
	return r
}

// LoadRecipes reads a recipe file; "" returns the embedded recipes. A file
// that does not parse or does not validate is refused with what is wrong.
func LoadRecipes(path string) (*Recipes, error) {
	if path == "" {
		return DefaultRecipes(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("linkedin: unable to read the recipes file: %w", err)
	}
	r, err := ParseRecipes(b)
	if err != nil {
		return nil, fmt.Errorf("linkedin: recipes file %s: %w", path, err)
	}
	return r, nil
}

// ParseRecipes decodes and validates a recipe file: unknown fields, missing
// or unknown recipes and bad templates are errors.
func ParseRecipes(b []byte) (*Recipes, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Recipes
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a valid recipe file: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a valid recipe file: trailing data after the JSON object")
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Headers the driver owns: a recipe may not set them.
var ownedHeaders = map[string]bool{"cookie": true, "csrf-token": true, "user-agent": true, "host": true, "content-length": true}

func (r *Recipes) validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(r.Version) == "" {
		add("version: missing")
	}
	if !strings.HasPrefix(r.APIBase, "/") || strings.ContainsAny(r.APIBase, "?#{} ") {
		add("api_base: %q must be a path starting with /", r.APIBase)
	}
	checkHeaders := func(where string, h map[string]string) {
		for k, v := range h {
			if !validHeaderName(k) {
				add("%s: %q is not a valid header name", where, k)
				continue
			}
			if ownedHeaders[strings.ToLower(k)] {
				add("%s: header %q is set by the driver (per identity), not by a recipe", where, k)
			}
			if strings.ContainsAny(v, "\r\n") {
				add("%s: header %q has a value the driver cannot send", where, k)
			}
		}
	}
	checkHeaders("headers", r.Headers)
	for _, name := range RecipeNames() {
		if _, ok := r.Recipes[name]; !ok {
			add("recipes.%s: missing (the driver needs it)", name)
		}
	}
	names := make([]string, 0, len(r.Recipes))
	for k := range r.Recipes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		rc := r.Recipes[name]
		spec, known := recipeSpecs[name]
		if !known {
			add("recipes.%s: unknown recipe (known: %s)", name, strings.Join(RecipeNames(), ", "))
			continue
		}
		where := "recipes." + name
		if rc.Method != http.MethodGet && rc.Method != http.MethodPost {
			add("%s.method: %q must be GET or POST", where, rc.Method)
		}
		if spec.write && rc.Method != http.MethodPost {
			add("%s.method: a write must be a POST", where)
		}
		if rc.Base != "" && rc.Base != "api" && rc.Base != "site" {
			add("%s.base: %q must be \"api\" or \"site\"", where, rc.Base)
		}
		if !strings.HasPrefix(rc.Path, "/") || strings.ContainsAny(rc.Path, "?# ") {
			add("%s.path: %q must be a path starting with / (query parameters go in query)", where, rc.Path)
		}
		if strings.TrimSpace(rc.Source) == "" {
			add("%s.source: say where the facts come from", where)
		}
		checkHeaders(where+".headers", rc.Headers)
		used := map[string]bool{}
		check := func(field, tmpl string) {
			names, err := placeholders(tmpl)
			if err != nil {
				add("%s.%s: %v", where, field, err)
				return
			}
			for _, n := range names {
				if _, ok := spec.vars[n]; !ok {
					add("%s.%s: unknown placeholder {%s}%s", where, field, n, allowed(spec))
					continue
				}
				used[n] = true
			}
		}
		check("path", rc.Path)
		for k, v := range rc.Query {
			if k == "" || strings.ContainsAny(k, "{}&=#? ") {
				add("%s.query: %q is not a valid parameter name", where, k)
			}
			check("query."+k, v)
		}
		for _, n := range spec.needs {
			if !used[n] {
				add("%s: must use the placeholder {%s}", where, n)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func allowed(s recipeSpec) string {
	if len(s.vars) == 0 {
		return " (this recipe takes none)"
	}
	var ns []string
	for k := range s.vars {
		ns = append(ns, "{"+k+"}")
	}
	sort.Strings(ns)
	return " (allowed: " + strings.Join(ns, ", ") + ")"
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

// placeholders lists the {names} of a template; unbalanced braces and empty
// or malformed names are errors.
func placeholders(t string) ([]string, error) {
	var out []string
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '}':
			return nil, fmt.Errorf("unbalanced '}' at %d in %q", i, t)
		case '{':
			j := strings.IndexByte(t[i+1:], '}')
			if j < 0 {
				return nil, fmt.Errorf("unclosed '{' at %d in %q", i, t)
			}
			name := t[i+1 : i+1+j]
			if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
				return nil, fmt.Errorf("bad placeholder {%s} in %q (lower-case letters and _ only)", name, t)
			}
			out = append(out, name)
			i += j + 1
		}
	}
	return out, nil
}

// render fills a template. Value placeholders are escaped with esc; raw ones
// are inserted as they are. Literal text goes through lit.
func render(t string, vars map[string]string, kinds map[string]int, esc, lit func(string) string) string {
	var b strings.Builder
	for len(t) > 0 {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(lit(t))
			break
		}
		b.WriteString(lit(t[:i]))
		j := strings.IndexByte(t[i:], '}')
		name := t[i+1 : i+j]
		v := vars[name]
		if kinds[name] == phRaw {
			b.WriteString(v)
		} else {
			b.WriteString(esc(v))
		}
		t = t[i+j+1:]
	}
	return b.String()
}

// escapeValue percent-encodes everything but the unreserved characters, so
// that user data never reads as Rest.li structure ( ) , : '.
func escapeValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// escapeLiteral keeps a recipe's literal text readable (Rest.li structure
// stays as written) and encodes only what would break the URL.
func escapeLiteral(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"#%&+<>=?[\\]^`{|}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escapePathLiteral is escapeLiteral for a path (keeps /).
func escapePathLiteral(s string) string { return escapeLiteral(s) }

// url builds the recipe's URL under base (the site root, e.g.
// https://www.linkedin.com).
func (r *Recipes) url(base, name string, vars map[string]string) string {
	rc := r.Recipes[name]
	kinds := recipeSpecs[name].vars
	prefix := base + r.APIBase
	if rc.Base == "site" {
		prefix = base
	}
	u := prefix + render(rc.Path, vars, kinds, escapeValue, escapePathLiteral)
	keys := make([]string, 0, len(rc.Query))
	for k := range rc.Query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		t := rc.Query[k]
		if ph, err := placeholders(t); err == nil && len(ph) == 1 && t == "{"+ph[0]+"}" && vars[ph[0]] == "" {
			continue // an optional parameter the driver has no value for
		}
		q = append(q, escapeValue(k)+"="+render(t, vars, kinds, escapeValue, escapeLiteral))
	}
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	return u
}

// headers returns the recipe's header set (file-wide, then the recipe's
// own). Header values are literal: they take no placeholders.
func (r *Recipes) headers(name string) map[string]string {
	out := map[string]string{}
	for k, v := range r.Headers {
		out[strings.ToLower(k)] = v
	}
	for k, v := range r.Recipes[name].Headers {
		out[strings.ToLower(k)] = v
	}
	return out
}

// Recipe returns one recipe (for the probe and tests).
func (r *Recipes) Recipe(name string) (Recipe, bool) {
	rc, ok := r.Recipes[name]
	return rc, ok
}

// IsWrite reports whether a recipe changes something on LinkedIn.
func IsWrite(name string) bool { return recipeSpecs[name].write }
