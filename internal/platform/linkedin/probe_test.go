package linkedin_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

type simCounters struct {
	Runtime map[string]struct {
		Invitations int `json:"invitations_today"`
		Messages    int `json:"messages_today"`
	} `json:"runtime"`
}

// what the sandbox's own face says about the account's invitations
func (e *env) invitations(liAt string) (received, sent int) {
	var r, s struct{ Paging struct{ Total int } }
	e.simJSON(liAt, "/linkedin/invitations/received?count=1", &r)
	e.simJSON(liAt, "/linkedin/invitations/sent?count=1", &s)
	return r.Paging.Total, s.Paging.Total
}

func byAction(res []linkedin.ProbeResult) map[string]linkedin.ProbeResult {
	out := map[string]linkedin.ProbeResult{}
	for _, r := range res {
		out[r.Action] = r
	}
	return out
}

func TestProbeAgainstTheSandboxAllPassAndWritesNothing(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 40})
	recv, sent := e.invitations("sim_premium")
	res := e.d.Probe(context.Background(), e.ts.Client(), platform.Credentials{Cookies: map[string]string{"li_at": "sim_premium"}}, linkedin.ProbeOptions{})
	var actions []string
	for _, r := range res {
		actions = append(actions, r.Action)
		if r.Status != linkedin.ProbeOK {
			t.Errorf("%s: %+v", r.Action, r)
		}
		if len(r.Recipes) == 0 {
			t.Errorf("%s: ran no recipe", r.Action)
		}
	}
	slices.Sort(actions)
	if !slices.Equal(actions, linkedin.Actions()) {
		t.Errorf("probed %v\nthe driver runs %v", actions, linkedin.Actions())
	}
	// nothing written: no write request, the sandbox's counters and lists as before
	authenticate := 0
	for _, r := range e.requests() {
		if r.Method != http.MethodGet {
			t.Errorf("the probe wrote: %s %s", r.Method, r.Path)
		}
		if r.Path == "/uas/authenticate" {
			authenticate++
		}
	}
	if authenticate != 1 {
		t.Errorf("the probe asked for a JSESSIONID %d times; it keeps the first", authenticate)
	}
	var c simCounters
	e.simJSON("", "/_sim/stats", &c)
	if n := c.Runtime["premium"]; n.Invitations != 0 || n.Messages != 0 {
		t.Errorf("the sandbox counted writes: %+v", n)
	}
	if r2, s2 := e.invitations("sim_premium"); r2 != recv || s2 != sent {
		t.Errorf("invitations changed: received %d -> %d, sent %d -> %d", recv, r2, sent, s2)
	}
	for _, w := range []string{"linkedin-connect-profile", "linkedin-message-profile", "linkedin-accept-invitations", "linkedin-withdraw-invitations"} {
		r := byAction(res)[w]
		for _, rc := range r.Recipes {
			if linkedin.IsWrite(rc) {
				t.Errorf("%s ran the write recipe %s without --write", w, rc)
			}
		}
	}
}

// A sandbox that changed one answer's shape: the probe reports that action,
// with the missing path, and the others pass.
func TestProbeReportsTheActionWhoseShapeChanged(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 41})
	e.setRewrite(reshape("/organization/companies", func(b map[string]any) {
		for _, el := range b["elements"].([]any) {
			delete(el.(map[string]any), "universalName")
		}
	}))
	res := byAction(e.d.Probe(context.Background(), e.ts.Client(), cookies("sim_premium"), linkedin.ProbeOptions{}))
	for a, r := range res {
		if a == "linkedin-extract-company" {
			if r.Status != linkedin.ProbeChanged || r.Recipe != "company" || r.MissingPath != "elements[0].universalName" {
				t.Errorf("the changed action: %+v", r)
			}
			continue
		}
		if r.Status != linkedin.ProbeOK {
			t.Errorf("%s: %+v", a, r)
		}
	}
	// an endpoint LinkedIn removed is reported broken with its status
	e.setRewrite(answer("/relationships/sentInvitationViewsV2", http.StatusGone, "application/json", `{"status":410}`))
	res = byAction(e.d.Probe(context.Background(), e.ts.Client(), cookies("sim_premium"), linkedin.ProbeOptions{}))
	for _, a := range []string{"linkedin-extract-sent-invitations", "linkedin-withdraw-invitations"} {
		if r := res[a]; r.Status != linkedin.ProbeBroken || r.Recipe != "sent_invitations" || r.UpstreamStatus != "410" || r.Label != platform.LabelActionBroken {
			t.Errorf("%s: %+v", a, r)
		}
	}
	if r := res["linkedin-extract-connections"]; r.Status != linkedin.ProbeOK {
		t.Errorf("an unrelated action: %+v", r)
	}
}

// With --write, the outreach actions run once each: one invitation, one
// message, one acceptance, one withdrawal.
func TestProbeWithWrite(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 42})
	s := newSession(cookies("sim_premium"))
	recv, sent := e.invitations("sim_premium")
	// The probe invites and messages the same profile: a connection (the
	// message goes out; connect reports the connection and sends nothing).
	friend := e.must(s, liveCall(t, "linkedin-extract-connections", nil)).Results[0]["linkedin_profile_url"].(string)
	res := byAction(e.d.Probe(context.Background(), e.ts.Client(), cookies("sim_premium"),
		linkedin.ProbeOptions{Write: true, Profile: friend, Message: "Probe message"}))
	for a, r := range res {
		if r.Status != linkedin.ProbeOK {
			t.Errorf("%s: %+v", a, r)
		}
	}
	var c simCounters
	e.simJSON("", "/_sim/stats", &c)
	if n := c.Runtime["premium"]; n.Messages != 1 || n.Invitations != 0 {
		t.Errorf("the sandbox counted %+v, want one message and no invitation to a connection", n)
	}
	if r2, s2 := e.invitations("sim_premium"); r2 != recv-1 || s2 != sent-1 {
		t.Errorf("received %d -> %d, sent %d -> %d: want one accepted, one withdrawn", recv, r2, sent, s2)
	}
	// --write without a target profile sends nothing to anyone
	e2 := newEnv(t, sim.Config{Seed: 43})
	res = byAction(e2.d.Probe(context.Background(), e2.ts.Client(), cookies("sim_premium"), linkedin.ProbeOptions{Write: true}))
	if res["linkedin-connect-profile"].Status != linkedin.ProbeSkipped || res["linkedin-message-profile"].Status != linkedin.ProbeSkipped {
		t.Errorf("connect %+v, message %+v", res["linkedin-connect-profile"], res["linkedin-message-profile"])
	}
}
