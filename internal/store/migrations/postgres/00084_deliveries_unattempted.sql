-- +goose Up
-- A run's final callback waits until every batch callback of the run has
-- had its first attempt (contract §7): the run's deliveries still PENDING
-- (none of their attempts has finished) are looked up by run, and there are
-- few of them at any time, so the index keeps those only.
CREATE INDEX deliveries_unattempted ON deliveries (run_id) WHERE status = 'PENDING';

-- Statuses now say how the last attempt went: a delivery that failed and
-- waits for its next attempt is FAILED with next_attempt_at (it was PENDING),
-- and retry_count counts the attempts after the first (it counted the failed
-- ones). Final failures first, so that no row is counted down twice.
UPDATE deliveries SET retry_count = retry_count - 1 WHERE status = 'FAILED' AND retry_count > 0;
UPDATE deliveries SET status = 'FAILED', retry_count = retry_count - 1 WHERE status = 'PENDING' AND retry_count > 0;

-- +goose Down
UPDATE deliveries SET status = 'PENDING', retry_count = retry_count + 1 WHERE status = 'FAILED' AND next_attempt_at IS NOT NULL;
UPDATE deliveries SET retry_count = retry_count + 1 WHERE status = 'FAILED' AND next_attempt_at IS NULL AND http_status IS NOT NULL;
DROP INDEX deliveries_unattempted;
