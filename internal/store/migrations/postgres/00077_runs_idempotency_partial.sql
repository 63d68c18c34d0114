-- +goose Up
-- Only async submissions carry an idempotency key; live runs, most of the
-- rows, have none. The unique constraint indexed every run anyway, NULL
-- keys included: one index insert per live call for an entry no lookup
-- reads. The partial index enforces the same uniqueness (NULLs never
-- conflicted) and holds only the keyed runs. GetRunByIdempotencyKey's
-- "idempotency_key = $2" implies the predicate, so it still uses it.
ALTER TABLE runs DROP CONSTRAINT runs_workspace_id_idempotency_key_key;
CREATE UNIQUE INDEX runs_idempotency ON runs (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP INDEX runs_idempotency;
ALTER TABLE runs ADD CONSTRAINT runs_workspace_id_idempotency_key_key UNIQUE (workspace_id, idempotency_key);
