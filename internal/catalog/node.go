package catalog

import (
	"encoding/json"
)

// Node is one schema in fact form: what the generator keeps from the
// reference (types, formats, patterns, enums, bounds, defaults, structure,
// aliases), never its prose. Schema turns it back into a JSON Schema.
type Node struct {
	Type                 []string
	Nullable             bool
	Format               string
	Pattern              string // as the reference writes it (often a JS regex literal)
	Enum                 []any
	Default              any
	HasDefault           bool
	DefaultDropped       bool // the reference's default was sample prose; not kept
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
	Aliases              []string // x-variations: other names accepted for this field
	RequiredVariations   []string // x-required-variations: fields that may stand in for this one
	Includes             []string // x-includes: substrings the value is expected to contain
	Primary              bool     // x-primary
	Deprecated           bool
	AutoPaginate         bool // xAutoPaginate: a paging control (max_results, max_pages, skip)
}

// Prop is a named property of an object Node.
type Prop struct {
	Name string
	Node *Node
}

type genIdentity struct{ IDs, Mode bool }

// genAction is what the generator knows about one action.
type genAction struct {
	Slug                                       string
	LiveHasInput                               bool
	Input                                      *Node
	LiveParams, AsyncParams, SchedParams       *Node
	LiveParamsRequired, AsyncParamsRequired    bool
	SchedParamsRequired                        bool
	LiveIdentity, AsyncIdentity, SchedIdentity genIdentity
	AsyncMinInputs, AsyncMaxInputs             int
	SchedMinInputs, SchedMaxInputs             int
	ListOutput                                 bool
	PageSize                                   int
	CursorPaging, PrevLink, NextLink           bool
	Output                                     *Node
}

func ip(i int) *int         { return &i }
func fp(f float64) *float64 { return &f }
func bp(b bool) *bool       { return &b }

// Prop returns the named property, or nil.
func (n *Node) Prop(name string) *Node {
	if n == nil {
		return nil
	}
	for _, p := range n.Props {
		if p.Name == name {
			return p.Node
		}
	}
	return nil
}

// Schema renders the node as a JSON Schema (2020-12 with OpenAPI's
// "nullable", which internal/validate understands). Aliases and the other
// x- facts are rendered under "x-aliases"/"x-required-with"/... so the
// catalogue's own description of an action stays self-explanatory.
func (n *Node) Schema() map[string]any {
	if n == nil {
		return map[string]any{}
	}
	s := map[string]any{}
	switch len(n.Type) {
	case 0:
	case 1:
		s["type"] = n.Type[0]
	default:
		s["type"] = append([]string(nil), n.Type...)
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
		s["enum"] = cloneValue(n.Enum)
	}
	if n.HasDefault {
		s["default"] = cloneValue(n.Default)
	}
	setInt := func(k string, v *int) {
		if v != nil {
			s[k] = *v
		}
	}
	setInt("minLength", n.MinLength)
	setInt("maxLength", n.MaxLength)
	setInt("minItems", n.MinItems)
	setInt("maxItems", n.MaxItems)
	if n.Minimum != nil {
		s["minimum"] = *n.Minimum
	}
	if n.Maximum != nil {
		s["maximum"] = *n.Maximum
	}
	if n.Props != nil {
		props := make(map[string]any, len(n.Props))
		for _, p := range n.Props {
			props[p.Name] = p.Node.Schema()
		}
		s["properties"] = props
	}
	if n.PatternProps != nil {
		props := make(map[string]any, len(n.PatternProps))
		for _, p := range n.PatternProps {
			props[p.Name] = p.Node.Schema()
		}
		s["patternProperties"] = props
	}
	if n.Required != nil {
		s["required"] = append([]string{}, n.Required...)
	}
	if n.AdditionalProperties != nil {
		s["additionalProperties"] = *n.AdditionalProperties
	}
	if n.AdditionalSchema != nil {
		s["additionalProperties"] = n.AdditionalSchema.Schema()
	}
	if n.Items != nil {
		s["items"] = n.Items.Schema()
	}
	if len(n.AnyOf) > 0 {
		s["anyOf"] = schemas(n.AnyOf)
	}
	if len(n.OneOf) > 0 {
		s["oneOf"] = schemas(n.OneOf)
	}
	if len(n.Aliases) > 0 {
		s["x-aliases"] = append([]string(nil), n.Aliases...)
	}
	if len(n.RequiredVariations) > 0 {
		s["x-required-with"] = append([]string(nil), n.RequiredVariations...)
	}
	if n.Primary {
		s["x-primary"] = true
	}
	if n.Deprecated {
		s["deprecated"] = true
	}
	return s
}

func schemas(list []*Node) []any {
	out := make([]any, len(list))
	for i, n := range list {
		out[i] = n.Schema()
	}
	return out
}

// cloneValue deep-copies a JSON value so callers can never mutate the
// catalogue through a default or an enum.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneValue(e)
		}
		return l
	case json.Number:
		return x
	}
	return v
}
