-- +goose Up
-- A chunk job reads its pending inputs with WHERE run_id, chunk, status ORDER
-- BY idx. Without idx in this index the planner (SQLite has no statistics, a
-- fresh PostgreSQL table has none yet) walks the UNIQUE (run_id, idx) index
-- instead and reads every input of the run for each chunk: O(inputs) per
-- chunk, O(inputs^2 / 25) per run. Found by bench/asyncbench.
DROP INDEX run_inputs_chunk;
CREATE INDEX run_inputs_chunk ON run_inputs (run_id, chunk, status, idx);

-- +goose Down
DROP INDEX run_inputs_chunk;
CREATE INDEX run_inputs_chunk ON run_inputs (run_id, chunk, status);
