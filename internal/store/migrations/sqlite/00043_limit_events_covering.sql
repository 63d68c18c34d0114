-- +goose Up
-- Every call that consumes a Smart Limit sums n over the identity's window
-- (limits.room), inside the write transaction. With n in the index the sum
-- reads the index alone instead of one table row per event: 1.66 ms -> 0.37
-- ms for a 2,000-event window on SQLite. Found by bench/livebench.
DROP INDEX limit_events_window;
CREATE INDEX limit_events_window ON limit_events (identity_id, key, at, n);

-- +goose Down
DROP INDEX limit_events_window;
CREATE INDEX limit_events_window ON limit_events (identity_id, key, at);
