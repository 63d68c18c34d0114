// Package agents holds what Firstmate decides for AI agents that act
// through its MCP endpoint (issue 21): the tools generated from the
// catalogue and which of them a key can see, the safety rails configured
// per workspace and per API key (outreach on or off, approval mode), the
// pending approvals members confirm or reject, and the audit record of
// every tool call. It knows nothing about HTTP or MCP's wire format: the
// api package turns ToolSpecs into MCP tools and calls back here.
package agents

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// Tool kinds: one per catalogue action, or one of the fixed tools.
const (
	ToolAction = "action"
	ToolFixed  = "fixed"
)

// Names of the fixed tools. Action tools are named by their slug, which
// never starts with one of these prefixes ("run-", "identity-", ...).
const (
	ToolRunStart       = "run-start-async"
	ToolRunStatus      = "run-status"
	ToolRunOutputs     = "run-outputs"
	ToolRunCancel      = "run-cancel"
	ToolIdentities     = "identity-list"
	ToolIdentityLimits = "identity-limits"
	ToolCredits        = "workspace-credits"
	ToolApproval       = "approval-status"
)

// ToolSpec is one MCP tool, protocol-neutral.
type ToolSpec struct {
	Name        string
	Title       string
	Description string
	// InputSchema is a JSON Schema object (type object).
	InputSchema map[string]any
	ReadOnly    bool
	// Destructive: the tool does something on a platform that the other
	// side notices and that cannot be taken back.
	Destructive bool
	Idempotent  bool
	// Perm is the API permission the tool's route requires: a key's role
	// is held to it exactly as on the API.
	Perm auth.Permission
	// Outreach: the tool is off unless the rails enable outreach.
	Outreach bool
	Kind     string
	Action   *catalog.Action // action tools only
}

// reversible outreach: inbox housekeeping the other side never sees, which
// the account can undo on the platform.
var reversible = map[string]bool{"linkedin-archive-message": true, "linkedin-mark-message-as-read": true}

// crmWrites are the extension actions that write to the builder's CRM.
var crmWrites = map[string]bool{"hubspot-upsert-contact": true}

// ReadOnly says whether calling the action changes nothing anywhere.
func ReadOnly(a *catalog.Action) bool {
	switch a.Kind {
	case catalog.KindExtract, catalog.KindSearch:
		return true
	case catalog.KindOutreach:
		return false
	}
	return !crmWrites[a.Slug]
}

// actionTools caches ActionTool per slug: the catalogue never changes
// after start-up, and /mcp lists the tools on every session.
var actionTools sync.Map // slug -> ToolSpec

// ActionTool is the tool of one catalogue action: the live body's members
// as arguments (input, parameters, identity_mode, identity_ids), plus
// dry_run, and cursor for actions that page. The spec is shared: callers
// must not modify it.
func ActionTool(a *catalog.Action) ToolSpec {
	if t, ok := actionTools.Load(a.Slug); ok {
		return t.(ToolSpec)
	}
	t := actionTool(a)
	actionTools.Store(a.Slug, t)
	return t
}

func actionTool(a *catalog.Action) ToolSpec {
	d := a.Describe()
	props := map[string]any{}
	required := []any{}
	if a.LiveInput {
		props["input"] = stripPatterns(d["input_schema"])
		required = append(required, "input")
	}
	if ps, ok := d["parameters_schema"].(map[string]any)["live"].(map[string]any); ok && ps != nil {
		props["parameters"] = stripPatterns(ps)
	} else {
		props["parameters"] = map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{}}
	}
	id := a.AcceptsIdentityIn("live")
	if id.IDs {
		props["identity_ids"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"},
			"description": "Identities (uids) whose accounts may run the call, in order of preference."}
	}
	if id.Mode {
		modes := []any{catalog.IdentityDirect, catalog.IdentityAuto}
		if a.ManagedAllowed() {
			modes = append(modes, catalog.IdentityManaged)
		}
		props["identity_mode"] = map[string]any{"type": "string", "enum": modes, "default": catalog.IdentityDirect,
			"description": "direct: the first of identity_ids that can run it; auto: the workspace's identity with the most Smart Limit room" +
				map[bool]string{true: "; managed: a pool account (1.5x credits)", false: ""}[a.ManagedAllowed()] + "."}
	}
	props["dry_run"] = map[string]any{"type": "boolean", "default": false,
		"description": "Validate, pick the identity and check Smart Limits and credits without calling the platform."}
	if a.ListOutput && a.PageSize > 0 {
		props["cursor"] = map[string]any{"type": "string", "description": "next_cursor of the previous page of the same call."}
	}
	schema := map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
	ro := ReadOnly(a)
	perm := auth.Operate // POST /actions/{slug}/run/live
	return ToolSpec{Name: a.Slug, Title: a.Slug, Description: describe(a), InputSchema: schema, ReadOnly: ro,
		Destructive: a.Kind == catalog.KindOutreach && !reversible[a.Slug], Idempotent: ro,
		Perm: perm, Outreach: a.Kind == catalog.KindOutreach, Kind: ToolAction, Action: a}
}

// describe states the action's facts: platform, kind, account, input,
// output, paging, price and Smart Limits. No reference prose.
func describe(a *catalog.Action) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s.", a.Platform, a.Kind)
	switch {
	case a.Kind == catalog.KindOutreach && reversible[a.Slug]:
		b.WriteString(" Changes the account's inbox; the other side is not notified.")
	case a.Kind == catalog.KindOutreach:
		b.WriteString(" Acts on the platform as the identity's account; the other side may notice; cannot be undone.")
	case !ReadOnly(a):
		b.WriteString(" Writes to the workspace's CRM.")
	}
	if a.NeedsIdentity {
		fmt.Fprintf(&b, " Runs with an identity's %s account.", a.Integration)
	} else {
		b.WriteString(" Needs no identity.")
	}
	if a.LiveInput {
		var req, opt []string
		for _, f := range a.Inputs {
			if f.Name == "custom_data" {
				continue
			}
			if f.Required {
				req = append(req, f.Name)
			} else {
				opt = append(opt, f.Name)
			}
		}
		if len(req) > 0 {
			fmt.Fprintf(&b, " Input requires %s.", strings.Join(req, ", "))
		}
		if alts := a.RequiredAlternatives; len(alts) > 0 {
			var xs []string
			for _, alt := range alts {
				xs = append(xs, strings.Join(alt, "+"))
			}
			fmt.Fprintf(&b, " Input needs one of: %s.", strings.Join(xs, " | "))
		}
		if len(opt) > 0 && len(opt) <= 8 {
			fmt.Fprintf(&b, " Optional input: %s.", strings.Join(opt, ", "))
		}
	}
	var outs []string
	for _, f := range a.Outputs {
		outs = append(outs, f.Name)
	}
	sort.Strings(outs)
	if len(outs) > 12 {
		outs = append(outs[:12], "...")
	}
	if a.ListOutput {
		fmt.Fprintf(&b, " Returns a list")
		if a.PageSize > 0 {
			fmt.Fprintf(&b, ", %d per page; pass next_cursor back as cursor for the next page", a.PageSize)
		}
		b.WriteString(".")
	} else {
		b.WriteString(" Returns one object.")
	}
	if len(outs) > 0 {
		fmt.Fprintf(&b, " Output fields: %s.", strings.Join(outs, ", "))
	}
	if a.CreditRatio == 0 {
		b.WriteString(" Free.")
	} else {
		fmt.Fprintf(&b, " %g credit(s) per result.", a.CreditRatio)
	}
	if len(a.LimitKeys) > 0 {
		fmt.Fprintf(&b, " Smart Limits: %s.", strings.Join(a.LimitKeys, ", "))
	}
	return b.String()
}

// stripPatterns copies a JSON Schema without its "pattern" keywords: the
// reference writes them as JavaScript regex literals that a client's
// validator would read literally and refuse valid URLs with. The server
// validates every argument itself.
func stripPatterns(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, c := range x {
			if k == "pattern" {
				if _, ok := c.(string); ok {
					continue
				}
			}
			out[k] = stripPatterns(c)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = stripPatterns(c)
		}
		return out
	}
	return v
}

func obj(props map[string]any, required ...string) map[string]any {
	req := make([]any, len(required))
	for i, r := range required {
		req[i] = r
	}
	return map[string]any{"type": "object", "properties": props, "required": req, "additionalProperties": false}
}

var (
	uidArg    = map[string]any{"type": "string", "minLength": 1, "maxLength": 100}
	cursorArg = map[string]any{"type": "string", "description": "next_cursor of the previous page."}
)

// FixedTools are the tools besides the actions: runs, identities, credits
// and approvals. actions lists the slugs start-run accepts.
func FixedTools(actions []string) []ToolSpec {
	slugs := make([]any, len(actions))
	for i, s := range actions {
		slugs[i] = s
	}
	return []ToolSpec{
		{Name: ToolRunStart, Title: "Start an async run", Kind: ToolFixed, Perm: auth.Operate,
			Description: "Starts a background run of an action on a list of inputs (POST /v4/actions/{slug}/run/async). " +
				"Returns the run; follow it with run-status and read its results with run-outputs or the resource firstmate://runs/{uid}/outputs.",
			InputSchema: obj(map[string]any{
				"action":        map[string]any{"type": "string", "enum": slugs},
				"inputs":        map[string]any{"type": "array", "items": map[string]any{"type": "object"}, "minItems": 1, "maxItems": 1000},
				"parameters":    map[string]any{"type": "object"},
				"identity_ids":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
				"identity_mode": map[string]any{"type": "string", "enum": []any{"direct", "auto", "managed"}},
				"callback_url":  map[string]any{"type": "string", "format": "uri"},
			}, "action", "inputs")},
		{Name: ToolRunStatus, Title: "Run status", Kind: ToolFixed, Perm: auth.Read, ReadOnly: true, Idempotent: true,
			Description: "A run's status and counts (GET /v4/runs/{uid}/status).",
			InputSchema: obj(map[string]any{"run_uid": uidArg}, "run_uid")},
		{Name: ToolRunOutputs, Title: "Run outputs", Kind: ToolFixed, Perm: auth.Read, ReadOnly: true, Idempotent: true,
			Description: "One page of an async run's results (GET /v4/runs/{uid}/outputs), 100 at most; pass next_cursor back as cursor.",
			InputSchema: obj(map[string]any{"run_uid": uidArg, "cursor": cursorArg,
				"limit": map[string]any{"type": "integer", "minimum": 1, "maximum": 100, "default": 100}}, "run_uid")},
		{Name: ToolRunCancel, Title: "Cancel a run", Kind: ToolFixed, Perm: auth.Operate,
			Description: "Stops an async run; results so far are kept (POST /v4/runs/{uid}/cancel).",
			InputSchema: obj(map[string]any{"run_uid": uidArg}, "run_uid")},
		{Name: ToolIdentities, Title: "List identities", Kind: ToolFixed, Perm: auth.Read, ReadOnly: true, Idempotent: true,
			Description: "The workspace's identities with their integrations, 50 per page (GET /v4/identities); pass next_cursor back as cursor.",
			InputSchema: obj(map[string]any{"query": map[string]any{"type": "string", "maxLength": 200}, "cursor": cursorArg})},
		{Name: ToolIdentityLimits, Title: "Smart Limits left", Kind: ToolFixed, Perm: auth.Read, ReadOnly: true, Idempotent: true,
			Description: "An identity's Smart Limit windows for every key an action consumes: max, consumed, remaining, available_at " +
				"(GET /v4/identities/{uid}/actions/{slug}/limits).",
			InputSchema: obj(map[string]any{"identity_uid": uidArg, "action": map[string]any{"type": "string", "enum": slugs}},
				"identity_uid", "action")},
		{Name: ToolCredits, Title: "Credits", Kind: ToolFixed, Perm: auth.Read, ReadOnly: true, Idempotent: true,
			Description: "Credits left, used and the current period, by action (GET /v4/workspaces/consumption).",
			InputSchema: obj(map[string]any{})},
		{Name: ToolApproval, Title: "Approval status", Kind: ToolFixed, Perm: auth.Read, ReadOnly: true, Idempotent: true,
			Description: "The state of an outreach call waiting for a member's approval: PENDING, REJECTED, EXPIRED, or the call's result once confirmed.",
			InputSchema: obj(map[string]any{"approval_uid": uidArg}, "approval_uid")},
	}
}

// Tools lists every tool a key of role could see under policy, given
// which actions this server serves: the actions routing makes available
// (outreach ones only when the policy enables outreach), then the fixed
// tools, each only when role holds its permission.
func Tools(role string, pol Policy, available func(*catalog.Action) bool) []ToolSpec {
	var out []ToolSpec
	var startable []string
	for _, a := range catalog.All() {
		if available != nil && !available(a) {
			continue
		}
		t := ActionTool(a)
		if t.Outreach && !pol.OutreachEnabled {
			continue
		}
		startable = append(startable, a.Slug)
		if auth.Allows(role, t.Perm) {
			out = append(out, t)
		}
	}
	for _, t := range FixedTools(startable) {
		if auth.Allows(role, t.Perm) {
			out = append(out, t)
		}
	}
	return out
}
