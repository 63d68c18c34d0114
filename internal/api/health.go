package api

import (
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

func (s *Server) healthz(c *rctx) error { return c.ok(obj{"status": "ok"}) }

func (s *Server) readyz(c *rctx) error {
	if err := s.ready(c.ctx()); err != nil {
		return apperr.Config(503, "NOT_READY", "the database is not reachable").With("reason", "database")
	}
	return c.ok(obj{"status": "ready"})
}

func (s *Server) metricsHandler(c *rctx) error {
	promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.w, c.r)
	return nil
}
