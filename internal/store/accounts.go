package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Account is an identity with one of its integrations: what runs an action.
type Account struct {
	Identity    model.Identity
	Integration model.Integration
	// Overrides are the identity's Smart Limit overrides (JSON).
	Overrides string
	// UserAgent is the identity's kept browser user agent ("" until one is
	// chosen; see KeepIdentityUserAgent).
	UserAgent string
	// PausedUntil is when the account's pause ends (unix ms; 0 or past: not
	// paused): see account_pauses.
	PausedUntil int64
}

// AccountQuery selects accounts able to run an action.
type AccountQuery struct {
	// WorkspaceID scopes the search; ignored when Pool is set.
	WorkspaceID int64
	// Pool selects the operator's managed pool instead of a workspace.
	Pool bool
	// IdentityUIDs restricts to these identities (nil: all).
	IdentityUIDs []string
	Platforms    []string
	// Statuses to include; nil means VALID only.
	Statuses []string
}

// Accounts lists identity+integration pairs matching q, ordered by identity id.
func Accounts(ctx context.Context, q Querier, aq AccountQuery) ([]Account, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	list := func(vals []string) string {
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = arg(v)
		}
		return strings.Join(ph, ", ")
	}
	var where []string
	if aq.Pool {
		// A pool account rented to a workspace serves the renter only.
		where = append(where, "w.operator_pool AND i.managed AND NOT EXISTS "+
			"(SELECT 1 FROM rentals r WHERE r.pool_identity_id = i.id AND r.ended_at IS NULL)")
	} else {
		where = append(where, "i.workspace_id = "+arg(aq.WorkspaceID))
	}
	if aq.IdentityUIDs != nil {
		if len(aq.IdentityUIDs) == 0 {
			return nil, nil
		}
		where = append(where, "i.uid IN ("+list(aq.IdentityUIDs)+")")
	}
	if len(aq.Platforms) > 0 {
		where = append(where, "g.platform IN ("+list(aq.Platforms)+")")
	}
	statuses := aq.Statuses
	if statuses == nil {
		statuses = []string{model.StatusValid}
	}
	where = append(where, "g.status IN ("+list(statuses)+")")
	out, err := queryAll(ctx, q, scanAccount, `
		SELECT `+identityCols+`, i.limit_overrides, i.user_agent, COALESCE(p.paused_until, 0), `+integrationCols+`
		FROM integrations g
		JOIN identities i ON i.id = g.identity_id
		JOIN workspaces w ON w.id = i.workspace_id
		LEFT JOIN account_pauses p ON p.integration_id = g.id
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY i.id, g.id`, args...)
	return out, unable(err, "read accounts")
}

// scanAccount reads an account row of Accounts.
func scanAccount(row scanner) (Account, error) {
	var a Account
	var id model.Identity
	var g model.Integration
	var created, updated int64
	var gfirst sql.NullInt64
	var gcreated, gupdated int64
	err := row.Scan(&id.ID, &id.UID, &id.WorkspaceID, &id.WorkspaceUID, &id.Name, &id.Timezone, &id.Type,
		&id.Managed, &created, &updated, &a.Overrides, &a.UserAgent, &a.PausedUntil,
		&g.ID, &g.UID, &g.WorkspaceID, &g.IdentityID, &g.IdentityUID, &g.Platform, &g.Name, &g.Permalink,
		&g.AuthType, &g.SetupSource, &g.IsShared, &g.Level, &g.Status, &g.Checkpoint, &g.Error, &g.Meta,
		&g.SecretKID, &g.Secret, &gfirst, &gcreated, &gupdated)
	id.CreatedAt, id.UpdatedAt = Time(created), Time(updated)
	g.FirstConnectedAt, g.CreatedAt, g.UpdatedAt = NullTime(gfirst), Time(gcreated), Time(gupdated)
	a.Identity, a.Integration = id, g
	return a, err
}

// IdentityUIDsIn returns which of uids exist in the workspace.
func IdentityUIDsIn(ctx context.Context, q Querier, workspaceID int64, uids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(uids) == 0 {
		return out, nil
	}
	args := []any{workspaceID}
	ph := make([]string, len(uids))
	for i, u := range uids {
		args = append(args, u)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	found, err := queryAll(ctx, q, scanString,
		`SELECT uid FROM identities WHERE workspace_id = $1 AND uid IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, unable(err, "read which of %d identities exist in workspace %d", len(uids), workspaceID)
	}
	for _, u := range found {
		out[u] = true
	}
	return out, nil
}

// MarkIntegrationConnected records a successful platform validation: status
// VALID, the detected level and account, and the first connection time (the
// start of the Smart Limit ramp-up) if it was not set.
func MarkIntegrationConnected(ctx context.Context, q Querier, id int64, level, name, permalink, meta string) error {
	now := Now()
	_, err := q.execContext(ctx, `
		UPDATE integrations SET status = 'VALID', checkpoint = '', error = '', level = $2, name = $3, permalink = $4,
			meta = $5, first_connected_at = COALESCE(first_connected_at, $6), updated_at = $6
		WHERE id = $1`, id, level, name, permalink, meta, now)
	return unable(err, "mark integration connected %v", id)
}

// SetIdentityLimitOverrides stores an identity's Smart Limit overrides (JSON).
func SetIdentityLimitOverrides(ctx context.Context, q Querier, id int64, overrides string) error {
	_, err := q.execContext(ctx, `UPDATE identities SET limit_overrides = $2, updated_at = $3 WHERE id = $1`, id, overrides, Now())
	return unable(err, "set identity limit overrides %v", id)
}

// IdentityLimitOverrides reads them.
func IdentityLimitOverrides(ctx context.Context, q Querier, id int64) (string, error) {
	var s string
	err := q.queryRowContext(ctx, `SELECT limit_overrides FROM identities WHERE id = $1`, id).Scan(&s)
	return s, notFound(err)
}

// LatestPauseEnd is when the latest recorded pause of an identity's key ends
// (unix ms: the greatest at + n among its events after since), 0 when none.
// The outreach gap records each action's pause as an event's n.
func LatestPauseEnd(ctx context.Context, q Querier, identityID int64, key string, since int64) (int64, error) {
	var end int64
	err := q.queryRowContext(ctx, `
		SELECT COALESCE(MAX(at + n), 0)
		FROM limit_events
		WHERE identity_id = $1 AND key = $2 AND at > $3`,
		identityID, key, since).Scan(&end)
	if err != nil {
		return 0, fmt.Errorf("store: unable to read the latest %s pause of identity %d: %w", key, identityID, err)
	}
	return end, nil
}
