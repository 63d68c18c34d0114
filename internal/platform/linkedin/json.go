package linkedin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// J is a decoded JSON object with forgiving accessors (a missing key reads
// as the zero value). Paths are dot-separated keys; LinkedIn's keys contain
// dots (com.linkedin.common.VectorImage), so a key may be quoted in
// brackets: picture["com.linkedin.common.VectorImage"].rootUrl.
type J map[string]any

func splitPath(path string) []string {
	var out []string
	for path != "" {
		if strings.HasPrefix(path, "[\"") {
			end := strings.Index(path, "\"]")
			if end < 0 {
				out = append(out, path)
				break
			}
			out = append(out, path[2:end])
			path = strings.TrimPrefix(path[end+2:], ".")
			continue
		}
		i := strings.IndexAny(path, ".[")
		if i < 0 {
			out = append(out, path)
			break
		}
		out = append(out, path[:i])
		if path[i] == '.' {
			path = path[i+1:]
		} else {
			path = path[i:]
		}
	}
	return out
}

// Get returns the value at path (nil when absent).
func (j J) Get(path string) any {
	var v any = map[string]any(j)
	for _, k := range splitPath(path) {
		m, ok := asMap(v)
		if !ok {
			return nil
		}
		v, ok = m[k]
		if !ok {
			return nil
		}
	}
	return v
}

// Has reports whether path is present and not null.
func (j J) Has(path string) bool { return j.Get(path) != nil }

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case J:
		return m, true
	}
	return nil, false
}

// S reads a string (numbers are formatted; absent is "").
func (j J) S(path string) string {
	switch v := j.Get(path).(type) {
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

// I reads an integer (and whether there was one).
func (j J) I(path string) (int64, bool) {
	switch v := j.Get(path).(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, true
		}
		if f, err := v.Float64(); err == nil {
			return int64(f), true
		}
	case float64:
		return int64(v), true
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// B reads a boolean (and whether there was one).
func (j J) B(path string) (bool, bool) {
	b, ok := j.Get(path).(bool)
	return b, ok
}

// O reads an object (nil when absent).
func (j J) O(path string) J {
	m, _ := asMap(j.Get(path))
	return m
}

// A reads an array of objects.
func (j J) A(path string) []J {
	arr, _ := j.Get(path).([]any)
	out := make([]J, 0, len(arr))
	for _, x := range arr {
		if m, ok := asMap(x); ok {
			out = append(out, m)
		}
	}
	return out
}

// Strs reads an array of strings.
func (j J) Strs(path string) []string {
	arr, _ := j.Get(path).([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// normalized indexes the "included" entities of a normalized answer
// (application/vnd.linkedin.normalized+json+2.1) by entityUrn.
type normalized struct {
	body  J
	byURN map[string]J
}

func newNormalized(body J) *normalized {
	n := &normalized{body: body, byURN: map[string]J{}}
	for _, e := range body.A("included") {
		if u := e.S("entityUrn"); u != "" {
			n.byURN[u] = e
		}
	}
	return n
}

// ref resolves a "*field" reference of obj ("" or unknown: nil).
func (n *normalized) ref(obj J, field string) J {
	return n.byURN[obj.S(field)]
}

// refs resolves an array of references.
func (n *normalized) refs(obj J, field string) []J {
	var out []J
	for _, u := range obj.Strs(field) {
		if e := n.byURN[u]; e != nil {
			out = append(out, e)
		}
	}
	return out
}

// urnID is the last part of a URN: urn:li:fs_miniProfile:ACoAA... -> ACoAA...
// For compound URNs, urn:li:fs_event:(2-abc,2-def) -> 2-def.
func urnID(u string) string {
	u = strings.TrimSuffix(u, ")")
	if i := strings.LastIndexAny(u, ":,("); i >= 0 {
		return u[i+1:]
	}
	return u
}

// urnPart returns the n-th element of a compound URN's tuple:
// urn:li:fs_event:(2-abc,2-def), 0 -> 2-abc.
func urnPart(u string, n int) string {
	i := strings.IndexByte(u, '(')
	if i < 0 || !strings.HasSuffix(u, ")") {
		return ""
	}
	parts := strings.Split(u[i+1:len(u)-1], ",")
	if n < len(parts) {
		return parts[n]
	}
	return ""
}

// vectorImage joins a VectorImage's root URL with its largest artifact.
func vectorImage(v J) string {
	if v == nil {
		return ""
	}
	root := v.S("rootUrl")
	best, bestW := "", int64(-1)
	for _, a := range v.A("artifacts") {
		w, _ := a.I("width")
		if w > bestW {
			best, bestW = a.S("fileIdentifyingUrlPathSegment"), w
		}
	}
	if root == "" || best == "" {
		return ""
	}
	return root + best
}
