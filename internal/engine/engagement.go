package engine

import (
	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Engagement identities are seats billed by their peak count per period
// (store.RaiseEngagementPeak); the outreach they run is covered by the seat
// and costs no credits. Extraction and search by them cost the usual price.

// Price is the price of one result run by acc, in millicredits: PerResult,
// except outreach run by an engagement identity, which is free. acc is nil
// for actions that need no identity.
func Price(a *catalog.Action, mode string, acc *store.Account) int64 {
	if acc != nil && a.Kind == catalog.KindOutreach && acc.Identity.Type == model.IdentityEngagement {
		return 0
	}
	return PerResult(a, mode)
}

// maxPrice is the most one result may cost with any of the candidates.
func maxPrice(a *catalog.Action, mode string, cands []store.Account) int64 {
	if len(cands) == 0 {
		return PerResult(a, mode)
	}
	var p int64
	for i := range cands {
		p = max(p, Price(a, mode, &cands[i]))
	}
	return p
}

// needCredits refuses a live call when the balance left cannot pay one
// result.
func needCredits(left, per int64) error {
	if per > 0 && left < per {
		return apperr.NoAccess("no credits left in this period")
	}
	return nil
}
