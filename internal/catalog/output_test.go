package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

// exampleOf builds a value the reference schema s describes, from the
// reference itself (not from the catalogue): the model the checker must
// agree with.
func exampleOf(s map[string]any) any {
	if alts, ok := s["oneOf"].([]any); ok && len(alts) > 0 {
		return exampleOf(alts[len(alts)-1].(map[string]any))
	}
	switch typeOf(s) {
	case "string":
		return "x"
	case "integer":
		return json.Number("7")
	case "number":
		return json.Number("7.5")
	case "boolean":
		return true
	case "array":
		if items, ok := s["items"].(map[string]any); ok {
			return []any{exampleOf(items), exampleOf(items)}
		}
		return []any{}
	case "object":
		m := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, p := range props {
			m[k] = exampleOf(p.(map[string]any))
		}
		return m
	}
	return "anything"
}

// wrongFor returns a value of another JSON type than s declares.
func wrongFor(s map[string]any) (any, bool) {
	switch typeOf(s) {
	case "string":
		return json.Number("1"), true
	case "integer":
		return "1", true
	case "number":
		return "1.5", true
	case "boolean":
		return "true", true
	case "array":
		return map[string]any{}, true
	case "object":
		return []any{}, true
	}
	return nil, false
}

func referenceOutputs(t *testing.T) map[string]map[string]any {
	r := loadReference(t)
	out := map[string]map[string]any{}
	for _, g := range generated {
		ok200 := r.ops[g.Slug]["live"]["responses"].(map[string]any)["200"].(map[string]any)
		s := r.resolve(ok200["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
		if s["type"] == "array" {
			s = r.resolve(s["items"])
		}
		out[g.Slug] = r.stripped(s).(map[string]any)
	}
	return out
}

func TestCheckOutputAcceptsWhatTheReferenceDescribes(t *testing.T) {
	for slug, s := range referenceOutputs(t) {
		a, _ := Get(slug)
		good := exampleOf(s).(map[string]any)
		if err := a.CheckOutput(good); err != nil {
			t.Errorf("%s: a result built from the reference schema is refused: %v", slug, err)
		}
		// Null stands for a value the platform did not give; a missing field
		// is allowed (the reference requires none).
		nulls := map[string]any{}
		for k := range good {
			nulls[k] = nil
		}
		if err := a.CheckOutput(nulls); err != nil {
			t.Errorf("%s: nulls refused: %v", slug, err)
		}
		if err := a.CheckOutput(map[string]any{}); err != nil {
			t.Errorf("%s: an empty result refused: %v", slug, err)
		}
	}
}

func TestCheckOutputRefusesWrongTypesAndUnknownKeys(t *testing.T) {
	checked := 0
	for slug, s := range referenceOutputs(t) {
		a, _ := Get(slug)
		props := s["properties"].(map[string]any)
		for name, p := range props {
			wrong, ok := wrongFor(p.(map[string]any))
			if !ok {
				continue
			}
			r := exampleOf(s).(map[string]any)
			r[name] = wrong
			err := a.CheckOutput(r)
			oe, isOE := err.(*OutputError)
			if !isOE || oe.Path != name {
				t.Errorf("%s: %s set to %#v: got %v, want an OutputError naming %s", slug, name, wrong, err, name)
			}
			checked++
		}
		r := exampleOf(s).(map[string]any)
		r["surely_not_a_field"] = "x"
		if err := a.CheckOutput(r); err == nil || !strings.Contains(err.Error(), "surely_not_a_field") {
			t.Errorf("%s: unknown key: got %v", slug, err)
		}
	}
	if checked < 700 {
		t.Fatalf("only %d fields checked; the reference has about 800", checked)
	}
}

// Nested shapes are checked too: an array of objects with a wrong-typed or
// unknown property is refused with the path to it.
func TestCheckOutputNested(t *testing.T) {
	outs := referenceOutputs(t)
	found := 0
	for slug, s := range outs {
		a, _ := Get(slug)
		for name, p := range s["properties"].(map[string]any) {
			ps := p.(map[string]any)
			if typeOf(ps) != "array" {
				continue
			}
			items, _ := ps["items"].(map[string]any)
			if items == nil || typeOf(items) != "object" {
				continue
			}
			iprops, _ := items["properties"].(map[string]any)
			for inner, ip := range iprops {
				wrong, ok := wrongFor(ip.(map[string]any))
				if !ok {
					continue
				}
				r := exampleOf(s).(map[string]any)
				r[name].([]any)[1].(map[string]any)[inner] = wrong
				want := name + "[1]." + inner
				if err := a.CheckOutput(r); err == nil || !strings.HasPrefix(err.(*OutputError).Path, want) {
					t.Errorf("%s: %s wrong: got %v, want path %s", slug, want, err, want)
				}
				if items["additionalProperties"] == false {
					r := exampleOf(s).(map[string]any)
					r[name].([]any)[0].(map[string]any)["extra"] = 1
					if err := a.CheckOutput(r); err == nil || err.(*OutputError).Path != name+"[0].extra" {
						t.Errorf("%s: unknown nested key: got %v", slug, err)
					}
				}
				found++
				break
			}
		}
	}
	if found < 10 {
		t.Fatalf("only %d nested arrays of objects checked", found)
	}
}

func TestCheckOutputNumbers(t *testing.T) {
	a, _ := Get("linkedin-extract-company")
	var intField, numField string
	for _, f := range a.Outputs {
		if f.Type == "integer" && intField == "" {
			intField = f.Name
		}
		if f.Type == "number" && numField == "" {
			numField = f.Name
		}
	}
	if intField == "" {
		t.Fatal("linkedin-extract-company has no integer output")
	}
	for _, v := range []any{json.Number("12"), json.Number("12.0"), float64(12), int64(12), 12} {
		if err := a.CheckOutput(map[string]any{intField: v}); err != nil {
			t.Errorf("%s = %#v refused: %v", intField, v, err)
		}
	}
	for _, v := range []any{json.Number("12.5"), 12.5, "12", true} {
		if err := a.CheckOutput(map[string]any{intField: v}); err == nil {
			t.Errorf("%s = %#v accepted for an integer", intField, v)
		}
	}
	if numField != "" {
		if err := a.CheckOutput(map[string]any{numField: json.Number("1.25")}); err != nil {
			t.Errorf("%s: %v", numField, err)
		}
	}
}
