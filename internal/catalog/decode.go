package catalog

import (
	"encoding/json"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// Input is one normalized action input: aliases already rewritten to the
// primary field names, custom_data split out.
type Input struct {
	Values     map[string]any
	CustomData map[string]any // nil when the input carried none
}

// Callback of an async or schedule request.
type Callback struct {
	URL     string // "" when the client sent null (the reference allows it)
	Headers map[string]string
	On      string // CallbackOnAll (default) or CallbackOnFinal
}

// LiveRequest is a validated POST /actions/{slug}/run/live body.
type LiveRequest struct {
	Input        Input
	Parameters   map[string]any // defaults applied
	IdentityIDs  []string
	IdentityMode string // IdentityDirect by default
}

// AsyncRequest is a validated POST /actions/{slug}/run/async body.
type AsyncRequest struct {
	Inputs       []Input
	Parameters   map[string]any // defaults applied, max_results included
	IdentityIDs  []string
	IdentityMode string
	Callback     Callback
}

// ScheduleRequest is a validated POST /actions/{slug}/run/schedule body.
type ScheduleRequest struct {
	AsyncRequest
	Cron       string     // 5-field cron, "" when absent
	ScheduleAt *time.Time // nil when absent
	Timezone   string     // IANA name, "UTC" by default
	Name       string
}

// DecodeLive parses and validates a live body. Errors are *apperr.Error:
// BAD_INPUT for the body and the input, BAD_PARAMETERS for parameters.
func (a *Action) DecodeLive(body []byte) (*LiveRequest, error) {
	r, e := a.decodeLive(body)
	if e != nil {
		return nil, e
	}
	return r, nil
}

// DecodeAsync parses and validates an async body.
func (a *Action) DecodeAsync(body []byte) (*AsyncRequest, error) {
	obj, e := a.decodeEnvelope(body, a.asyncEnvelope)
	if e != nil {
		return nil, e
	}
	r, e := a.decodeBatch(obj, "async")
	if e != nil {
		return nil, e
	}
	return r, nil
}

// DecodeSchedule parses and validates a schedule body.
func (a *Action) DecodeSchedule(body []byte) (*ScheduleRequest, error) {
	r, e := a.decodeSchedule(body)
	if e != nil {
		return nil, e
	}
	return r, nil
}

func (a *Action) decodeEnvelope(body []byte, env *validate.Schema) (map[string]any, *apperr.Error) {
	v, e := validate.DecodeJSON(body)
	if e != nil {
		return nil, e
	}
	return checkEnvelope(v, env)
}

// checkEnvelope validates a decoded body against its mode's envelope (the
// streaming decoder's too).
func checkEnvelope(v any, env *validate.Schema) (map[string]any, *apperr.Error) {
	if e := env.ValidateDecoded(validate.LabelBadInput, "body", v); e != nil {
		return nil, e
	}
	return v.(map[string]any), nil
}

func (a *Action) decodeLive(body []byte) (*LiveRequest, *apperr.Error) {
	obj, e := a.decodeEnvelope(body, a.liveEnvelope)
	if e != nil {
		return nil, e
	}
	r := &LiveRequest{}
	if a.LiveInput {
		if r.Input, e = a.normalizeInput("body/input", obj["input"]); e != nil {
			return nil, e
		}
	} else {
		r.Input = Input{Values: map[string]any{}}
	}
	if r.Parameters, e = a.decodeParams(obj, a.liveParams, a.liveParamSchema, a.gen.LiveParamsRequired); e != nil {
		return nil, e
	}
	if r.IdentityIDs, r.IdentityMode, e = a.decodeIdentity(obj); e != nil {
		return nil, e
	}
	return r, nil
}

func (a *Action) decodeBatch(obj map[string]any, mode string) (*AsyncRequest, *apperr.Error) {
	r := &AsyncRequest{}
	raw := obj["inputs"].([]any)
	var e *apperr.Error
	if r.Inputs, e = a.normalizeInputs(raw); e != nil {
		return nil, e
	}
	if e := a.decodeBatchRest(obj, mode, r); e != nil {
		return nil, e
	}
	return r, nil
}

// decodeBatchRest fills r with what an async or schedule body holds besides
// its inputs: parameters, identity fields, callback.
func (a *Action) decodeBatchRest(obj map[string]any, mode string, r *AsyncRequest) *apperr.Error {
	params, schema, reqd := a.asyncParams, a.asyncParamSchema, a.gen.AsyncParamsRequired
	if mode == "schedule" {
		params, schema, reqd = a.scheduleParams, a.schedParamSchema, a.gen.SchedParamsRequired
	}
	var e *apperr.Error
	if r.Parameters, e = a.decodeParams(obj, params, schema, reqd); e != nil {
		return e
	}
	if r.IdentityIDs, r.IdentityMode, e = a.decodeIdentity(obj); e != nil {
		return e
	}
	cb := obj["callback"].(map[string]any)
	r.Callback.URL, _ = cb["url"].(string)
	r.Callback.On = CallbackOnAll
	if on, ok := cb["on"].(string); ok {
		r.Callback.On = on
	}
	if h, ok := cb["headers"].(map[string]any); ok {
		r.Callback.Headers = make(map[string]string, len(h))
		for k, v := range h {
			r.Callback.Headers[k], _ = v.(string)
		}
	}
	return nil
}

func (a *Action) decodeSchedule(body []byte) (*ScheduleRequest, *apperr.Error) {
	obj, e := a.decodeEnvelope(body, a.schedEnvelope)
	if e != nil {
		return nil, e
	}
	ar, e := a.decodeBatch(obj, "schedule")
	if e != nil {
		return nil, e
	}
	r := &ScheduleRequest{AsyncRequest: *ar, Timezone: "UTC"}
	if c, ok := obj["cron"].(string); ok {
		if len(strings.Fields(c)) != 5 {
			return nil, apperr.BadInput("body/cron must have 5 fields (minute hour day-of-month month day-of-week)").
				With("path", "body/cron")
		}
		r.Cron = c
	}
	if s, ok := obj["schedule_at"].(string); ok {
		t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			return nil, apperr.BadInput(`body/schedule_at must match format "date-time"`).With("path", "body/schedule_at")
		}
		r.ScheduleAt = &t
	}
	if tz, ok := obj["timezone"].(string); ok {
		if tz == "Local" || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") {
			return nil, badZone(tz)
		}
		if _, err := time.LoadLocation(tz); err != nil {
			return nil, badZone(tz)
		}
		r.Timezone = tz
	}
	r.Name, _ = obj["name"].(string)
	return r, nil
}

func badZone(tz string) *apperr.Error {
	return apperr.BadInput("body/timezone must be an IANA time zone name").With("path", "body/timezone")
}

// parallelFrom is the batch size from which inputs are checked on all CPUs.
const parallelFrom = 4096

// normalizeInputs normalizes every input of a batch and reports the failing
// input with the lowest index, whatever the number of workers.
func (a *Action) normalizeInputs(raw []any) ([]Input, *apperr.Error) {
	out := make([]Input, len(raw))
	workers := runtime.GOMAXPROCS(0)
	if len(raw) < parallelFrom || workers < 2 {
		for i, in := range raw {
			var e *apperr.Error
			if out[i], e = a.normalizeInput("body/inputs/"+strconv.Itoa(i), in); e != nil {
				return nil, e
			}
		}
		return out, nil
	}
	var (
		firstBad atomic.Int64 // lowest failing index seen so far
		wg       sync.WaitGroup
		mu       sync.Mutex
		badErr   *apperr.Error
		badIdx   = len(raw)
	)
	firstBad.Store(int64(len(raw)))
	chunk := (len(raw) + workers - 1) / workers
	for lo := 0; lo < len(raw); lo += chunk {
		hi := min(lo+chunk, len(raw))
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if int64(i) > firstBad.Load() {
					return
				}
				in, e := a.normalizeInput("body/inputs/"+strconv.Itoa(i), raw[i])
				if e != nil {
					mu.Lock()
					if i < badIdx {
						badIdx, badErr = i, e
						firstBad.Store(int64(i))
					}
					mu.Unlock()
					return
				}
				out[i] = in
			}
		}(lo, hi)
	}
	wg.Wait()
	if badErr != nil {
		return nil, badErr
	}
	return out, nil
}

// normalizeInput rewrites aliases, validates, and splits custom_data. raw
// comes from validate.DecodeJSON.
func (a *Action) normalizeInput(prefix string, raw any) (Input, *apperr.Error) {
	m, ok := raw.(map[string]any)
	if ok {
		a.rewriteAliases(m)
	}
	if e := a.inputSchema.ValidateDecoded(validate.LabelBadInput, prefix, raw); e != nil {
		return Input{}, e
	}
	in := Input{Values: m}
	if cd, ok := m["custom_data"]; ok {
		in.CustomData, _ = cd.(map[string]any)
		delete(m, "custom_data")
	}
	return in, nil
}

// rewriteAliases moves values given under an x-variations name to the
// field's own name. Rules, in order:
//   - a field already present keeps its value; its aliases are dropped;
//   - an alias shared by several fields (invite-event's "url" names both
//     the profile and the event) goes to the first field still missing
//     whose pattern the value matches, else to the first field missing;
//   - when a field has several aliases present, the first in x-variations
//     order wins.
func (a *Action) rewriteAliases(m map[string]any) {
	if len(a.aliasIndex) == 0 {
		return
	}
	var present []string
	for k := range m {
		if _, isAlias := a.aliasIndex[k]; isAlias && !a.isField(k) {
			present = append(present, k)
		}
	}
	if len(present) == 0 {
		return
	}
	sort.Strings(present)
	for pass := 0; pass < 2; pass++ {
		for _, f := range a.Inputs {
			if _, ok := m[f.Name]; ok {
				continue
			}
			for _, al := range f.Aliases {
				v, ok := m[al]
				if !ok || al == f.Name || a.isField(al) {
					continue
				}
				if pass == 0 && len(a.aliasIndex[al]) > 1 {
					re := a.fieldRE[f.Name]
					s, isStr := v.(string)
					if re != nil && (!isStr || !re.MatchString(s)) {
						continue
					}
				}
				m[f.Name] = v
				delete(m, al)
				break
			}
		}
	}
	for _, al := range present {
		if _, still := m[al]; !still {
			continue
		}
		allSet := true
		for _, t := range a.aliasIndex[al] {
			if _, ok := m[t]; !ok {
				allSet = false
			}
		}
		if allSet {
			delete(m, al)
		}
	}
}

func (a *Action) isField(name string) bool { return a.input.Prop(name) != nil }

// decodeParams validates the parameters object and applies its defaults.
// Clients send "parameters": {} or null on every call, whether or not the
// action takes any: both mean "no parameters". Only unknown keys inside
// the object are errors.
func (a *Action) decodeParams(obj map[string]any, node *Node, schema *validate.Schema, required bool) (map[string]any, *apperr.Error) {
	raw, present := obj["parameters"]
	if !present && required {
		return nil, apperr.BadParameters("body must have required property 'parameters'").
			With("path", "body").With("missing_property", "parameters")
	}
	if raw == nil {
		raw = map[string]any{}
	}
	if e := schema.ValidateParams("body/parameters", raw); e != nil {
		return nil, e
	}
	in := raw.(map[string]any)
	if node == nil {
		return map[string]any{}, nil
	}
	out := make(map[string]any, len(node.Props))
	for k, v := range in {
		out[k] = v
	}
	for _, p := range node.Props {
		if _, ok := out[p.Name]; ok || !p.Node.HasDefault || !defaultFits(p.Node) {
			continue
		}
		out[p.Name] = cloneValue(p.Node.Default)
	}
	return out, nil
}

// defaultFits reports whether a default agrees with its own field's type;
// the reference has a few that do not, and applying them would hand the
// engine a value the schema itself rejects.
func defaultFits(n *Node) bool {
	if len(n.Type) == 0 {
		return true
	}
	var t string
	switch v := n.Default.(type) {
	case nil:
		return n.Nullable || contains(n.Type, "null")
	case string:
		t = "string"
	case bool:
		t = "boolean"
	case json.Number:
		if _, err := v.Int64(); err == nil && contains(n.Type, "integer") {
			return true
		}
		t = "number"
	case map[string]any:
		t = "object"
	case []any:
		t = "array"
	}
	return contains(n.Type, t)
}

func (a *Action) decodeIdentity(obj map[string]any) ([]string, string, *apperr.Error) {
	ids := stringList(obj["identity_ids"])
	if alias := stringList(obj[IdentityIDsAlias]); alias != nil {
		if ids != nil && !slices.Equal(ids, alias) {
			return nil, "", apperr.BadInput("body must NOT have both identity_ids and %s (its early name) with different values", IdentityIDsAlias).
				With("path", "body/"+IdentityIDsAlias)
		}
		ids = alias
	}
	mode := IdentityDirect
	if m, ok := obj["identity_mode"].(string); ok {
		mode = m
	}
	if mode == IdentityManaged && !a.ManagedAllowed() {
		return nil, "", apperr.BadInput("body/identity_mode must be equal to one of the allowed values: %s, %s (managed identities run extraction and search of public data only)",
			IdentityDirect, IdentityAuto).With("path", "body/identity_mode").With("keyword", "enum")
	}
	return ids, mode, nil
}

// stringList reads a validated array of strings (nil when absent or null).
func stringList(v any) []string {
	raw, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, len(raw))
	for i, x := range raw {
		out[i], _ = x.(string)
	}
	return out
}

func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return int(i), err == nil
	case int:
		return x, true
	case float64:
		return int(x), float64(int(x)) == x
	}
	return 0, false
}
