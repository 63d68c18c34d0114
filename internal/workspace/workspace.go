// Package workspace is the tenancy domain: workspaces and their plans,
// members and roles, invitations and API keys (and authenticating them),
// console sessions, settings (the integration webhook's URL, the signing
// secret of callbacks and webhooks), and the operator's key recovery
// commands. It knows nothing about HTTP.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// InvitationTTL is how long an invitation token can be accepted.
const InvitationTTL = 7 * 24 * time.Hour

type Service struct {
	DB    *store.Store
	Keys  *secret.Keyring
	Plans map[string]config.Plan
	// NewSigningSecret makes a callback signing secret (whsec_...).
	NewSigningSecret func() string
	// Ledger reads the credit balance GET /workspaces reports (Info).
	Ledger *credits.Ledger
	// WebhookPolicy is the operator's SSRF policy (the callbacks' one),
	// applied to the integration webhook URL; nil checks its syntax only.
	WebhookPolicy *send.Policy

	// activity caches the overview's past days (sessions.go).
	activity activityCache
}

// Created is the result of creating a workspace: its owner and the owner's
// first API key, shown once.
type Created struct {
	Workspace model.Workspace
	Owner     model.Member
	APIKey    string
}

// Create makes a workspace with one owner and one API key. When fixedKey is
// not empty it becomes that key (for automation: FIRSTMATE_BOOTSTRAP_API_KEY).
func (s *Service) Create(ctx context.Context, name, plan, ownerEmail, fixedKey string) (Created, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Created{}, apperr.BadInput("workspace name must not be empty")
	}
	if _, ok := s.Plans[plan]; !ok {
		return Created{}, apperr.BadInput("unknown plan %q (known: %s)", plan, strings.Join(config.PlanNames(s.Plans), ", "))
	}
	email, err := normalizeEmail(ownerEmail)
	if err != nil {
		return Created{}, err
	}
	key, display, hash := auth.NewAPIKey()
	if fixedKey != "" {
		if !auth.LooksLikeKey(fixedKey) {
			return Created{}, apperr.BadInput("a fixed API key must start with %q and hold at least 16 more characters", auth.KeyPrefix)
		}
		key, display, hash = fixedKey, fixedKey[:len(auth.KeyPrefix)+8], auth.HashToken(fixedKey)
	}
	var out Created
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		kid, sealed := s.Keys.Seal([]byte(s.NewSigningSecret()), nil)
		wid, err := store.InsertWorkspace(ctx, tx, store.NewWorkspace{UID: uuid.NewString(), Name: name, Plan: plan,
			SecretKID: kid, Secret: sealed})
		if err != nil {
			return err
		}
		owner, err := store.InsertMember(ctx, tx, model.Member{UID: uuid.NewString(), WorkspaceID: wid, Email: email,
			Role: model.RoleOwner}, "")
		if err != nil {
			return err
		}
		if _, err := store.InsertAPIKey(ctx, tx, model.APIKey{UID: uuid.NewString(), WorkspaceID: wid, MemberID: owner.ID,
			Name: "bootstrap", Prefix: display}, hash); err != nil {
			if store.IsUniqueViolation(err) {
				return apperr.Conflict("that API key is already in use")
			}
			return err
		}
		out.Workspace, err = store.GetWorkspace(ctx, tx, wid)
		out.Owner = owner
		return err
	})
	out.APIKey = key
	return out, err
}

// EnsureDemo creates the demo workspace when the database holds none. It
// reports whether it created one.
func (s *Service) EnsureDemo(ctx context.Context, fixedKey string) (Created, bool, error) {
	n, err := s.DB.CountWorkspaces(ctx)
	if err != nil || n > 0 {
		return Created{}, false, err
	}
	c, err := s.Create(ctx, "Demo workspace", "developer", "owner@firstmate.local", fixedKey)
	return c, err == nil, err
}

// Authenticate resolves an API key.
func (s *Service) Authenticate(ctx context.Context, key string) (model.Principal, error) {
	if key == "" {
		return model.Principal{}, apperr.Unauthorized("missing API key: send it in the X-API-Key header")
	}
	if !auth.LooksLikeKey(key) {
		return model.Principal{}, apperr.Unauthorized("invalid API key")
	}
	p, err := s.DB.CachedPrincipal(ctx, auth.HashToken(key))
	if errors.Is(err, store.ErrNotFound) {
		return p, apperr.Unauthorized("invalid or revoked API key")
	}
	return p, err
}

// Plan returns a workspace's plan; an unknown plan name (a plan removed from
// configuration) falls back to trial so that nothing becomes unlimited by accident.
func (s *Service) Plan(name string) config.Plan { return PlanIn(s.Plans)(name) }

// PlanIn looks plans up by name in plans, the trial plan for a name it does
// not hold: the lookup every service that prices or bounds by plan takes.
func PlanIn(plans map[string]config.Plan) func(name string) config.Plan {
	return func(name string) config.Plan {
		if p, ok := plans[name]; ok {
			return p
		}
		return plans["trial"]
	}
}

func (s *Service) Get(ctx context.Context, workspaceID int64) (model.Workspace, error) {
	return s.DB.GetWorkspace(ctx, workspaceID)
}

// Settings is what GET/PUT /workspaces/settings exchange.
type Settings struct {
	WebhookURL        string
	LogoURL           string
	SigningSecret     string
	EngagementEnabled bool
	AutoResume        bool
	LimitOverrides    string
}

func (s *Service) Settings(ctx context.Context, workspaceID int64) (Settings, error) {
	w, err := s.DB.GetWorkspace(ctx, workspaceID)
	if err != nil {
		return Settings{}, err
	}
	secretValue, err := s.SigningSecret(ctx, workspaceID)
	if err != nil {
		return Settings{}, err
	}
	return Settings{WebhookURL: w.WebhookURL, LogoURL: w.LogoURL, SigningSecret: secretValue,
		EngagementEnabled: w.EngagementEnabled, AutoResume: w.AutoResume, LimitOverrides: w.LimitOverrides}, nil
}

// SigningSecret decrypts the workspace's callback signing secret.
func (s *Service) SigningSecret(ctx context.Context, workspaceID int64) (string, error) {
	kid, sealed, err := s.DB.WorkspaceSecret(ctx, workspaceID)
	if err != nil {
		return "", err
	}
	pt, err := s.Keys.Open(kid, sealed, nil)
	if err != nil {
		return "", fmt.Errorf("workspace %d signing secret: %w", workspaceID, err)
	}
	return string(pt), nil
}

// SettingsUpdate carries the fields a PUT sends; nil leaves a field as it is.
type SettingsUpdate struct {
	WebhookURL          *string
	LogoURL             *string
	EngagementEnabled   *bool
	AutoResume          *bool
	LimitOverrides      *string
	RotateSigningSecret bool
}

func (s *Service) UpdateSettings(ctx context.Context, workspaceID int64, u SettingsUpdate) (Settings, error) {
	if u.WebhookURL != nil {
		if err := s.checkWebhookURL(*u.WebhookURL); err != nil {
			return Settings{}, err
		}
	}
	if u.LogoURL != nil {
		if err := checkLogoURL(*u.LogoURL); err != nil {
			return Settings{}, err
		}
	}
	if u.LimitOverrides != nil {
		// The engine cannot use overrides it cannot read: refuse them here
		// rather than let them be ignored silently.
		if _, err := smartlimits.ParseOverrides(*u.LimitOverrides); err != nil {
			return Settings{}, apperr.BadInput("body/smart_limit_overrides: %s", err.Error())
		}
	}
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		w, err := store.GetWorkspace(ctx, tx, workspaceID)
		if err != nil {
			return err
		}
		cur := store.WorkspaceSettings{WebhookURL: w.WebhookURL, LogoURL: w.LogoURL, EngagementEnabled: w.EngagementEnabled,
			AutoResume: w.AutoResume, LimitOverrides: w.LimitOverrides}
		if u.WebhookURL != nil {
			cur.WebhookURL = *u.WebhookURL
		}
		if u.LogoURL != nil {
			cur.LogoURL = *u.LogoURL
		}
		if u.EngagementEnabled != nil {
			cur.EngagementEnabled = *u.EngagementEnabled
		}
		if u.AutoResume != nil {
			cur.AutoResume = *u.AutoResume
		}
		if u.LimitOverrides != nil {
			cur.LimitOverrides = *u.LimitOverrides
		}
		if err := store.UpdateWorkspaceSettings(ctx, tx, workspaceID, cur); err != nil {
			return err
		}
		if u.RotateSigningSecret {
			kid, sealed := s.Keys.Seal([]byte(s.NewSigningSecret()), nil)
			return store.RotateWorkspaceSecret(ctx, tx, workspaceID, kid, sealed)
		}
		return nil
	})
	if err != nil {
		return Settings{}, err
	}
	return s.Settings(ctx, workspaceID)
}

func normalizeEmail(raw string) (string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(raw))
	if err != nil || addr.Name != "" || len(addr.Address) > 254 {
		return "", apperr.BadInput("body/email must be a valid email address")
	}
	return strings.ToLower(addr.Address), nil
}
