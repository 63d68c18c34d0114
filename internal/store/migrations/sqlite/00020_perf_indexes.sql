-- +goose Up
-- Licence checks count a workspace's own identities on every creation.
CREATE INDEX identities_licences ON identities (workspace_id) WHERE NOT managed;

-- +goose Down
DROP INDEX identities_licences;
