package app

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// healthConfig is the integration health-check settings.
func healthConfig(h config.Health) jobs.HealthConfig {
	return jobs.HealthConfig{Off: h.Off, Interval: h.Interval, Tick: h.Tick, Budget: h.Budget, Workers: h.Workers}
}

// Labels of runs blocked for want of a connected account.
var reconnectLabels = []string{"NOT_CONNECTED", "NO_VALID_ACCOUNT_CONFIGURED"}

// onIntegrationStatus runs after a committed integration transition. An
// account that stops serving (expired, failed, pending or deleted after
// being VALID) blocks the waiting runs left with no valid account; an
// account that becomes (or is reconnected) VALID resumes the workspace's
// runs blocked for want of one, when auto_resume_on_reconnect is on. It
// lives here, not in the identity package, because runs depend on
// identities and not the other way round.
func (a *App) onIntegrationStatus(ctx context.Context, g model.Integration, previous string) {
	switch {
	case g.Status == model.StatusValid:
		w, err := a.Workspaces.Get(ctx, g.WorkspaceID)
		if err != nil {
			a.Log.Warn("auto-resume: read workspace", "workspace_id", g.WorkspaceID, "error", err)
			return
		}
		if !w.AutoResume {
			return
		}
		if n, err := a.Runs.ResumeBlockedBy(ctx, g.WorkspaceID, reconnectLabels...); err != nil {
			a.Log.Warn("auto-resume after reconnect", "workspace_id", g.WorkspaceID, "integration_uid", g.UID, "error", err)
		} else if n > 0 {
			a.Log.Info("runs resumed after reconnect", "workspace_id", g.WorkspaceID, "integration_uid", g.UID, "runs", n)
		}
	case previous == model.StatusValid:
		if n, err := a.Runs.BlockStranded(ctx, g.WorkspaceID, g.IdentityUID); err != nil {
			a.Log.Warn("block runs of a lost account", "workspace_id", g.WorkspaceID, "integration_uid", g.UID, "error", err)
		} else if n > 0 {
			a.Log.Info("runs blocked: their account is no longer valid", "workspace_id", g.WorkspaceID,
				"integration_uid", g.UID, "status", g.Status, "runs", n)
		}
	}
}
