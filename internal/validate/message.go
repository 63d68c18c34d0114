package validate

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// pick reduces the validator's error tree to the one leaf a client is shown.
// The choice is deterministic:
//   - errors on a parent location come before errors below it, array items in
//     index order, object members in name order;
//   - at one location, a type error comes first, then required, then
//     additional properties, then value checks (enum, format, pattern,
//     lengths, bounds), then combinators;
//   - for anyOf/oneOf, the first alternative whose failure is not a plain
//     type mismatch at the combinator's own location is followed (for
//     "one of these fields is required" this names the primary field).
func pick(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	switch k := e.ErrorKind.(type) {
	case *kind.AnyOf:
		if len(e.Causes) > 0 {
			return pickBranch(e)
		}
	case *kind.OneOf:
		if k.Subschemas == nil && len(e.Causes) > 0 {
			return pickBranch(e)
		}
	}
	if len(e.Causes) == 0 {
		return e
	}
	if !isContainer(e.ErrorKind) {
		// A leaf that also carries causes (not produced by the library
		// today, but cheap to tolerate).
		return e
	}
	var best *jsonschema.ValidationError
	for _, c := range e.Causes {
		l := pick(c)
		if best == nil || less(l, best) {
			best = l
		}
	}
	return best
}

func pickBranch(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	var first *jsonschema.ValidationError
	for _, c := range e.Causes {
		l := pick(c)
		if first == nil {
			first = l
		}
		if _, isType := l.ErrorKind.(*kind.Type); isType && sameLoc(l.InstanceLocation, e.InstanceLocation) {
			continue
		}
		return l
	}
	// Every alternative wanted another type: say so at once, e.g.
	// "must be string,null".
	var want []string
	for _, c := range e.Causes {
		if t, ok := pick(c).ErrorKind.(*kind.Type); ok {
			for _, w := range t.Want {
				if !contains(want, w) {
					want = append(want, w)
				}
			}
		}
	}
	if len(want) > 0 {
		got := ""
		if t, ok := first.ErrorKind.(*kind.Type); ok {
			got = t.Got
		}
		return &jsonschema.ValidationError{InstanceLocation: e.InstanceLocation, ErrorKind: &kind.Type{Got: got, Want: want}}
	}
	return first
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isContainer(k jsonschema.ErrorKind) bool {
	switch k.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf, *kind.AnyOf, *kind.OneOf:
		return true
	}
	return false
}

func sameLoc(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func less(a, b *jsonschema.ValidationError) bool {
	if c := compareLoc(a.InstanceLocation, b.InstanceLocation); c != 0 {
		return c < 0
	}
	return rank(a.ErrorKind) < rank(b.ErrorKind)
}

func compareLoc(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		ai, aerr := strconv.Atoi(a[i])
		bi, berr := strconv.Atoi(b[i])
		if aerr == nil && berr == nil {
			if ai < bi {
				return -1
			}
			return 1
		}
		if a[i] < b[i] {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

func rank(k jsonschema.ErrorKind) int {
	switch k.(type) {
	case *kind.Type, *kind.InvalidJsonValue:
		return 0
	case *kind.Required:
		return 1
	case *kind.AdditionalProperties:
		return 2
	case *kind.DependentRequired, *kind.Dependency:
		return 3
	case *kind.Enum, *kind.Const:
		return 4
	case *kind.Format:
		return 5
	case *kind.Pattern:
		return 6
	case *kind.MinLength, *kind.MaxLength, *kind.MinItems, *kind.MaxItems, *kind.MinProperties, *kind.MaxProperties:
		return 7
	case *kind.Minimum, *kind.Maximum, *kind.ExclusiveMinimum, *kind.ExclusiveMaximum, *kind.MultipleOf:
		return 8
	case *kind.AnyOf, *kind.OneOf, *kind.Not, *kind.AllOf:
		return 10
	}
	return 9
}

// describe renders one leaf as Ajv would word it, plus the keyword name and
// any string params worth returning.
func describe(e *jsonschema.ValidationError) (msg, keyword string, params map[string]string) {
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		// "null" is left unsaid when other types are allowed: nearly every
		// union here comes from OpenAPI's "nullable", and Ajv words those
		// as the plain type ("must be string").
		want := make([]string, 0, len(k.Want))
		for _, w := range k.Want {
			if w != "null" {
				want = append(want, w)
			}
		}
		if len(want) == 0 {
			want = append(want, "null")
		}
		return "must be " + strings.Join(want, ","), "type", nil
	case *kind.Required:
		p := firstOr(k.Missing, "")
		return fmt.Sprintf("must have required property '%s'", p), "required", map[string]string{"missing_property": p}
	case *kind.AdditionalProperties:
		props := append([]string(nil), k.Properties...)
		sort.Strings(props)
		p := firstOr(props, "")
		return fmt.Sprintf("must NOT have additional properties (%s)", p), "additionalProperties", map[string]string{"additional_property": p}
	case *kind.Enum:
		// null, when allowed, comes from "nullable" and is left unsaid, as
		// the reference's own messages do.
		vals := make([]string, 0, len(k.Want))
		for _, w := range k.Want {
			if w != nil {
				vals = append(vals, literal(w))
			}
		}
		return "must be equal to one of the allowed values: " + strings.Join(vals, ", "), "enum",
			map[string]string{"allowed_values": strings.Join(vals, ",")}
	case *kind.Const:
		return "must be equal to constant", "const", map[string]string{"allowed_value": literal(k.Want)}
	case *kind.Format:
		return `must match format "` + k.Want + `"`, "format", map[string]string{"format": k.Want}
	case *kind.Pattern:
		return `must match pattern "` + k.Want + `"`, "pattern", map[string]string{"pattern": k.Want}
	case *kind.MinLength:
		return fmt.Sprintf("must NOT have fewer than %d characters", k.Want), "minLength", nil
	case *kind.MaxLength:
		return fmt.Sprintf("must NOT have more than %d characters", k.Want), "maxLength", nil
	case *kind.MinItems:
		return fmt.Sprintf("must NOT have fewer than %d items", k.Want), "minItems", nil
	case *kind.MaxItems:
		return fmt.Sprintf("must NOT have more than %d items", k.Want), "maxItems", nil
	case *kind.AdditionalItems:
		return fmt.Sprintf("must NOT have more than %d items", k.Count), "additionalItems", nil
	case *kind.MinProperties:
		return fmt.Sprintf("must NOT have fewer than %d properties", k.Want), "minProperties", nil
	case *kind.MaxProperties:
		return fmt.Sprintf("must NOT have more than %d properties", k.Want), "maxProperties", nil
	case *kind.Minimum:
		return "must be >= " + ratString(k.Want), "minimum", nil
	case *kind.Maximum:
		return "must be <= " + ratString(k.Want), "maximum", nil
	case *kind.ExclusiveMinimum:
		return "must be > " + ratString(k.Want), "exclusiveMinimum", nil
	case *kind.ExclusiveMaximum:
		return "must be < " + ratString(k.Want), "exclusiveMaximum", nil
	case *kind.MultipleOf:
		return "must be multiple of " + ratString(k.Want), "multipleOf", nil
	case *kind.UniqueItems:
		return fmt.Sprintf("must NOT have duplicate items (items ## %d and %d are identical)", k.Duplicates[1], k.Duplicates[0]), "uniqueItems", nil
	case *kind.DependentRequired:
		return fmt.Sprintf("must have property %s when property %s is present", firstOr(k.Missing, ""), k.Prop), "dependentRequired", nil
	case *kind.Dependency:
		return fmt.Sprintf("must have property %s when property %s is present", firstOr(k.Missing, ""), k.Prop), "dependencies", nil
	case *kind.PropertyNames:
		return "property name must be valid", "propertyNames", map[string]string{"property_name": k.Property}
	case *kind.Contains:
		return "must contain at least 1 valid item(s)", "contains", nil
	case *kind.MinContains:
		return fmt.Sprintf("must contain at least %d valid item(s)", k.Want), "minContains", nil
	case *kind.MaxContains:
		return fmt.Sprintf("must contain at most %d valid item(s)", k.Want), "maxContains", nil
	case *kind.AnyOf:
		return "must match a schema in anyOf", "anyOf", nil
	case *kind.OneOf:
		return "must match exactly one schema in oneOf", "oneOf", nil
	case *kind.Not:
		return "must NOT be valid", "not", nil
	case *kind.FalseSchema:
		return "boolean schema is false", "false schema", nil
	case *kind.InvalidJsonValue:
		return "must be a JSON value", "type", nil
	}
	return "must be valid", "", nil
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// literal prints an enum member: strings bare (as Ajv's allowedValues read
// in messages built by clients), anything else as JSON.
func literal(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}
