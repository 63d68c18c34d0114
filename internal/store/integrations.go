package store

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/firstmate-oss/firstmate/internal/model"
)

const integrationCols = `g.id, g.uid, g.workspace_id, g.identity_id, i.uid, g.platform, g.name, g.permalink, g.auth_type,
	g.setup_source, g.is_shared, g.level, g.status, g.checkpoint, g.error, g.meta, g.secret_kid, g.secret,
	g.first_connected_at, g.created_at, g.updated_at`

const integrationFrom = ` FROM integrations g JOIN identities i ON i.id = g.identity_id `

func scanIntegration(row interface{ Scan(...any) error }) (model.Integration, error) {
	var g model.Integration
	var first sql.NullInt64
	var created, updated int64
	err := row.Scan(&g.ID, &g.UID, &g.WorkspaceID, &g.IdentityID, &g.IdentityUID, &g.Platform, &g.Name, &g.Permalink,
		&g.AuthType, &g.SetupSource, &g.IsShared, &g.Level, &g.Status, &g.Checkpoint, &g.Error, &g.Meta, &g.SecretKID,
		&g.Secret, &first, &created, &updated)
	g.FirstConnectedAt, g.CreatedAt, g.UpdatedAt = NullTime(first), Time(created), Time(updated)
	return g, notFound(err)
}

// UpsertIntegration connects or updates the one integration an identity has
// per platform. The uid and created_at of an existing row are kept.
func UpsertIntegration(ctx context.Context, q Querier, g model.Integration) (model.Integration, error) {
	now := Now()
	var first sql.NullInt64
	if g.FirstConnectedAt != nil {
		first = sql.NullInt64{Int64: Millis(*g.FirstConnectedAt), Valid: true}
	}
	_, err := q.execContext(ctx, `
		INSERT INTO integrations (uid, workspace_id, identity_id, platform, name, permalink, auth_type, setup_source,
			is_shared, level, status, checkpoint, error, meta, secret_kid, secret, first_connected_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)
		ON CONFLICT (identity_id, platform) DO UPDATE SET
			name = excluded.name, permalink = excluded.permalink, auth_type = excluded.auth_type,
			setup_source = excluded.setup_source, is_shared = excluded.is_shared, level = excluded.level,
			status = excluded.status, checkpoint = excluded.checkpoint, error = excluded.error, meta = excluded.meta,
			secret_kid = excluded.secret_kid, secret = excluded.secret,
			first_connected_at = COALESCE(integrations.first_connected_at, excluded.first_connected_at),
			updated_at = excluded.updated_at`,
		g.UID, g.WorkspaceID, g.IdentityID, g.Platform, g.Name, g.Permalink, g.AuthType, g.SetupSource, g.IsShared,
		g.Level, g.Status, g.Checkpoint, g.Error, g.Meta, g.SecretKID, g.Secret, first, now)
	if err != nil {
		return g, unable(err, "upsert integration")
	}
	return GetIntegration(ctx, q, g.WorkspaceID, g.IdentityID, g.Platform)
}

// GetIntegration finds an identity's integration for a platform, scoped to a workspace.
func GetIntegration(ctx context.Context, q Querier, workspaceID, identityID int64, platform string) (model.Integration, error) {
	return scanIntegration(q.queryRowContext(ctx, `SELECT `+integrationCols+integrationFrom+`
		WHERE g.workspace_id = $1 AND g.identity_id = $2 AND g.platform = $3`, workspaceID, identityID, platform))
}

// IntegrationsOf lists the integrations of the given identities (one workspace).
func IntegrationsOf(ctx context.Context, q Querier, workspaceID int64, identityIDs []int64) (map[int64][]model.Integration, error) {
	out := map[int64][]model.Integration{}
	if len(identityIDs) == 0 {
		return out, nil
	}
	// One query for the whole page of identities rather than one per identity.
	args := []any{workspaceID}
	in := ""
	for i, id := range identityIDs {
		if i > 0 {
			in += ","
		}
		args = append(args, id)
		in += "$" + strconv.Itoa(len(args))
	}
	gs, err := queryAll(ctx, q, scanIntegration, `SELECT `+integrationCols+integrationFrom+`
		WHERE g.workspace_id = $1 AND g.identity_id IN (`+in+`) ORDER BY g.id`, args...)
	if err != nil {
		return nil, unable(err, "read the integrations of %d identities", len(identityIDs))
	}
	for _, g := range gs {
		out[g.IdentityID] = append(out[g.IdentityID], g)
	}
	return out, nil
}

// DeleteIntegration removes the row and with it the sealed secret.
func DeleteIntegration(ctx context.Context, q Querier, id int64) error {
	_, err := q.execContext(ctx, `DELETE FROM integrations WHERE id = $1`, id)
	return unable(err, "delete integration %v", id)
}

// SetIntegrationStatus records a status change.
func SetIntegrationStatus(ctx context.Context, q Querier, id int64, status, checkpoint, errMsg string) error {
	_, err := q.execContext(ctx, `UPDATE integrations SET status = $2, checkpoint = $3, error = $4, updated_at = $5 WHERE id = $1`,
		id, status, checkpoint, errMsg, Now())
	return unable(err, "set integration status %v", id)
}

// GetIdentityWithIntegrations is GetIdentity and IntegrationsOf for that one
// identity in a single query: a row per integration (one row with NULL
// integration columns when it has none). GET /identities/{uid} is the
// commonest authenticated read; on PostgreSQL each query is a round trip,
// and two of them were most of the request's time.
func GetIdentityWithIntegrations(ctx context.Context, q Querier, workspaceID int64, uid string) (model.Identity, error) {
	var id model.Identity
	found := false
	err := queryEach(ctx, q, func(row scanner) error {
		var created, updated int64
		var gid, first, gcreated, gupdated sql.NullInt64
		var guid, platform, name, permalink, authType, setup, level, status, checkpoint, gerr, meta, kid sql.NullString
		var shared sql.NullBool
		var secret []byte
		if err := row.Scan(&id.ID, &id.UID, &id.WorkspaceID, &id.WorkspaceUID, &id.Name, &id.Timezone, &id.Type,
			&id.Managed, &created, &updated,
			&gid, &guid, &platform, &name, &permalink, &authType, &setup, &shared, &level, &status,
			&checkpoint, &gerr, &meta, &kid, &secret, &first, &gcreated, &gupdated); err != nil {
			return err
		}
		id.CreatedAt, id.UpdatedAt = Time(created), Time(updated)
		found = true
		if !gid.Valid {
			return nil // an identity without integrations: one row of NULLs
		}
		id.Integrations = append(id.Integrations, model.Integration{ID: gid.Int64, UID: guid.String,
			WorkspaceID: id.WorkspaceID, IdentityID: id.ID, IdentityUID: id.UID, Platform: platform.String,
			Name: name.String, Permalink: permalink.String, AuthType: authType.String, SetupSource: setup.String,
			IsShared: shared.Bool, Level: level.String, Status: status.String, Checkpoint: checkpoint.String,
			Error: gerr.String, Meta: meta.String, SecretKID: kid.String, Secret: secret,
			FirstConnectedAt: NullTime(first), CreatedAt: Time(gcreated.Int64), UpdatedAt: Time(gupdated.Int64)})
		return nil
	}, `SELECT `+identityCols+`,
		g.id, g.uid, g.platform, g.name, g.permalink, g.auth_type, g.setup_source, g.is_shared, g.level, g.status,
		g.checkpoint, g.error, g.meta, g.secret_kid, g.secret, g.first_connected_at, g.created_at, g.updated_at
		FROM identities i JOIN workspaces w ON w.id = i.workspace_id
		LEFT JOIN integrations g ON g.identity_id = i.id AND g.workspace_id = i.workspace_id
		WHERE i.workspace_id = $1 AND i.uid = $2
		ORDER BY g.id`, workspaceID, uid)
	if err != nil {
		return model.Identity{}, unable(err, "get identity %s with its integrations", uid)
	}
	if !found {
		return model.Identity{}, ErrNotFound
	}
	return id, nil
}
