-- +goose Up
-- PostgreSQL's 00078 replaces limit_events' foreign key with a trigger on
-- identities, because the key cost a query per event there. SQLite checks
-- it with one index lookup in the same process, and dropping it would mean
-- rebuilding the table: it stays.
SELECT 1;

-- +goose Down
SELECT 1;
