package api

import (
	"github.com/firstmate-oss/firstmate/internal/identity"
)

func (s *Server) listIdentities(c *rctx) error {
	page, err := c.queryInt("page", 1, 1, 1_000_000)
	if err != nil {
		return err
	}
	withAccounts, err := c.queryBool("retrieve_accounts")
	if err != nil {
		return err
	}
	query := c.r.URL.Query().Get("query")
	if len(query) > 200 {
		return c.badQuery("query", "must NOT have more than 200 characters")
	}
	// Integrations are always listed; retrieve_accounts adds each account's
	// details to their status and level.
	ids, err := s.Identities.List(c.ctx(), c.P().WorkspaceID, query, page, true)
	if err != nil {
		return err
	}
	if withAccounts {
		out := make([]identityView, 0, len(ids))
		for _, id := range ids {
			out = append(out, viewIdentity(id, nil))
		}
		return c.ok(out)
	}
	out := make([]identityListView, 0, len(ids))
	for _, id := range ids {
		v := identityListView{identityView: viewIdentity(id, nil), Integrations: []integrationSummary{}}
		for _, g := range v.identityView.Integrations {
			v.Integrations = append(v.Integrations, integrationSummary{UID: g.UID, Name: g.Name, Permalink: g.Permalink,
				IsShared: g.IsShared, Level: g.Level, Status: g.Status})
		}
		out = append(out, v)
	}
	return c.ok(out)
}

// identityListView is an identity in GET /identities without
// retrieve_accounts: its integrations' status and level, not their details.
type identityListView struct {
	identityView
	Integrations []integrationSummary `json:"integrations"` // shadows identityView's
}

// integrationSummary is an integration's status and level.
type integrationSummary struct {
	UID       string  `json:"uid"`
	Name      string  `json:"name"`
	Permalink string  `json:"integration_permalink"`
	IsShared  bool    `json:"is_shared"`
	Level     *string `json:"level"`
	Status    string  `json:"status"`
}

func (s *Server) createIdentity(c *rctx) error {
	var in struct{ Name, Timezone, Type string }
	if err := c.decode(&in); err != nil {
		return err
	}
	id, links, err := s.Identities.Create(c.ctx(), c.P(), identity.New{Name: in.Name, Timezone: in.Timezone, Type: in.Type})
	if err != nil {
		return err
	}
	return c.ok(viewIdentity(id, links))
}

func (s *Server) getIdentity(c *rctx) error {
	id, err := s.Identities.Get(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(viewIdentity(id, nil))
}

func (s *Server) putIdentity(c *rctx) error {
	var in struct{ Name, Timezone, Type *string }
	if err := c.decode(&in); err != nil {
		return err
	}
	id, err := s.Identities.Update(c.ctx(), c.P().WorkspaceID, c.path("uid"),
		identity.Update{Name: in.Name, Timezone: in.Timezone, Type: in.Type})
	if err != nil {
		return err
	}
	return c.ok(viewIdentity(id, nil))
}

func (s *Server) deleteIdentity(c *rctx) error {
	id, err := s.Identities.Get(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	if err := s.Identities.Delete(c.ctx(), c.P().WorkspaceID, c.path("uid")); err != nil {
		return err
	}
	return c.ok(viewIdentity(id, nil))
}

func (s *Server) loginLinks(c *rctx) error {
	links, err := s.Identities.GenerateLoginLinks(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	// The reference's shape: one link per platform at the top level
	// ({"linkedin": URL}). The identity object keeps them under
	// identity_login_links.
	return c.ok(links)
}

// revokeLoginLinks is DELETE /identities/{uid}/login-links: every link of
// the identity that could still be used stops working.
func (s *Server) revokeLoginLinks(c *rctx) error {
	n, err := s.Identities.RevokeLoginLinks(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(obj{"identity_uid": c.path("uid"), "revoked": n})
}

// verifyLoginLink tells whether a link can still be used. It reveals nothing
// about the workspace or the identity behind it.
func (s *Server) verifyLoginLink(c *rctx) error {
	st, err := s.Identities.VerifyLoginLink(c.ctx(), c.path("token"))
	if err != nil {
		return err
	}
	return c.ok(obj{"valid": st.Valid, "reason": st.Reason, "platform": st.Platform, "expires_at": st.ExpiresAt})
}

func (s *Server) connectIntegration(c *rctx) error {
	var in struct {
		AuthData struct {
			Cookies map[string]string `json:"cookies"`
			Basic   *struct {
				Username string `json:"username"`
				Password string `json:"password"`
			} `json:"basic"`
			Token     string `json:"token"`
			UserAgent string `json:"user_agent"`
		} `json:"auth_data"`
		AccountName string `json:"account_name"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	conn := identity.Connect{Cookies: in.AuthData.Cookies, Token: in.AuthData.Token, AccountName: in.AccountName,
		UserAgent: in.AuthData.UserAgent}
	if b := in.AuthData.Basic; b != nil {
		conn.Username, conn.Password = b.Username, b.Password
	}
	g, err := s.Identities.ConnectIntegration(c.ctx(), c.P().WorkspaceID, c.path("uid"), c.path("integration"), conn)
	if err != nil {
		return err
	}
	return c.ok(viewIntegration(g))
}

func (s *Server) getIntegration(c *rctx) error {
	g, err := s.Identities.Integration(c.ctx(), c.P().WorkspaceID, c.path("uid"), c.path("integration"))
	if err != nil {
		return err
	}
	return c.ok(viewIntegration(g))
}

func (s *Server) deleteIntegration(c *rctx) error {
	g, err := s.Identities.DeleteIntegration(c.ctx(), c.P().WorkspaceID, c.path("uid"), c.path("integration"))
	if err != nil {
		return err
	}
	return c.ok(viewIntegration(g))
}
