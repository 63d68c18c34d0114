package engine

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// authenticator is what logs in to the integration's platform: a refusal
// when no driver serves it (424 PLATFORM_UNAVAILABLE) or when its driver
// takes cookies only (dataplane.ErrNoLogin).
func (c *Connector) authenticator(integration string) (platform.Authenticator, error) {
	if c.Plane == nil {
		return nil, identity.ErrUnverifiable // a one-shot command without platforms
	}
	return c.Plane.Authenticator(integration)
}

// Login logs the identity in with a username and a password, through its
// own egress (identity.LoginDriver).
func (c *Connector) Login(ctx context.Context, id model.Identity, integration, username, password string) (platform.LoginResult, error) {
	a, err := c.authenticator(integration)
	if err != nil {
		return platform.LoginResult{}, err
	}
	ctx, hc, err := c.egress(ctx, &id)
	if err != nil {
		return platform.LoginResult{}, err
	}
	return a.Login(ctx, hc, username, password)
}

// Checkpoint answers (or, with an empty code, polls) a login checkpoint.
func (c *Connector) Checkpoint(ctx context.Context, id model.Identity, integration, state, code string) (platform.LoginResult, error) {
	a, err := c.authenticator(integration)
	if err != nil {
		return platform.LoginResult{}, err
	}
	ctx, hc, err := c.egress(ctx, &id)
	if err != nil {
		return platform.LoginResult{}, err
	}
	return a.Checkpoint(ctx, hc, state, code)
}
