package api

import (
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// proxyView is the identity's dedicated egress proxy (extension): its
// country and status, never its address or credentials.
type proxyView struct {
	Country    *string    `json:"country"` // null while unassigned
	Status     string     `json:"status"`  // ASSIGNED | UNASSIGNED
	AssignedAt *time.Time `json:"assigned_at"`
}

// identityProxyDoc documents proxyView: null when no proxy pool is
// configured (the identity's traffic goes out directly).
var identityProxyDoc = nullable(object(obj{"country": nullable(str()), "status": enum("ASSIGNED", "UNASSIGNED"),
	"assigned_at": nullable(dateTime())}))

func viewProxy(p *model.IdentityProxy) *proxyView {
	if p == nil {
		return nil
	}
	v := &proxyView{Status: p.Status, AssignedAt: p.AssignedAt}
	if p.Country != "" {
		v.Country = &p.Country
	}
	return v
}

// refreshProxy moves the identity onto another proxy of the pool, e.g. after
// a PROXY_ERROR; the old proxy is marked unhealthy. 503 PROXY_POOL_EXHAUSTED
// (scope config) when no other proxy is free, 409 without a proxy pool.
func (s *Server) refreshProxy(c *rctx) error {
	id, err := s.Identities.RefreshProxy(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(viewIdentity(id, nil))
}
