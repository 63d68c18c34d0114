-- +goose Up
-- The LinkedIn session driver (issue 16).
--
-- identities.user_agent: the browser user agent an identity's traffic
-- carries when the user gave none at connect (auth_data.user_agent, kept
-- sealed with the credentials instead). Chosen once, on first need, and
-- kept for good: a session that changes browser dies sooner.
ALTER TABLE identities ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- account_pauses: an account the platform rate limited (429) or refused as
-- a bot (LinkedIn's 999) pauses at once, for every worker and node sharing
-- this database, until paused_until. strikes counts the pauses of the
-- current streak (reset when the last one is older than a day); repeated
-- ones pause the identity's integration (status LIMIT_REACHED).
CREATE TABLE account_pauses (
    integration_id BIGINT PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    paused_until   BIGINT NOT NULL,
    strikes        INTEGER NOT NULL,
    last_at        BIGINT NOT NULL,
    reason         TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE account_pauses;
ALTER TABLE identities DROP COLUMN user_agent;
