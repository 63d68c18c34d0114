package engine

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// errNoLogin means the platform's driver cannot log in with a password.
var errNoLogin = apperr.Upstream(platform.LabelIntegration, "this platform cannot be connected with a username and a password; use cookies")

func (e *Engine) authenticator(integration string) (platform.Authenticator, error) {
	fam := integration
	switch integration {
	case "linkedin", "salesnavigator", "recruiterlite":
		fam = "linkedin"
	}
	d, ok := e.Drivers[fam]
	if !ok {
		return nil, identity.ErrUnverifiable // no driver at all: the credentials stay PENDING
	}
	a, ok := d.(platform.Authenticator)
	if !ok {
		return nil, errNoLogin
	}
	return a, nil
}

// Login logs the identity in with a username and a password, through its
// own HTTP client (identity.LoginDriver).
func (e *Engine) Login(ctx context.Context, id model.Identity, integration, username, password string) (platform.LoginResult, error) {
	a, err := e.authenticator(integration)
	if err != nil {
		return platform.LoginResult{}, err
	}
	hc, err := e.Client(ctx, &id)
	if err != nil {
		return platform.LoginResult{}, err
	}
	return a.Login(ctx, hc, username, password)
}

// Checkpoint answers (or, with an empty code, polls) a login checkpoint.
func (e *Engine) Checkpoint(ctx context.Context, id model.Identity, integration, state, code string) (platform.LoginResult, error) {
	a, err := e.authenticator(integration)
	if err != nil {
		return platform.LoginResult{}, err
	}
	hc, err := e.Client(ctx, &id)
	if err != nil {
		return platform.LoginResult{}, err
	}
	return a.Checkpoint(ctx, hc, state, code)
}
