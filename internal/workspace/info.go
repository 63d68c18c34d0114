package workspace

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// Info is what GET /workspaces reports.
type Info struct {
	Workspace          model.Workspace
	PeriodStart        time.Time
	PeriodEnd          time.Time
	CreditsMax         float64
	CreditsUsed        float64
	CreditsLeft        float64
	IdentitiesIncluded int
	IdentitiesUsed     int
}

// Info is what GET /workspaces reports at now: the workspace, its credit
// period and balance (the ledger's one balance reader), and its identities.
func (s *Service) Info(ctx context.Context, workspaceID int64, now time.Time) (Info, error) {
	b, err := s.Ledger.Balance(ctx, workspaceID, credits.Reading{At: now})
	if err != nil {
		return Info{}, err
	}
	plan := s.Plan(b.Workspace.Plan)
	n, err := s.DB.CountIdentities(ctx, workspaceID)
	if err != nil {
		return Info{}, err
	}
	max, used := credits.Credits(b.Max), credits.Credits(b.Used)
	return Info{Workspace: b.Workspace, PeriodStart: b.PeriodStart, PeriodEnd: b.PeriodEnd, CreditsMax: max, CreditsUsed: used,
		CreditsLeft: maxf(0, max-used), IdentitiesIncluded: plan.Identities, IdentitiesUsed: n}, nil
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
