package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Username/password logins and their checkpoints (contract §4).
//
// A basic connect of a LinkedIn-family integration logs in through the
// platform's Authenticator, with the identity's own HTTP client:
//   - a session: the session cookies are sealed with the username and the
//     password (kept sealed, for a later re-login; nothing but the worker
//     opens them), status VALID with the level, AUTH_SUCCESS;
//   - a checkpoint: status PENDING with checkpoint {type}; the platform's
//     opaque state is sealed with its expiry (CheckpointTTL), AUTH_PENDING;
//   - refused credentials: status INVALID with the reason as error,
//     AUTH_FAILED.
//
// AnswerCheckpoint answers the pending checkpoint. A wrong code is a 400
// and changes nothing (the checkpoint stays answerable while the platform
// allows it). A poll of an IN_APP_VALIDATION that is still waiting answers
// the integration as it is, PENDING, and sends no event: only outcomes are
// reported, so a client polling every few seconds does not flood its
// webhook. An approval, a right code or a passed CAPTCHA makes it VALID
// (AUTH_SUCCESS); a failed CAPTCHA or a challenge the platform dropped makes
// it INVALID (AUTH_FAILED). A checkpoint past its expiry answers 410
// CHECKPOINT_EXPIRED once and the integration becomes INVALID with that
// error (AUTH_FAILED). With nothing pending (never, or already answered)
// it answers 409 CONFLICT.

// CheckpointTTL is how long a pending checkpoint can be answered.
var CheckpointTTL = 10 * time.Minute

// LoginDriver logs an identity in with a username and a password, through
// its own egress. The engine implements it.
type LoginDriver interface {
	Login(ctx context.Context, id model.Identity, integration, username, password string) (platform.LoginResult, error)
	Checkpoint(ctx context.Context, id model.Identity, integration, state, code string) (platform.LoginResult, error)
}

// pendingLogin is the sealed state of a checkpoint waiting for an answer.
type pendingLogin struct {
	Type      string `json:"type"`
	State     string `json:"state"`
	ExpiresAt int64  `json:"expires_at"` // unix milliseconds
}

// loginSecret is what a login seals: the credentials (session cookies once
// logged in) and, while a checkpoint waits, its state. OpenCredentials reads
// it as Credentials (the pending state is ignored there).
type loginSecret struct {
	Credentials
	Pending *pendingLogin `json:"pending_login,omitempty"`
}

func linkedinFamily(p string) bool {
	return p == "linkedin" || p == "salesnavigator" || p == "recruiterlite"
}

// usesLogin reports whether a connect goes through the login flow.
func (s *Service) usesLogin(platform string, cred Credentials) bool {
	return s.Login != nil && cred.AuthType == platform_AuthBasic && linkedinFamily(platform)
}

const platform_AuthBasic = "BASIC"

// loginOutcome is what a login or checkpoint step leads to.
type loginOutcome struct {
	status, checkpoint, errLabel, level string
	secret                              loginSecret
	verified                            *verdict
}

// outcomeOf maps a platform answer (or a refusal) to what gets stored. ok
// is false when the error says nothing about the account: it is returned
// to the caller and nothing changes.
func (s *Service) outcomeOf(ctx context.Context, id model.Identity, integ, username, password, accountName string, r platform.LoginResult, err error) (loginOutcome, error) {
	o := loginOutcome{secret: loginSecret{Credentials: Credentials{AuthType: platform_AuthBasic, Username: username, Password: password}}}
	if errors.Is(err, ErrUnverifiable) {
		// No driver can log in on this platform: the credentials are kept
		// sealed, PENDING, as when the platform cannot be asked.
		o.status = model.StatusPending
		return o, nil
	}
	if err != nil {
		ae, ok := apperr.As(err)
		if ok && ae.Label == "INTEGRATION_ERROR" && ae.Params["reason"] != "" {
			o.status, o.errLabel = model.StatusInvalid, ae.Params["reason"]
			return o, nil
		}
		return o, err
	}
	if r.Checkpoint != nil {
		o.status, o.checkpoint = model.StatusPending, r.Checkpoint.Type
		o.secret.Pending = &pendingLogin{Type: r.Checkpoint.Type, State: r.Checkpoint.State,
			ExpiresAt: store.Millis(time.Now().Add(CheckpointTTL))}
		return o, nil
	}
	o.status, o.level = model.StatusValid, r.Level
	o.secret.Credentials = Credentials{AuthType: "COOKIES", Cookies: r.Cookies, Username: username, Password: password}
	// Describe the account (name, permalink) with the new session.
	v := s.verify(ctx, id, integ, accountName, o.secret.Credentials)
	if v.Status == model.StatusValid {
		o.verified = &v
	}
	return o, nil
}

// storeOutcome records an outcome in one transition (one webhook event).
// viaLink is as in Connect.ViaLink.
func (s *Service) storeOutcome(ctx context.Context, workspaceID int64, identityUID, integ, source, accountName, viaLink string, o loginOutcome) (model.Integration, error) {
	return s.storeOutcomeOn(ctx, workspaceID, identityUID, integ, source, accountName, viaLink, o, nil)
}

// storeOutcomeOn is storeOutcome that, when expect is set, first checks
// that the integration is still the pending one expect was read as.
func (s *Service) storeOutcomeOn(ctx context.Context, workspaceID int64, identityUID, integ, source, accountName, viaLink string, o loginOutcome, expect *model.Integration) (model.Integration, error) {
	plain, err := json.Marshal(o.secret)
	if err != nil {
		return model.Integration{}, err
	}
	var ch Change
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err := s.lookup(ctx, tx, workspaceID, identityUID)
		if err != nil {
			return err
		}
		if err := s.DB.LockIdentity(ctx, tx, id.ID); err != nil {
			return err
		}
		ch, err = s.transition(ctx, tx, id.ID, integ, CauseAuth, func(cur *model.Integration) error {
			if expect != nil && (cur == nil || cur.UID != expect.UID || cur.Status != model.StatusPending ||
				cur.SecretKID != expect.SecretKID || !bytes.Equal(cur.Secret, expect.Secret)) {
				return apperr.Conflict("the login checkpoint was already answered")
			}
			g := model.Integration{WorkspaceID: workspaceID, IdentityID: id.ID, Platform: integ, Name: accountName,
				AuthType: platform_AuthBasic, SetupSource: source, Level: integrationLevels[integ], Status: o.status,
				Checkpoint: o.checkpoint, Error: o.errLabel, Meta: "{}"}
			if cur != nil {
				g.UID = cur.UID
				if source == "" {
					g.SetupSource = cur.SetupSource
				}
				if accountName == "" {
					g.Name = cur.Name
				}
				g.Permalink, g.Meta = cur.Permalink, cur.Meta
				if g.Level == "" {
					g.Level = cur.Level
				}
			} else {
				g.UID = uuid.NewString()
			}
			if g.SetupSource == "" {
				g.SetupSource = "API"
			}
			if o.level != "" && integrationLevels[integ] == "" {
				g.Level = o.level
			}
			if v := o.verified; v != nil {
				if v.Level != "" && integrationLevels[integ] == "" {
					g.Level = v.Level
				}
				g.Name, g.Permalink, g.Meta = v.Name, v.Permalink, v.Meta
			}
			if o.status == model.StatusValid {
				now := time.Now()
				g.FirstConnectedAt = &now
			}
			g.SecretKID, g.Secret = s.Keys.Seal(plain, []byte(g.UID))
			_, err := store.UpsertIntegration(ctx, tx, g)
			return err
		})
		if err != nil {
			return err
		}
		return s.linksOnConnect(ctx, tx, id.ID, integ, ch, viaLink)
	})
	if err != nil {
		return model.Integration{}, err
	}
	s.notify(ctx, ch)
	return *ch.After, nil
}

// loginIntegration is ConnectIntegration for username/password on a
// LinkedIn-family platform.
func (s *Service) loginIntegration(ctx context.Context, workspaceID int64, identityUID, integ string, c Connect) (model.Integration, error) {
	id, err := s.get(ctx, workspaceID, identityUID)
	if err != nil {
		return model.Integration{}, err
	}
	// Bounded as a cookie connect is; a login cut short is not stored (the
	// password is not kept for a retry): the client tries again.
	lctx, cancel := context.WithTimeout(ctx, s.connectTimeout())
	defer cancel()
	r, lerr := s.Login.Login(lctx, id, integ, c.Username, c.Password)
	o, err := s.outcomeOf(lctx, id, integ, c.Username, c.Password, c.AccountName, r, lerr)
	if err != nil && lctx.Err() != nil && ctx.Err() == nil {
		return model.Integration{}, apperr.Upstream(LabelVerifyTimeout, "the platform did not answer the login within %s; try again",
			s.connectTimeout())
	}
	if err != nil {
		return model.Integration{}, err
	}
	source := c.SetupSource
	if source == "" {
		source = "API"
	}
	return s.storeOutcome(ctx, workspaceID, identityUID, integ, source, c.AccountName, c.ViaLink, o)
}

// LabelCheckpointExpired is the label of a checkpoint answered too late.
const LabelCheckpointExpired = "CHECKPOINT_EXPIRED"

// AnswerCheckpoint answers (code != "") or polls (code == "") the pending
// checkpoint of the identity's integration.
func (s *Service) AnswerCheckpoint(ctx context.Context, workspaceID int64, identityUID, integ, code string) (model.Integration, error) {
	return s.AnswerCheckpointVia(ctx, workspaceID, identityUID, integ, code, "")
}

// AnswerCheckpointVia is AnswerCheckpoint from the hosted page opened with
// the login link whose token hash is viaLink (see Connect.ViaLink).
func (s *Service) AnswerCheckpointVia(ctx context.Context, workspaceID int64, identityUID, integ, code, viaLink string) (model.Integration, error) {
	if !linkedinFamily(integ) {
		return model.Integration{}, apperr.NotFound("integration %q has no login checkpoints", integ)
	}
	if s.Login == nil {
		return model.Integration{}, apperr.Conflict("no login checkpoint is pending")
	}
	id, err := s.get(ctx, workspaceID, identityUID)
	if err != nil {
		return model.Integration{}, err
	}
	g, err := s.DB.GetIntegration(ctx, workspaceID, id.ID, integ)
	if errors.Is(err, store.ErrNotFound) {
		return g, apperr.NotFound("identity %s has no %s integration", identityUID, integ)
	}
	if err != nil {
		return g, err
	}
	sec, err := s.openLoginSecret(g)
	if err != nil {
		return g, err
	}
	if g.Status != model.StatusPending || sec.Pending == nil {
		return g, apperr.Conflict("no login checkpoint is pending for this integration (status %s)", g.Status)
	}
	if store.Now() >= sec.Pending.ExpiresAt {
		o := loginOutcome{status: model.StatusInvalid, errLabel: LabelCheckpointExpired,
			secret: loginSecret{Credentials: Credentials{AuthType: platform_AuthBasic, Username: sec.Username, Password: sec.Password}}}
		if _, err := s.storeOutcomeIf(ctx, workspaceID, identityUID, integ, viaLink, g, o); err != nil {
			return g, err
		}
		return g, &apperr.Error{Status: 410, Label: LabelCheckpointExpired, Scope: apperr.ScopeInput,
			Message: "the login checkpoint expired; log in again"}
	}
	r, cerr := s.Login.Checkpoint(ctx, id, integ, sec.Pending.State, code)
	if cerr != nil {
		if ae, ok := apperr.As(cerr); ok && ae.Status == 400 {
			return g, cerr // a wrong code: still answerable
		}
	}
	if cerr == nil && r.Checkpoint != nil {
		// Still waiting (an IN_APP_VALIDATION not approved yet): no change,
		// no event.
		return g, nil
	}
	o, err := s.outcomeOf(ctx, id, integ, sec.Username, sec.Password, givenName(g), r, cerr)
	if err != nil {
		return g, err
	}
	return s.storeOutcomeIf(ctx, workspaceID, identityUID, integ, viaLink, g, o)
}

// givenName is the integration's name when the client chose it on connect
// (account_name), "" when it is the platform's own: the platform describes
// the account in meta.account_name, so a name that differs came from the
// client, and answering a checkpoint must keep it.
func givenName(g model.Integration) string {
	var meta struct {
		AccountName string `json:"account_name"`
	}
	_ = json.Unmarshal([]byte(g.Meta), &meta)
	if g.Name == meta.AccountName {
		return ""
	}
	return g.Name
}

// storeOutcomeIf stores o unless the integration changed since g was read
// (a concurrent answer already resolved the checkpoint): then 409. The
// check runs under the row lock of the transition.
func (s *Service) storeOutcomeIf(ctx context.Context, workspaceID int64, identityUID, integ, viaLink string, g model.Integration, o loginOutcome) (model.Integration, error) {
	return s.storeOutcomeOn(ctx, workspaceID, identityUID, integ, "", "", viaLink, o, &g)
}

func (s *Service) openLoginSecret(g model.Integration) (loginSecret, error) {
	var sec loginSecret
	plain, err := s.Keys.Open(g.SecretKID, g.Secret, []byte(g.UID))
	if err != nil {
		return sec, err
	}
	err = json.Unmarshal(plain, &sec)
	return sec, err
}

// LinkTarget is what a valid login link opens: the identity and its
// workspace's public face.
type LinkTarget struct {
	LoginLinkState
	WorkspaceID   int64
	IdentityUID   string
	WorkspaceName string
	LogoURL       string
}

// OpenLoginLink verifies a token and describes what it connects. It does
// not use the link up.
func (s *Service) OpenLoginLink(ctx context.Context, token string) (LinkTarget, error) {
	st, err := s.VerifyLoginLink(ctx, token)
	if err != nil {
		return LinkTarget{}, err
	}
	lt, err := s.DB.LoginLinkTarget(ctx, st.IdentityID)
	if errors.Is(err, store.ErrNotFound) {
		return LinkTarget{}, apperr.NotFound("login link not found")
	}
	if err != nil {
		return LinkTarget{}, err
	}
	return LinkTarget{LoginLinkState: st, WorkspaceID: lt.WorkspaceID, IdentityUID: lt.IdentityUID,
		WorkspaceName: lt.WorkspaceName, LogoURL: lt.LogoURL}, nil
}
