package validate

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// A fast path for the common case: a small object schema checked against a
// value that is valid. The general validator spends most of its time in
// bookkeeping it needs for error reporting; for 100,000 batch inputs that is
// most of the request. fastNode answers "valid" only when it is certain; any
// doubt ("unknown") falls back to the general validator, which also builds
// every error message. A differential test and the fuzz target hold the two
// in agreement.

type fastResult int

const (
	fastUnknown fastResult = iota
	fastValid
)

type fastNode struct {
	types      uint8 // bitmask of fastType*; 0 = any
	props      map[string]*fastNode
	required   []string
	addlFalse  bool
	addlSchema *fastNode
	items      *fastNode
	enum       []any // strings, bools, nil only
	hasEnum    bool
	pattern    *regexp.Regexp
	format     func(string) bool
	minLen     int
	maxLen     int // -1 = none
	minItems   int
	maxItems   int // -1 = none
	anyOfReq   [][]string
}

const (
	fastNull uint8 = 1 << iota
	fastBool
	fastNumber
	fastInteger
	fastString
	fastArray
	fastObject
)

var fastTypeBits = map[string]uint8{
	"null": fastNull, "boolean": fastBool, "number": fastNumber, "integer": fastInteger,
	"string": fastString, "array": fastArray, "object": fastObject,
}

// Keywords that carry no assertion.
var fastIgnorable = map[string]bool{
	"default": true, "description": true, "title": true, "examples": true, "example": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "$comment": true,
}

// compileFast returns nil when the schema uses anything outside the subset.
func compileFast(doc any, assertFormat bool) *fastNode {
	m, ok := doc.(map[string]any)
	if !ok {
		if b, ok := doc.(bool); ok && b {
			return &fastNode{maxLen: -1, maxItems: -1}
		}
		return nil
	}
	n := &fastNode{maxLen: -1, maxItems: -1}
	for k, v := range m {
		if fastIgnorable[k] || strings.HasPrefix(k, "x-") || strings.HasPrefix(k, "x_") {
			continue
		}
		switch k {
		case "type":
			switch t := v.(type) {
			case string:
				if fastTypeBits[t] == 0 {
					return nil
				}
				n.types |= fastTypeBits[t]
			case []any:
				for _, e := range t {
					s, _ := e.(string)
					if fastTypeBits[s] == 0 {
						return nil
					}
					n.types |= fastTypeBits[s]
				}
			default:
				return nil
			}
		case "properties":
			pm, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			n.props = make(map[string]*fastNode, len(pm))
			for name, sub := range pm {
				c := compileFast(sub, assertFormat)
				if c == nil {
					return nil
				}
				n.props[name] = c
			}
		case "required":
			n.required = stringList(v)
			if n.required == nil {
				return nil
			}
		case "additionalProperties":
			switch a := v.(type) {
			case bool:
				n.addlFalse = !a
			default:
				if n.addlSchema = compileFast(a, assertFormat); n.addlSchema == nil {
					return nil
				}
			}
		case "items":
			if n.items = compileFast(v, assertFormat); n.items == nil {
				return nil
			}
		case "enum":
			list, ok := v.([]any)
			if !ok {
				return nil
			}
			for _, e := range list {
				switch e.(type) {
				case string, bool, nil:
				default:
					return nil
				}
			}
			n.enum, n.hasEnum = list, true
		case "pattern":
			s, _ := v.(string)
			re, err := compileJSRegexp(s)
			if err != nil {
				return nil
			}
			n.pattern = re
		case "format":
			if !assertFormat {
				continue
			}
			s, _ := v.(string)
			switch s {
			case "uri":
				n.format = isURI
			case "url":
				n.format = isAbsURL
			default:
				if knownFormats[s] {
					return nil
				}
				// Unknown names are annotations for the general validator too.
			}
		case "minLength", "maxLength", "minItems", "maxItems":
			i, ok := intOf(v)
			if !ok {
				return nil
			}
			switch k {
			case "minLength":
				n.minLen = i
			case "maxLength":
				n.maxLen = i
			case "minItems":
				n.minItems = i
			case "maxItems":
				n.maxItems = i
			}
		case "anyOf":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil
			}
			for _, b := range list {
				bm, ok := b.(map[string]any)
				if !ok || len(bm) != 1 {
					return nil
				}
				req := stringList(bm["required"])
				if req == nil {
					return nil
				}
				n.anyOfReq = append(n.anyOfReq, req)
			}
		default:
			return nil
		}
	}
	return n
}

// Formats the general validator asserts; a schema using one the fast path
// does not implement gets no fast path.
var knownFormats = map[string]bool{
	"json-pointer": true, "relative-json-pointer": true, "uuid": true, "duration": true, "period": true,
	"ipv4": true, "ipv6": true, "hostname": true, "email": true, "date": true, "time": true,
	"date-time": true, "iri": true, "uri-reference": true, "iri-reference": true, "uri-template": true,
	"semver": true, "regex": true,
}

func stringList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

func intOf(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return int(i), err == nil && i >= 0 && i < 1<<31
}

func (n *fastNode) check(v any) fastResult {
	if n.types != 0 && !n.typeOK(v) {
		return fastUnknown
	}
	if n.hasEnum {
		found := false
		for _, e := range n.enum {
			if e == v {
				found = true
				break
			}
		}
		if !found {
			return fastUnknown
		}
	}
	switch x := v.(type) {
	case string:
		if n.minLen > 0 || n.maxLen >= 0 {
			c := utf8.RuneCountInString(x)
			if c < n.minLen || (n.maxLen >= 0 && c > n.maxLen) {
				return fastUnknown
			}
		}
		if n.format != nil && !n.format(x) {
			return fastUnknown
		}
		if n.pattern != nil && !n.pattern.MatchString(x) {
			return fastUnknown
		}
	case []any:
		if len(x) < n.minItems || (n.maxItems >= 0 && len(x) > n.maxItems) {
			return fastUnknown
		}
		if n.items != nil {
			for _, e := range x {
				if n.items.check(e) != fastValid {
					return fastUnknown
				}
			}
		}
	case map[string]any:
		for _, r := range n.required {
			if _, ok := x[r]; !ok {
				return fastUnknown
			}
		}
		if len(n.anyOfReq) > 0 {
			matched := false
			for _, req := range n.anyOfReq {
				all := true
				for _, r := range req {
					if _, ok := x[r]; !ok {
						all = false
						break
					}
				}
				if all {
					matched = true
					break
				}
			}
			if !matched {
				return fastUnknown
			}
		}
		for k, e := range x {
			if p, ok := n.props[k]; ok {
				if p.check(e) != fastValid {
					return fastUnknown
				}
				continue
			}
			if n.addlFalse {
				return fastUnknown
			}
			if n.addlSchema != nil && n.addlSchema.check(e) != fastValid {
				return fastUnknown
			}
		}
	case nil, bool, json.Number:
	default:
		return fastUnknown
	}
	return fastValid
}

func (n *fastNode) typeOK(v any) bool {
	switch x := v.(type) {
	case nil:
		return n.types&fastNull != 0
	case bool:
		return n.types&fastBool != 0
	case string:
		return n.types&fastString != 0
	case []any:
		return n.types&fastArray != 0
	case map[string]any:
		return n.types&fastObject != 0
	case json.Number:
		if n.types&fastNumber != 0 {
			return true
		}
		// Only plain integer literals are certainly integers here.
		return n.types&fastInteger != 0 && !strings.ContainsAny(string(x), ".eE")
	}
	return false
}

// isURI is the "uri" format, used by both validators: an absolute URL that
// net/url parses, with an IPv6 host only in brackets.
func isURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		return false
	}
	if h := u.Hostname(); strings.Contains(h, ":") {
		if !strings.Contains(u.Host, "[") || !strings.Contains(u.Host, "]") {
			return false
		}
		if _, err := netip.ParseAddr(h); err != nil {
			return false
		}
	}
	return true
}

func isAbsURL(s string) bool { return validateAbsURL(s) == nil }

// HasFastPath reports whether valid values skip the general validator.
func (s *Schema) HasFastPath() bool { return s.fast != nil }

// FastPathAgrees reports whether the fast path and the general validator
// agree on v in the only direction that matters: the fast path never
// accepts a value the general validator rejects. For tests.
func (s *Schema) FastPathAgrees(v any) bool {
	if s.fast == nil || s.fast.check(v) != fastValid {
		return true
	}
	return s.sch.Validate(v) == nil
}
