-- +goose Up
-- Safety rails of the MCP endpoint (issue 21). agent_policies holds one row
-- per workspace (key_uid '') and at most one per API key: NULL inherits,
-- 0/1 set. The workspace is the ceiling: a key's row can only make it
-- stricter (internal/agents).
CREATE TABLE agent_policies (
    workspace_id         INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key_uid              TEXT    NOT NULL DEFAULT '',
    outreach             INTEGER,
    approval             INTEGER,
    approval_ttl_seconds INTEGER,
    updated_at           INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, key_uid)
);

-- An outreach call an agent made under approval mode, waiting for a member
-- (or decided, expired, executed). request is the live body as the agent
-- sent it (never a secret: action inputs and parameters).
CREATE TABLE agent_approvals (
    id           INTEGER PRIMARY KEY,
    uid          TEXT    NOT NULL UNIQUE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key_uid      TEXT    NOT NULL,
    member_uid   TEXT    NOT NULL,
    tool         TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    request      TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    decided_by   TEXT    NOT NULL DEFAULT '',
    run_uid      TEXT    NOT NULL DEFAULT '',
    result       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX agent_approvals_workspace ON agent_approvals (workspace_id, status, created_at);

-- +goose Down
DROP TABLE agent_approvals;
DROP TABLE agent_policies;
