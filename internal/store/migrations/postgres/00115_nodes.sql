-- +goose Up
-- Each serving node's heartbeat (package jobs, nodes.go): a node whose
-- heartbeat is older than FIRSTMATE_NODE_DEAD_AFTER is dead, and the jobs it
-- held and River's leadership are taken over at once instead of after
-- River's own timeouts. id is the node's River client id (river_job's
-- attempted_by, river_leader's leader_id); times are the database's clock
-- in unix milliseconds, so that nodes' clocks do not matter. Additive: older
-- nodes ignore it (their jobs are rescued by time, as before).
CREATE TABLE nodes (
    id           TEXT   PRIMARY KEY,
    host         TEXT   NOT NULL DEFAULT '',
    version      TEXT   NOT NULL DEFAULT '',
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE nodes;
