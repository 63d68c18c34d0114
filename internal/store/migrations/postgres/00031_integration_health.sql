-- +goose Up
-- Integration health checks: when the platform last confirmed a VALID
-- integration's session, and when the next check is due (a NULL one is due
-- one interval after the row's last update: see store.ClaimDueIntegrations).
ALTER TABLE integrations ADD COLUMN checked_at BIGINT;
ALTER TABLE integrations ADD COLUMN next_check_at BIGINT;
CREATE INDEX integrations_health_due ON integrations (status, next_check_at);

-- +goose Down
DROP INDEX integrations_health_due;
ALTER TABLE integrations DROP COLUMN next_check_at;
ALTER TABLE integrations DROP COLUMN checked_at;
