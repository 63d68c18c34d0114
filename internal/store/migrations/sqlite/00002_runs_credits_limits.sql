-- +goose Up
ALTER TABLE identities ADD COLUMN limit_overrides TEXT NOT NULL DEFAULT '{}';
ALTER TABLE workspaces ADD COLUMN operator_pool BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE runs (
    id                INTEGER PRIMARY KEY,
    uid               TEXT    NOT NULL UNIQUE,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    member_uid        TEXT    NOT NULL,
    action_name       TEXT    NOT NULL,
    execution_mode    TEXT    NOT NULL CHECK (execution_mode IN ('LIVE', 'ASYNC')),
    status            TEXT    NOT NULL,
    identity_mode     TEXT    NOT NULL DEFAULT 'direct',
    identity_uids     TEXT    NOT NULL DEFAULT '[]',
    parameters        TEXT    NOT NULL DEFAULT '{}',
    callback_url      TEXT    NOT NULL DEFAULT '',
    callback_on       TEXT    NOT NULL DEFAULT '',
    -- Callback headers may carry the client's own secrets: sealed like credentials.
    callback_headers_kid TEXT NOT NULL DEFAULT '',
    callback_headers  BLOB,
    input_count       INTEGER NOT NULL DEFAULT 0,
    output_count      INTEGER NOT NULL DEFAULT 0,
    failed_count      INTEGER NOT NULL DEFAULT 0,
    retry_count       INTEGER NOT NULL DEFAULT 0,
    credits_used      INTEGER NOT NULL DEFAULT 0, -- millicredits
    last_error        TEXT    NOT NULL DEFAULT '',
    postponed_until   INTEGER,
    scheduled_run_uid TEXT    NOT NULL DEFAULT '',
    idempotency_key   TEXT,
    started_at        INTEGER,
    finished_at       INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);
CREATE INDEX runs_workspace_created ON runs (workspace_id, created_at);
CREATE INDEX runs_status ON runs (status);

-- Credits are counted in millicredits so that 1.5x stays exact.
CREATE TABLE credit_balances (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL,
    used         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, period_start)
);

-- One row per charge; charge_key makes a repeated charge (a worker that runs
-- twice) a no-op.
CREATE TABLE credit_charges (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL,
    charge_key   TEXT    NOT NULL UNIQUE,
    run_uid      TEXT    NOT NULL DEFAULT '',
    action_slug  TEXT    NOT NULL,
    results      INTEGER NOT NULL,
    amount       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX credit_charges_period ON credit_charges (workspace_id, period_start);

-- Smart Limit consumption: one row per consumption, counted over sliding windows.
CREATE TABLE limit_events (
    id          INTEGER PRIMARY KEY,
    identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    key         TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX limit_events_window ON limit_events (identity_id, key, at);

-- +goose Down
DROP TABLE limit_events;
DROP TABLE credit_charges;
DROP TABLE credit_balances;
DROP TABLE runs;
