-- +goose Up
-- A live call's charge is kept on its run row: credits_used and output_count
-- are what was paid, and charge_period names the balance period it was paid
-- from. Each live call used to write a credit_charges row too, with its two
-- indexes: three of the eleven B-tree inserts of a live call, for a row that
-- repeated the run's (bench/RESULTS.md). Async charges stay in
-- credit_charges, one per chunk and key. NULL: the run's charges, if any,
-- are in credit_charges (every run recorded before this migration).
ALTER TABLE runs ADD COLUMN charge_period INTEGER;

-- +goose Down
-- Back to one credit_charges row per paid live call, under the key the
-- live path used then.
INSERT INTO credit_charges (workspace_id, period_start, charge_key, run_uid, action_slug, results, amount, created_at)
SELECT workspace_id, charge_period, 'live:' || uid, uid, action_name, output_count, credits_used, created_at
FROM runs WHERE charge_period IS NOT NULL;
ALTER TABLE runs DROP COLUMN charge_period;
