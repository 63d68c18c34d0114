-- +goose Up
-- A call usually consumes several Smart Limit keys of one identity at once
-- (an extraction is both a visit and an enrichment). Keyed (identity, key,
-- at), its events landed on one index leaf per key, and each such leaf is a
-- page the commit writes: on SQLite the window index was ~60 % of the WAL
-- frames of a live batch (bench/RESULTS.md). Keyed (identity, at, key), one
-- call's events are neighbours, and an identity's new events share its
-- rightmost leaf. A window sum still seeks the identity and the window's
-- start, then reads the index alone and skips the other keys' entries.
DROP INDEX limit_events_window;
CREATE INDEX limit_events_window ON limit_events (identity_id, at, key, n);

-- +goose Down
DROP INDEX limit_events_window;
CREATE INDEX limit_events_window ON limit_events (identity_id, key, at, n);
