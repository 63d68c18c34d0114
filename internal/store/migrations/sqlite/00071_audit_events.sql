-- +goose Up
-- The audit log (issue 5 §9): one row per successful change made by a member
-- or an API key, written by the API router after a 2xx mutation. detail is a
-- small JSON object that never holds a secret value.
CREATE TABLE audit_events (
    id               INTEGER PRIMARY KEY,
    uid              TEXT    NOT NULL UNIQUE,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_member_uid TEXT    NOT NULL DEFAULT '',
    actor_key_uid    TEXT    NOT NULL DEFAULT '',
    actor_key_prefix TEXT    NOT NULL DEFAULT '',
    action           TEXT    NOT NULL,
    target_type      TEXT    NOT NULL,
    target_uid       TEXT    NOT NULL DEFAULT '',
    detail           TEXT    NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL
);
CREATE INDEX audit_events_workspace ON audit_events (workspace_id, created_at, id);

-- +goose Down
DROP TABLE audit_events;
