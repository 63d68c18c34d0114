package api

import (
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
)

func action(c *rctx) (*catalog.Action, error) {
	a, ok := catalog.Get(c.path("slug"))
	if !ok {
		return nil, apperr.NotFound("unknown action %q", c.path("slug"))
	}
	return a, nil
}

func (s *Server) listActions(c *rctx) error {
	all := catalog.All()
	out := make([]map[string]any, 0, len(all))
	for _, a := range all {
		out = append(out, s.describeAction(a))
	}
	return c.ok(out)
}

func (s *Server) getAction(c *rctx) error {
	a, err := action(c)
	if err != nil {
		return err
	}
	return c.ok(s.describeAction(a))
}

// describeAction is the catalogue entry with what serves the action on this
// server (extension): available, unavailable_reason when it is not, the
// driver, and the driver's documented limitations.
func (s *Server) describeAction(a *catalog.Action) map[string]any {
	d := a.Describe()
	if s.Engine == nil || s.Engine.Plane == nil {
		return d
	}
	av := s.Engine.Plane.Describe(a)
	d["available"] = av.Available
	if !av.Available {
		d["unavailable_reason"] = av.Reason
	}
	d["driver"] = av.Driver
	if av.Limitations != "" {
		d["limitations"] = av.Limitations
	}
	return d
}

// executorProtocol serves the remote executor protocol's OpenAPI document.
func (s *Server) executorProtocol(c *rctx) error { return c.ok(json.RawMessage(executor.OpenAPI())) }

func (s *Server) runLive(c *rctx) error {
	a, err := action(c)
	if err != nil {
		return err
	}
	req, err := a.DecodeLive(c.body)
	if err != nil {
		return err
	}
	page, err := c.queryInt("page", 0, 1, 1_000_000)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	cur := q.Get("cursor")
	if cur == "" {
		cur = q.Get("token")
	}
	if cur != "" && page != 0 {
		return apperr.BadParameters("querystring must have either page or cursor, not both")
	}
	dry, err := c.queryBool("dry_run")
	if err != nil {
		return err
	}
	if dry {
		// Extension: validate, pick the identity and check Smart Limits and
		// credits; nothing is recorded and the platform is not called.
		d, err := s.Engine.DryRunLive(c.ctx(), engine.Live{Principal: c.P(), Action: a, Request: req, Page: page, Cursor: cur})
		if err != nil {
			return err
		}
		return c.ok(dryRunView(d))
	}
	res, err := s.Engine.RunLive(c.ctx(), engine.Live{Principal: c.P(), Action: a, Request: req, Page: page, Cursor: cur})
	if res.RunUID != "" {
		c.w.Header().Set("X-Run-Uid", res.RunUID)
	}
	if err != nil {
		return err
	}
	base := s.PublicURL() + c.r.URL.Path
	if res.CreditsExhausted {
		// The page was cut short by the balance: the next link goes on from
		// the first result not paid for, once credits return.
		c.w.Header().Set("X-Credits-Exhausted", "true")
	}
	if res.NextCursor != "" {
		c.w.Header().Set("X-Pagination-Next", base+"?cursor="+url.QueryEscape(res.NextCursor))
	} else if res.NextPage > 0 {
		c.w.Header().Set("X-Pagination-Next", base+"?page="+strconv.Itoa(res.NextPage))
	}
	if res.PrevPage > 0 {
		c.w.Header().Set("X-Pagination-Previous", base+"?page="+strconv.Itoa(res.PrevPage))
	}
	return c.ok(res.Body)
}

func (s *Server) identityLimits(c *rctx) error {
	a, err := action(c)
	if err != nil {
		return err
	}
	st, err := s.Engine.LimitStatus(c.ctx(), c.P(), c.path("uid"), a)
	if err != nil {
		return err
	}
	if st == nil {
		st = []smartlimits.Status{}
	}
	return c.ok(st)
}

func (s *Server) getIdentityLimits(c *rctx) error {
	raw, err := s.Engine.IdentityOverrides(c.ctx(), c.P(), c.path("uid"))
	if err != nil {
		return err
	}
	if raw == "" {
		raw = "{}"
	}
	return c.json(200, json.RawMessage(raw))
}

func (s *Server) putIdentityLimits(c *rctx) error {
	if err := c.decode(&map[string]any{}); err != nil {
		return err
	}
	if err := s.Engine.SetIdentityOverrides(c.ctx(), c.P(), c.path("uid"), string(c.body)); err != nil {
		return err
	}
	return c.json(200, json.RawMessage(c.body))
}

func (s *Server) consumption(c *rctx) error {
	info, err := s.Workspaces.Info(c.ctx(), c.P().WorkspaceID, s.Now())
	if err != nil {
		return err
	}
	rows, err := s.Ledger.ByAction(c.ctx(), c.P().WorkspaceID, info.PeriodStart)
	if err != nil {
		return err
	}
	peak, err := s.Identities.EngagementPeak(c.ctx(), c.P().WorkspaceID, info.PeriodStart)
	if err != nil {
		return err
	}
	return c.ok(obj{
		"credits_left": info.CreditsLeft, "credits_max": info.CreditsMax, "credits_used": info.CreditsUsed,
		"current_month_start": info.PeriodStart.Format(time.RFC3339), "current_month_end": info.PeriodEnd.Format(time.RFC3339),
		"consumptions": rows,
		// Extension: engagement identities are billed by this peak.
		"engagement_identities_peak": peak,
	})
}
