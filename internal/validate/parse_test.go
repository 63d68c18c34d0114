package validate

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// stdDecode is the reference behaviour parseJSON must reproduce.
func stdDecode(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

var parseSeeds = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `-0.5e+10`, `1E-7`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`,
	`{"a":1,"a":2}`, `{"a" : [1, {"b":null}] , "c":true}`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`,
	`"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"\uZZZZ"`, `"\x"`,
	"\"\xff\xfe\"", "\"a\x01b\"", "\"\xed\xa0\x80\"", `"\/\b\f\n\r\t\\\""`, `tru`, `nul`, `true false`,
	` {"x": "y"} `, "\t[\n]\r", `{"a":"b"}x`, `[1 2]`, `{"a" 1}`, `{1:2}`, `"unterminated`,
	`[[[[[]]]]]`, `{"inputs":[{"url":"https://x"},{"url":"é"}]}`,
}

func TestParseMatchesEncodingJSON(t *testing.T) {
	for _, s := range parseSeeds {
		compareParse(t, []byte(s))
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	compareParse(t, []byte(deep))
	compareParse(t, []byte("["+deep+"]"))
}

func compareParse(t *testing.T, data []byte) {
	t.Helper()
	want, wantOK := stdDecode(data)
	got, err := parseJSON(data)
	if wantOK != (err == nil) {
		// Numbers beyond our range are refused on purpose.
		if wantOK && err != nil && strings.Contains(err.msg, "number out of") {
			return
		}
		// So are objects that name a key twice (encoding/json keeps the last).
		if wantOK && err != nil && err.reason == "duplicate_key" && hasDuplicateKey(t, data) {
			return
		}
		t.Fatalf("%q: encoding/json ok=%v, parseJSON err=%v", data, wantOK, err)
	}
	if wantOK && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q: values differ\n std %#v\n got %#v", data, want, got)
	}
}

// FuzzParseJSON is a differential fuzz target: parseJSON must accept
// exactly what encoding/json accepts and produce the same value.
func FuzzParseJSON(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareParse(t, data)
	})
}

// hasDuplicateKey reports, by walking encoding/json's tokens, whether some
// object in data names a key twice (after unescaping).
func hasDuplicateKey(t *testing.T, data []byte) bool {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].obj {
					stack[len(stack)-1].key = true
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].key = true
		}
	}
}
