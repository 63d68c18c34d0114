-- +goose Up
-- Times are unix milliseconds (INTEGER) on both databases: one comparison
-- semantics, one scanning path, no driver-specific time formats.
CREATE TABLE workspaces (
    id                 INTEGER PRIMARY KEY,
    uid                TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL,
    plan               TEXT    NOT NULL,
    webhook_url        TEXT    NOT NULL DEFAULT '',
    logo_url           TEXT    NOT NULL DEFAULT '',
    signing_secret_kid TEXT    NOT NULL,
    signing_secret     BLOB    NOT NULL,
    engagement_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    auto_resume        BOOLEAN NOT NULL DEFAULT FALSE,
    limit_overrides    TEXT    NOT NULL DEFAULT '{}',
    period_start       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE members (
    id            INTEGER PRIMARY KEY,
    uid           TEXT    NOT NULL UNIQUE,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'ops', 'user')),
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
);

CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    uid          TEXT    NOT NULL UNIQUE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'ops', 'user')),
    token_hash   TEXT    NOT NULL UNIQUE,
    invited_by   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    created_at   INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    uid          TEXT    NOT NULL UNIQUE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL DEFAULT '',
    prefix       TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_member ON api_keys (member_id);

CREATE TABLE identities (
    id           INTEGER PRIMARY KEY,
    uid          TEXT    NOT NULL UNIQUE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    timezone     TEXT    NOT NULL,
    type         TEXT    NOT NULL CHECK (type IN ('standard', 'engagement')),
    managed      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX identities_workspace ON identities (workspace_id, id);

CREATE TABLE login_links (
    id          INTEGER PRIMARY KEY,
    identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    platform    TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX login_links_identity ON login_links (identity_id);

CREATE TABLE integrations (
    id                 INTEGER PRIMARY KEY,
    uid                TEXT    NOT NULL UNIQUE,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    identity_id        INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    platform           TEXT    NOT NULL,
    name               TEXT    NOT NULL DEFAULT '',
    permalink          TEXT    NOT NULL DEFAULT '',
    auth_type          TEXT    NOT NULL,
    setup_source       TEXT    NOT NULL,
    is_shared          BOOLEAN NOT NULL DEFAULT FALSE,
    level              TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL,
    checkpoint         TEXT    NOT NULL DEFAULT '',
    error              TEXT    NOT NULL DEFAULT '',
    meta               TEXT    NOT NULL DEFAULT '{}',
    secret_kid         TEXT    NOT NULL,
    secret             BLOB    NOT NULL,
    first_connected_at INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (identity_id, platform)
);
CREATE INDEX integrations_workspace ON integrations (workspace_id, status);

-- Fixed one-second and one-minute windows per workspace and route group. Used
-- when several nodes share the database; a single SQLite node counts in memory.
CREATE TABLE rate_windows (
    workspace_id INTEGER NOT NULL,
    grp          TEXT    NOT NULL,
    sec_start    INTEGER NOT NULL,
    sec_count    INTEGER NOT NULL,
    min_start    INTEGER NOT NULL,
    min_count    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, grp)
);

-- +goose Down
DROP TABLE rate_windows;
DROP TABLE integrations;
DROP TABLE login_links;
DROP TABLE identities;
DROP TABLE api_keys;
DROP TABLE invitations;
DROP TABLE members;
DROP TABLE workspaces;
