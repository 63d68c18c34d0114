package api

import (
	"net/http"
	"net/url"

	"github.com/firstmate-oss/firstmate/internal/connectpage"
)

// answerCheckpoint is POST /identities/{uid}/integrations/{integration}/checkpoint:
// {code} answers the pending checkpoint, {} polls an IN_APP_VALIDATION.
func (s *Server) answerCheckpoint(c *rctx) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	g, err := s.Identities.AnswerCheckpoint(c.ctx(), c.P().WorkspaceID, c.path("uid"), c.path("integration"), in.Code)
	if err != nil {
		return err
	}
	return c.ok(viewIntegration(g))
}

// connectPage serves the hosted connect page behind a login link (GET and
// POST /connect/{token}, public, outside /v4). It answers HTML to a browser;
// a client that does not accept text/html gets its errors in the standard
// JSON body.
func (s *Server) connectPage(c *rctx) error {
	p := connectpage.Page{Identities: s.Identities, WriteError: s.writeError, Report: s.ReportError}
	if c.r.Method == http.MethodPost {
		form, err := url.ParseQuery(string(c.body))
		if err != nil {
			form = url.Values{}
		}
		p.Post(c.w, c.r, c.path("token"), form)
		return nil
	}
	p.Get(c.w, c.r, c.path("token"))
	return nil
}
