-- +goose Up
-- auth_epoch counts changes to what an API key's principal holds; see the
-- PostgreSQL migration of the same number. On SQLite it lets a server see a
-- key revoked or a member demoted by the CLI (another process writing the
-- same file) within a second, without each request reading its key.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 1);

-- +goose StatementBegin
CREATE TRIGGER api_keys_auth_epoch_update AFTER UPDATE OF revoked_at, hash, member_id, workspace_id ON api_keys
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER api_keys_auth_epoch_delete AFTER DELETE ON api_keys
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER members_auth_epoch_update AFTER UPDATE OF role, uid, workspace_id ON members
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER members_auth_epoch_delete AFTER DELETE ON members
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER workspaces_auth_epoch_update AFTER UPDATE OF plan, name, uid ON workspaces
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER workspaces_auth_epoch_delete AFTER DELETE ON workspaces
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER workspaces_auth_epoch_delete;
DROP TRIGGER workspaces_auth_epoch_update;
DROP TRIGGER members_auth_epoch_delete;
DROP TRIGGER members_auth_epoch_update;
DROP TRIGGER api_keys_auth_epoch_delete;
DROP TRIGGER api_keys_auth_epoch_update;
DROP TABLE auth_epoch;
