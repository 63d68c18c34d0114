-- +goose Up
-- run_slots.running is the number of a workspace's ASYNC runs in status
-- RUNNING: the concurrency slots in use. Admission (internal/runs) reads it
-- under a row lock instead of locking the workspace row and counting RUNNING
-- runs, which cost O(running runs) on every submission and every completion
-- and conflicted with the KEY SHARE lock every insert referencing the
-- workspace takes (runs, deliveries, charges).
--
-- The triggers below keep it exact on every path that moves a run in or out
-- of RUNNING (admission, finish, block, cancel, the stranded-run sweep,
-- deletion, a manual UPDATE), so no Go code has to remember to. The row
-- lock the UPDATE takes is what serialises two admissions in one
-- workspace; admission takes it first with SELECT ... FOR UPDATE.
CREATE TABLE run_slots (
    workspace_id BIGINT NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    running      BIGINT NOT NULL DEFAULT 0
);
INSERT INTO run_slots (workspace_id, running)
SELECT w.id, (SELECT COUNT(*) FROM runs r WHERE r.workspace_id = w.id AND r.execution_mode = 'ASYNC' AND r.status = 'RUNNING')
FROM workspaces w;

-- +goose StatementBegin
CREATE FUNCTION run_slots_new_workspace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_slots (workspace_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER workspaces_run_slots AFTER INSERT ON workspaces FOR EACH ROW EXECUTE FUNCTION run_slots_new_workspace();

-- +goose StatementBegin
CREATE FUNCTION run_slots_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.status = 'RUNNING') THEN
        UPDATE run_slots SET running = running + 1 WHERE workspace_id = NEW.workspace_id;
    ELSE
        UPDATE run_slots SET running = running - 1 WHERE workspace_id = OLD.workspace_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- The WHEN clauses are evaluated without calling the function, so the other
-- updates of a run (progress, postponement) cost nothing here.
CREATE TRIGGER runs_slots_insert AFTER INSERT ON runs FOR EACH ROW
    WHEN (NEW.status = 'RUNNING' AND NEW.execution_mode = 'ASYNC') EXECUTE FUNCTION run_slots_count();
CREATE TRIGGER runs_slots_update AFTER UPDATE OF status ON runs FOR EACH ROW
    WHEN ((OLD.status = 'RUNNING') <> (NEW.status = 'RUNNING') AND NEW.execution_mode = 'ASYNC') EXECUTE FUNCTION run_slots_count();
CREATE TRIGGER runs_slots_delete AFTER DELETE ON runs FOR EACH ROW
    WHEN (OLD.status = 'RUNNING' AND OLD.execution_mode = 'ASYNC') EXECUTE FUNCTION run_slots_count();

-- Promotion takes a workspace's oldest QUEUED run: without this index
-- PostgreSQL sorts every QUEUED run (runs_status is on status alone), and a
-- burst of 10,000 schedule firings on a 1,000-run cap queues 9,000.
CREATE INDEX runs_queued ON runs (workspace_id, id) WHERE status = 'QUEUED' AND execution_mode = 'ASYNC';

-- +goose Down
DROP INDEX runs_queued;
DROP TRIGGER runs_slots_delete ON runs;
DROP TRIGGER runs_slots_update ON runs;
DROP TRIGGER runs_slots_insert ON runs;
DROP FUNCTION run_slots_count();
DROP TRIGGER workspaces_run_slots ON workspaces;
DROP FUNCTION run_slots_new_workspace();
DROP TABLE run_slots;
