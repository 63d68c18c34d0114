-- +goose Up
-- Login links can be revoked (issue 14 §21): a new link, or the account
-- connected, revokes the identity's earlier links, and
-- DELETE /identities/{uid}/login-links revokes them all. A revoked link
-- answers the hosted page's 410 like a used one.
ALTER TABLE login_links ADD COLUMN revoked_at BIGINT;

-- +goose Down
ALTER TABLE login_links DROP COLUMN revoked_at;
