-- +goose Up
-- One encryption keyring per deployment (issue 14 §22): the check of every
-- key that has opened this database (HMAC-SHA256 of a constant under the
-- key), so that a node or a command given another key, or none, refuses to
-- start instead of sealing secrets nobody else can open. activated_at is
-- when the key first sealed new secrets (was first in a keyring).
CREATE TABLE key_checks (
    kid          TEXT   NOT NULL PRIMARY KEY,
    mac          TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT
);

-- +goose Down
DROP TABLE key_checks;
