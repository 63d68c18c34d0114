package catalog

import (
	"fmt"
	"regexp"

	"github.com/firstmate-oss/firstmate/internal/validate"
)

// Envelope parts that are the same for every action. The fact test checks
// them against the reference.
func identityIDsSchema() map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "nullable": true}
}

func identityModeSchema() map[string]any {
	return map[string]any{"type": "string", "enum": []any{IdentityDirect, IdentityAuto, IdentityManaged},
		"default": IdentityDirect, "nullable": true}
}

// IdentityIDsAlias is the early v4 (and Edges) name of identity_ids.
const IdentityIDsAlias = "integration_users"

// Identity modes.
const (
	IdentityDirect  = "direct"
	IdentityAuto    = "auto"
	IdentityManaged = "managed"
)

// Callback "on" values. "on" is a Firstmate extension of the reference's
// callback object (which allows extra members).
const (
	CallbackOnAll   = "all"
	CallbackOnFinal = "final"
)

func callbackSchema() map[string]any {
	s := genCallback.Schema()
	props := s["properties"].(map[string]any)
	props["on"] = map[string]any{"type": "string", "enum": []any{CallbackOnAll, CallbackOnFinal}, "default": CallbackOnAll}
	return s
}

func (a *Action) envelope(mode string) map[string]any {
	props := map[string]any{}
	required := []any{}
	var id genIdentity
	switch mode {
	case "live":
		id = a.gen.LiveIdentity
		if a.LiveInput {
			props["input"] = map[string]any{}
			required = append(required, "input")
		}
	case "async", "schedule":
		id = a.gen.AsyncIdentity
		max := a.AsyncMaxInputs
		min := a.gen.AsyncMinInputs
		if mode == "schedule" {
			id = a.gen.SchedIdentity
			max, min = a.ScheduleMaxInputs, a.gen.SchedMinInputs
		}
		// Items are checked one by one with the compiled input schema, so
		// that 100,000 inputs cost 100,000 small validations and an error
		// names its index.
		props["inputs"] = map[string]any{"type": "array", "minItems": min, "maxItems": max}
		props["callback"] = callbackSchema()
		required = append(required, "inputs", "callback")
	}
	// Every mode of every action takes a parameters member, if only an
	// empty one (decodeParams checks what is inside).
	props["parameters"] = map[string]any{}
	if id.IDs {
		props["identity_ids"] = identityIDsSchema()
		// The early v4 name of identity_ids.
		props[IdentityIDsAlias] = identityIDsSchema()
	}
	if id.Mode {
		props["identity_mode"] = identityModeSchema()
	}
	s := map[string]any{"type": "object", "additionalProperties": false, "properties": props, "required": required}
	if mode == "schedule" {
		props["cron"] = genScheduleCron.Schema()
		props["schedule_at"] = genScheduleAt.Schema()
		props["timezone"] = genScheduleTimezone.Schema()
		// Extension: a human-readable schedule name.
		props["name"] = map[string]any{"type": "string", "minLength": 1, "maxLength": 256}
		s["anyOf"] = []any{
			map[string]any{"required": []any{"cron"}},
			map[string]any{"required": []any{"schedule_at"}},
		}
	}
	return s
}

func (a *Action) compile() error {
	var err error
	c := func(name string, schema any) *validate.Schema {
		if err != nil {
			return nil
		}
		var s *validate.Schema
		s, err = validate.Compile(a.Slug+"/"+name, schema)
		return s
	}
	a.inputSchema = c("input", a.input.Schema())
	a.liveEnvelope = c("live", a.envelope("live"))
	async := a.envelope("async")
	a.asyncEnvelope = c("async", async)
	a.asyncMembers = map[string]bool{}
	for k := range async["properties"].(map[string]any) {
		a.asyncMembers[k] = true
	}
	a.schedEnvelope = c("schedule", a.envelope("schedule"))
	// A mode without parameters still takes an empty (or null) object:
	// the empty schema refuses any key in it, as Ajv words it.
	params := func(n *Node) any {
		if n == nil {
			return map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false}
		}
		return n.Schema()
	}
	a.liveParamSchema = c("live-parameters", params(a.liveParams))
	a.asyncParamSchema = c("async-parameters", params(a.asyncParams))
	a.schedParamSchema = c("schedule-parameters", params(a.scheduleParams))
	if err != nil {
		return err
	}
	a.fieldRE = map[string]*regexp.Regexp{}
	for _, f := range a.Inputs {
		if f.Pattern == "" {
			continue
		}
		re, perr := validate.RE2(f.Pattern)
		if perr != nil {
			return fmt.Errorf("input %s: %w", f.Name, perr)
		}
		a.fieldRE[f.Name] = re
	}
	return nil
}
