-- +goose Up
-- Every run was written into two indexes that only a few runs need: one on
-- status, for counting a workspace's RUNNING async runs, and one on
-- scheduled_run_uid, which is '' for every run not fired by a schedule. A
-- live call pays for each index a run is written to, so both keep the runs
-- they serve only.
DROP INDEX runs_status;
CREATE INDEX runs_running ON runs (workspace_id) WHERE status = 'RUNNING' AND execution_mode = 'ASYNC';
DROP INDEX runs_scheduled;
CREATE INDEX runs_scheduled ON runs (scheduled_run_uid) WHERE scheduled_run_uid <> '';

-- +goose Down
DROP INDEX runs_scheduled;
CREATE INDEX runs_scheduled ON runs (scheduled_run_uid);
DROP INDEX runs_running;
CREATE INDEX runs_status ON runs (status);
