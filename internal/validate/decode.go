package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

// Limits on numbers the validator is asked to look at. Bounds checks go
// through math/big, where 1e999999 is a 400 KB integer and a larger exponent
// is refused outright (and then crashes the validator), so absurd literals
// are rejected before any schema sees them.
const (
	maxNumberLen = 400
	maxExponent  = 400
	// maxDepth matches encoding/json's own nesting limit.
	maxDepth = 10000
)

// DecodeJSON decodes a request body the way Validate expects it (numbers as
// json.Number). Malformed JSON, an empty body, anything after the first
// value and an object that names a key twice (DuplicateKey) are 400
// BAD_INPUT errors.
func DecodeJSON(data []byte) (any, *apperr.Error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, apperr.BadInput("body must be valid JSON (empty body)").With("reason", "empty")
	}
	v, serr := parseJSON(data)
	if serr != nil && serr.reason == "duplicate_key" {
		return nil, DuplicateKey(serr.path(), serr.key, int64(serr.offset))
	}
	if serr != nil {
		reason := "syntax"
		switch {
		case serr.reason != "":
			reason = serr.reason
		case serr.offset >= len(data):
			reason = "truncated"
		}
		return nil, apperr.BadInput("body must be valid JSON (%s at offset %d)", serr.msg, serr.offset).
			With("reason", reason).With("offset", strconv.Itoa(serr.offset))
	}
	return v, nil
}

// DecodeInto is DecodeJSON for callers that want a struct: the body must be
// one JSON value, nothing after it, with no key named twice in an object.
// It does not validate against a schema.
func DecodeInto(data []byte, dst any) *apperr.Error {
	if len(bytes.TrimSpace(data)) == 0 {
		return apperr.BadInput("body must be valid JSON (empty body)").With("reason", "empty")
	}
	if _, serr := parseJSON(data); serr != nil && serr.reason == "duplicate_key" {
		return DuplicateKey(serr.path(), serr.key, int64(serr.offset))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			path := "body"
			if te.Field != "" {
				path += "/" + strings.ReplaceAll(te.Field, ".", "/")
			}
			return apperr.BadInput("%s must be %s", path, jsonTypeName(te.Type.Kind().String())).With("path", path)
		}
		return jsonError(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		e := apperr.BadInput("body must be valid JSON (unexpected data after the top-level value at offset %d)", dec.InputOffset())
		return e.With("reason", "trailing_data")
	}
	return nil
}

// DuplicateKey is the error for an object that names key twice, wherever
// the body is decoded (whole here, or streamed by catalog's async decoder):
// path is the object's ("body/inputs/3"), offset the byte offset of the
// second key in the body. Which of the two values the client meant is
// ambiguous, so the body is refused rather than guessed at.
func DuplicateKey(path, key string, offset int64) *apperr.Error {
	off := strconv.FormatInt(offset, 10)
	return apperr.BadInput("%s must NOT have duplicate key %q (at offset %s)", path, key, off).
		With("reason", "duplicate_key").With("path", path).With("offset", off)
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	}
	return goKind
}

func jsonError(err error, offset int64) *apperr.Error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return apperr.BadInput("body must be valid JSON (%s at offset %d)", se.Error(), se.Offset).
			With("reason", "syntax").With("offset", strconv.FormatInt(se.Offset, 10))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.BadInput("body must be valid JSON (unexpected end of input)").With("reason", "truncated")
	}
	return apperr.BadInput("body must be valid JSON (at offset %d)", offset).With("reason", "syntax")
}

type badValue struct {
	path    []string
	msg     string
	keyword string
}

// checkValue walks v and refuses what the schema validator must never see:
// non-JSON Go types, NaN and infinities, unreasonable number literals and
// nesting deeper than encoding/json itself allows.
func checkValue(v any, depth int) (badValue, bool) {
	if depth > maxDepth {
		return badValue{msg: "must NOT be nested more than 10000 levels deep", keyword: "depth"}, false
	}
	switch x := v.(type) {
	case nil, bool, string:
		return badValue{}, true
	case json.Number:
		if !numberOK(string(x)) {
			return badValue{msg: "must be a number of reasonable size", keyword: "type"}, false
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return badValue{msg: "must be a finite number", keyword: "type"}, false
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return badValue{msg: "must be a finite number", keyword: "type"}, false
		}
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
	case map[string]any:
		for k, c := range x {
			if bad, ok := checkValue(c, depth+1); !ok {
				bad.path = append([]string{k}, bad.path...)
				return bad, false
			}
		}
	case []any:
		for i, c := range x {
			if bad, ok := checkValue(c, depth+1); !ok {
				bad.path = append([]string{strconv.Itoa(i)}, bad.path...)
				return bad, false
			}
		}
	default:
		return badValue{msg: "must be a JSON value", keyword: "type"}, false
	}
	return badValue{}, true
}

// numberOK accepts JSON number syntax with a bounded length and exponent
// (json.Number values built by callers are checked too, not only parsed ones).
func numberOK(s string) bool {
	if len(s) == 0 || len(s) > maxNumberLen {
		return false
	}
	i := 0
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		if n := digits(); n == 0 || n > 6 {
			return false
		}
		exp, err := strconv.Atoi(s[start:i])
		if err != nil || exp > maxExponent {
			return false
		}
	}
	return i == len(s)
}
