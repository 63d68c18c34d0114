// Command catalog-gen reads the vendor's actions OpenAPI file and writes
// internal/catalog/actions_gen.go: the facts of every action (field names,
// JSON types, aliases, required alternatives, patterns, enums, bounds,
// defaults, page sizes, identity fields, input limits, output shapes) as Go
// literals.
//
// It keeps facts only. Every schema keyword is either on the facts list, on
// the prose list (descriptions, titles, help, placeholders, examples, UI
// widgets: dropped), or makes the generator fail, so a new keyword in a
// future reference cannot slip through silently either way.
//
//	go run ./tools/catalog-gen -ref ../shared/reference/captaindata-v4-actions.openapi.json -out internal/catalog/actions_gen.go
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	ref := flag.String("ref", "../shared/reference/captaindata-v4-actions.openapi.json", "reference OpenAPI file")
	out := flag.String("out", "internal/catalog/actions_gen.go", "output Go file")
	flag.Parse()
	raw, err := os.ReadFile(*ref)
	if err != nil {
		fail(err)
	}
	src, err := Generate(raw)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "catalog-gen:", err)
	os.Exit(1)
}

// ---- fact model (mirrors internal/catalog's Node / genAction) ----

type Node struct {
	Type                 []string
	Nullable             bool
	Format               string
	Pattern              string
	Enum                 []any
	Default              any
	HasDefault           bool
	DefaultDropped       bool
	MinLength, MaxLength *int
	MinItems, MaxItems   *int
	Minimum, Maximum     *float64
	Props                []Prop
	Required             []string
	AdditionalProperties *bool
	AdditionalSchema     *Node
	PatternProps         []Prop
	Items                *Node
	AnyOf, OneOf         []*Node
	Aliases              []string
	RequiredVariations   []string
	Includes             []string
	Primary              bool
	Deprecated           bool
	AutoPaginate         bool
}

type Prop struct {
	Name string
	Node *Node
}

type Identity struct{ IDs, Mode bool }

type Action struct {
	Slug                                 string
	LiveHasInput                         bool
	Input                                *Node
	LiveParams, AsyncParams, SchedParams *Node
	LiveParamsRequired                   bool
	AsyncParamsRequired                  bool
	SchedParamsRequired                  bool
	LiveIdentity, AsyncIdentity          Identity
	SchedIdentity                        Identity
	AsyncMinInputs, AsyncMaxInputs       int
	SchedMinInputs, SchedMaxInputs       int
	ListOutput                           bool
	Output                               *Node
	PageSize                             int
	CursorPaging, PrevLink, NextLink     bool
}

// Keywords kept as facts, and keywords dropped as prose or presentation.
var factKeys = map[string]bool{
	"type": true, "nullable": true, "format": true, "pattern": true, "enum": true, "default": true,
	"minLength": true, "maxLength": true, "minItems": true, "maxItems": true, "minimum": true, "maximum": true,
	"properties": true, "required": true, "additionalProperties": true, "patternProperties": true, "items": true,
	"anyOf": true, "oneOf": true, "x-variations": true, "x-required-variations": true, "x-includes": true,
	"x-primary": true, "deprecated": true, "xAutoPaginate": true, "$ref": true,
}
var proseKeys = map[string]bool{
	"description": true, "title": true, "x-help": true, "x-placeholder": true, "example": true,
	"examples": true, "summary": true, "x-display-widget": true,
}

type gen struct {
	doc   map[string]any
	comps map[string]any
}

func Generate(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	g := &gen{doc: doc}
	comps, _ := doc["components"].(map[string]any)
	g.comps, _ = comps["schemas"].(map[string]any)
	paths, _ := doc["paths"].(map[string]any)
	re := regexp.MustCompile(`^/actions/([a-z0-9-]+)/run/(live|async|schedule)$`)
	modes := map[string]map[string]map[string]any{}
	for p, v := range paths {
		m := re.FindStringSubmatch(p)
		if m == nil {
			continue
		}
		op, _ := v.(map[string]any)["post"].(map[string]any)
		if op == nil {
			return nil, fmt.Errorf("%s: no post operation", p)
		}
		if modes[m[1]] == nil {
			modes[m[1]] = map[string]map[string]any{}
		}
		modes[m[1]][m[2]] = op
	}
	slugs := make([]string, 0, len(modes))
	for s := range modes {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)

	var actions []*Action
	var callback, cron, scheduleAt, timezone *Node
	for _, slug := range slugs {
		ops := modes[slug]
		for _, m := range []string{"live", "async", "schedule"} {
			if ops[m] == nil {
				return nil, fmt.Errorf("%s: no %s mode", slug, m)
			}
		}
		a, cb, sched, err := g.action(slug, ops)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", slug, err)
		}
		if err := same(&callback, cb, slug+" callback"); err != nil {
			return nil, err
		}
		for i, n := range []**Node{&cron, &scheduleAt, &timezone} {
			if err := same(n, sched[i], slug+" schedule field"); err != nil {
				return nil, err
			}
		}
		actions = append(actions, a)
	}
	return emit(actions, callback, cron, scheduleAt, timezone)
}

// same records the first value seen and insists later ones are identical:
// the catalogue states uniform envelope parts once.
func same(dst **Node, n *Node, what string) error {
	if *dst == nil {
		*dst = n
		return nil
	}
	a, _ := json.Marshal(*dst)
	b, _ := json.Marshal(n)
	if !bytes.Equal(a, b) {
		return fmt.Errorf("%s differs from the other actions; the catalogue assumes it is uniform", what)
	}
	return nil
}

func bodySchema(op map[string]any) (map[string]any, error) {
	rb, _ := op["requestBody"].(map[string]any)
	c, _ := rb["content"].(map[string]any)
	aj, _ := c["application/json"].(map[string]any)
	s, _ := aj["schema"].(map[string]any)
	if s == nil {
		return nil, fmt.Errorf("no JSON request body")
	}
	return s, nil
}

func (g *gen) action(slug string, ops map[string]map[string]any) (*Action, *Node, [3]*Node, error) {
	a := &Action{Slug: slug}
	var sched [3]*Node
	bodies := map[string]map[string]any{}
	for m, op := range ops {
		b, err := bodySchema(op)
		if err != nil {
			return nil, nil, sched, fmt.Errorf("%s: %w", m, err)
		}
		bodies[m] = b
	}
	props := func(m string) map[string]any { p, _ := bodies[m]["properties"].(map[string]any); return p }
	req := func(m string) []string { return strs(bodies[m]["required"]) }
	ident := func(m string) Identity {
		_, ids := props(m)["identity_ids"]
		_, mode := props(m)["identity_mode"]
		return Identity{IDs: ids, Mode: mode}
	}
	a.LiveIdentity, a.AsyncIdentity, a.SchedIdentity = ident("live"), ident("async"), ident("schedule")

	// Inputs: the async "inputs" items are the input schema in every mode;
	// live either carries the same schema as "input" or no input at all.
	asyncInputs, _ := props("async")["inputs"].(map[string]any)
	schedInputs, _ := props("schedule")["inputs"].(map[string]any)
	if asyncInputs == nil || schedInputs == nil {
		return nil, nil, sched, fmt.Errorf("async or schedule body lacks inputs")
	}
	in, err := g.node(asyncInputs["items"])
	if err != nil {
		return nil, nil, sched, fmt.Errorf("inputs: %w", err)
	}
	a.Input = in
	if li, ok := props("live")["input"]; ok {
		a.LiveHasInput = true
		ln, err := g.node(li)
		if err != nil {
			return nil, nil, sched, err
		}
		if err := same(&in, ln, "live input vs async items"); err != nil {
			return nil, nil, sched, err
		}
	}
	a.AsyncMinInputs, a.AsyncMaxInputs = intOf(asyncInputs["minItems"]), intOf(asyncInputs["maxItems"])
	a.SchedMinInputs, a.SchedMaxInputs = intOf(schedInputs["minItems"]), intOf(schedInputs["maxItems"])

	for _, m := range []struct {
		mode string
		dst  **Node
		reqd *bool
	}{{"live", &a.LiveParams, &a.LiveParamsRequired}, {"async", &a.AsyncParams, &a.AsyncParamsRequired}, {"schedule", &a.SchedParams, &a.SchedParamsRequired}} {
		if p, ok := props(m.mode)["parameters"]; ok {
			n, err := g.node(p)
			if err != nil {
				return nil, nil, sched, fmt.Errorf("%s parameters: %w", m.mode, err)
			}
			*m.dst = n
		}
		*m.reqd = contains(req(m.mode), "parameters")
	}

	// Envelope keys we know; anything else in a body is a reference change.
	known := map[string]bool{"input": true, "inputs": true, "parameters": true, "identity_ids": true,
		"identity_mode": true, "callback": true, "cron": true, "schedule_at": true, "timezone": true}
	for m := range bodies {
		for k := range props(m) {
			if !known[k] {
				return nil, nil, sched, fmt.Errorf("%s body has unknown property %q", m, k)
			}
		}
	}
	cb, err := g.node(props("async")["callback"])
	if err != nil {
		return nil, nil, sched, err
	}
	cb2, err := g.node(props("schedule")["callback"])
	if err != nil {
		return nil, nil, sched, err
	}
	if err := same(&cb, cb2, "schedule callback"); err != nil {
		return nil, nil, sched, err
	}
	for i, k := range []string{"cron", "schedule_at", "timezone"} {
		if sched[i], err = g.node(props("schedule")[k]); err != nil {
			return nil, nil, sched, err
		}
	}

	// Live response and paging.
	live := ops["live"]
	resp, _ := live["responses"].(map[string]any)
	ok200, _ := resp["200"].(map[string]any)
	content, _ := ok200["content"].(map[string]any)
	aj, _ := content["application/json"].(map[string]any)
	rs, _ := aj["schema"].(map[string]any)
	if rs == nil {
		return nil, nil, sched, fmt.Errorf("live 200 has no JSON schema")
	}
	if t, _ := rs["type"].(string); t == "array" {
		a.ListOutput = true
		rs, _ = rs["items"].(map[string]any)
	}
	if a.Output, err = g.node(rs); err != nil {
		return nil, nil, sched, fmt.Errorf("output: %w", err)
	}
	if h, ok := ok200["headers"].(map[string]any); ok {
		_, a.PrevLink = h["X-Pagination-Previous"]
		_, a.NextLink = h["X-Pagination-Next"]
	}
	qs, _ := live["parameters"].([]any)
	for _, q := range qs {
		qm, _ := q.(map[string]any)
		s, _ := qm["schema"].(map[string]any)
		switch qm["name"] {
		case "page_size":
			def, lo, hi := intOf(s["default"]), intOf(s["minimum"]), intOf(s["maximum"])
			if def != lo || def != hi {
				return nil, nil, sched, fmt.Errorf("page_size is not fixed (%d, %d..%d)", def, lo, hi)
			}
			a.PageSize = def
		case "token":
			a.CursorPaging = true
		case "page":
		default:
			return nil, nil, sched, fmt.Errorf("unknown live query parameter %v", qm["name"])
		}
	}
	return a, cb, sched, nil
}

func (g *gen) node(v any) (*Node, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is %T, not an object", v)
	}
	if ref, ok := m["$ref"].(string); ok {
		const prefix = "#/components/schemas/"
		if !strings.HasPrefix(ref, prefix) {
			return nil, fmt.Errorf("unsupported $ref %q", ref)
		}
		target, ok := g.comps[strings.TrimPrefix(ref, prefix)]
		if !ok {
			return nil, fmt.Errorf("dangling $ref %q", ref)
		}
		if len(m) > 1 {
			return nil, fmt.Errorf("$ref %q has siblings", ref)
		}
		return g.node(target)
	}
	n := &Node{}
	for k, val := range m {
		if proseKeys[k] {
			continue
		}
		if !factKeys[k] {
			return nil, fmt.Errorf("unknown schema keyword %q", k)
		}
		var err error
		switch k {
		case "type":
			switch t := val.(type) {
			case string:
				n.Type = []string{t}
			default:
				n.Type = strs(t)
			}
		case "nullable":
			n.Nullable, _ = val.(bool)
		case "format":
			n.Format, _ = val.(string)
		case "pattern":
			n.Pattern, _ = val.(string)
		case "enum":
			n.Enum, _ = val.([]any)
		case "default":
			// A long free-text default is sample prose (a pre-written
			// message), not a fact; it is dropped and flagged.
			if s, ok := val.(string); ok && len(s) > 40 && strings.ContainsAny(s, " \n") {
				n.DefaultDropped = true
				continue
			}
			n.Default, n.HasDefault = val, true
		case "minLength":
			n.MinLength = ip(val)
		case "maxLength":
			n.MaxLength = ip(val)
		case "minItems":
			n.MinItems = ip(val)
		case "maxItems":
			n.MaxItems = ip(val)
		case "minimum":
			n.Minimum = fp(val)
		case "maximum":
			n.Maximum = fp(val)
		case "properties":
			n.Props, err = g.props(val)
		case "patternProperties":
			n.PatternProps, err = g.props(val)
		case "required":
			n.Required = strs(val)
		case "additionalProperties":
			switch ap := val.(type) {
			case bool:
				n.AdditionalProperties = &ap
			default:
				n.AdditionalSchema, err = g.node(ap)
			}
		case "items":
			n.Items, err = g.node(val)
		case "anyOf", "oneOf":
			list, _ := val.([]any)
			var subs []*Node
			for _, s := range list {
				sn, e := g.node(s)
				if e != nil {
					return nil, e
				}
				subs = append(subs, sn)
			}
			if k == "anyOf" {
				n.AnyOf = subs
			} else {
				n.OneOf = subs
			}
		case "x-variations":
			n.Aliases = strs(val)
		case "x-required-variations":
			n.RequiredVariations = strs(val)
		case "x-includes":
			n.Includes = strs(val)
		case "x-primary":
			n.Primary, _ = val.(bool)
		case "deprecated":
			n.Deprecated, _ = val.(bool)
		case "xAutoPaginate":
			n.AutoPaginate, _ = val.(bool)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return n, nil
}

// props lists properties sorted by name, so the output is stable whatever
// order the reference writes them in. Order of anyOf alternatives, which
// does matter, is kept as written.
func (g *gen) props(v any) ([]Prop, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("properties is %T", v)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]Prop, 0, len(names))
	for _, k := range names {
		n, err := g.node(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out = append(out, Prop{Name: k, Node: n})
	}
	return out, nil
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func intOf(v any) int {
	if n, ok := v.(json.Number); ok {
		i, err := n.Int64()
		if err == nil {
			return int(i)
		}
	}
	return 0
}

func ip(v any) *int {
	i := intOf(v)
	return &i
}

func fp(v any) *float64 {
	n, _ := v.(json.Number)
	f, err := n.Float64()
	if err != nil {
		return nil
	}
	return &f
}

// ---- emitter ----

func emit(actions []*Action, callback, cron, scheduleAt, timezone *Node) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by tools/catalog-gen from the vendor's actions OpenAPI file. DO NOT EDIT.\n")
	b.WriteString("// Facts only: names, types, aliases, patterns, enums, bounds, defaults, limits.\n\n")
	b.WriteString("package catalog\n\n")
	b.WriteString("import \"encoding/json\"\n\n")
	b.WriteString("var _ = json.Number(\"\")\n\n")
	b.WriteString("var genCallback = ")
	writeNode(&b, callback)
	b.WriteString("\n\nvar genScheduleCron = ")
	writeNode(&b, cron)
	b.WriteString("\n\nvar genScheduleAt = ")
	writeNode(&b, scheduleAt)
	b.WriteString("\n\nvar genScheduleTimezone = ")
	writeNode(&b, timezone)
	b.WriteString("\n\nvar generated = []*genAction{\n")
	for _, a := range actions {
		fmt.Fprintf(&b, "{Slug: %q,\n", a.Slug)
		fmt.Fprintf(&b, "LiveHasInput: %v,\n", a.LiveHasInput)
		b.WriteString("Input: ")
		writeNode(&b, a.Input)
		b.WriteString(",\n")
		for _, p := range []struct {
			name string
			n    *Node
			reqd bool
		}{{"LiveParams", a.LiveParams, a.LiveParamsRequired}, {"AsyncParams", a.AsyncParams, a.AsyncParamsRequired}, {"SchedParams", a.SchedParams, a.SchedParamsRequired}} {
			if p.n != nil {
				fmt.Fprintf(&b, "%s: ", p.name)
				writeNode(&b, p.n)
				b.WriteString(",\n")
			}
			if p.reqd {
				fmt.Fprintf(&b, "%sRequired: true,\n", p.name)
			}
		}
		fmt.Fprintf(&b, "LiveIdentity: genIdentity{IDs: %v, Mode: %v},\n", a.LiveIdentity.IDs, a.LiveIdentity.Mode)
		fmt.Fprintf(&b, "AsyncIdentity: genIdentity{IDs: %v, Mode: %v},\n", a.AsyncIdentity.IDs, a.AsyncIdentity.Mode)
		fmt.Fprintf(&b, "SchedIdentity: genIdentity{IDs: %v, Mode: %v},\n", a.SchedIdentity.IDs, a.SchedIdentity.Mode)
		fmt.Fprintf(&b, "AsyncMinInputs: %d, AsyncMaxInputs: %d, SchedMinInputs: %d, SchedMaxInputs: %d,\n",
			a.AsyncMinInputs, a.AsyncMaxInputs, a.SchedMinInputs, a.SchedMaxInputs)
		fmt.Fprintf(&b, "ListOutput: %v, PageSize: %d, CursorPaging: %v, PrevLink: %v, NextLink: %v,\n",
			a.ListOutput, a.PageSize, a.CursorPaging, a.PrevLink, a.NextLink)
		b.WriteString("Output: ")
		writeNode(&b, a.Output)
		b.WriteString(",\n},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return b.Bytes(), fmt.Errorf("gofmt generated code: %w", err)
	}
	return src, nil
}

func writeNode(b *bytes.Buffer, n *Node) {
	if n == nil {
		b.WriteString("nil")
		return
	}
	b.WriteString("&Node{")
	if len(n.Type) > 0 {
		fmt.Fprintf(b, "Type: %s, ", strList(n.Type))
	}
	if n.Nullable {
		b.WriteString("Nullable: true, ")
	}
	if n.Format != "" {
		fmt.Fprintf(b, "Format: %q, ", n.Format)
	}
	if n.Pattern != "" {
		fmt.Fprintf(b, "Pattern: %s, ", goString(n.Pattern))
	}
	if n.Enum != nil {
		b.WriteString("Enum: []any{")
		for _, e := range n.Enum {
			writeValue(b, e)
			b.WriteString(", ")
		}
		b.WriteString("}, ")
	}
	if n.HasDefault {
		b.WriteString("Default: ")
		writeValue(b, n.Default)
		b.WriteString(", HasDefault: true, ")
	}
	if n.DefaultDropped {
		b.WriteString("DefaultDropped: true, ")
	}
	for _, x := range []struct {
		name string
		v    *int
	}{{"MinLength", n.MinLength}, {"MaxLength", n.MaxLength}, {"MinItems", n.MinItems}, {"MaxItems", n.MaxItems}} {
		if x.v != nil {
			fmt.Fprintf(b, "%s: ip(%d), ", x.name, *x.v)
		}
	}
	for _, x := range []struct {
		name string
		v    *float64
	}{{"Minimum", n.Minimum}, {"Maximum", n.Maximum}} {
		if x.v != nil {
			fmt.Fprintf(b, "%s: fp(%s), ", x.name, strconv.FormatFloat(*x.v, 'g', -1, 64))
		}
	}
	if n.Props != nil {
		b.WriteString("Props: []Prop{")
		for _, p := range n.Props {
			fmt.Fprintf(b, "{%q, ", p.Name)
			writeNode(b, p.Node)
			b.WriteString("}, ")
		}
		b.WriteString("}, ")
	}
	if n.Required != nil {
		fmt.Fprintf(b, "Required: %s, ", strList(n.Required))
	}
	if n.AdditionalProperties != nil {
		fmt.Fprintf(b, "AdditionalProperties: bp(%v), ", *n.AdditionalProperties)
	}
	if n.AdditionalSchema != nil {
		b.WriteString("AdditionalSchema: ")
		writeNode(b, n.AdditionalSchema)
		b.WriteString(", ")
	}
	if n.PatternProps != nil {
		b.WriteString("PatternProps: []Prop{")
		for _, p := range n.PatternProps {
			fmt.Fprintf(b, "{%s, ", goString(p.Name))
			writeNode(b, p.Node)
			b.WriteString("}, ")
		}
		b.WriteString("}, ")
	}
	if n.Items != nil {
		b.WriteString("Items: ")
		writeNode(b, n.Items)
		b.WriteString(", ")
	}
	for _, x := range []struct {
		name string
		v    []*Node
	}{{"AnyOf", n.AnyOf}, {"OneOf", n.OneOf}} {
		if len(x.v) > 0 {
			fmt.Fprintf(b, "%s: []*Node{", x.name)
			for _, s := range x.v {
				writeNode(b, s)
				b.WriteString(", ")
			}
			b.WriteString("}, ")
		}
	}
	if n.Aliases != nil {
		fmt.Fprintf(b, "Aliases: %s, ", strList(n.Aliases))
	}
	if n.RequiredVariations != nil {
		fmt.Fprintf(b, "RequiredVariations: %s, ", strList(n.RequiredVariations))
	}
	if n.Includes != nil {
		fmt.Fprintf(b, "Includes: %s, ", strList(n.Includes))
	}
	if n.Primary {
		b.WriteString("Primary: true, ")
	}
	if n.Deprecated {
		b.WriteString("Deprecated: true, ")
	}
	if n.AutoPaginate {
		b.WriteString("AutoPaginate: true, ")
	}
	b.WriteString("}")
}

func goString(s string) string {
	if !strings.Contains(s, "`") && !strings.ContainsAny(s, "\n\r") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

func strList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func writeValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		fmt.Fprintf(b, "%v", x)
	case string:
		b.WriteString(strconv.Quote(x))
	case json.Number:
		fmt.Fprintf(b, "json.Number(%q)", string(x))
	case []any:
		b.WriteString("[]any{")
		for _, e := range x {
			writeValue(b, e)
			b.WriteString(", ")
		}
		b.WriteString("}")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("map[string]any{")
		for _, k := range keys {
			fmt.Fprintf(b, "%q: ", k)
			writeValue(b, x[k])
			b.WriteString(", ")
		}
		b.WriteString("}")
	default:
		fmt.Fprintf(b, "%#v", x)
	}
}
