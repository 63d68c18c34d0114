-- +goose Up
-- synced_at: when an async run last brought results back from the platform
-- (each recorded chunk sets it; NULL before the first). A live run's is its
-- finished_at when it succeeded, so live runs leave it NULL.
ALTER TABLE runs ADD COLUMN synced_at INTEGER;
-- request_hash: the fingerprint of the async submission that carried an
-- Idempotency-Key, so that reusing the key for another request is refused
-- (422 IDEMPOTENCY_KEY_REUSED). '' for runs without a key, and for keyed
-- runs stored before this migration (their requests are not known).
ALTER TABLE runs ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE runs DROP COLUMN request_hash;
ALTER TABLE runs DROP COLUMN synced_at;
