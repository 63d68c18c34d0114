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
	for _, seed := range []string{
		`{"input":{"linkedin_profile_url":"https://www.linkedin.com/in/a"}}`,
		`{"input":{},"limit":1e400,"name":"\u0000\ud800"}`,
		`{"inputs":[{"url":1},{"url":"https://x"}],"tags":[[1],[1]]}`,
		`[[[[[[[[[[]]]]]]]]]]`,
		`{"limit":-0.0e-0,"ratio":12345678901234567890123456789}`,
		`"\u202e"`,
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
