package engine

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Verify checks new credentials with the platform (a "me" call) through the
// identity's own egress. A platform no driver serves on this server is
// refused at once (424 PLATFORM_UNAVAILABLE, naming the setting): the
// integration becomes INVALID, never silently PENDING.
func (e *Engine) Verify(ctx context.Context, id model.Identity, integration string, c identity.Credentials) (identity.Verified, error) {
	if e.Plane == nil {
		return identity.Verified{}, identity.ErrUnverifiable // a one-shot command without platforms
	}
	drv, err := e.Plane.Integration(integration)
	if err != nil {
		return identity.Verified{}, err
	}
	ctx, hc, err := e.egress(ctx, &id)
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
