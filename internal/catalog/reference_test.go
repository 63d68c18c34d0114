package catalog

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/reftest"
)

type refDoc struct {
	raw   []byte
	doc   map[string]any
	comps map[string]any
	ops   map[string]map[string]map[string]any // slug -> mode -> operation
}

func loadReference(t *testing.T) *refDoc {
	t.Helper()
	raw := reftest.Read(t, reftest.ActionsOpenAPI)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	r := &refDoc{raw: raw, ops: map[string]map[string]map[string]any{}}
	if err := dec.Decode(&r.doc); err != nil {
		t.Fatal(err)
	}
	r.comps = r.doc["components"].(map[string]any)["schemas"].(map[string]any)
	re := regexp.MustCompile(`^/actions/([^/]+)/run/(live|async|schedule)$`)
	for p, v := range r.doc["paths"].(map[string]any) {
		if m := re.FindStringSubmatch(p); m != nil {
			if r.ops[m[1]] == nil {
				r.ops[m[1]] = map[string]map[string]any{}
			}
			r.ops[m[1]][m[2]] = v.(map[string]any)["post"].(map[string]any)
		}
	}
	return r
}

// resolve follows a components $ref.
func (r *refDoc) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		return r.resolve(r.comps[strings.TrimPrefix(ref, "#/components/schemas/")])
	}
	return m
}

func (r *refDoc) body(slug, mode string) map[string]any {
	op := r.ops[slug][mode]
	return op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
}

func (r *refDoc) bodyProp(slug, mode, name string) (map[string]any, bool) {
	p, ok := r.body(slug, mode)["properties"].(map[string]any)[name]
	if !ok {
		return nil, false
	}
	return r.resolve(p), true
}

var proseKeys = []string{"description", "title", "x-help", "x-placeholder", "example", "examples", "summary", "x-display-widget"}

// stripped is the reference schema with $refs inlined and prose removed,
// normalized through JSON so numbers compare by value.
func (r *refDoc) stripped(v any) any {
	var walk func(v any, inProps bool) any
	walk = func(v any, inProps bool) any {
		switch x := v.(type) {
		case map[string]any:
			if !inProps {
				if ref, ok := x["$ref"].(string); ok {
					return walk(r.comps[strings.TrimPrefix(ref, "#/components/schemas/")], false)
				}
			}
			out := map[string]any{}
			for k, e := range x {
				if !inProps && contains(proseKeys, k) {
					continue
				}
				switch {
				case inProps:
					out[k] = walk(e, false)
				case k == "properties" || k == "patternProperties":
					out[k] = walk(e, true)
				case k == "enum" || k == "default" || k == "required":
					out[k] = e
				default:
					out[k] = walk(e, false)
				}
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e, false)
			}
			return out
		}
		return v
	}
	return normalize(walk(v, false))
}

func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// factsAsReference renders a generated Node with the reference's own keyword
// names, so that the whole generated tree can be compared with the
// reference's.
func factsAsReference(n *Node) any {
	s := map[string]any{}
	if len(n.Type) == 1 {
		s["type"] = n.Type[0]
	} else if len(n.Type) > 1 {
		s["type"] = n.Type
	}
	if n.Nullable {
		s["nullable"] = true
	}
	if n.Format != "" {
		s["format"] = n.Format
	}
	if n.Pattern != "" {
		s["pattern"] = n.Pattern
	}
	if n.Enum != nil {
		s["enum"] = n.Enum
	}
	if n.HasDefault {
		s["default"] = n.Default
	}
	for k, v := range map[string]*int{"minLength": n.MinLength, "maxLength": n.MaxLength, "minItems": n.MinItems, "maxItems": n.MaxItems} {
		if v != nil {
			s[k] = *v
		}
	}
	for k, v := range map[string]*float64{"minimum": n.Minimum, "maximum": n.Maximum} {
		if v != nil {
			s[k] = *v
		}
	}
	props := func(ps []Prop) map[string]any {
		m := map[string]any{}
		for _, p := range ps {
			m[p.Name] = factsAsReference(p.Node)
		}
		return m
	}
	if n.Props != nil {
		s["properties"] = props(n.Props)
	}
	if n.PatternProps != nil {
		s["patternProperties"] = props(n.PatternProps)
	}
	if n.Required != nil {
		s["required"] = n.Required
	}
	if n.AdditionalProperties != nil {
		s["additionalProperties"] = *n.AdditionalProperties
	}
	if n.AdditionalSchema != nil {
		s["additionalProperties"] = factsAsReference(n.AdditionalSchema)
	}
	if n.Items != nil {
		s["items"] = factsAsReference(n.Items)
	}
	list := func(ns []*Node) []any {
		out := make([]any, len(ns))
		for i, c := range ns {
			out[i] = factsAsReference(c)
		}
		return out
	}
	if n.AnyOf != nil {
		s["anyOf"] = list(n.AnyOf)
	}
	if n.OneOf != nil {
		s["oneOf"] = list(n.OneOf)
	}
	if n.Aliases != nil {
		s["x-variations"] = n.Aliases
	}
	if n.RequiredVariations != nil {
		s["x-required-variations"] = n.RequiredVariations
	}
	if n.Includes != nil {
		s["x-includes"] = n.Includes
	}
	if n.Primary {
		s["x-primary"] = true
	}
	if n.Deprecated {
		s["deprecated"] = true
	}
	if n.AutoPaginate {
		s["xAutoPaginate"] = true
	}
	return s
}

// dropProseDefaults removes, from a stripped reference schema, the defaults
// the generator drops as sample prose, wherever the generated tree says so.
func dropProseDefaults(ref any, n *Node) {
	m, ok := ref.(map[string]any)
	if !ok || n == nil {
		return
	}
	if n.DefaultDropped {
		delete(m, "default")
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for _, p := range n.Props {
			dropProseDefaults(props[p.Name], p.Node)
		}
	}
	if n.Items != nil {
		dropProseDefaults(m["items"], n.Items)
	}
	for i, b := range n.AnyOf {
		if l, ok := m["anyOf"].([]any); ok && i < len(l) {
			dropProseDefaults(l[i], b)
		}
	}
	for i, b := range n.OneOf {
		if l, ok := m["oneOf"].([]any); ok && i < len(l) {
			dropProseDefaults(l[i], b)
		}
	}
}

func assertSameTree(t *testing.T, what string, ref any, n *Node) {
	t.Helper()
	want := normalize(ref)
	dropProseDefaults(want, n)
	got := normalize(factsAsReference(n))
	if !reflect.DeepEqual(want, got) {
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		t.Errorf("%s: generated facts differ from the reference\n ref %s\n gen %s", what, wb, gb)
	}
}

func TestSlugSetMatchesReference(t *testing.T) {
	r := loadReference(t)
	var want []string
	for slug, modes := range r.ops {
		for _, m := range []string{"live", "async", "schedule"} {
			if modes[m] == nil {
				t.Errorf("%s: reference lacks %s mode", slug, m)
			}
		}
		want = append(want, slug)
	}
	sort.Strings(want)
	// Every reference slug is in the catalogue; the only others are the
	// documented Firstmate extensions (actions_hubspot.go).
	var got, extra []string
	for _, a := range All() {
		if _, inRef := r.ops[a.Slug]; !inRef {
			extra = append(extra, a.Slug)
			if !a.Extension {
				t.Errorf("%s: not in the reference and not marked as an extension", a.Slug)
			}
			continue
		}
		if a.Extension {
			t.Errorf("%s: in the reference but marked as an extension", a.Slug)
		}
		got = append(got, a.Slug)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("slug set differs:\n ref %v\n got %v", want, got)
	}
	if !reflect.DeepEqual(extra, Extensions()) {
		t.Errorf("extra slugs %v, documented extensions %v", extra, Extensions())
	}
	// The contract speaks of 60 actions; the reference file holds 71.
	if len(got) != 71 {
		t.Errorf("%d actions, the reference file has 71", len(got))
	}
	for _, a := range All() {
		if b, ok := Get(a.Slug); !ok || b != a {
			t.Errorf("Get(%q) broken", a.Slug)
		}
	}
	if _, ok := Get("nope"); ok {
		t.Error("Get of an unknown slug succeeded")
	}
}

// The whole generated tree of every schema equals the reference's minus its
// prose: this is what makes the generated file trustworthy.
func TestGeneratedTreesMatchReference(t *testing.T) {
	r := loadReference(t)
	for _, g := range generated {
		inputs, _ := r.bodyProp(g.Slug, "async", "inputs")
		assertSameTree(t, g.Slug+" input", r.stripped(inputs["items"]), g.Input)
		for mode, n := range map[string]*Node{"live": g.LiveParams, "async": g.AsyncParams, "schedule": g.SchedParams} {
			p, ok := r.bodyProp(g.Slug, mode, "parameters")
			if ok != (n != nil) {
				t.Errorf("%s %s: parameters present in reference=%v, catalogue=%v", g.Slug, mode, ok, n != nil)
				continue
			}
			if ok {
				assertSameTree(t, g.Slug+" "+mode+" parameters", r.stripped(p), n)
			}
		}
		ok200 := r.ops[g.Slug]["live"]["responses"].(map[string]any)["200"].(map[string]any)
		out := r.resolve(ok200["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
		if out["type"] == "array" {
			out = r.resolve(out["items"])
		}
		assertSameTree(t, g.Slug+" output", r.stripped(out), g.Output)
		cb, _ := r.bodyProp(g.Slug, "async", "callback")
		assertSameTree(t, g.Slug+" callback", r.stripped(cb), genCallback)
		for k, n := range map[string]*Node{"cron": genScheduleCron, "schedule_at": genScheduleAt, "timezone": genScheduleTimezone} {
			p, _ := r.bodyProp(g.Slug, "schedule", k)
			assertSameTree(t, g.Slug+" schedule "+k, r.stripped(p), n)
		}
	}
}

func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, e := range t {
			if e != "null" {
				return e.(string)
			}
		}
	}
	return ""
}

func strList(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func fieldByName(fs []Field, name string) *Field {
	for i := range fs {
		if fs[i].Name == name {
			return &fs[i]
		}
	}
	return nil
}

// Slug by slug and mode by mode, the public facts of every Action against
// values read straight from the reference.
func TestPublicFactsMatchReference(t *testing.T) {
	r := loadReference(t)
	for _, a := range All() {
		if a.Extension {
			continue // not in the reference: TestSlugSetMatchesReference
		}
		slug := a.Slug
		t.Run(slug, func(t *testing.T) {
			// Input fields, aliases, patterns, enums, alternatives.
			inputs, _ := r.bodyProp(slug, "async", "inputs")
			in := r.resolve(inputs["items"])
			type refField struct {
				schema   map[string]any
				required bool
			}
			want := map[string]refField{}
			topReq := []string{}
			if rq, ok := in["required"]; ok {
				topReq = strList(rq)
			}
			for name, s := range in["properties"].(map[string]any) {
				want[name] = refField{s.(map[string]any), contains(topReq, name)}
			}
			var alts [][]string
			if branches, ok := in["anyOf"].([]any); ok {
				for _, b := range branches {
					bm := b.(map[string]any)
					alts = append(alts, strList(bm["required"]))
					for name, s := range bm["properties"].(map[string]any) {
						if _, dup := want[name]; !dup {
							want[name] = refField{s.(map[string]any), false}
						}
					}
				}
			}
			if !reflect.DeepEqual(alts, a.RequiredAlternatives) {
				t.Errorf("required alternatives: ref %v, got %v", alts, a.RequiredAlternatives)
			}
			if len(want) != len(a.Inputs) {
				t.Errorf("input fields: ref %d, got %d", len(want), len(a.Inputs))
			}
			for name, rf := range want {
				f := fieldByName(a.Inputs, name)
				if f == nil {
					t.Errorf("input field %s missing", name)
					continue
				}
				checkField(t, "input "+name, rf.schema, f)
				if f.Required != rf.required {
					t.Errorf("input %s required: ref %v, got %v", name, rf.required, f.Required)
				}
			}
			_, liveInput := r.bodyProp(slug, "live", "input")
			if a.LiveInput != liveInput {
				t.Errorf("live input: ref %v, got %v", liveInput, a.LiveInput)
			}

			// Parameters and max_results, per mode.
			for _, m := range []struct {
				mode   string
				fields []Field
				bounds Bounds
			}{{"live", a.LiveParams, a.LiveMaxResults}, {"async", a.AsyncParams, a.AsyncMaxResults}, {"schedule", a.ScheduleParams, a.ScheduleMaxResults}} {
				p, ok := r.bodyProp(slug, m.mode, "parameters")
				props := map[string]any{}
				if ok {
					props = p["properties"].(map[string]any)
				}
				if len(props) != len(m.fields) {
					t.Errorf("%s parameters: ref %d fields, got %d", m.mode, len(props), len(m.fields))
				}
				for name, s := range props {
					f := fieldByName(m.fields, name)
					if f == nil {
						t.Errorf("%s parameter %s missing", m.mode, name)
						continue
					}
					if overridden(slug, name) {
						continue
					}
					checkField(t, m.mode+" parameter "+name, s.(map[string]any), f)
				}
				mr, has := props["max_results"].(map[string]any)
				if m.bounds.Present != has {
					t.Errorf("%s max_results present: ref %v, got %v", m.mode, has, m.bounds.Present)
				}
				if has {
					for key, pair := range map[string][2]any{
						"default": {m.bounds.HasDefault, m.bounds.Default},
						"minimum": {m.bounds.HasMin, m.bounds.Min},
						"maximum": {m.bounds.HasMax, m.bounds.Max},
					} {
						rv, ok := mr[key]
						if ok != pair[0].(bool) {
							t.Errorf("%s max_results %s present: ref %v, got %v", m.mode, key, ok, pair[0])
						} else if ok && rv.(json.Number).String() != jsonInt(pair[1].(int)) {
							t.Errorf("%s max_results %s: ref %v, got %v", m.mode, key, rv, pair[1])
						}
					}
				}
				// Identity fields.
				_, ids := r.bodyProp(slug, m.mode, "identity_ids")
				_, mode := r.bodyProp(slug, m.mode, "identity_mode")
				if got := a.AcceptsIdentityIn(m.mode); got.IDs != ids || got.Mode != mode {
					t.Errorf("%s identity fields: ref ids=%v mode=%v, got %+v", m.mode, ids, mode, got)
				}
				if m.mode == "live" && (a.AcceptsIdentity != ids || a.AcceptsIdentityMode != mode) {
					t.Errorf("live AcceptsIdentity mismatch")
				}
				// Params required.
				if reqd := contains(strListOr(r.body(slug, m.mode)["required"]), "parameters"); reqd != a.paramsRequired(m.mode) {
					t.Errorf("%s parameters required: ref %v, got %v", m.mode, reqd, !reqd)
				}
			}

			// Input limits.
			for mode, max := range map[string]int{"async": a.AsyncMaxInputs, "schedule": a.ScheduleMaxInputs} {
				p, _ := r.bodyProp(slug, mode, "inputs")
				if p["maxItems"].(json.Number).String() != jsonInt(max) {
					t.Errorf("%s inputs maxItems: ref %v, got %d", mode, p["maxItems"], max)
				}
			}

			// Output shape and paging.
			live := r.ops[slug]["live"]
			ok200 := live["responses"].(map[string]any)["200"].(map[string]any)
			out := r.resolve(ok200["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
			isList := out["type"] == "array"
			if isList != a.ListOutput {
				t.Errorf("list output: ref %v, got %v", isList, a.ListOutput)
			}
			if isList {
				out = r.resolve(out["items"])
			}
			outProps, _ := out["properties"].(map[string]any)
			if len(outProps) != len(a.Outputs) {
				t.Errorf("output fields: ref %d, got %d", len(outProps), len(a.Outputs))
			}
			for name, s := range outProps {
				f := fieldByName(a.Outputs, name)
				if f == nil {
					t.Errorf("output field %s missing", name)
				} else if typeOf(s.(map[string]any)) != f.Type {
					t.Errorf("output %s type: ref %q, got %q", name, typeOf(s.(map[string]any)), f.Type)
				}
			}
			pageSize, token := 0, false
			for _, q := range live["parameters"].([]any) {
				qm := q.(map[string]any)
				switch qm["name"] {
				case "page_size":
					n, _ := qm["schema"].(map[string]any)["default"].(json.Number).Int64()
					pageSize = int(n)
				case "token":
					token = true
				}
			}
			if pageSize != a.PageSize || token != a.CursorPaging {
				t.Errorf("paging: ref size=%d token=%v, got size=%d cursor=%v", pageSize, token, a.PageSize, a.CursorPaging)
			}
			if a.ListOutput && a.PageSize == 0 && slug != "linkedin-extract-company-affiliates" && slug != "linkedin-extract-similar-companies" {
				t.Errorf("list action without a page size")
			}
		})
	}
}

func (a *Action) paramsRequired(mode string) bool {
	switch mode {
	case "live":
		return a.gen.LiveParamsRequired
	case "async":
		return a.gen.AsyncParamsRequired
	}
	return a.gen.SchedParamsRequired
}

func strListOr(v any) []string {
	if v == nil {
		return nil
	}
	return strList(v)
}

func jsonInt(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func overridden(slug, field string) bool {
	for _, o := range overrides {
		if o.slug == slug && o.field == field {
			return true
		}
	}
	return false
}

func checkField(t *testing.T, what string, s map[string]any, f *Field) {
	t.Helper()
	if typeOf(s) != f.Type {
		t.Errorf("%s type: ref %q, got %q", what, typeOf(s), f.Type)
	}
	if p, _ := s["pattern"].(string); p != f.Pattern {
		t.Errorf("%s pattern: ref %q, got %q", what, p, f.Pattern)
	}
	if fm, _ := s["format"].(string); fm != f.Format {
		t.Errorf("%s format: ref %q, got %q", what, fm, f.Format)
	}
	var aliases []string
	if v, ok := s["x-variations"]; ok {
		aliases = strList(v)
	}
	if !reflect.DeepEqual(aliases, f.Aliases) && !(len(aliases) == 0 && len(f.Aliases) == 0) {
		t.Errorf("%s aliases: ref %v, got %v", what, aliases, f.Aliases)
	}
	var rv []string
	if v, ok := s["x-required-variations"]; ok {
		rv = strList(v)
	}
	if !reflect.DeepEqual(rv, f.RequiredWith) && !(len(rv) == 0 && len(f.RequiredWith) == 0) {
		t.Errorf("%s required variations: ref %v, got %v", what, rv, f.RequiredWith)
	}
	var enum []string
	if v, ok := s["enum"].([]any); ok {
		for _, e := range v {
			if e != nil {
				enum = append(enum, e.(string))
			}
		}
	}
	if !reflect.DeepEqual(enum, f.Enum) && !(len(enum) == 0 && len(f.Enum) == 0) {
		t.Errorf("%s enum: ref %v, got %v", what, enum, f.Enum)
	}
	d, hasDefault := s["default"]
	if hasDefault && f.Node.DefaultDropped {
		return
	}
	if hasDefault != f.HasDefault || (hasDefault && !reflect.DeepEqual(normalize(d), normalize(f.Default))) {
		t.Errorf("%s default: ref %v (%v), got %v (%v)", what, d, hasDefault, f.Default, f.HasDefault)
	}
}

// The envelope parts the catalogue writes by hand equal the reference's.
func TestEnvelopeMatchesReference(t *testing.T) {
	r := loadReference(t)
	for slug := range r.ops {
		for _, mode := range []string{"live", "async", "schedule"} {
			b := r.body(slug, mode)
			if b["additionalProperties"] != false {
				t.Errorf("%s %s: body is not closed", slug, mode)
			}
			if s, ok := r.bodyProp(slug, mode, "identity_ids"); ok && !reflect.DeepEqual(r.stripped(s), normalize(identityIDsSchema())) {
				t.Errorf("%s %s identity_ids: %v", slug, mode, r.stripped(s))
			}
			if s, ok := r.bodyProp(slug, mode, "identity_mode"); ok && !reflect.DeepEqual(r.stripped(s), normalize(identityModeSchema())) {
				t.Errorf("%s %s identity_mode: %v", slug, mode, r.stripped(s))
			}
			if mode == "schedule" {
				want := normalize([]any{
					map[string]any{"properties": map[string]any{"cron": genScheduleCron.Schema()}, "required": []any{"cron"}},
					map[string]any{"properties": map[string]any{"schedule_at": genScheduleAt.Schema()}, "required": []any{"schedule_at"}},
				})
				if got := r.stripped(b["anyOf"]); !reflect.DeepEqual(got, want) {
					t.Errorf("%s schedule anyOf: %v", slug, got)
				}
			}
		}
	}
}

// Each override corrects a defect the reference still has; when the
// reference is fixed, this test names the override to delete.
func TestOverridesStillNeeded(t *testing.T) {
	r := loadReference(t)
	for _, o := range overrides {
		p, ok := r.bodyProp(o.slug, "live", "parameters")
		if !ok {
			t.Errorf("%s: no parameters", o.slug)
			continue
		}
		f, ok := p["properties"].(map[string]any)[o.field].(map[string]any)
		if !ok {
			t.Errorf("%s: no parameter %s", o.slug, o.field)
			continue
		}
		var stillBroken bool
		switch o.field {
		case "message":
			stillBroken = f["type"] == "integer"
		case "comment":
			_, hasMax := f["maximum"]
			stillBroken = f["type"] == "string" && hasMax
		case "relationship":
			stillBroken = f["type"] == "string" && f["nullable"] == nil
		}
		if !stillBroken {
			t.Errorf("override %s/%s no longer needed", o.slug, o.field)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
