package identity

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// recordEngagement raises the current credit period's peak of engagement
// identities to the workspace's count now, inside the transaction that is
// about to change it: after a creation (the new count) and before a
// deletion (the count the deletion ends).
func (s *Service) recordEngagement(ctx context.Context, tx *store.Tx, workspaceID int64) error {
	// Serialise with concurrent creations and deletions of the workspace.
	if err := s.DB.LockWorkspace(ctx, tx, workspaceID); err != nil {
		return err
	}
	ws, err := store.GetWorkspace(ctx, tx, workspaceID)
	if err != nil {
		return err
	}
	n, err := store.CountEngagementIdentities(ctx, tx, workspaceID)
	if err != nil {
		return err
	}
	start, _ := credits.Period(ws.PeriodStart, time.Now())
	return store.RaiseEngagementPeak(ctx, tx, workspaceID, store.Millis(start), n)
}

// EngagementPeak is the most engagement identities the workspace had at
// once in the credit period starting at periodStart (the current one).
func (s *Service) EngagementPeak(ctx context.Context, workspaceID int64, periodStart time.Time) (int, error) {
	return s.DB.EngagementPeak(ctx, workspaceID, store.Millis(periodStart))
}

func isEngagement(id model.Identity) bool { return id.Type == model.IdentityEngagement }
