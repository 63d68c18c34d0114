-- +goose Up
-- Engagement identities are billed by the most that were active at once in
-- a credit period: one row per workspace and period, raised whenever an
-- engagement identity is created or deleted (identity.Service).
CREATE TABLE engagement_peaks (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    period_start INTEGER NOT NULL, -- unix ms, the workspace's credit period start
    peak         INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, period_start)
);

-- +goose Down
DROP TABLE engagement_peaks;
