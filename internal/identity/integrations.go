package identity

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Platforms an identity can connect, and the LinkedIn level each implies.
var integrationLevels = map[string]string{
	"linkedin":       "",
	"salesnavigator": "Sales Navigator",
	"recruiterlite":  "Recruiter Lite",
	"hubspot":        "",
}

// KnownIntegration reports whether name is a connectable integration.
func KnownIntegration(name string) bool {
	_, ok := integrationLevels[name]
	return ok
}

// Credentials are what gets sealed. They never leave this package and the
// executing worker in clear.
type Credentials struct {
	AuthType string            `json:"auth_type"`
	Cookies  map[string]string `json:"cookies,omitempty"`
	Username string            `json:"username,omitempty"`
	Password string            `json:"password,omitempty"`
	Token    string            `json:"token,omitempty"`
	// UserAgent is the browser user agent the user connected with
	// (auth_data.user_agent); "" when none was given, and the identity's
	// kept one is used instead.
	UserAgent string `json:"user_agent,omitempty"`
}

// Connect is the body of POST /identities/{uid}/integrations/{integration}.
type Connect struct {
	Cookies     map[string]string
	Username    string
	Password    string
	Token       string
	AccountName string
	// UserAgent is the user's own browser user agent (auth_data.user_agent):
	// a session used with another browser than its own dies sooner.
	UserAgent   string
	SetupSource string // API unless a hosted page or extension connects
	// ViaLink is the token hash of the login link the hosted page was
	// opened with: once the account is connected that link is used up,
	// while the identity's other links are revoked ("" outside the page).
	ViaLink string
}

func (c Connect) credentials(platformName string) (Credentials, error) {
	set := 0
	if c.Cookies != nil {
		set++
	}
	if c.Username != "" || c.Password != "" {
		set++
	}
	if c.Token != "" {
		set++
	}
	if set != 1 {
		return Credentials{}, apperr.BadInput("body/auth_data must hold exactly one of cookies, basic or token")
	}
	if c.UserAgent != "" && !platform.ValidUserAgent(c.UserAgent) {
		return Credentials{}, apperr.BadInput("body/auth_data/user_agent must be printable ASCII of at most %d characters (the browser's navigator.userAgent)",
			platform.MaxUserAgentLen)
	}
	cred, err := c.secrets(platformName)
	cred.UserAgent = c.UserAgent
	return cred, err
}

func (c Connect) secrets(platform string) (Credentials, error) {
	switch {
	case c.Cookies != nil:
		if platform == "hubspot" {
			return Credentials{}, apperr.BadInput("body/auth_data: hubspot connects with a token")
		}
		if strings.TrimSpace(c.Cookies["li_at"]) == "" {
			return Credentials{}, apperr.BadInput("body/auth_data/cookies must have required property 'li_at'")
		}
		return Credentials{AuthType: "COOKIES", Cookies: c.Cookies}, nil
	case c.Token != "":
		return Credentials{AuthType: "APIKEY", Token: c.Token}, nil
	default:
		if platform == "hubspot" {
			return Credentials{}, apperr.BadInput("body/auth_data: hubspot connects with a token")
		}
		if c.Username == "" || c.Password == "" {
			return Credentials{}, apperr.BadInput("body/auth_data/basic must have required properties 'username' and 'password'")
		}
		return Credentials{AuthType: "BASIC", Username: c.Username, Password: c.Password}, nil
	}
}

// ConnectIntegration upserts the identity's one integration for a platform.
// The platform is asked first, for at most ConnectTimeout; the new
// credentials and its verdict (VALID, INVALID, or PENDING when it could not
// be asked, verified again in the background: see reverify.go) are then
// stored in one transaction with the webhook event of the attempt.
func (s *Service) ConnectIntegration(ctx context.Context, workspaceID int64, identityUID, platform string, c Connect) (model.Integration, error) {
	if !KnownIntegration(platform) {
		return model.Integration{}, apperr.NotFound("unknown integration %q", platform)
	}
	cred, err := c.credentials(platform)
	if err != nil {
		return model.Integration{}, err
	}
	if s.usesLogin(platform, cred) {
		return s.loginIntegration(ctx, workspaceID, identityUID, platform, c)
	}
	plain, err := json.Marshal(cred)
	if err != nil {
		return model.Integration{}, err
	}
	source := c.SetupSource
	if source == "" {
		source = "API"
	}
	id, err := s.get(ctx, workspaceID, identityUID)
	if err != nil {
		return model.Integration{}, err
	}
	v := s.verifyBounded(ctx, id, platform, c.AccountName, cred)
	if len(v.Cookies) > 0 {
		// The platform refreshed the session while verifying it (handed out
		// a JSESSIONID to an li_at alone, for instance): keep the fresh one.
		cred.Cookies = v.Cookies
		if plain, err = json.Marshal(cred); err != nil {
			return model.Integration{}, err
		}
	}
	var ch Change
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = s.lookup(ctx, tx, workspaceID, identityUID)
		if err != nil {
			return err
		}
		// Serialise connects of one identity: two concurrent first connects
		// would seal with different uids (the AAD), and the second upsert
		// would store its ciphertext on the first one's row.
		if err := s.DB.LockIdentity(ctx, tx, id.ID); err != nil {
			return err
		}
		ch, err = s.transition(ctx, tx, id.ID, platform, CauseAuth, func(cur *model.Integration) error {
			uid := uuid.NewString()
			if cur != nil {
				uid = cur.UID
			}
			// The integration uid is the additional data: a ciphertext copied
			// onto another row does not decrypt.
			kid, sealed := s.Keys.Seal(plain, []byte(uid))
			g := model.Integration{UID: uid, WorkspaceID: workspaceID, IdentityID: id.ID, Platform: platform,
				Name: v.Name, Permalink: v.Permalink, AuthType: cred.AuthType, SetupSource: source, Level: v.Level,
				Status: v.Status, Error: v.Error, Meta: v.Meta, SecretKID: kid, Secret: sealed}
			if v.Status == model.StatusValid {
				now := time.Now()
				g.FirstConnectedAt = &now // the start of the Smart Limit ramp-up, if not set yet
			}
			_, err := store.UpsertIntegration(ctx, tx, g)
			return err
		})
		if err != nil {
			return err
		}
		if err := s.enqueueReverify(ctx, tx, v, ch.After); err != nil {
			return err
		}
		return s.linksOnConnect(ctx, tx, id.ID, platform, ch, c.ViaLink)
	})
	if err != nil {
		return model.Integration{}, err
	}
	s.notify(ctx, ch)
	return *ch.After, nil
}

func (s *Service) Integration(ctx context.Context, workspaceID int64, identityUID, platform string) (model.Integration, error) {
	if !KnownIntegration(platform) {
		return model.Integration{}, apperr.NotFound("unknown integration %q", platform)
	}
	id, err := s.get(ctx, workspaceID, identityUID)
	if err != nil {
		return model.Integration{}, err
	}
	g, err := s.DB.GetIntegration(ctx, workspaceID, id.ID, platform)
	if errors.Is(err, store.ErrNotFound) {
		return g, apperr.NotFound("identity %s has no %s integration", identityUID, platform)
	}
	return g, err
}

// DeleteIntegration removes the integration and erases its sealed secret;
// it sends DELETED.
func (s *Service) DeleteIntegration(ctx context.Context, workspaceID int64, identityUID, platform string) (model.Integration, error) {
	var g model.Integration
	var ch Change
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		if !KnownIntegration(platform) {
			return apperr.NotFound("unknown integration %q", platform)
		}
		id, err := s.lookup(ctx, tx, workspaceID, identityUID)
		if err != nil {
			return err
		}
		ch, err = s.transition(ctx, tx, id.ID, platform, CauseDelete, func(cur *model.Integration) error {
			if cur == nil || cur.WorkspaceID != workspaceID {
				return apperr.NotFound("identity %s has no %s integration", identityUID, platform)
			}
			g = *cur
			return store.DeleteIntegration(ctx, tx, cur.ID)
		})
		return err
	})
	if err != nil {
		return g, err
	}
	s.notify(ctx, ch)
	return g, nil
}

// OpenCredentials decrypts an integration's credentials for the worker that
// executes an action. Nothing else calls it.
func (s *Service) OpenCredentials(g model.Integration) (Credentials, error) {
	plain, err := s.Keys.Open(g.SecretKID, g.Secret, []byte(g.UID))
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	err = json.Unmarshal(plain, &c)
	return c, err
}
