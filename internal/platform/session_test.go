package platform

import (
	"context"
	"testing"
)

func TestSessionSink(t *testing.T) {
	ReportSession(context.Background(), map[string]string{"li_at": "x"}) // no sink: nothing happens
	var got []map[string]string
	ctx := WithSessionSink(context.Background(), func(c map[string]string) { got = append(got, c) })
	in := map[string]string{"li_at": "a", "JSESSIONID": `"ajax:1"`}
	ReportSession(ctx, in)
	in["li_at"] = "changed after the report"
	if len(got) != 1 || got[0]["li_at"] != "a" || got[0]["JSESSIONID"] != `"ajax:1"` {
		t.Fatalf("the sink got %v: it must get its own copy", got)
	}
}

func TestSessionDriverLabels(t *testing.T) {
	r := Restricted("302", "behind a checkpoint")
	if r.Label != LabelRestricted || r.Status != 424 || Transient(r) || IsSessionExpired(r) || r.Params[ParamUpstreamStatus] != "302" {
		t.Errorf("restricted: %+v", r)
	}
	b := ActionBroken("search", "410", "", "gone")
	if b.Label != LabelActionBroken || b.Status != 424 || Transient(b) || b.Params[ParamRecipe] != "search" || b.Params[ParamMissingPath] != "" {
		t.Errorf("broken: %+v", b)
	}
	c := ActionBroken("me", "", "data.plainId", "changed")
	if c.Params[ParamMissingPath] != "data.plainId" || c.Params[ParamUpstreamStatus] != "" {
		t.Errorf("changed: %+v", c)
	}
}
