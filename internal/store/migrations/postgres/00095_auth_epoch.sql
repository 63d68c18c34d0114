-- +goose Up
-- auth_epoch counts changes to what an API key's principal holds (the key
-- revoked or deleted, the member's role changed or the member removed, the
-- workspace's plan or name changed or the workspace deleted). Every node
-- reads it a few times a second and empties its principal cache when it
-- moves (internal/store/authcache.go), so a key revoked on one node is
-- refused by every other within a second without each request reading its
-- key. Statement triggers: one bump per statement, in the statement's
-- transaction; these statements are rare, so the one row is no hot spot.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT  NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 1);

-- +goose StatementBegin
CREATE FUNCTION auth_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER api_keys_auth_epoch AFTER UPDATE OF revoked_at, hash, member_id, workspace_id OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER members_auth_epoch AFTER UPDATE OF role, uid, workspace_id OR DELETE ON members
    FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER workspaces_auth_epoch AFTER UPDATE OF plan, name, uid OR DELETE ON workspaces
    FOR EACH STATEMENT EXECUTE FUNCTION auth_epoch_bump();

-- +goose Down
DROP TRIGGER workspaces_auth_epoch ON workspaces;
DROP TRIGGER members_auth_epoch ON members;
DROP TRIGGER api_keys_auth_epoch ON api_keys;
DROP FUNCTION auth_epoch_bump();
DROP TABLE auth_epoch;
