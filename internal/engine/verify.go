package engine

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Verify checks new credentials with the platform (a "me" call) through the
// identity's own HTTP client.
func (e *Engine) Verify(ctx context.Context, id model.Identity, integration string, c identity.Credentials) (identity.Verified, error) {
	fam := integration
	switch integration {
	case "linkedin", "salesnavigator", "recruiterlite":
		fam = "linkedin"
	}
	drv, ok := e.Drivers[fam]
	if !ok {
		return identity.Verified{}, identity.ErrUnverifiable
	}
	hc, err := e.Client(ctx, &id)
	if err != nil {
		return identity.Verified{}, err
	}
	acc, err := drv.Me(ctx, hc, platform.Credentials{AuthType: c.AuthType, Cookies: c.Cookies, Username: c.Username,
		Password: c.Password, Token: c.Token})
	if err != nil {
		return identity.Verified{}, err
	}
	return identity.Verified{Level: acc.Level, Name: acc.Name, Permalink: acc.Permalink, ExternalID: acc.ExternalID}, nil
}
