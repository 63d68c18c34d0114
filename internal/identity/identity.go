// Package identity manages identities (the builder's end users), their
// integrations (connected platform accounts, with sealed credentials) and the
// login links that let an end user connect an account themselves. Around
// them: connecting and verifying accounts (login.go, verify.go,
// reverify.go), status transitions and the integration webhooks they cause
// (transition.go), account pauses after a platform's rate limit (pause.go),
// refreshed sessions (session.go), egress proxies (proxy.go), engagement
// identities (engagement.go), and the operator's managed pool and its
// rentals (pool.go, rentals.go).
package identity

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/cron"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// LoginLinkTTL is how long a hosted connect link works.
const LoginLinkTTL = 48 * time.Hour

// DefaultTimezone applies when an identity is created without one.
const DefaultTimezone = "Europe/Paris"

// PageSize is the page length of GET /identities.
const PageSize = 50

type Service struct {
	DB    *store.Store
	Keys  *secret.Keyring
	Plans func(name string) config.Plan
	// PublicURL is the externally reachable base URL, for login links.
	PublicURL func() string
	// Verify checks new credentials with the platform; nil leaves them PENDING.
	Verify Verifier
	// Login logs in with a username and a password (LinkedIn family); nil:
	// basic credentials are stored and verified like cookies.
	Login LoginDriver
	// Status is told of integration transitions (StatusListener); nil:
	// nobody is.
	Status StatusListener
	// Queue enqueues webhook deliveries in the transaction of the change.
	Queue DeliveryQueue
	// HealthInterval spaces health checks of VALID integrations (0:
	// DefaultHealthInterval).
	HealthInterval time.Duration
	// Proxies gives each identity its own egress proxy; nil: none.
	Proxies ProxyAssigner
	// ConnectTimeout bounds how long a connect waits for the platform
	// before answering PENDING and verifying again in the background (0:
	// DefaultConnectTimeout).
	ConnectTimeout time.Duration
}

// StatusListener is told, after commit, of every integration transition
// that causes a webhook event (see transition.go): a status change, or an
// authentication attempt even when the status stays. A deleted integration
// comes with Status StatusDeleted. The app's runs reaction is one (runs
// blocked or resumed as accounts stop or start serving): runs depend on
// identities, so identities are told through this interface instead.
type StatusListener interface {
	IntegrationStatus(ctx context.Context, g model.Integration, previous string)
}

// New is what creating an identity takes.
type New struct {
	Name     string
	Timezone string
	Type     string
}

func validateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) < 3 {
		return "", apperr.BadInput("body/name must NOT have fewer than 3 characters")
	}
	if utf8.RuneCountInString(name) > 200 {
		return "", apperr.BadInput("body/name must NOT have more than 200 characters")
	}
	return name, nil
}

func validateTimezone(tz string) (string, error) {
	if tz == "" {
		return DefaultTimezone, nil
	}
	if !cron.CanonicalZone(tz) {
		return "", apperr.BadInput("body/timezone must be a canonical IANA time zone name (got %q)", tz)
	}
	return tz, nil
}

// Create adds an identity within the plan's licence count and returns it with
// fresh login links.
func (s *Service) Create(ctx context.Context, p model.Principal, in New) (model.Identity, map[string]string, error) {
	name, err := validateName(in.Name)
	if err != nil {
		return model.Identity{}, nil, err
	}
	tz, err := validateTimezone(in.Timezone)
	if err != nil {
		return model.Identity{}, nil, err
	}
	typ := in.Type
	if typ == "" {
		typ = model.IdentityStandard
	}
	if typ != model.IdentityStandard && typ != model.IdentityEngagement {
		return model.Identity{}, nil, apperr.BadInput("body/type must be equal to one of the allowed values: standard, engagement")
	}
	var out model.Identity
	var links map[string]string
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		ws, err := store.GetWorkspace(ctx, tx, p.WorkspaceID)
		if err != nil {
			return err
		}
		if typ == model.IdentityEngagement && !ws.EngagementEnabled {
			return apperr.NoAccess("engagement identities are not enabled for this workspace")
		}
		// Count and insert under a per-workspace lock so that concurrent
		// creations cannot both take the last licence.
		if err := s.DB.LockWorkspace(ctx, tx, p.WorkspaceID); err != nil {
			return err
		}
		n, err := store.CountIdentities(ctx, tx, p.WorkspaceID)
		if err != nil {
			return err
		}
		if limit := s.Plans(ws.Plan).Identities; n >= limit {
			return apperr.NoAccess("the %s plan includes %d identities and all are in use", ws.Plan, limit)
		}
		out, err = store.InsertIdentity(ctx, tx, model.Identity{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID,
			Name: name, Timezone: tz, Type: typ})
		if err != nil {
			return err
		}
		out.WorkspaceUID = ws.UID
		if isEngagement(out) {
			if err := s.recordEngagement(ctx, tx, p.WorkspaceID); err != nil {
				return err
			}
		}
		if err := s.assignProxy(ctx, tx, &out); err != nil {
			return err
		}
		links, err = s.newLinks(ctx, tx, out.ID)
		return err
	})
	return out, links, err
}

// Get returns an identity of the caller's workspace with its integrations.
func (s *Service) Get(ctx context.Context, workspaceID int64, uid string) (model.Identity, error) {
	// One query for the identity and its integrations (a round trip each
	// on PostgreSQL).
	id, err := s.DB.GetIdentityWithIntegrations(ctx, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return id, apperr.NotFound("identity %s not found", uid)
	}
	if err != nil {
		return id, err
	}
	return id, s.DB.View(ctx, func(q store.Querier) error { return s.describeProxies(ctx, q, &id) })
}

func (s *Service) lookup(ctx context.Context, q store.Querier, workspaceID int64, uid string) (model.Identity, error) {
	id, err := store.GetIdentity(ctx, q, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return id, apperr.NotFound("identity %s not found", uid)
	}
	return id, err
}

// get is lookup outside a transaction, on the read pool.
func (s *Service) get(ctx context.Context, workspaceID int64, uid string) (model.Identity, error) {
	id, err := s.DB.GetIdentity(ctx, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return id, apperr.NotFound("identity %s not found", uid)
	}
	return id, err
}

// List pages identities (page from 1), with their integrations when asked.
func (s *Service) List(ctx context.Context, workspaceID int64, query string, page int, withIntegrations bool) ([]model.Identity, error) {
	if page < 1 {
		page = 1
	}
	ids, err := s.DB.ListIdentities(ctx, workspaceID, query, PageSize, (page-1)*PageSize)
	if err == nil {
		err = s.DB.View(ctx, func(q store.Querier) error { return s.describeProxyList(ctx, q, ids) })
	}
	if err != nil || !withIntegrations || len(ids) == 0 {
		return ids, err
	}
	keys := make([]int64, len(ids))
	for i, id := range ids {
		keys[i] = id.ID
	}
	ints, err := s.DB.IntegrationsOf(ctx, workspaceID, keys)
	for i := range ids {
		ids[i].Integrations = ints[ids[i].ID]
	}
	return ids, err
}

// Update changes name and time zone; the type is immutable.
type Update struct {
	Name     *string
	Timezone *string
	Type     *string
}

func (s *Service) Update(ctx context.Context, workspaceID int64, uid string, u Update) (model.Identity, error) {
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err := s.lookup(ctx, tx, workspaceID, uid)
		if err != nil {
			return err
		}
		if u.Type != nil && *u.Type != id.Type {
			return apperr.BadInput("body/type is immutable: this identity is %s", id.Type)
		}
		name, tz := id.Name, id.Timezone
		if u.Name != nil {
			if name, err = validateName(*u.Name); err != nil {
				return err
			}
		}
		if u.Timezone != nil {
			if tz, err = validateTimezone(*u.Timezone); err != nil {
				return err
			}
		}
		if err := s.reassignProxy(ctx, tx, id, tz); err != nil {
			return err
		}
		return store.UpdateIdentity(ctx, tx, id.ID, name, tz)
	})
	if err != nil {
		return model.Identity{}, err
	}
	return s.Get(ctx, workspaceID, uid)
}

// Delete removes an identity with its integrations and their sealed secrets.
// Each integration deleted with it sends DELETED.
func (s *Service) Delete(ctx context.Context, workspaceID int64, uid string) error {
	var changes []Change
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		changes = changes[:0]
		id, err := s.lookup(ctx, tx, workspaceID, uid)
		if err != nil {
			return err
		}
		ints, err := store.IntegrationsOf(ctx, tx, workspaceID, []int64{id.ID})
		if err != nil {
			return err
		}
		for _, g := range ints[id.ID] {
			ch, err := s.transition(ctx, tx, id.ID, g.Platform, CauseDelete, func(cur *model.Integration) error {
				if cur == nil {
					return nil
				}
				return store.DeleteIntegration(ctx, tx, cur.ID)
			})
			if err != nil {
				return err
			}
			changes = append(changes, ch)
		}
		if isEngagement(id) {
			if err := s.recordEngagement(ctx, tx, workspaceID); err != nil {
				return err
			}
		}
		return store.DeleteIdentity(ctx, tx, id.ID)
	})
	if err != nil {
		return err
	}
	s.notify(ctx, changes...)
	return nil
}

// GenerateLoginLinks returns fresh 48-hour links for the identity and
// revokes its earlier ones: only the newest link handed out works.
func (s *Service) GenerateLoginLinks(ctx context.Context, workspaceID int64, uid string) (map[string]string, error) {
	var links map[string]string
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err := s.lookup(ctx, tx, workspaceID, uid)
		if err != nil {
			return err
		}
		if _, err := store.RevokeLoginLinks(ctx, tx, id.ID, ""); err != nil {
			return err
		}
		links, err = s.newLinks(ctx, tx, id.ID)
		return err
	})
	return links, err
}

func (s *Service) newLinks(ctx context.Context, tx *store.Tx, identityID int64) (map[string]string, error) {
	token, hash := auth.NewToken()
	if err := store.InsertLoginLink(ctx, tx, identityID, "linkedin", hash,
		store.Millis(time.Now().Add(LoginLinkTTL))); err != nil {
		return nil, err
	}
	return map[string]string{"linkedin": strings.TrimRight(s.PublicURL(), "/") + "/connect/" + token}, nil
}

// LoginLinkState is what verifying a link tells.
type LoginLinkState struct {
	IdentityID int64
	Platform   string
	ExpiresAt  time.Time
	Valid      bool
	Reason     string // "expired", "used", "revoked" or "" when valid
}

// VerifyLoginLink checks a token without using it up.
func (s *Service) VerifyLoginLink(ctx context.Context, token string) (LoginLinkState, error) {
	l, err := s.DB.GetLoginLink(ctx, auth.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return LoginLinkState{}, apperr.NotFound("login link not found")
	}
	if err != nil {
		return LoginLinkState{}, err
	}
	st := LoginLinkState{IdentityID: l.IdentityID, Platform: l.Platform, ExpiresAt: store.Time(l.ExpiresAt), Valid: true}
	switch {
	case l.UsedAt.Valid:
		st.Valid, st.Reason = false, "used"
	case l.RevokedAt.Valid:
		st.Valid, st.Reason = false, "revoked"
	case store.Now() >= l.ExpiresAt:
		st.Valid, st.Reason = false, "expired"
	}
	return st, nil
}
