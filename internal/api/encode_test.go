package api

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"pgregory.net/rapid"
)

// jsonValue draws the values drivers put in live results: generic maps and
// slices of strings (any runes, invalid UTF-8, HTML and control
// characters), numbers of every magnitude, booleans, nulls, and the typed
// slices and maps some drivers build.
func jsonValue(depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		kinds := 10
		if depth <= 0 {
			kinds = 8
		}
		switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
		case 0:
			return rapid.String().Draw(t, "s")
		case 1:
			return string(rapid.SliceOf(rapid.Byte()).Draw(t, "raw"))
		case 2:
			return rapid.SampledFrom([]string{"<a href=\"x\">&amp;</a>", "\u2028\u2029", "\x00\x1f\x7f", "é\xff", "\\\"/"}).Draw(t, "special")
		case 3:
			f := rapid.Float64().Draw(t, "f")
			if math.IsNaN(f) || math.IsInf(f, 0) {
				f = 0
			}
			return f
		case 4:
			return rapid.SampledFrom([]any{1e21, 1e-7, 123456789.0, -0.0, 1e20, 5e-324, 0.000001, int64(math.MaxInt64), int(-3)}).Draw(t, "n")
		case 5:
			return rapid.SampledFrom([]any{true, false, nil}).Draw(t, "lit")
		case 6:
			return rapid.SliceOf(rapid.String()).Draw(t, "strs")
		case 7:
			return rapid.SampledFrom([]any{[]string(nil), map[string]any(nil), []any(nil), map[string]string{"b": "<", "a": "x"},
				json.Number("12.5"), []int{1, 2}, uint8(7), float32(0.1)}).Draw(t, "typed")
		case 8:
			return rapid.SliceOfN(jsonValue(depth-1), 0, 4).Draw(t, "arr")
		default:
			m := map[string]any{}
			for _, k := range rapid.SliceOfN(rapid.String(), 0, 5).Draw(t, "keys") {
				m[k] = jsonValue(depth-1).Draw(t, "v")
			}
			return m
		}
	})
}

// The live results' encoder writes exactly what encoding/json writes.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var v any
		if rapid.Bool().Draw(t, "array") {
			v = rapid.SliceOfN(jsonValue(3), 0, 4).Draw(t, "top")
		} else {
			m := map[string]any{}
			for _, k := range rapid.SliceOfN(rapid.String(), 0, 6).Draw(t, "keys") {
				m[k] = jsonValue(3).Draw(t, "v")
			}
			v = m
		}
		var got, want bytes.Buffer
		if err := encode(&got, v); err != nil {
			t.Fatal(err)
		}
		if err := json.NewEncoder(&want).Encode(v); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("encode wrote\n%q\nencoding/json writes\n%q", got.Bytes(), want.Bytes())
		}
	})
}

// A value JSON cannot hold fails both encoders (the server answers 500).
func TestEncodeRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, v := range []any{map[string]any{"x": math.NaN()}, []any{math.Inf(1)}, map[string]any{"c": make(chan int)}} {
		var buf bytes.Buffer
		if err := encode(&buf, v); err == nil {
			t.Errorf("%v encoded as %q", v, buf.String())
		}
	}
}
