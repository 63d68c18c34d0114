-- +goose Up
-- Dedicated egress proxies ("unique IP"). The pool itself is configuration
-- (FIRSTMATE_PROXY_POOL / FIRSTMATE_PROXY_POOL_FILE); this table mirrors it so
-- that assignments and health are shared by every node. It holds no
-- credentials: a proxy is known by a fingerprint of scheme, user and
-- host:port (so rotating a password keeps the assignments), and shown by its
-- host:port only.
CREATE TABLE proxies (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint  TEXT    NOT NULL UNIQUE,
    country      TEXT    NOT NULL,
    endpoint     TEXT    NOT NULL,
    -- active: present in the configuration of the node that synced last.
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    healthy      BOOLEAN NOT NULL DEFAULT TRUE,
    unhealthy_at BIGINT,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

-- One row per assignment. Both columns are UNIQUE: a proxy serves at most
-- one identity and an identity has at most one proxy, whatever the code
-- above does. Deleting the identity releases its proxy by cascade.
CREATE TABLE proxy_assignments (
    proxy_id    BIGINT  NOT NULL PRIMARY KEY REFERENCES proxies (id) ON DELETE CASCADE,
    identity_id BIGINT  NOT NULL UNIQUE REFERENCES identities (id) ON DELETE CASCADE,
    assigned_at BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE proxy_assignments;
DROP TABLE proxies;
