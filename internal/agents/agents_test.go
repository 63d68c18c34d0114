package agents

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/reftest"
)

func b(v bool) *bool { return &v }

// The workspace is the ceiling: a key turns outreach off or asks for
// approval, never the reverse (README "AI agents (MCP)").
func TestEffectiveRails(t *testing.T) {
	ttl := 600
	for _, c := range []struct {
		name               string
		ws, key            Rails
		outreach, approval bool
		ttl                time.Duration
	}{
		{"nothing set", Rails{}, Rails{}, false, false, time.Hour},
		{"key alone cannot enable outreach", Rails{}, Rails{OutreachEnabled: b(true)}, false, false, time.Hour},
		{"workspace enables", Rails{OutreachEnabled: b(true)}, Rails{}, true, false, time.Hour},
		{"key turns it off", Rails{OutreachEnabled: b(true)}, Rails{OutreachEnabled: b(false)}, false, false, time.Hour},
		{"key asks for approval", Rails{OutreachEnabled: b(true)}, Rails{ApprovalRequired: b(true)}, true, true, time.Hour},
		{"key cannot drop the workspace's approval", Rails{OutreachEnabled: b(true), ApprovalRequired: b(true), ApprovalTTL: &ttl},
			Rails{ApprovalRequired: b(false)}, true, true, 10 * time.Minute},
	} {
		p := Effective(c.ws, c.key)
		if p.OutreachEnabled != c.outreach || p.ApprovalRequired != c.approval || p.ApprovalTTL != c.ttl {
			t.Errorf("%s: %+v, want outreach %v approval %v ttl %v", c.name, p, c.outreach, c.approval, c.ttl)
		}
	}
}

// A user key sees only read-only tools, whatever the rails; outreach tools
// need the rails; an unavailable action has no tool.
func TestToolsByRoleAndRails(t *testing.T) {
	off := func(a *catalog.Action) bool { return a.Platform != "tripadvisor" }
	for _, tool := range Tools(model.RoleUser, Policy{OutreachEnabled: true}, off) {
		if !tool.ReadOnly || tool.Kind == ToolAction {
			t.Errorf("user role sees %s (read-only %v)", tool.Name, tool.ReadOnly)
		}
	}
	seen := map[string]bool{}
	for _, tool := range Tools(model.RoleOps, Policy{}, off) {
		seen[tool.Name] = true
		if tool.Outreach {
			t.Errorf("outreach tool %s listed with outreach off", tool.Name)
		}
		if strings.HasPrefix(tool.Name, "tripadvisor-") {
			t.Errorf("unavailable %s listed", tool.Name)
		}
	}
	if !seen["linkedin-extract-people"] || seen["linkedin-connect-profile"] {
		t.Fatalf("ops tools with outreach off: %v", seen)
	}
	on := Tools(model.RoleOps, Policy{OutreachEnabled: true}, off)
	found := false
	for _, tool := range on {
		if tool.Name == "linkedin-connect-profile" {
			found = tool.Destructive && !tool.ReadOnly
		}
	}
	if !found {
		t.Fatal("linkedin-connect-profile missing or not destructive with outreach on")
	}
}

// Tool descriptions are facts the product states in its own words: no
// description or summary of the reference appears in them.
func TestToolDescriptionsHoldNoReferenceProse(t *testing.T) {
	var doc any
	if err := json.Unmarshal(reftest.Read(t, reftest.ActionsOpenAPI), &doc); err != nil {
		t.Fatal(err)
	}
	var prose []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "description" || k == "summary" || k == "title") && len(s) > 30 {
					prose = append(prose, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	if len(prose) < 100 {
		t.Fatalf("only %d prose strings in the reference", len(prose))
	}
	for _, a := range catalog.All() {
		d := ActionTool(a).Description
		for _, p := range prose {
			// Any 40-character run of a reference sentence counts.
			for i := 0; i+40 <= len(p); i += 20 {
				if strings.Contains(d, p[i:i+40]) {
					t.Fatalf("%s: description quotes the reference: %q", a.Slug, p[i:i+40])
				}
			}
		}
	}
}
