package workspace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Console sessions: how long a signed-in member stays signed in.
const (
	// SessionIdle ends a session nobody used for this long.
	SessionIdle = 2 * time.Hour
	// SessionMax ends every session this long after sign-in, used or not.
	SessionMax = 7 * 24 * time.Hour
	// PasswordLinkTTL is how long a set-password link works.
	PasswordLinkTTL = 48 * time.Hour
)

// ErrBadLogin is the one answer to a wrong email or a wrong password, so a
// sign-in form does not tell which emails are members.
var ErrBadLogin = apperr.Unauthorized("wrong email or password")

// dummyHash keeps a sign-in for an unknown email as slow as one for a known
// one (bcrypt's cost), so timing does not reveal members either.
var dummyHash, _ = auth.HashPassword("firstmate-timing-equaliser")

// SignIn checks an email and password. A person who is a member of several
// workspaces signs in to the oldest membership the password opens.
func (s *Service) SignIn(ctx context.Context, email, password string) (model.Member, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	logins, err := s.DB.MembersByEmail(ctx, email)
	if err != nil {
		return model.Member{}, fmt.Errorf("sign in: look up the member: %w", err)
	}
	if len(logins) == 0 {
		auth.CheckPassword(dummyHash, password)
		return model.Member{}, ErrBadLogin
	}
	for _, l := range logins {
		if auth.CheckPassword(l.PasswordHash, password) {
			return l.Member, nil
		}
	}
	return model.Member{}, ErrBadLogin
}

// StartSession opens a console session for a member: the returned token
// goes in the cookie (only its hash is stored), csrf in every form.
func (s *Service) StartSession(ctx context.Context, memberID int64, now time.Time) (token, csrf string, err error) {
	token, hash := auth.NewToken()
	csrf, _ = auth.NewToken()
	if err := s.DB.InsertConsoleSession(ctx, hash, memberID, csrf, store.Millis(now),
		store.Millis(now.Add(SessionMax))); err != nil {
		return "", "", fmt.Errorf("start a console session: %w", err)
	}
	return token, csrf, nil
}

// Session resolves a session cookie to its member's principal and CSRF
// token. An idle or expired session is deleted and refused.
func (s *Service) Session(ctx context.Context, token string, now time.Time) (store.ConsoleSession, error) {
	if len(token) < 16 || len(token) > 200 {
		return store.ConsoleSession{}, apperr.Unauthorized("not signed in")
	}
	hash := auth.HashToken(token)
	cs, err := s.DB.ConsoleSessionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return cs, apperr.Unauthorized("not signed in")
	}
	if err != nil {
		return cs, fmt.Errorf("read the console session: %w", err)
	}
	ms := store.Millis(now)
	if ms >= cs.ExpiresAt || ms-cs.LastSeenAt >= SessionIdle.Milliseconds() {
		_ = s.DB.DeleteConsoleSession(ctx, hash)
		return store.ConsoleSession{}, apperr.Unauthorized("the session has ended; sign in again")
	}
	// One write a minute at most keeps the idle clock without a write per page.
	if ms-cs.LastSeenAt > time.Minute.Milliseconds() {
		if err := s.DB.TouchConsoleSession(ctx, cs.ID, ms); err != nil {
			return cs, fmt.Errorf("touch the console session: %w", err)
		}
	}
	return cs, nil
}

// EndSession signs out (the cookie's token stops working).
func (s *Service) EndSession(ctx context.Context, token string) error {
	if err := s.DB.DeleteConsoleSession(ctx, auth.HashToken(token)); err != nil {
		return fmt.Errorf("end the console session: %w", err)
	}
	return nil
}

// IssuePasswordLink makes a one-time token that sets the password of a
// member of the owner's workspace ("forgot password", with no mail server:
// the owner hands the link over).
func (s *Service) IssuePasswordLink(ctx context.Context, p model.Principal, memberUID string) (string, error) {
	if !auth.Allows(p.Role, auth.Own) {
		return "", apperr.Forbidden("only an owner may issue a password link")
	}
	m, err := s.DB.GetMember(ctx, p.WorkspaceID, memberUID)
	if errors.Is(err, store.ErrNotFound) {
		return "", apperr.NotFound("member %s not found", memberUID)
	}
	if err != nil {
		return "", fmt.Errorf("issue a password link: %w", err)
	}
	return s.PasswordLinkFor(ctx, m.ID)
}

// PasswordLinkFor issues a set-password token for a member (the demo
// owner's first start uses it directly).
func (s *Service) PasswordLinkFor(ctx context.Context, memberID int64) (string, error) {
	token, hash := auth.NewToken()
	if err := s.DB.InsertPasswordLink(ctx, hash, memberID, store.Millis(time.Now().Add(PasswordLinkTTL))); err != nil {
		return "", fmt.Errorf("issue a password link: %w", err)
	}
	return token, nil
}

// PasswordLinkMember is the member a usable set-password link is for.
func (s *Service) PasswordLinkMember(ctx context.Context, token string) (model.Member, error) {
	id, err := s.DB.PasswordLinkMember(ctx, auth.HashToken(token), store.Now())
	if errors.Is(err, store.ErrNotFound) {
		return model.Member{}, apperr.NotFound("this link was already used or has expired; ask an owner for a new one")
	}
	if err != nil {
		return model.Member{}, fmt.Errorf("read a password link: %w", err)
	}
	return s.DB.MemberByID(ctx, id)
}

// SetPassword uses a set-password link once: the member's new password is
// stored (bcrypt) and their other sessions end.
func (s *Service) SetPassword(ctx context.Context, token, password string) (model.Member, error) {
	if len(password) < 10 || len(password) > 128 {
		return model.Member{}, apperr.BadInput("the password must be 10 to 128 characters long")
	}
	h, err := auth.HashPassword(password)
	if err != nil {
		return model.Member{}, err
	}
	var m model.Member
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err := store.ClaimPasswordLink(ctx, tx, auth.HashToken(token), store.Now())
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("this link was already used or has expired; ask an owner for a new one")
		}
		if err != nil {
			return err
		}
		if err := store.SetMemberPassword(ctx, tx, id, h); err != nil {
			return err
		}
		if err := store.DeleteMemberSessions(ctx, tx, id); err != nil {
			return err
		}
		m, err = store.MemberByID(ctx, tx, id)
		return err
	})
	return m, err
}

// Activity is the overview's data: a workspace's recent runs and credits by
// day, and its identities by integration health.
type Activity struct {
	Days            []string         `json:"days"`
	CreditsByAction []Series         `json:"credits_by_action"`
	RunsByStatus    []Series         `json:"runs_by_status"`
	Integrations    map[string]int64 `json:"identities_by_integration_status"`
}

// Series is one line of a chart: a value per day of Activity.Days.
type Series struct {
	Name   string    `json:"name"`
	PerDay []float64 `json:"per_day"`
	Total  float64   `json:"total"`
}

// Activity summarises the last `days` UTC days up to now.
func (s *Service) Activity(ctx context.Context, workspaceID int64, days int, now time.Time) (Activity, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	past, err := s.pastActivity(ctx, workspaceID, first, today, now)
	if err != nil {
		return Activity{}, err
	}
	rows, err := s.DB.RunActivity(ctx, workspaceID, store.Millis(today), 0)
	if err != nil {
		return Activity{}, fmt.Errorf("read today's run activity: %w", err)
	}
	rows = append(rows, past...)
	health, err := s.DB.IntegrationHealth(ctx, workspaceID)
	if err != nil {
		return Activity{}, fmt.Errorf("read the integration health: %w", err)
	}
	a := Activity{Integrations: health}
	for i := 0; i < days; i++ {
		a.Days = append(a.Days, first.AddDate(0, 0, i).Format("2006-01-02"))
	}
	firstDay := first.Unix() / 86400
	credits, runs := map[string][]float64{}, map[string][]float64{}
	add := func(m map[string][]float64, k string, i int, v float64) {
		if m[k] == nil {
			m[k] = make([]float64, days)
		}
		m[k][i] += v
	}
	for _, r := range rows {
		i := int(r.Day - firstDay)
		if i < 0 || i >= days {
			continue
		}
		if r.Millicredit > 0 {
			add(credits, r.Action, i, float64(r.Millicredit)/1000)
		}
		add(runs, r.Status, i, float64(r.Runs))
	}
	a.CreditsByAction, a.RunsByStatus = series(credits), series(runs)
	return a, nil
}

// series orders a chart's lines by total, largest first.
func series(m map[string][]float64) []Series {
	out := make([]Series, 0, len(m))
	for k, v := range m {
		var t float64
		for _, x := range v {
			t += x
		}
		out = append(out, Series{Name: k, PerDay: v, Total: t})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].Total > out[j-1].Total || out[j].Total == out[j-1].Total && out[j].Name < out[j-1].Name); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ActivityRefresh is how long the past days' figures are kept before they
// are read again: runs made on a past day rarely change (a long async run
// may still finish), so the overview reads today's runs live and the past
// from this cache, which keeps the page fast with 100,000 runs.
const ActivityRefresh = 5 * time.Minute

type activityKey struct {
	workspaceID int64
	from, to    int64
}

type activityEntry struct {
	rows    []store.RunActivityRow
	fetched time.Time
}

// activityCache is per process (a node's overview may lag another node's
// by up to ActivityRefresh for past days).
type activityCache struct {
	mu sync.Mutex
	m  map[activityKey]activityEntry
}

func (s *Service) pastActivity(ctx context.Context, workspaceID int64, from, to, now time.Time) ([]store.RunActivityRow, error) {
	k := activityKey{workspaceID, store.Millis(from), store.Millis(to)}
	pastCache := &s.activity
	pastCache.mu.Lock()
	e, ok := pastCache.m[k]
	pastCache.mu.Unlock()
	if ok && now.Sub(e.fetched) < ActivityRefresh && !now.Before(e.fetched) {
		return e.rows, nil
	}
	rows, err := s.DB.RunActivity(ctx, workspaceID, k.from, k.to)
	if err != nil {
		return nil, fmt.Errorf("read the past days' run activity: %w", err)
	}
	pastCache.mu.Lock()
	if pastCache.m == nil || len(pastCache.m) > 10_000 {
		pastCache.m = map[activityKey]activityEntry{}
	}
	pastCache.m[k] = activityEntry{rows: rows, fetched: now}
	pastCache.mu.Unlock()
	return rows, nil
}
