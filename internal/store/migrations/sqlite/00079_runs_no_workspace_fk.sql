-- +goose Up
-- PostgreSQL's 00079 replaces runs.workspace_id's foreign key with a
-- trigger on workspaces, because the key cost a query and a row lock per
-- run there. SQLite checks it with one index lookup in the same process,
-- and dropping it would mean rebuilding the runs table: it stays.
SELECT 1;

-- +goose Down
SELECT 1;
