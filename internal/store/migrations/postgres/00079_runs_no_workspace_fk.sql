-- +goose Up
-- runs.workspace_id's foreign key checked every inserted run with a query of
-- its own and a share lock on the workspace's row, which every concurrent
-- live batch of the workspace then locks too: ~0.1 ms per run, and 0.2-0.3
-- ms of a lone live call's latency (bench/RESULTS.md). Runs are only
-- inserted for the workspace of an authenticated key, and no code path
-- deletes a workspace. What the key still gave is its cascade, which a
-- statement trigger on workspaces keeps: deleting a workspace deletes its
-- runs (and, by their own keys, the runs' inputs, outputs and deliveries).
ALTER TABLE runs DROP CONSTRAINT runs_workspace_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION workspaces_delete_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM runs WHERE workspace_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER workspaces_delete_runs AFTER DELETE ON workspaces REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION workspaces_delete_runs();

-- +goose Down
DROP TRIGGER workspaces_delete_runs ON workspaces;
DROP FUNCTION workspaces_delete_runs();
DELETE FROM runs WHERE workspace_id NOT IN (SELECT id FROM workspaces);
ALTER TABLE runs ADD CONSTRAINT runs_workspace_id_fkey
    FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE;
