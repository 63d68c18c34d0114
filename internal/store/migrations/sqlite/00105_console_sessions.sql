-- +goose Up
-- The embedded console's sign-in sessions. The cookie holds a random token;
-- only its SHA-256 is stored, with the session's CSRF token. A session dies
-- when idle (last_seen_at), at its absolute end (expires_at), on logout, or
-- with its member (cascade).
CREATE TABLE console_sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    csrf         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX console_sessions_member ON console_sessions (member_id);

-- One-time links that set a member's console password: printed at the
-- first start for the demo owner, or issued by an owner ("forgot password").
CREATE TABLE password_links (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX password_links_member ON password_links (member_id);

-- The overview's charts group a workspace's recent runs by day, status and
-- action: this index answers them without touching the table.
CREATE INDEX runs_workspace_activity ON runs (workspace_id, created_at, status, action_name, credits_used);

-- +goose Down
DROP INDEX runs_workspace_activity;
DROP TABLE password_links;
DROP TABLE console_sessions;
