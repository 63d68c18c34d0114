-- +goose Up
-- run_slots.running (00044) was kept by row-level triggers: one UPDATE of
-- the workspace's run_slots row per run entering or leaving RUNNING. A batch
-- of schedule firings admits hundreds of runs in one transaction, and on
-- PostgreSQL each further update of a row the transaction already updated
-- walks the chain of its own earlier versions: 250 admissions cost 6-8 ms,
-- growing quadratically, all of it under the run_slots row lock that every
-- admission and every finishing run of the workspace waits for.
--
-- These statement-level triggers apply one += n per workspace per
-- statement from the transition tables instead. An UPDATE trigger with
-- transition tables cannot have a column list or a WHEN clause, so it runs
-- after every UPDATE of runs; it finds nothing to do unless a row moved in
-- or out of RUNNING, and then updates no row.
DROP TRIGGER runs_slots_insert ON runs;
DROP TRIGGER runs_slots_update ON runs;
DROP TRIGGER runs_slots_delete ON runs;

-- +goose StatementBegin
CREATE FUNCTION run_slots_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE run_slots s SET running = s.running + d.n
    FROM (SELECT workspace_id, COUNT(*) AS n FROM new_runs
          WHERE status = 'RUNNING' AND execution_mode = 'ASYNC' GROUP BY workspace_id) d
    WHERE s.workspace_id = d.workspace_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION run_slots_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE run_slots s SET running = s.running + d.n
    FROM (SELECT n.workspace_id, SUM(CASE WHEN n.status = 'RUNNING' THEN 1 ELSE -1 END) AS n
          FROM new_runs n JOIN old_runs o ON o.id = n.id
          WHERE (n.status = 'RUNNING') <> (o.status = 'RUNNING') AND n.execution_mode = 'ASYNC'
          GROUP BY n.workspace_id) d
    WHERE s.workspace_id = d.workspace_id AND d.n <> 0;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION run_slots_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE run_slots s SET running = s.running - d.n
    FROM (SELECT workspace_id, COUNT(*) AS n FROM old_runs
          WHERE status = 'RUNNING' AND execution_mode = 'ASYNC' GROUP BY workspace_id) d
    WHERE s.workspace_id = d.workspace_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER runs_slots_insert AFTER INSERT ON runs REFERENCING NEW TABLE AS new_runs
    FOR EACH STATEMENT EXECUTE FUNCTION run_slots_count_insert();
CREATE TRIGGER runs_slots_update AFTER UPDATE ON runs REFERENCING OLD TABLE AS old_runs NEW TABLE AS new_runs
    FOR EACH STATEMENT EXECUTE FUNCTION run_slots_count_update();
CREATE TRIGGER runs_slots_delete AFTER DELETE ON runs REFERENCING OLD TABLE AS old_runs
    FOR EACH STATEMENT EXECUTE FUNCTION run_slots_count_delete();

-- +goose Down
DROP TRIGGER runs_slots_delete ON runs;
DROP TRIGGER runs_slots_update ON runs;
DROP TRIGGER runs_slots_insert ON runs;
DROP FUNCTION run_slots_count_delete();
DROP FUNCTION run_slots_count_update();
DROP FUNCTION run_slots_count_insert();
CREATE TRIGGER runs_slots_insert AFTER INSERT ON runs FOR EACH ROW
    WHEN (NEW.status = 'RUNNING' AND NEW.execution_mode = 'ASYNC') EXECUTE FUNCTION run_slots_count();
CREATE TRIGGER runs_slots_update AFTER UPDATE OF status ON runs FOR EACH ROW
    WHEN ((OLD.status = 'RUNNING') <> (NEW.status = 'RUNNING') AND NEW.execution_mode = 'ASYNC') EXECUTE FUNCTION run_slots_count();
CREATE TRIGGER runs_slots_delete AFTER DELETE ON runs FOR EACH ROW
    WHEN (OLD.status = 'RUNNING' AND OLD.execution_mode = 'ASYNC') EXECUTE FUNCTION run_slots_count();
