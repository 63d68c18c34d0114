package linkedin

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// shape projects a mapper's result onto the action's output fields and
// coerces each value to the declared type (the reference types the same
// datum differently across actions). A field the mapper did not set, or set
// to nil or "" (LinkedIn did not return it), is left out: never a made-up
// zero value.
func shape(a *catalog.Action, m map[string]any) map[string]any {
	out := make(map[string]any, len(a.Outputs))
	for _, f := range a.Outputs {
		v, ok := m[f.Name]
		if !ok || absent(v) {
			continue
		}
		if c, ok := coerce(f.Node, f.Type, v); ok {
			out[f.Name] = c
		}
	}
	return out
}

func absent(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
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

func coerce(n *catalog.Node, typ string, v any) (any, bool) {
	switch nodeType(n, typ) {
	case "string":
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			return x.String(), true
		case int64:
			return strconv.FormatInt(x, 10), true
		case int:
			return strconv.Itoa(x), true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		case bool:
			return strconv.FormatBool(x), true
		}
		return nil, false
	case "integer":
		switch x := v.(type) {
		case int64:
			return x, true
		case int:
			return int64(x), true
		case json.Number:
			if i, err := x.Int64(); err == nil {
				return i, true
			}
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, true
			}
		}
		return nil, false
	case "number":
		switch x := v.(type) {
		case int64, int:
			return x, true
		case float64:
			return x, true
		case json.Number:
			if i, err := x.Int64(); err == nil {
				return i, true
			}
			if f, err := x.Float64(); err == nil && !math.IsNaN(f) {
				return f, true
			}
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, true
			}
		}
		return nil, false
	case "boolean":
		b, ok := v.(bool)
		return b, ok
	case "array":
		var arr []any
		switch x := v.(type) {
		case []any:
			arr = x
		case []string:
			for _, s := range x {
				arr = append(arr, s)
			}
		case []map[string]any:
			for _, m := range x {
				arr = append(arr, m)
			}
		default:
			return nil, false
		}
		out := make([]any, 0, len(arr))
		var items *catalog.Node
		if n != nil {
			items = n.Items
		}
		for _, x := range arr {
			if items == nil {
				out = append(out, x)
				continue
			}
			if c, ok := coerce(items, "", x); ok {
				out = append(out, c)
			}
		}
		return out, true
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if n == nil || len(n.Props) == 0 {
			return m, true
		}
		out := make(map[string]any, len(n.Props))
		for _, p := range n.Props {
			pv, ok := m[p.Name]
			if !ok || absent(pv) {
				continue
			}
			if c, ok := coerce(p.Node, "", pv); ok {
				out[p.Name] = c
			}
		}
		return out, true
	}
	return v, true // untyped or a oneOf (attachments): already in a documented shape
}

// ms formats a LinkedIn timestamp (unix milliseconds) as RFC 3339; 0 is
// absent.
func ms(v int64, ok bool) string {
	if !ok || v <= 0 {
		return ""
	}
	return time.UnixMilli(v).UTC().Format(time.RFC3339)
}
