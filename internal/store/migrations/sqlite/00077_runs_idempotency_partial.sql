-- +goose Up
-- PostgreSQL's 00077 makes the runs' idempotency index partial (keyed runs
-- only). Here the index is the autoindex of the table's inline UNIQUE
-- constraint, which only rebuilding the runs table (and the tables that
-- reference it) could change; its entries for live runs (NULL keys) all
-- append to one leaf, so SQLite keeps it.
SELECT 1;

-- +goose Down
SELECT 1;
