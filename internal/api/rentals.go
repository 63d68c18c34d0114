package api

import (
	"time"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// Renting a managed pool account (extension, issue 5 §6): owners only, as it
// is billing.

var (
	rentBody = object(obj{"platform": enum("linkedin", "salesnavigator", "recruiterlite"),
		"days": integer(1, 365)}, "days")
	rentalDoc = object(obj{"uid": str(), "identity_uid": str(), "platform": str(), "starts_at": dateTime(),
		"ends_at": dateTime(), "ended_at": nullable(dateTime()), "integration": integrationDoc})
)

type rentalView struct {
	UID         string           `json:"uid"`
	IdentityUID string           `json:"identity_uid"`
	Platform    string           `json:"platform"`
	StartsAt    string           `json:"starts_at"`
	EndsAt      string           `json:"ends_at"`
	EndedAt     *string          `json:"ended_at"`
	Integration *integrationView `json:"integration,omitempty"`
}

func viewRental(r store.Rental) rentalView {
	v := rentalView{UID: r.UID, IdentityUID: r.IdentityUID, Platform: r.Platform,
		StartsAt: store.Time(r.StartsAt).UTC().Format(time.RFC3339), EndsAt: store.Time(r.EndsAt).UTC().Format(time.RFC3339)}
	if r.EndedAt != nil {
		s := store.Time(*r.EndedAt).UTC().Format(time.RFC3339)
		v.EndedAt = &s
	}
	return v
}

func (s *Server) rentPoolAccount(c *rctx) error {
	var in struct {
		Platform string `json:"platform"`
		Days     int    `json:"days"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.Platform == "" {
		in.Platform = "linkedin"
	}
	r, g, err := s.Identities.Rent(c.ctx(), c.P().WorkspaceID, c.path("uid"), in.Platform, in.Days, s.Now())
	if err != nil {
		return err
	}
	v := viewRental(r)
	gv := viewIntegration(g)
	v.Integration = &gv
	return c.ok(v)
}

func (s *Server) endRental(c *rctx) error {
	platform := c.r.URL.Query().Get("platform")
	if platform == "" {
		platform = "linkedin"
	}
	r, err := s.Identities.EndRentalOf(c.ctx(), c.P().WorkspaceID, c.path("uid"), platform, s.Now())
	if err != nil {
		return err
	}
	return c.ok(viewRental(r))
}
