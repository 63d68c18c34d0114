package simdriver

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// J is a decoded JSON object with forgiving accessors: a missing key reads as
// the zero value.
type J map[string]any

func (j J) get(path string) any {
	var v any = map[string]any(j)
	for _, k := range strings.Split(path, ".") {
		m, ok := asMap(v)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case J:
		return m, true
	}
	return nil, false
}

// S reads a string (numbers are formatted).
func (j J) S(path string) string {
	switch v := j.get(path).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// I reads an integer.
func (j J) I(path string) int64 { return toInt(j.get(path)) }

// F reads a number.
func (j J) F(path string) float64 { return toFloat(j.get(path)) }

// B reads a boolean.
func (j J) B(path string) bool {
	b, _ := j.get(path).(bool)
	return b
}

// O reads an object.
func (j J) O(path string) J {
	m, _ := asMap(j.get(path))
	return m
}

// A reads an array of objects.
func (j J) A(path string) []J {
	arr, _ := j.get(path).([]any)
	out := make([]J, 0, len(arr))
	for _, x := range arr {
		if m, ok := asMap(x); ok {
			out = append(out, m)
		}
	}
	return out
}

// Strs reads an array of strings.
func (j J) Strs(path string) []any {
	arr, _ := j.get(path).([]any)
	out := make([]any, 0, len(arr))
	for _, x := range arr {
		out = append(out, J{"v": x}.S("v"))
	}
	return out
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return int64(f)
	case float64:
		return int64(x)
	case int:
		return int64(x)
	case int64:
		return x
	case bool:
		if x {
			return 1
		}
	case string:
		return leadingInt(x)
	}
	return 0
}

// leadingInt reads "2nd" as 2 and "1,234" as 1234.
func leadingInt(s string) int64 {
	var n int64
	seen := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			n = n*10 + int64(r-'0')
			seen = true
		case r == ',' && seen:
		default:
			if seen {
				return n
			}
			if r != '+' && r != ' ' {
				return 0
			}
		}
	}
	return n
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return float64(leadingInt(x))
		}
		return f
	}
	return 0
}

// ms formats a platform timestamp (unix milliseconds) as RFC 3339.
func ms(v int64) string {
	if v == 0 {
		return ""
	}
	return time.UnixMilli(v).UTC().Format(time.RFC3339)
}

func day(v int64) string {
	if v == 0 {
		return ""
	}
	return time.UnixMilli(v).UTC().Format("2006-01-02")
}

// shape projects a mapper's result onto the action's output fields, coercing
// each value to the field's declared type (the reference types the same
// datum differently across actions: a follower count is a string in one and a
// number in another). It reports the fields the mapper did not provide; they
// get the zero value of their type.
func shape(a *catalog.Action, m map[string]any) (map[string]any, []string) {
	out := make(map[string]any, len(a.Outputs))
	var missing []string
	for _, f := range a.Outputs {
		v, ok := m[f.Name]
		if !ok {
			missing = append(missing, f.Name)
		}
		out[f.Name] = coerce(f.Node, f.Type, v)
	}
	return out, missing
}

func nodeType(n *catalog.Node, fallback string) string {
	if n != nil {
		for _, t := range n.Type {
			if t != "null" {
				return t
			}
		}
	}
	return fallback
}

func coerce(n *catalog.Node, typ string, v any) any {
	typ = nodeType(n, typ)
	switch typ {
	case "string":
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case json.Number:
			return x.String()
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case int64:
			return strconv.FormatInt(x, 10)
		case int:
			return strconv.Itoa(x)
		case bool:
			return strconv.FormatBool(x)
		}
		return fmt.Sprint(v)
	case "integer":
		return toInt(v)
	case "number":
		f := toFloat(v)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f)
		}
		return f
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x
		case string:
			return x == "true"
		}
		return toInt(v) != 0
	case "array":
		arr := toSlice(v)
		var items *catalog.Node
		if n != nil {
			items = n.Items
		}
		out := make([]any, 0, len(arr))
		for _, x := range arr {
			if items == nil {
				out = append(out, x)
				continue
			}
			out = append(out, coerce(items, "", x))
		}
		return out
	case "object":
		m, ok := asMap(v)
		if !ok {
			m = map[string]any{}
		}
		if n == nil || len(n.Props) == 0 {
			return map[string]any(m)
		}
		out := make(map[string]any, len(n.Props))
		for _, p := range n.Props {
			out[p.Name] = coerce(p.Node, "", m[p.Name])
		}
		return out
	}
	if n != nil && (len(n.OneOf) > 0 || len(n.AnyOf) > 0) {
		return v // e.g. attachments: already in one of the documented shapes
	}
	return v
}

func toSlice(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []J:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = map[string]any(s)
		}
		return out
	}
	return []any{}
}
