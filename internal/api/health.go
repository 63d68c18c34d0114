package api

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// errDraining: the node is shutting down (Server.Drain).
var errDraining = errors.New("api: the node is shutting down")

func (s *Server) healthz(c *rctx) error { return c.ok(obj{"status": "ok"}) }

func (s *Server) readyz(c *rctx) error {
	if err := s.ready(c.ctx()); err != nil {
		e := apperr.Config(503, "NOT_READY", "the database is not reachable").With("reason", "database")
		if errors.Is(err, errDraining) {
			e = apperr.Config(503, "NOT_READY", "the node is shutting down").With("reason", "shutting_down")
		} else if errors.Is(err, store.ErrNotWritable) {
			e = apperr.Config(503, "NOT_READY", "the database does not take writes (a full disk?)").With("reason", "storage")
		}
		e.Cause = err
		return e.With("retry_after", "5")
	}
	return c.ok(obj{"status": "ready"})
}

func (s *Server) metricsHandler(c *rctx) error {
	promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.w, c.r)
	return nil
}
