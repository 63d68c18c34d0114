-- +goose Up
-- Licence checks count a workspace's own identities on every creation.
CREATE INDEX identities_licences ON identities (workspace_id) WHERE NOT managed;
-- API rate-limit windows are rewritten on every request and worthless after
-- a crash: skip the write-ahead log for them.
ALTER TABLE rate_windows SET UNLOGGED;

-- +goose Down
ALTER TABLE rate_windows SET LOGGED;
DROP INDEX identities_licences;
