-- +goose Up
-- PostgreSQL's 00078 drops limit_events' foreign key, which cost a query
-- per event there. SQLite checks it with one index lookup in the same
-- process, and dropping it would mean rebuilding the table: it stays.
SELECT 1;

-- +goose Down
SELECT 1;
