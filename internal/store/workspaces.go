package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/firstmate-oss/firstmate/internal/model"
)

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// NewWorkspace is what creating a workspace needs; the secret is already sealed.
type NewWorkspace struct {
	UID, Name, Plan string
	SecretKID       string
	Secret          []byte
}

func InsertWorkspace(ctx context.Context, q Querier, w NewWorkspace) (int64, error) {
	now := Now()
	var id int64
	err := q.queryRowContext(ctx, `
		INSERT INTO workspaces (uid, name, plan, signing_secret_kid, signing_secret, period_start, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $6)
		RETURNING id`,
		w.UID, w.Name, w.Plan, w.SecretKID, w.Secret, now).Scan(&id)
	return id, unable(err, "insert workspace")
}

const workspaceCols = `id, uid, name, plan, webhook_url, logo_url, engagement_enabled, auto_resume,
	limit_overrides, period_start, created_at, updated_at`

func scanWorkspace(row interface{ Scan(...any) error }) (model.Workspace, error) {
	var w model.Workspace
	var period, created, updated int64
	err := row.Scan(&w.ID, &w.UID, &w.Name, &w.Plan, &w.WebhookURL, &w.LogoURL, &w.EngagementEnabled,
		&w.AutoResume, &w.LimitOverrides, &period, &created, &updated)
	w.PeriodStart, w.CreatedAt, w.UpdatedAt = Time(period), Time(created), Time(updated)
	return w, notFound(err)
}

func GetWorkspace(ctx context.Context, q Querier, id int64) (model.Workspace, error) {
	return scanWorkspace(q.queryRowContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE id = $1`, id))
}

func CountWorkspaces(ctx context.Context, q Querier) (int, error) {
	var n int
	err := q.queryRowContext(ctx, `SELECT COUNT(*) FROM workspaces WHERE NOT operator_pool`).Scan(&n)
	return n, unable(err, "count workspaces")
}

// WorkspaceSecret returns the sealed callback signing secret.
func WorkspaceSecret(ctx context.Context, q Querier, id int64) (kid string, sealed []byte, err error) {
	err = q.queryRowContext(ctx, `SELECT signing_secret_kid, signing_secret FROM workspaces WHERE id = $1`, id).
		Scan(&kid, &sealed)
	return kid, sealed, notFound(err)
}

// WorkspaceSettings are the member-editable settings.
type WorkspaceSettings struct {
	WebhookURL        string
	LogoURL           string
	EngagementEnabled bool
	AutoResume        bool
	LimitOverrides    string
}

func UpdateWorkspaceSettings(ctx context.Context, q Querier, id int64, s WorkspaceSettings) error {
	_, err := q.execContext(ctx, `
		UPDATE workspaces SET webhook_url = $2, logo_url = $3, engagement_enabled = $4, auto_resume = $5,
			limit_overrides = $6, updated_at = $7
		WHERE id = $1`,
		id, s.WebhookURL, s.LogoURL, s.EngagementEnabled, s.AutoResume, s.LimitOverrides, Now())
	return unable(err, "update workspace settings %v", id)
}

func RotateWorkspaceSecret(ctx context.Context, q Querier, id int64, kid string, sealed []byte) error {
	_, err := q.execContext(ctx, `UPDATE workspaces SET signing_secret_kid = $2, signing_secret = $3, updated_at = $4 WHERE id = $1`,
		id, kid, sealed, Now())
	return unable(err, "rotate workspace secret %v", id)
}

func SetWorkspacePlan(ctx context.Context, q Querier, id int64, plan string) error {
	_, err := q.execContext(ctx, `UPDATE workspaces SET plan = $2, updated_at = $3 WHERE id = $1`, id, plan, Now())
	return unable(err, "set workspace plan %v", id)
}
