package engine

import (
	"context"
	"maps"

	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Verify checks new credentials with the platform (a "me" call) through the
// identity's own egress. A platform no driver serves on this server is
// refused at once (424 PLATFORM_UNAVAILABLE, naming the setting): the
// integration becomes INVALID, never silently PENDING.
func (c *Connector) Verify(ctx context.Context, id model.Identity, integration string, cr identity.Credentials) (identity.Verified, error) {
	if c.Plane == nil {
		return identity.Verified{}, identity.ErrUnverifiable // a one-shot command without platforms
	}
	drv, err := c.Plane.Integration(integration)
	if err != nil {
		return identity.Verified{}, err
	}
	ctx, hc, err := c.egress(ctx, &id)
	if err != nil {
		return identity.Verified{}, err
	}
	ctx, session := withSession(ctx)
	cred := platform.Credentials{AuthType: cr.AuthType, Cookies: cr.Cookies, Username: cr.Username, Password: cr.Password,
		Token: cr.Token, UserAgent: c.userAgent(ctx, id.ID, cr.AuthType, "", cr.UserAgent)}
	acc, err := drv.Me(ctx, hc, cred)
	if err != nil {
		return identity.Verified{}, err
	}
	v := identity.Verified{Level: acc.Level, Name: acc.Name, Permalink: acc.Permalink, ExternalID: acc.ExternalID}
	if fresh := session.get(); fresh != nil && !maps.Equal(fresh, cr.Cookies) {
		v.Cookies = fresh // the session as the platform left it: stored in place of the one given
	}
	return v, nil
}
