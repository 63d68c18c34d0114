// Package validate compiles JSON Schemas once and checks decoded JSON values
// against them, reporting the first useful violation as an *apperr.Error whose
// message reads like Ajv's ("body/input must have required property 'x'"),
// because existing clients of the wire format match on those strings.
//
// It serves two masters: the action catalogue (inputs and parameters of every
// action) and the core API's own request bodies. Schemas may be written in
// JSON Schema 2020-12 or carry OpenAPI 3.0 leftovers ("nullable", boolean
// exclusiveMinimum), which are rewritten before compiling.
package validate

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Labels accepted by ValidateAs.
const (
	LabelBadInput      = "BAD_INPUT"
	LabelBadParameters = "BAD_PARAMETERS"
)

// Schema is a compiled schema. It is immutable and safe for concurrent use.
type Schema struct {
	name string
	sch  *jsonschema.Schema
	fast *fastNode // nil when the schema is outside the fast subset
}

// Name is the name given to Compile.
func (s *Schema) Name() string { return s.name }

type config struct {
	assertFormat bool
}

// Option tunes Compile.
type Option func(*config)

// WithoutFormats turns "format" into a pure annotation. By default the
// well-known formats (uri, uuid, date-time, date, time, email, ...) are
// asserted, as Ajv does when ajv-formats is loaded; unknown format names are
// always ignored.
func WithoutFormats() Option { return func(c *config) { c.assertFormat = false } }

// Compile compiles schema, given as a decoded JSON value (map[string]any,
// bool), as json.RawMessage or as []byte. Pattern strings may be ECMAScript
// regex literals; anything RE2 cannot run fails here, never at request time.
func Compile(name string, schema any, opts ...Option) (*Schema, error) {
	cfg := config{assertFormat: true}
	for _, o := range opts {
		o(&cfg)
	}
	var raw []byte
	switch v := schema.(type) {
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("validate: schema %q: %w", name, err)
		}
		raw = b
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("validate: schema %q is not JSON: %w", name, err)
	}
	doc = rewriteOpenAPI(doc)

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseRegexpEngine(func(p string) (jsonschema.Regexp, error) {
		re, err := compileJSRegexp(p)
		if err != nil {
			return nil, err
		}
		return re, nil
	})
	if cfg.assertFormat {
		c.AssertFormat()
		// ajv-formats knows "url" as an absolute URL; the reference uses it.
		c.RegisterFormat(&jsonschema.Format{Name: "url", Validate: validateAbsURL})
		// "uri" is re-registered so that the fast path and the general
		// validator share one definition.
		c.RegisterFormat(&jsonschema.Format{Name: "uri", Validate: func(v any) error {
			if s, ok := v.(string); ok && !isURI(s) {
				return fmt.Errorf("not an absolute URI")
			}
			return nil
		}})
	}
	loc := "mem://firstmate/" + url.PathEscape(name) + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("validate: schema %q: %w", name, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("validate: schema %q: %w", name, err)
	}
	return &Schema{name: name, sch: sch, fast: compileFast(doc, cfg.assertFormat)}, nil
}

// MustCompile is Compile for package-level schemas written in the code.
func MustCompile(name string, schema any, opts ...Option) *Schema {
	s, err := Compile(name, schema, opts...)
	if err != nil {
		panic(err)
	}
	return s
}

func validateAbsURL(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	return nil
}

// Validate checks v (decoded with UseNumber, see DecodeJSON) and returns nil
// or one BAD_INPUT error whose message starts with prefix plus the instance
// path: Validate("body", v) may yield "body/name must be string".
func (s *Schema) Validate(prefix string, v any) *apperr.Error {
	return s.ValidateAs(LabelBadInput, prefix, v)
}

// ValidateParams is Validate reporting BAD_PARAMETERS (scope param).
func (s *Schema) ValidateParams(prefix string, v any) *apperr.Error {
	return s.ValidateAs(LabelBadParameters, prefix, v)
}

// Valid reports whether v satisfies the schema, without building a message.
func (s *Schema) Valid(v any) bool {
	if _, ok := checkValue(v, 0); !ok {
		return false
	}
	if s.fast != nil && s.fast.check(v) == fastValid {
		return true
	}
	ok := true
	func() {
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		ok = s.sch.Validate(v) == nil
	}()
	return ok
}

// ValidateAs is Validate with the label chosen by the caller: LabelBadInput
// (scope input) or LabelBadParameters (scope param).
func (s *Schema) ValidateAs(label, prefix string, v any) *apperr.Error {
	if bad, ok := checkValue(v, 0); !ok {
		mk := apperr.BadInput
		if label == LabelBadParameters {
			mk = apperr.BadParameters
		}
		path := join(prefix, bad.path)
		return withParams(mk("%s", strings.TrimSpace(path+" "+bad.msg)), path, bad.keyword, nil)
	}
	return s.validateChecked(label, prefix, v)
}

// ValidateDecoded is ValidateAs for a value that DecodeJSON produced (or a
// part of one): DecodeJSON has already refused what the validator must not
// see, so the walk over the value is skipped. Hot path of 100,000-input
// batches.
func (s *Schema) ValidateDecoded(label, prefix string, v any) *apperr.Error {
	return s.validateChecked(label, prefix, v)
}

func (s *Schema) validateChecked(label, prefix string, v any) (out *apperr.Error) {
	if s.fast != nil && s.fast.check(v) == fastValid {
		return nil
	}
	mk := apperr.BadInput
	if label == LabelBadParameters {
		mk = apperr.BadParameters
	}
	defer func() {
		// The validator is third-party code fed with hostile input; a panic
		// there must become a client error, not a crashed request. The
		// cause is kept for the log.
		if r := recover(); r != nil {
			e := mk("%s must be valid", orBody(prefix))
			e.Cause = fmt.Errorf("%w: %v", errValidatorPanic, r)
			out = e
		}
	}()
	err := s.sch.Validate(v)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		e := mk("%s must be valid", orBody(prefix))
		e.Cause = err
		return e
	}
	leaf := pick(verr)
	path := join(prefix, leaf.InstanceLocation)
	msg, kw, extra := describe(leaf)
	text := msg
	if path != "" {
		text = path + " " + msg
	}
	return withParams(mk("%s", text), path, kw, extra)
}

var errValidatorPanic = fmt.Errorf("validate: validator panicked")

func orBody(prefix string) string {
	if prefix == "" {
		return "value"
	}
	return prefix
}

func withParams(e *apperr.Error, path, keyword string, extra map[string]string) *apperr.Error {
	e.Params = map[string]string{"path": path, "keyword": keyword}
	for k, v := range extra {
		e.Params[k] = v
	}
	return e
}

// join renders an instance location the way Ajv does (JSON Pointer, "~"
// and "/" escaped) under prefix.
func join(prefix string, tokens []string) string {
	if len(tokens) == 0 {
		return prefix
	}
	var b strings.Builder
	b.WriteString(prefix)
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(t))
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// rewriteOpenAPI turns OpenAPI 3.0 keywords into their JSON Schema 2020-12
// equivalents, in place, on a value produced by jsonschema.UnmarshalJSON.
func rewriteOpenAPI(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			switch k {
			case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
				// Maps of name -> schema: recurse into the schemas but never
				// treat a property *named* "nullable" as the keyword.
				if m, ok := child.(map[string]any); ok {
					for name, sub := range m {
						m[name] = rewriteOpenAPI(sub)
					}
				}
			case "enum", "const", "default", "examples", "example", "required":
				// Data, not schemas.
			default:
				x[k] = rewriteOpenAPI(child)
			}
		}
		rewriteExclusive(x, "minimum", "exclusiveMinimum")
		rewriteExclusive(x, "maximum", "exclusiveMaximum")
		if n, ok := x["nullable"]; ok {
			delete(x, "nullable")
			if b, _ := n.(bool); b {
				return makeNullable(x)
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = rewriteOpenAPI(x[i])
		}
		return x
	}
	return v
}

// rewriteExclusive turns OpenAPI 3.0's {"minimum": 1, "exclusiveMinimum": true}
// into {"exclusiveMinimum": 1}.
func rewriteExclusive(x map[string]any, bound, excl string) {
	b, ok := x[excl].(bool)
	if !ok {
		return
	}
	if b {
		if m, ok := x[bound]; ok {
			x[excl] = m
			delete(x, bound)
			return
		}
	}
	delete(x, excl)
}

func makeNullable(x map[string]any) any {
	switch t := x["type"].(type) {
	case string:
		if t != "null" {
			x["type"] = []any{t, "null"}
		}
		addNullToEnum(x)
		return x
	case []any:
		for _, e := range t {
			if e == "null" {
				return x
			}
		}
		x["type"] = append(t, "null")
		addNullToEnum(x)
		return x
	}
	// No "type": the keywords that would still reject null are $ref, enum,
	// const and the combinators. Wrap so null always passes.
	for _, k := range []string{"$ref", "enum", "const", "anyOf", "oneOf", "allOf", "not"} {
		if _, ok := x[k]; ok {
			return map[string]any{"anyOf": []any{x, map[string]any{"type": "null"}}}
		}
	}
	return x
}

func addNullToEnum(x map[string]any) {
	e, ok := x["enum"].([]any)
	if !ok {
		return
	}
	for _, v := range e {
		if v == nil {
			return
		}
	}
	x["enum"] = append(e, nil)
}

// RE2 reports whether p (bare or a JavaScript literal) can be compiled, and
// returns the compiled form. Exposed for generators and tests.
func RE2(p string) (*regexp.Regexp, error) { return compileJSRegexp(p) }
