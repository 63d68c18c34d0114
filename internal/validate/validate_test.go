package validate

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/reftest"
)

const bodySchema = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["input"],
  "properties": {
    "input": {
      "type": "object",
      "required": ["linkedin_profile_url"],
      "properties": {
        "linkedin_profile_url": {"type": "string", "pattern": "/^https:\\/\\/(www\\.)?linkedin\\.com\\/in\\/[^\\s/]+/i"}
      }
    },
    "name": {"type": "string", "minLength": 3, "maxLength": 10},
    "identity_mode": {"type": "string", "enum": ["direct", "auto", "managed"], "nullable": true, "default": "direct"},
    "identity_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "nullable": true},
    "inputs": {"type": "array", "minItems": 1, "maxItems": 3, "items": {
        "type": "object", "required": ["url"],
        "properties": {"url": {"type": "string", "pattern": "^https://"}}}},
    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    "ratio": {"type": "number", "exclusiveMinimum": 0},
    "tags": {"type": "array", "uniqueItems": true},
    "when": {"type": "string", "format": "date-time"}
  }
}`

func mustCompile(t testing.TB, src string) *Schema {
	t.Helper()
	s, err := Compile("test", json.RawMessage(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decode(t testing.TB, s string) any {
	t.Helper()
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestAjvMessages(t *testing.T) {
	s := mustCompile(t, bodySchema)
	okInput := `"input":{"linkedin_profile_url":"https://www.linkedin.com/in/jane"}`
	cases := []struct{ body, want string }{
		{`{"input":{}}`, "body/input must have required property 'linkedin_profile_url'"},
		{`{` + okInput + `,"inputs":[{"url":"https://x"}],"zzz":1,"aaa":2}`, "body must NOT have additional properties (aaa)"},
		{`{"inputs":[]}`, "body must have required property 'input'"},
		{`{` + okInput + `,"name":5}`, "body/name must be string"},
		{`{` + okInput + `,"name":"ab"}`, "body/name must NOT have fewer than 3 characters"},
		{`{` + okInput + `,"name":"abcdefghijkl"}`, "body/name must NOT have more than 10 characters"},
		{`{` + okInput + `,"identity_mode":"nope"}`, "body/identity_mode must be equal to one of the allowed values: direct, auto, managed"},
		{`{` + okInput + `,"identity_mode":5}`, "body/identity_mode must be string"},
		{`{` + okInput + `,"inputs":[{"url":"https://a"},{"url":"http://b"}]}`, `body/inputs/1/url must match pattern "^https://"`},
		{`{` + okInput + `,"inputs":[{"url":"https://a"},{},{"url":"https://a"},{}]}`, "body/inputs must NOT have more than 3 items"},
		{`{` + okInput + `,"inputs":[]}`, "body/inputs must NOT have fewer than 1 items"},
		{`{` + okInput + `,"inputs":[{"url":"https://a"},{"x":1}]}`, "body/inputs/1 must have required property 'url'"},
		{`{` + okInput + `,"limit":101}`, "body/limit must be <= 100"},
		{`{` + okInput + `,"limit":0}`, "body/limit must be >= 1"},
		{`{` + okInput + `,"limit":1.5}`, "body/limit must be integer"},
		{`{` + okInput + `,"ratio":0}`, "body/ratio must be > 0"},
		{`{` + okInput + `,"tags":[1,2,1]}`, "body/tags must NOT have duplicate items (items ## 2 and 0 are identical)"},
		{`{` + okInput + `,"when":"yesterday"}`, `body/when must match format "date-time"`},
		{`{` + okInput + `,"identity_ids":["nope"]}`, `body/identity_ids/0 must match format "uuid"`},
		{`{"input":{"linkedin_profile_url":"https://example.com/in/x"}}`, `body/input/linkedin_profile_url must match pattern "(?i)^https://(www\.)?linkedin\.com/in/[^\s/]+"`},
		{`[]`, "body must be object"},
	}
	for _, c := range cases {
		e := s.Validate("body", decode(t, c.body))
		if e == nil {
			t.Errorf("%s: no error, want %q", c.body, c.want)
			continue
		}
		if e.Message != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.body, e.Message, c.want)
		}
		if e.Label != "BAD_INPUT" || e.Scope != apperr.ScopeInput || e.Status != 400 {
			t.Errorf("%s: label/scope/status = %s/%s/%d", c.body, e.Label, e.Scope, e.Status)
		}
	}
}

func TestValidAndNullable(t *testing.T) {
	s := mustCompile(t, bodySchema)
	for _, b := range []string{
		`{"input":{"linkedin_profile_url":"HTTPS://LINKEDIN.COM/in/jane"}}`,
		`{"input":{"linkedin_profile_url":"https://www.linkedin.com/in/jane"},"identity_mode":null,"identity_ids":null}`,
		`{"input":{"linkedin_profile_url":"https://www.linkedin.com/in/jane"},"identity_ids":["0b7e7c1c-3f0a-4b8e-9d57-5a1c9f0e2b11"],"limit":100}`,
	} {
		if e := s.Validate("body", decode(t, b)); e != nil {
			t.Errorf("%s: unexpected %v", b, e)
		}
		if !s.Valid(decode(t, b)) {
			t.Errorf("%s: Valid false", b)
		}
	}
}

func TestParamsLabelAndParams(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"max_results":{"type":"integer","minimum":1,"maximum":1000}},"additionalProperties":false}`)
	e := s.ValidateParams("body/parameters", decode(t, `{"max_results":0}`))
	if e == nil || e.Label != "BAD_PARAMETERS" || e.Scope != apperr.ScopeParam {
		t.Fatalf("got %+v", e)
	}
	if e.Message != "body/parameters/max_results must be >= 1" {
		t.Errorf("message %q", e.Message)
	}
	if e.Params["path"] != "body/parameters/max_results" || e.Params["keyword"] != "minimum" {
		t.Errorf("params %v", e.Params)
	}
	e = s.ValidateAs(LabelBadInput, "", decode(t, `{"max_results":0}`))
	if e.Message != "/max_results must be >= 1" || e.Label != "BAD_INPUT" {
		t.Errorf("got %q %s", e.Message, e.Label)
	}
	e = s.ValidateAs(LabelBadInput, "", decode(t, `{"oops":1}`))
	if e.Message != "must NOT have additional properties (oops)" || e.Params["additional_property"] != "oops" {
		t.Errorf("got %q %v", e.Message, e.Params)
	}
}

func TestAnyOfPicksPrimaryAlternative(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{
	   "linkedin_profile_url":{"type":"string","pattern":"^https://"},
	   "profile_url":{"type":"string"}},
	 "anyOf":[{"required":["linkedin_profile_url"]},{"required":["profile_url"]}]}`)
	e := s.Validate("body/input", decode(t, `{}`))
	if e == nil || e.Message != "body/input must have required property 'linkedin_profile_url'" {
		t.Fatalf("got %v", e)
	}
	if e := s.Validate("body/input", decode(t, `{"profile_url":"x"}`)); e != nil {
		t.Fatalf("alias rejected: %v", e)
	}
	// A type error inside the chosen alternative is still reported precisely.
	e = s.Validate("body/input", decode(t, `{"linkedin_profile_url":"ftp://x"}`))
	if e == nil || e.Message != `body/input/linkedin_profile_url must match pattern "^https://"` {
		t.Fatalf("got %v", e)
	}
	// nullable without a type wraps the schema in an anyOf.
	n := mustCompile(t, `{"type":"object","properties":{"a":{"enum":["x","y"],"nullable":true}}}`)
	if e := n.Validate("body", decode(t, `{"a":null}`)); e != nil {
		t.Fatal(e)
	}
	if e := n.Validate("body", decode(t, `{"a":"z"}`)); e == nil || e.Message != "body/a must be equal to one of the allowed values: x, y" {
		t.Fatalf("got %v", e)
	}
}

func TestOpenAPIExclusiveBounds(t *testing.T) {
	s := mustCompile(t, `{"type":"number","minimum":0,"exclusiveMinimum":true,"maximum":10,"exclusiveMaximum":false}`)
	if e := s.Validate("", decode(t, `0`)); e == nil || e.Message != "must be > 0" {
		t.Fatalf("got %v", e)
	}
	if e := s.Validate("", decode(t, `10`)); e != nil {
		t.Fatal(e)
	}
}

func TestPointerEscaping(t *testing.T) {
	s := mustCompile(t, `{"type":"object","additionalProperties":{"type":"string"}}`)
	e := s.Validate("body", decode(t, `{"a/b~c":1}`))
	if e == nil || e.Message != "body/a~1b~0c must be string" {
		t.Fatalf("got %v", e)
	}
}

func TestDecodeJSON(t *testing.T) {
	for _, bad := range []string{``, `   `, `{`, `{"a":1}}`, `{"a":1} {"b":2}`, `{"a":1}x`, `nul`, `{"a":1e999999}`, `{"a":[1,2,1e-500]}`} {
		_, e := DecodeJSON([]byte(bad))
		if e == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if e.Status != 400 || e.Label != "BAD_INPUT" || !strings.HasPrefix(e.Message, "body") {
			t.Errorf("%q: %+v", bad, e)
		}
	}
	// A key named twice, at any depth and however it is escaped.
	for _, dup := range []string{`{"a":1,"a":1}`, `{"a":1,"\u0061":2}`, `{"x":[{"b":1,"c":2,"b":3}]}`, `{"o":{"k":null,"k":{}}}`} {
		_, e := DecodeJSON([]byte(dup))
		if e == nil || e.Status != 400 || e.Params["reason"] != "duplicate_key" || !strings.Contains(e.Message, "duplicate key") {
			t.Errorf("%s: %+v, want 400 with reason duplicate_key", dup, e)
		}
	}
	// The error names the object and the second mention's offset, as the
	// streaming async decoder does (catalog.TestStreamRefusesDuplicateKeys).
	for body, want := range map[string][2]string{
		`{"a":1,"a":1}`:                     {`body must NOT have duplicate key "a" (at offset 7)`, "body"},
		`{"x":[{"b":1,"c":2,"b":3}]}`:       {`body/x/0 must NOT have duplicate key "b" (at offset 19)`, "body/x/0"},
		`{"o":{"p":[0,{"k":null,"k":{}}]}}`: {`body/o/p/1 must NOT have duplicate key "k" (at offset 23)`, "body/o/p/1"},
		` {"a/b":{"k~":1, "k~" :2}}`:        {`body/a/b must NOT have duplicate key "k~" (at offset 17)`, "body/a/b"},
	} {
		_, e := DecodeJSON([]byte(body))
		if e == nil || e.Message != want[0] || e.Params["path"] != want[1] {
			t.Errorf("%s: %v, want %q with path %s", body, e, want[0], want[1])
		}
		var dst map[string]any
		if e2 := DecodeInto([]byte(body), &dst); e2 == nil || e == nil || e2.Message != e.Message {
			t.Errorf("%s: DecodeInto says %v, DecodeJSON %v", body, e2, e)
		}
	}
	// The same key in different objects is not a duplicate.
	if _, e := DecodeJSON([]byte(`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`)); e != nil {
		t.Errorf("keys repeated across objects: %v", e)
	}
	v, e := DecodeJSON([]byte(" {\"n\": 12345678901234567890123, \"f\": 1.5e10} \n"))
	if e != nil {
		t.Fatal(e)
	}
	if v.(map[string]any)["n"] != json.Number("12345678901234567890123") {
		t.Errorf("number not kept as json.Number: %#v", v)
	}
	var dst struct {
		Name string `json:"name"`
	}
	if e := DecodeInto([]byte(`{"name":1}`), &dst); e == nil || e.Message != "body/name must be string" {
		t.Errorf("DecodeInto: %v", e)
	}
	if e := DecodeInto([]byte(`{"name":"x","name":"y"}`), &dst); e == nil || e.Params["reason"] != "duplicate_key" {
		t.Errorf("DecodeInto with a duplicate key: %v", e)
	}
	if e := DecodeInto([]byte(`{"name":"x"} 1`), &dst); e == nil {
		t.Errorf("DecodeInto accepted trailing data")
	}
}

func TestHostileValuesDoNotPanic(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"n":{"type":"integer","minimum":1,"multipleOf":2}},"additionalProperties":{"enum":[1,"a",[1,2]]}}`)
	deep := strings.Repeat("[", 9000) + strings.Repeat("]", 9000)
	for _, v := range []any{
		map[string]any{"n": json.Number("1e999999999")},
		map[string]any{"n": json.Number("garbage")},
		map[string]any{"n": math.Inf(1)},
		map[string]any{"n": make(chan int)},
		map[string]any{"x": decode(t, deep)},
		map[string]any{"n": json.Number("-0.0000000000000000000000000000000001")},
		map[string]any{"\xff\xfe": "\u202e\u0000"},
	} {
		if e := s.Validate("body", v); e == nil {
			t.Errorf("%T accepted", v)
		} else if e.Cause != nil {
			t.Errorf("validator panicked: %v", e.Cause)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := mustCompile(t, bodySchema)
	v := decode(t, `{"input":{}}`)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if e := s.Validate("body", v); e == nil || e.Message != "body/input must have required property 'linkedin_profile_url'" {
					t.Errorf("got %v", e)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestCompileRejectsUnsupportedPatterns(t *testing.T) {
	for _, p := range []string{`/(?=a)b/`, `(a)\1`, `/a(?<!b)/`, `/[/`} {
		src, _ := json.Marshal(map[string]any{"type": "string", "pattern": p})
		if _, err := Compile("bad", src); err == nil {
			t.Errorf("pattern %q compiled", p)
		}
	}
}

func TestJSPatternToRE2(t *testing.T) {
	cases := []struct{ in, want string }{
		{`/^https:\/\/(www)?linkedin\.com\/in\//`, `^https://(www)?linkedin\.com/in/`},
		{`/^a/gi`, `(?i)^a`},
		{`/^a/ims`, `(?ims)^a`},
		{`^(https?:\/\/[^\s]+)$`, `^(https?://[^\s]+)$`},
		{`/(?<=thread\/|^)\d.+?==/`, `(?:thread/|^)\d.+?==`},
		{`^https://www.linkedin.com/dms/`, `^https://www.linkedin.com/dms/`},
		{`/^^x/`, `^^x`},
		{`/a\\/`, `a\\`},
	}
	for _, c := range cases {
		got, err := JSPatternToRE2(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	// The lookbehind rewrite keeps match/no-match answers.
	re, _ := RE2(`/(?<=thread\/|^)\d.+?==/`)
	for s, want := range map[string]bool{"2-abc==": true, "x/thread/2-abc==": true, "x2-abc==": false, "thread/abc==": false} {
		if re.MatchString(s) != want {
			t.Errorf("lookbehind translation: %q -> %v", s, !want)
		}
	}
}

// Every pattern the action reference uses must compile, in the form the
// catalogue will hand to Compile.
func TestReferencePatternsCompile(t *testing.T) {
	raw := reftest.Read(t, reftest.ActionsOpenAPI)
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if p, ok := x["pattern"].(string); ok {
				seen[p] = true
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
	if len(seen) < 30 {
		t.Fatalf("only %d patterns found; reference changed?", len(seen))
	}
	for p := range seen {
		if _, err := RE2(p); err != nil {
			t.Errorf("%v", err)
		}
		src, _ := json.Marshal(map[string]any{"type": "string", "pattern": p})
		if _, err := Compile("ref", src); err != nil {
			t.Errorf("compile %q: %v", p, err)
		}
	}
	// Spot-check that literal translation keeps the intended meaning.
	re, _ := RE2(`/^https:\/\/(?:(www|[a-z]{2})\.)?linkedin\.com\/in\/[-\w\d%]+/gi`)
	if !re.MatchString("HTTPS://FR.LINKEDIN.COM/in/jane-doe") || re.MatchString("https://linkedin.com/company/x") {
		t.Error("profile URL literal mistranslated")
	}
	_ = regexp.QuoteMeta
}

func TestFastPathAgrees(t *testing.T) {
	s := mustCompile(t, fastSubsetSchema)
	if s.fast == nil {
		t.Fatal("no fast path")
	}
	for _, b := range []string{
		`{"u":"https://x.y/z"}`, `{"e":"a"}`, `{"e":null,"u":"HTTP://x"}`, `{"u":"ftp://x"}`, `{"u":"https://[::1]/"}`,
		`{"u":"https://[zz::1]/"}`, `{"e":"c"}`, `{}`, `{"u":"https://x","i":1.0}`, `{"u":"https://x","i":1e2}`,
		`{"u":"https://x","s":["","a"]}`, `{"u":"https://x","c":"éé"}`, `{"u":"https://x","c":"abc"}`, `{"u":"https://x","z":1}`,
	} {
		v := decode(t, b)
		fast := s.fast.check(v) == fastValid
		full := s.sch.Validate(v) == nil
		if fast && !full {
			t.Errorf("%s: fast path accepts, validator rejects", b)
		}
		if full != (s.Validate("body", v) == nil) {
			t.Errorf("%s: Validate disagrees with the validator", b)
		}
	}
	// Schemas outside the subset get no fast path.
	if mustCompile(t, `{"type":"integer","minimum":1}`).fast != nil {
		t.Error("minimum should disable the fast path")
	}
}

func TestHostileValueAtRootWithoutPrefix(t *testing.T) {
	s := mustCompile(t, `{"type":"number"}`)
	e := s.Validate("", json.Number("1e999999"))
	if e == nil || e.Message != "must be a number of reasonable size" {
		t.Fatalf("got %v", e)
	}
}
