-- +goose Up
-- Per-family concurrency limits across nodes (FIRSTMATE_PLATFORM_<FAMILY>_CONCURRENCY):
-- each node leases a number of a family's slots, renewed every second and
-- lapsing a few seconds after its node stops renewing (a dead node's slots
-- come back by themselves). The sum of the live leases never exceeds the
-- limit; wanted lets the nodes share a contended limit evenly.
CREATE TABLE family_leases (
    family     TEXT   NOT NULL,
    node       TEXT   NOT NULL,
    slots      BIGINT NOT NULL,
    wanted     BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (family, node)
);

-- +goose Down
DROP TABLE family_leases;
