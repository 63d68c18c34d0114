-- +goose Up
-- PostgreSQL's 00045 replaces the row-level run_slots triggers with
-- statement-level ones (one += n per statement). SQLite has row-level
-- triggers only, and there updating the same row many times in one
-- transaction is cheap (the page is changed in place; no version chain), so
-- the triggers of 00044 stay. This file keeps the versions of both
-- databases in step.
SELECT 1;

-- +goose Down
SELECT 1;
