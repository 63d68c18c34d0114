package api

import (
	"encoding/json"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

func (s *Server) getWorkspace(c *rctx) error {
	info, err := s.Workspaces.Info(c.ctx(), c.P().WorkspaceID, s.Now())
	if err != nil {
		return err
	}
	return c.ok(obj{
		"uid": info.Workspace.UID, "name": info.Workspace.Name, "plan_name": info.Workspace.Plan,
		"credits_left": info.CreditsLeft, "credits_max": info.CreditsMax, "credits_used": info.CreditsUsed,
		"current_month_start": info.PeriodStart.Format(time.RFC3339), "current_month_end": info.PeriodEnd.Format(time.RFC3339),
		"users_included": info.IdentitiesIncluded, "users_synced": info.IdentitiesUsed,
		"users_remaining": max(0, info.IdentitiesIncluded-info.IdentitiesUsed),
	})
}

func viewSettings(st workspace.Settings) obj {
	overrides := json.RawMessage(st.LimitOverrides)
	if len(overrides) == 0 {
		overrides = json.RawMessage("{}")
	}
	return obj{"webhook_url": st.WebhookURL, "logo_url": st.LogoURL, "callback_signing_secret": st.SigningSecret,
		"engagement_enabled": st.EngagementEnabled, "auto_resume_on_reconnect": st.AutoResume,
		"smart_limit_overrides": overrides}
}

func (s *Server) getSettings(c *rctx) error {
	st, err := s.Workspaces.Settings(c.ctx(), c.P().WorkspaceID)
	if err != nil {
		return err
	}
	return c.ok(viewSettings(st))
}

func (s *Server) putSettings(c *rctx) error {
	var in struct {
		WebhookURL     *string         `json:"webhook_url"`
		LogoURL        *string         `json:"logo_url"`
		Rotate         bool            `json:"rotate_callback_secret"`
		Engagement     *bool           `json:"engagement_enabled"`
		AutoResume     *bool           `json:"auto_resume_on_reconnect"`
		LimitOverrides json.RawMessage `json:"smart_limit_overrides"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	u := workspace.SettingsUpdate{WebhookURL: in.WebhookURL, LogoURL: in.LogoURL, RotateSigningSecret: in.Rotate,
		EngagementEnabled: in.Engagement, AutoResume: in.AutoResume}
	if in.LimitOverrides != nil {
		o := string(in.LimitOverrides)
		u.LimitOverrides = &o
	}
	st, err := s.Workspaces.UpdateSettings(c.ctx(), c.P().WorkspaceID, u)
	if err != nil {
		return err
	}
	return c.ok(viewSettings(st))
}

func (s *Server) listMembers(c *rctx) error {
	ms, err := s.Workspaces.Members(c.ctx(), c.P().WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]memberView, 0, len(ms))
	for _, m := range ms {
		out = append(out, viewMember(m))
	}
	return c.ok(out)
}

func (s *Server) inviteMember(c *rctx) error {
	var in struct{ Email, Role string }
	if err := c.decode(&in); err != nil {
		return err
	}
	inv, token, err := s.Workspaces.Invite(c.ctx(), c.P(), in.Email, in.Role)
	if err != nil {
		return err
	}
	return c.ok(obj{"uid": inv.UID, "email": inv.Email, "role": inv.Role, "token": token, "expires_at": inv.ExpiresAt})
}

func (s *Server) patchMember(c *rctx) error {
	var in struct{ Role string }
	if err := c.decode(&in); err != nil {
		return err
	}
	m, err := s.Workspaces.ChangeRole(c.ctx(), c.P().WorkspaceID, c.path("uid"), in.Role)
	if err != nil {
		return err
	}
	return c.ok(viewMember(m))
}

func (s *Server) deleteMember(c *rctx) error {
	m, err := s.Workspaces.Member(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	if err := s.Workspaces.Remove(c.ctx(), c.P().WorkspaceID, c.path("uid")); err != nil {
		return err
	}
	return c.ok(viewMember(m))
}

func (s *Server) acceptInvitation(c *rctx) error {
	var in struct{ Name, Password string }
	if err := c.decode(&in); err != nil {
		return err
	}
	a, err := s.Workspaces.Accept(c.ctx(), c.path("token"), in.Name, in.Password)
	if err != nil {
		return err
	}
	return c.ok(obj{"member": viewMember(a.Member), "api_key": a.APIKey})
}

func (s *Server) listKeys(c *rctx) error {
	ks, err := s.Workspaces.APIKeys(c.ctx(), c.P())
	if err != nil {
		return err
	}
	out := make([]apiKeyView, 0, len(ks))
	for _, k := range ks {
		out = append(out, viewKey(k))
	}
	return c.ok(out)
}

func (s *Server) createKey(c *rctx) error {
	var in struct{ Name string }
	if err := c.decode(&in); err != nil {
		return err
	}
	k, key, err := s.Workspaces.CreateAPIKey(c.ctx(), c.P(), in.Name)
	if err != nil {
		return err
	}
	v := viewKey(k)
	v.Key = key
	return c.ok(v)
}

func (s *Server) revokeKey(c *rctx) error {
	uid := c.path("uid")
	if err := s.Workspaces.RevokeAPIKey(c.ctx(), c.P(), uid); err != nil {
		return err
	}
	ks, err := s.Workspaces.APIKeys(c.ctx(), c.P())
	if err != nil {
		return err
	}
	for _, k := range ks {
		if k.UID == uid {
			return c.ok(viewKey(k))
		}
	}
	return apperr.NotFound("API key %s not found", uid)
}

var activityDoc = object(obj{
	"days":                             arrayOf(str()),
	"credits_by_action":                arrayOf(object(obj{"name": str(), "per_day": arrayOf(obj{"type": "number"}), "total": obj{"type": "number"}})),
	"runs_by_status":                   arrayOf(object(obj{"name": str(), "per_day": arrayOf(obj{"type": "number"}), "total": obj{"type": "number"}})),
	"identities_by_integration_status": obj{"type": "object", "additionalProperties": obj{"type": "integer"}},
})

func (s *Server) activity(c *rctx) error {
	days, err := c.queryInt("days", 14, 1, 90)
	if err != nil {
		return err
	}
	a, err := s.Workspaces.Activity(c.ctx(), c.P().WorkspaceID, days, s.Now())
	if err != nil {
		return err
	}
	return c.ok(a)
}

// passwordLink is the owner-issued "forgot password": a one-time link to
// the console's set-password page, handed over by the owner.
func (s *Server) passwordLink(c *rctx) error {
	token, err := s.Workspaces.IssuePasswordLink(c.ctx(), c.P(), c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(obj{"member_uid": c.path("uid"), "url": s.PublicURL() + "/set-password/" + token,
		"expires_at": s.Now().Add(workspace.PasswordLinkTTL).UTC().Format(time.RFC3339)})
}

func viewInvitation(inv model.Invitation, now time.Time) obj {
	return obj{"uid": inv.UID, "email": inv.Email, "role": inv.Role, "expires_at": inv.ExpiresAt.UTC(),
		"created_at": inv.CreatedAt.UTC(), "expired": !inv.ExpiresAt.After(now)}
}

func (s *Server) listInvitations(c *rctx) error {
	invs, err := s.Workspaces.Invitations(c.ctx(), c.P().WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]obj, 0, len(invs))
	for _, inv := range invs {
		out = append(out, viewInvitation(inv, s.Now()))
	}
	return c.ok(out)
}

func (s *Server) revokeInvitation(c *rctx) error {
	invs, err := s.Workspaces.Invitations(c.ctx(), c.P().WorkspaceID)
	if err != nil {
		return err
	}
	var found *model.Invitation
	for i := range invs {
		if invs[i].UID == c.path("uid") {
			found = &invs[i]
		}
	}
	if err := s.Workspaces.RevokeInvitation(c.ctx(), c.P().WorkspaceID, c.path("uid")); err != nil {
		return err
	}
	if found == nil { // revoked between the two reads: the delete said it existed
		return c.ok(obj{"uid": c.path("uid")})
	}
	return c.ok(viewInvitation(*found, s.Now()))
}

func (s *Server) reissueInvitation(c *rctx) error {
	inv, token, err := s.Workspaces.ReissueInvitation(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(obj{"uid": inv.UID, "email": inv.Email, "role": inv.Role, "token": token, "expires_at": inv.ExpiresAt})
}
