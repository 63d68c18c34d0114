-- +goose Up
-- run_slots.running is the number of a workspace's ASYNC runs in status
-- RUNNING: the concurrency slots in use. Admission (internal/runs) reads it
-- instead of counting RUNNING runs, which cost O(running runs) on every
-- submission and every completion.
--
-- The triggers below keep it exact on every path that moves a run in or out
-- of RUNNING (admission, finish, block, cancel, the stranded-run sweep,
-- deletion, a manual UPDATE), so no Go code has to remember to. SQLite has
-- one writer at a time, so reading it inside the write transaction is exact.
CREATE TABLE run_slots (
    workspace_id INTEGER NOT NULL PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    running      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO run_slots (workspace_id, running)
SELECT w.id, (SELECT COUNT(*) FROM runs r WHERE r.workspace_id = w.id AND r.execution_mode = 'ASYNC' AND r.status = 'RUNNING')
FROM workspaces w;

-- +goose StatementBegin
CREATE TRIGGER workspaces_run_slots AFTER INSERT ON workspaces FOR EACH ROW
BEGIN
    INSERT INTO run_slots (workspace_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER runs_slots_insert AFTER INSERT ON runs FOR EACH ROW
    WHEN NEW.status = 'RUNNING' AND NEW.execution_mode = 'ASYNC'
BEGIN
    UPDATE run_slots SET running = running + 1 WHERE workspace_id = NEW.workspace_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER runs_slots_update AFTER UPDATE OF status ON runs FOR EACH ROW
    WHEN (OLD.status = 'RUNNING') <> (NEW.status = 'RUNNING') AND NEW.execution_mode = 'ASYNC'
BEGIN
    UPDATE run_slots SET running = running + (CASE WHEN NEW.status = 'RUNNING' THEN 1 ELSE -1 END)
    WHERE workspace_id = NEW.workspace_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER runs_slots_delete AFTER DELETE ON runs FOR EACH ROW
    WHEN OLD.status = 'RUNNING' AND OLD.execution_mode = 'ASYNC'
BEGIN
    UPDATE run_slots SET running = running - 1 WHERE workspace_id = OLD.workspace_id;
END;
-- +goose StatementEnd

-- Promotion takes a workspace's oldest QUEUED run; a burst of 10,000
-- schedule firings on a 1,000-run cap queues 9,000.
CREATE INDEX runs_queued ON runs (workspace_id, id) WHERE status = 'QUEUED' AND execution_mode = 'ASYNC';

-- +goose Down
DROP INDEX runs_queued;
DROP TRIGGER runs_slots_delete;
DROP TRIGGER runs_slots_update;
DROP TRIGGER runs_slots_insert;
DROP TRIGGER workspaces_run_slots;
DROP TABLE run_slots;
