package catalog

// Describe is the JSON document of GET /actions/{slug}: everything a client
// needs to build a valid request and read the answer. Each call returns a
// fresh value the caller may modify.
func (a *Action) Describe() map[string]any {
	out := map[string]any{
		"id":             a.ID,
		"slug":           a.Slug,
		"platform":       a.Platform,
		"kind":           a.Kind,
		"needs_identity": a.NeedsIdentity,
		"integration":    nilIfEmpty(a.Integration),
		"input_schema":   a.input.Schema(),
		"live_input":     a.LiveInput,
		"parameters_schema": map[string]any{
			"live":     schemaOrNil(a.liveParams),
			"async":    schemaOrNil(a.asyncParams),
			"schedule": schemaOrNil(a.scheduleParams),
		},
		"output_schema": a.outputSchema(),
		"list_output":   a.ListOutput,
		"page_size":     nilIfZero(a.PageSize),
		"cursor":        a.CursorPaging,
		"max_results": map[string]any{
			"live":     a.LiveMaxResults.describe(),
			"async":    a.AsyncMaxResults.describe(),
			"schedule": a.ScheduleMaxResults.describe(),
		},
		"credit_ratio":        a.CreditRatio,
		"limit_keys":          append([]string{}, a.LimitKeys...),
		"async_max_inputs":    a.AsyncMaxInputs,
		"schedule_max_inputs": a.ScheduleMaxInputs,
		"identity_fields": map[string]any{
			"live":     a.AcceptsIdentityIn("live").describe(),
			"async":    a.AcceptsIdentityIn("async").describe(),
			"schedule": a.AcceptsIdentityIn("schedule").describe(),
		},
		"managed_identities": a.ManagedAllowed(),
		"extension":          a.Extension,
	}
	if a.RequiredAlternatives != nil {
		alts := make([]any, len(a.RequiredAlternatives))
		for i, alt := range a.RequiredAlternatives {
			alts[i] = append([]string{}, alt...)
		}
		out["input_required_one_of"] = alts
	}
	return out
}

func (a *Action) outputSchema() map[string]any {
	item := a.gen.Output.Schema()
	if a.ListOutput {
		return map[string]any{"type": "array", "items": item}
	}
	return item
}

func (b Bounds) describe() any {
	if !b.Present {
		return nil
	}
	m := map[string]any{}
	if b.HasDefault {
		m["default"] = b.Default
	}
	if b.HasMin {
		m["minimum"] = b.Min
	}
	if b.HasMax {
		m["maximum"] = b.Max
	}
	return m
}

func (m ModeIdentity) describe() []string {
	out := []string{}
	if m.IDs {
		out = append(out, "identity_ids")
	}
	if m.Mode {
		out = append(out, "identity_mode")
	}
	return out
}

func schemaOrNil(n *Node) any {
	if n == nil {
		return nil
	}
	return n.Schema()
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nilIfZero(i int) any {
	if i == 0 {
		return nil
	}
	return i
}
