package catalog

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
)

// OutputError says which part of a result breaks the action's output shape.
type OutputError struct {
	Path    string // the field, e.g. "experiences[2].company_name"
	Problem string // e.g. "must be integer, got string"
}

func (e *OutputError) Error() string { return e.Path + " " + e.Problem }

var (
	outputIndexOnce sync.Once
	outputIndex     map[*Action]map[string]*Node
)

func outputsOf(a *Action) map[string]*Node {
	outputIndexOnce.Do(func() {
		outputIndex = make(map[*Action]map[string]*Node, len(all))
		for _, x := range all {
			m := make(map[string]*Node, len(x.Outputs))
			for _, f := range x.Outputs {
				m[f.Name] = f.Node
			}
			outputIndex[x] = m
		}
	})
	return outputIndex[a]
}

// CheckOutput checks one result object against the action's output fields,
// for results that come from outside the binary (a remote executor): every
// key must be a declared field, and every value must have the field's
// declared JSON type, recursively (array items, object properties, oneOf
// alternatives). Objects whose schema lists properties take no others.
//
// Null is accepted anywhere: it stands for a value the platform did not
// give. A missing field is not an error either (the reference requires
// none). Formats, patterns and enums are not checked: they describe what a
// platform usually answers, not a promise the API makes. The error is an
// *OutputError naming the first offending field.
func (a *Action) CheckOutput(result map[string]any) error {
	fields := outputsOf(a)
	if fields == nil { // an Action not from this catalogue
		fields = make(map[string]*Node, len(a.Outputs))
		for _, f := range a.Outputs {
			fields[f.Name] = f.Node
		}
	}
	for k, v := range result {
		n, ok := fields[k]
		if !ok {
			return &OutputError{Path: k, Problem: "is not an output field of " + a.Slug}
		}
		if e := checkValue(n, v); e != nil {
			e.Path = under(k, e.Path)
			return e
		}
	}
	return nil
}

// under prefixes a relative path with the key or index that holds it. The
// paths are built only on failure: checking a valid result allocates
// nothing.
func under(seg, rel string) string {
	switch {
	case rel == "":
		return seg
	case rel[0] == '[':
		return seg + rel
	}
	return seg + "." + rel
}

// checkValue checks v against n; the error's Path is relative to v.
func checkValue(n *Node, v any) *OutputError {
	if v == nil || n == nil {
		return nil
	}
	if len(n.Type) == 0 && (len(n.OneOf) > 0 || len(n.AnyOf) > 0) {
		return checkAlternatives(n, v)
	}
	typ := ""
	for _, t := range n.Type {
		if t != "null" {
			typ = t
			break
		}
	}
	bad := func() *OutputError {
		return &OutputError{Problem: "must be " + typ + ", got " + jsonType(v)}
	}
	switch typ {
	case "":
		return nil
	case "string":
		if _, ok := v.(string); !ok {
			return bad()
		}
	case "integer":
		if !isInteger(v) {
			return bad()
		}
	case "number":
		if !isNumber(v) {
			return bad()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "array":
		items, ok := toAnySlice(v)
		if !ok {
			return bad()
		}
		if n.Items != nil {
			for i, x := range items {
				if e := checkValue(n.Items, x); e != nil {
					e.Path = under("["+strconv.Itoa(i)+"]", e.Path)
					return e
				}
			}
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		if e := checkObject(n, m); e != nil {
			return e
		}
	}
	if len(n.OneOf) > 0 || len(n.AnyOf) > 0 {
		return checkAlternatives(n, v)
	}
	return nil
}

func checkObject(n *Node, m map[string]any) *OutputError {
	closed := len(n.Props) > 0 && (n.AdditionalProperties == nil || !*n.AdditionalProperties) &&
		n.AdditionalSchema == nil && len(n.PatternProps) == 0
	for k, x := range m {
		p := n.Prop(k)
		var e *OutputError
		switch {
		case p != nil:
			e = checkValue(p, x)
		case n.AdditionalSchema != nil:
			e = checkValue(n.AdditionalSchema, x)
		case closed:
			e = &OutputError{Problem: "is not a declared property"}
		}
		if e != nil {
			e.Path = under(k, e.Path)
			return e
		}
	}
	return nil
}

// checkAlternatives accepts a value that one of the oneOf/anyOf schemas
// accepts (message attachments: one object shape per attachment type).
func checkAlternatives(n *Node, v any) *OutputError {
	alts := n.OneOf
	if len(alts) == 0 {
		alts = n.AnyOf
	}
	var first *OutputError
	for _, alt := range alts {
		e := checkValue(alt, v)
		if e == nil {
			return nil
		}
		if first == nil {
			first = e
		}
	}
	if first == nil {
		return nil
	}
	detail := first.Problem
	if first.Path != "" {
		detail = first.Path + " " + first.Problem
	}
	return &OutputError{Problem: "matches none of its " + strconv.Itoa(len(alts)) + " allowed shapes (first: " + detail + ")"}
}

func isInteger(v any) bool {
	switch x := v.(type) {
	case int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8:
		return true
	case float64:
		return x == math.Trunc(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x) == math.Trunc(float64(x))
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return true
		}
		f, err := x.Float64()
		return err == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

func isNumber(v any) bool {
	switch x := v.(type) {
	case int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8, float32:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		_, err := x.Float64()
		return err == nil
	}
	return false
}

func toAnySlice(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// jsonType names a decoded value's JSON type, for error messages.
func jsonType(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if isInteger(x) {
			return "integer"
		}
		return "number"
	case float64, float32:
		if isInteger(x) {
			return "integer"
		}
		return "number"
	case int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8:
		return "integer"
	case map[string]any:
		return "object"
	case []any, []string, []map[string]any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}
