package app

import (
	"context"
	"log/slog"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

// healthConfig is the integration health-check settings.
func healthConfig(h config.Health) jobs.HealthConfig {
	return jobs.HealthConfig{Off: h.Off, Interval: h.Interval, Tick: h.Tick, Budget: h.Budget, Workers: h.Workers}
}

// Labels of runs blocked for want of a connected account.
var reconnectLabels = []string{"NOT_CONNECTED", "NO_VALID_ACCOUNT_CONFIGURED"}

// integrationRuns is the runs' reaction to integration transitions (an
// identity.StatusListener): an account that stops serving (expired, failed,
// pending or deleted after being VALID) blocks the waiting runs left with no
// valid account; an account that becomes (or is reconnected) VALID resumes
// the workspace's runs blocked for want of one, when
// auto_resume_on_reconnect is on. It lives here, not in the identity
// package, because runs depend on identities and not the other way round.
//
// It closes the one cycle among the services (identities → runs → engine →
// identities): it is built before the identity service, which is built with
// it, and is given the runs service by useRuns once that exists, before any
// request or job runs. Until then it does nothing.
type integrationRuns struct {
	workspaces *workspace.Service
	log        *slog.Logger
	runs       strandedRuns
}

// strandedRuns is what integrationRuns asks of the runs service.
type strandedRuns interface {
	ResumeBlockedBy(ctx context.Context, workspaceID int64, labels ...string) (int, error)
	BlockStranded(ctx context.Context, workspaceID int64, identityUID string) (int, error)
}

func newIntegrationRuns(workspaces *workspace.Service, log *slog.Logger) *integrationRuns {
	return &integrationRuns{workspaces: workspaces, log: log}
}

// useRuns gives the listener the runs service (see integrationRuns).
func (l *integrationRuns) useRuns(r strandedRuns) { l.runs = r }

// IntegrationStatus runs after a committed integration transition.
func (l *integrationRuns) IntegrationStatus(ctx context.Context, g model.Integration, previous string) {
	if l.runs == nil {
		return
	}
	switch {
	case g.Status == model.StatusValid:
		w, err := l.workspaces.Get(ctx, g.WorkspaceID)
		if err != nil {
			l.log.Warn("auto-resume: read workspace", "workspace_id", g.WorkspaceID, "error", err)
			return
		}
		if !w.AutoResume {
			return
		}
		if n, err := l.runs.ResumeBlockedBy(ctx, g.WorkspaceID, reconnectLabels...); err != nil {
			l.log.Warn("auto-resume after reconnect", "workspace_id", g.WorkspaceID, "integration_uid", g.UID, "error", err)
		} else if n > 0 {
			l.log.Info("runs resumed after reconnect", "workspace_id", g.WorkspaceID, "integration_uid", g.UID, "runs", n)
		}
	case previous == model.StatusValid:
		if n, err := l.runs.BlockStranded(ctx, g.WorkspaceID, g.IdentityUID); err != nil {
			l.log.Warn("block runs of a lost account", "workspace_id", g.WorkspaceID, "integration_uid", g.UID, "error", err)
		} else if n > 0 {
			l.log.Info("runs blocked: their account is no longer valid", "workspace_id", g.WorkspaceID,
				"integration_uid", g.UID, "status", g.Status, "runs", n)
		}
	}
}
