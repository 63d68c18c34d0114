package validate

import (
	"errors"
	"testing"
)

// FuzzValidate feeds arbitrary bytes through DecodeJSON and a schema that
// exercises every keyword family. Nothing may panic, and the validator's
// recover must never be what saved us.
func FuzzValidate(f *testing.F) {
	s := mustCompile(f, bodySchema)
	fastSchema := mustCompile(f, fastSubsetSchema)
	if fastSchema.fast == nil {
		f.Fatal("fastSubsetSchema should have a fast path")
	}
	for _, seed := range []string{
		`{"input":{"linkedin_profile_url":"https://www.linkedin.com/in/a"}}`,
		`{"input":{},"limit":1e400,"name":"\u0000\ud800"}`,
		`{"inputs":[{"url":1},{"url":"https://x"}],"tags":[[1],[1]]}`,
		`[[[[[[[[[[]]]]]]]]]]`,
		`{"limit":-0.0e-0,"ratio":12345678901234567890123456789}`,
		`"\u202e"`,
		`{"u":"https://[::1]/","e":"a","n":1,"i":2,"s":["x"],"o":{"k":"v"}}`,
		`{"u":"https://[fe80::1%25en0]:80/x","e":null,"i":1.0,"s":[],"c":"\u00e9\u00e9"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, derr := DecodeJSON(data)
		if derr != nil {
			if derr.Status != 400 {
				t.Fatalf("decode error status %d", derr.Status)
			}
			return
		}
		// The fast path may only ever say "valid" when the general validator
		// agrees.
		for _, sc := range []*Schema{s, fastSchema} {
			if sc.fast != nil && sc.fast.check(v) == fastValid && sc.sch.Validate(v) != nil {
				t.Fatalf("fast path accepted what the validator rejects: %s", data)
			}
		}
		for _, label := range []string{LabelBadInput, LabelBadParameters} {
			e := s.ValidateAs(label, "body", v)
			if e == nil {
				if !s.Valid(v) {
					t.Fatal("Validate and Valid disagree")
				}
				continue
			}
			if errors.Is(e.Cause, errValidatorPanic) {
				t.Fatalf("validator panicked: %v", e.Cause)
			}
			if e.Status != 400 || e.Message == "" {
				t.Fatalf("bad error %+v", e)
			}
			for k, p := range e.Params {
				_ = k + p // params are strings by type; nothing else to check
			}
		}
	})
}

// fastSubsetSchema uses only keywords the fast path implements.
const fastSubsetSchema = `{
  "type": "object", "additionalProperties": false,
  "anyOf": [{"required": ["u"]}, {"required": ["e"]}],
  "properties": {
    "u": {"type": "string", "format": "uri", "pattern": "/^https?:\\/\\//i"},
    "e": {"type": "string", "enum": ["a", "b"], "nullable": true},
    "n": {"type": "number"},
    "i": {"type": "integer"},
    "s": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 3}, "maxItems": 3},
    "o": {"type": "object", "additionalProperties": {"type": "string"}},
    "c": {"type": "string", "minLength": 2, "maxLength": 2}
  }
}`
