-- +goose Up
-- The console's run list filters a workspace's runs by status, newest
-- first; without this index a rare status walks every run of the workspace.
CREATE INDEX runs_workspace_status ON runs (workspace_id, status, created_at);

-- +goose Down
DROP INDEX runs_workspace_status;
