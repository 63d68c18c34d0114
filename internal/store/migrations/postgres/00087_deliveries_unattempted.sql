-- +goose Up
-- A run's final callback waits until every batch callback of the run has
-- had its first attempt (contract §7): the run's deliveries still PENDING
-- (none of their attempts has finished) are looked up by run, and there are
-- few of them at any time, so the index keeps those only.
CREATE INDEX deliveries_unattempted ON deliveries (run_id) WHERE status = 'PENDING';

-- +goose Down
DROP INDEX deliveries_unattempted;
