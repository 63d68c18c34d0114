-- +goose Up
-- Rentals of managed pool accounts (issue 5 §6): while a rental is active
-- (ended_at NULL) the pool account serves the renter's identity only, through
-- a SHARED integration (integration_uid); it is out of managed mode and of
-- other rentals. The partial unique index makes "one active rental per pool
-- account" hold under concurrent rents.
CREATE TABLE rentals (
    id               INTEGER PRIMARY KEY,
    uid              TEXT    NOT NULL UNIQUE,
    workspace_id     INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    identity_id      INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    pool_identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    platform         TEXT    NOT NULL,
    integration_uid  TEXT    NOT NULL,
    starts_at        INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL,
    ended_at         INTEGER
);
CREATE UNIQUE INDEX rentals_active_pool ON rentals (pool_identity_id) WHERE ended_at IS NULL;
CREATE UNIQUE INDEX rentals_active_identity ON rentals (identity_id, platform) WHERE ended_at IS NULL;
CREATE INDEX rentals_due ON rentals (ends_at) WHERE ended_at IS NULL;
CREATE INDEX rentals_workspace ON rentals (workspace_id, id);

-- +goose Down
DROP TABLE rentals;
