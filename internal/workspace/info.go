package workspace

import (
	"context"
	"time"

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

// Period returns the monthly credit period containing now, anchored on the
// workspace's period start (a workspace created on the 31st renews on the
// last day of shorter months).
func Period(anchor, now time.Time) (start, end time.Time) {
	anchor = anchor.UTC()
	months := (now.Year()-anchor.Year())*12 + int(now.Month()-anchor.Month())
	for {
		start = addMonths(anchor, months)
		if start.After(now) {
			months--
			continue
		}
		end = addMonths(anchor, months+1)
		if !end.After(now) {
			months++
			continue
		}
		return start, end
	}
}

func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

func (s *Service) Info(ctx context.Context, workspaceID int64, now time.Time) (Info, error) {
	w, err := s.DB.GetWorkspace(ctx, workspaceID)
	if err != nil {
		return Info{}, err
	}
	plan := s.Plan(w.Plan)
	start, end := Period(w.PeriodStart, now)
	used := 0.0
	if s.CreditsUsed != nil {
		if used, err = s.CreditsUsed(ctx, workspaceID, start); err != nil {
			return Info{}, err
		}
	}
	n, err := s.DB.CountIdentities(ctx, workspaceID)
	if err != nil {
		return Info{}, err
	}
	max := float64(plan.CreditsPerPeriod)
	return Info{Workspace: w, PeriodStart: start, PeriodEnd: end, CreditsMax: max, CreditsUsed: used,
		CreditsLeft: maxf(0, max-used), IdentitiesIncluded: plan.Identities, IdentitiesUsed: n}, nil
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
