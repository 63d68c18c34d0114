-- +goose Up
-- Async execution: inputs are stored with their run, worked in chunks; each
-- input's results form a batch, delivered as one callback.
ALTER TABLE runs ADD COLUMN pending_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN chunk_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE run_inputs (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    chunk        INTEGER NOT NULL,
    input        TEXT    NOT NULL,
    custom_data  TEXT,
    status       TEXT    NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'FAILED')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    result_count INTEGER NOT NULL DEFAULT 0,
    error        TEXT    NOT NULL DEFAULT '',
    batch_uid    TEXT    NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL,
    UNIQUE (run_id, idx)
);
CREATE INDEX run_inputs_chunk ON run_inputs (run_id, chunk, status);

CREATE TABLE run_outputs (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    input_idx  INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    batch_uid  TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (run_id, input_idx, seq)
);

-- Outbound deliveries: run callbacks and integration webhooks. A retry keeps
-- its row (retry_count); a replay is a child row with parent_uid and the same
-- ref_uid (callback_ref_uid / webhook-id).
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    uid             TEXT    NOT NULL UNIQUE,
    parent_uid      TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL CHECK (kind IN ('callback', 'webhook')),
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id          INTEGER REFERENCES runs (id) ON DELETE CASCADE,
    batch_uid       TEXT    NOT NULL DEFAULT '',
    ref_uid         TEXT    NOT NULL,
    event           TEXT    NOT NULL DEFAULT '',
    url             TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'FAILED', 'SUCCESS')),
    http_status     INTEGER,
    retry_count     INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- One original delivery per batch: a worker that runs twice creates none twice.
CREATE UNIQUE INDEX deliveries_original ON deliveries (ref_uid) WHERE parent_uid = '';
CREATE INDEX deliveries_workspace ON deliveries (workspace_id, kind, created_at);
CREATE INDEX deliveries_run ON deliveries (run_id);

CREATE TABLE schedules (
    id                   INTEGER PRIMARY KEY,
    uid                  TEXT    NOT NULL UNIQUE,
    workspace_id         INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    member_uid           TEXT    NOT NULL,
    name                 TEXT    NOT NULL DEFAULT '',
    action_name          TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'CANCELLED', 'COMPLETED')),
    cron                 TEXT    NOT NULL DEFAULT '',
    timezone             TEXT    NOT NULL DEFAULT 'UTC',
    schedule_at          INTEGER,
    next_execution_at    INTEGER,
    last_executed_at     INTEGER,
    last_run_uid         TEXT    NOT NULL DEFAULT '',
    request              TEXT    NOT NULL,
    callback_headers_kid TEXT    NOT NULL DEFAULT '',
    callback_headers     BLOB,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX schedules_due ON schedules (status, next_execution_at);
CREATE INDEX schedules_workspace ON schedules (workspace_id, created_at);
CREATE INDEX runs_scheduled ON runs (scheduled_run_uid);

-- +goose Down
DROP TABLE schedules;
DROP TABLE deliveries;
DROP TABLE run_outputs;
DROP TABLE run_inputs;
