package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// ConsoleSession is a signed-in console session with its member's
// principal, read fresh on every request so that a changed role or a
// removed member takes effect at once.
type ConsoleSession struct {
	ID         int64
	CSRF       string
	CreatedAt  int64
	LastSeenAt int64
	ExpiresAt  int64
	Email      string
	Principal  model.Principal
}

func InsertConsoleSession(ctx context.Context, q Querier, tokenHash string, memberID int64, csrf string, now, expires int64) error {
	_, err := q.execContext(ctx, `
		INSERT INTO console_sessions (token_hash, member_id, csrf, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5)`, tokenHash, memberID, csrf, now, expires)
	return unable(err, "insert console session")
}

func ConsoleSessionByHash(ctx context.Context, q Querier, tokenHash string) (ConsoleSession, error) {
	var s ConsoleSession
	p := &s.Principal
	err := q.queryRowContext(ctx, `
		SELECT s.id, s.csrf, s.created_at, s.last_seen_at, s.expires_at,
		       m.email, m.id, m.uid, m.role, w.id, w.uid, w.name, w.plan
		FROM console_sessions s
		JOIN members m ON m.id = s.member_id
		JOIN workspaces w ON w.id = m.workspace_id
		WHERE s.token_hash = $1`, tokenHash).
		Scan(&s.ID, &s.CSRF, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt,
			&s.Email, &p.MemberID, &p.MemberUID, &p.Role, &p.WorkspaceID, &p.WorkspaceUID, &p.WorkspaceName, &p.Plan)
	return s, notFound(err)
}

func TouchConsoleSession(ctx context.Context, q Querier, id, now int64) error {
	_, err := q.execContext(ctx, `UPDATE console_sessions SET last_seen_at = $2 WHERE id = $1`, id, now)
	return unable(err, "touch console session %v", id)
}

func DeleteConsoleSession(ctx context.Context, q Querier, tokenHash string) error {
	_, err := q.execContext(ctx, `DELETE FROM console_sessions WHERE token_hash = $1`, tokenHash)
	return unable(err, "delete console session")
}

// DeleteMemberSessions signs a member out everywhere (password changed).
func DeleteMemberSessions(ctx context.Context, q Querier, memberID int64) error {
	_, err := q.execContext(ctx, `DELETE FROM console_sessions WHERE member_id = $1`, memberID)
	return unable(err, "delete member sessions")
}

// DeleteExpiredConsoleSessions drops sessions past their end or idle since before idleBefore.
func DeleteExpiredConsoleSessions(ctx context.Context, q Querier, now, idleBefore int64) error {
	_, err := q.execContext(ctx, `DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at < $2`, now, idleBefore)
	return unable(err, "delete expired console sessions")
}

// MemberLogin is a member that may sign in with an email, with its hash.
type MemberLogin struct {
	Member       model.Member
	PasswordHash string
}

// MembersByEmail lists the members holding an email, in every workspace
// (one person may belong to several), oldest first.
func MembersByEmail(ctx context.Context, q Querier, email string) ([]MemberLogin, error) {
	out, err := queryAll(ctx, q, func(row scanner) (MemberLogin, error) {
		var ml MemberLogin
		m, err := scanMember(withExtra{row: row, extra: &ml.PasswordHash})
		ml.Member = m
		return ml, err
	}, `SELECT `+memberCols+`, password_hash FROM members WHERE email = $1 ORDER BY id`, email)
	return out, unable(err, "read the members with an email")
}

// MemberByID reads a member whatever its workspace (for password links,
// whose token already names the member).
func MemberByID(ctx context.Context, q Querier, id int64) (model.Member, error) {
	return scanMember(q.queryRowContext(ctx, `SELECT `+memberCols+` FROM members WHERE id = $1`, id))
}

func SetMemberPassword(ctx context.Context, q Querier, memberID int64, hash string) error {
	_, err := q.execContext(ctx, `UPDATE members SET password_hash = $2, updated_at = $3 WHERE id = $1`, memberID, hash, Now())
	return unable(err, "set member password")
}

func InsertPasswordLink(ctx context.Context, q Querier, tokenHash string, memberID, expires int64) error {
	_, err := q.execContext(ctx, `
		INSERT INTO password_links (token_hash, member_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
		tokenHash, memberID, expires, Now())
	return unable(err, "insert password link")
}

// PasswordLinkMember finds the member of an unused, unexpired link.
func PasswordLinkMember(ctx context.Context, q Querier, tokenHash string, now int64) (int64, error) {
	var id int64
	err := q.queryRowContext(ctx, `SELECT member_id FROM password_links
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, tokenHash, now).Scan(&id)
	return id, notFound(err)
}

// ClaimPasswordLink marks a link used; a second claim finds nothing, even
// under concurrency (the WHERE clause decides).
func ClaimPasswordLink(ctx context.Context, q Querier, tokenHash string, now int64) (int64, error) {
	var id int64
	err := q.queryRowContext(ctx, `UPDATE password_links SET used_at = $2
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING member_id`, tokenHash, now).Scan(&id)
	return id, notFound(err)
}

// RunActivityRow is one group of a workspace's recent runs.
type RunActivityRow struct {
	Day         int64 // days since the Unix epoch (UTC)
	Action      string
	Status      string
	Runs        int64
	Millicredit int64
}

// RunActivity groups a workspace's runs created in [since, until) (ms) by UTC
// day, action and status (the runs_workspace_activity index covers it).
// until (ms, exclusive) is 0 for no upper bound.
func RunActivity(ctx context.Context, q Querier, workspaceID, since, until int64) ([]RunActivityRow, error) {
	if until == 0 {
		until = 1 << 62
	}
	out, err := queryAll(ctx, q, func(row scanner) (RunActivityRow, error) {
		var r RunActivityRow
		err := row.Scan(&r.Day, &r.Action, &r.Status, &r.Runs, &r.Millicredit)
		return r, err
	}, `
		SELECT created_at / 86400000, action_name, status, COUNT(*), COALESCE(SUM(credits_used), 0)
		FROM runs WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
		GROUP BY created_at / 86400000, action_name, status`, workspaceID, since, until)
	return out, unable(err, "read the run activity of workspace %d", workspaceID)
}

// IntegrationHealth counts a workspace's own (not managed) identities by
// the status of their integrations; an identity with none counts as "NONE".
func IntegrationHealth(ctx context.Context, q Querier, workspaceID int64) (map[string]int64, error) {
	out := map[string]int64{}
	err := queryEach(ctx, q, func(row scanner) error {
		var s string
		var n int64
		err := row.Scan(&s, &n)
		out[s] = n
		return err
	}, `
		SELECT COALESCE(g.status, 'NONE'), COUNT(*)
		FROM identities i LEFT JOIN integrations g ON g.identity_id = i.id
		WHERE i.workspace_id = $1 AND i.managed = FALSE
		GROUP BY COALESCE(g.status, 'NONE')`, workspaceID)
	if err != nil {
		return nil, unable(err, "read the integration health of workspace %d", workspaceID)
	}
	return out, nil
}
