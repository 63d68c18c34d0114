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
