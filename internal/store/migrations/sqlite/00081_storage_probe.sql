-- +goose Up
-- /readyz writes this one row, at most once a second, to tell whether the
-- database still takes writes (a full disk, a dead server).
CREATE TABLE storage_probe (
    id         INTEGER PRIMARY KEY,
    checked_at BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE storage_probe;
