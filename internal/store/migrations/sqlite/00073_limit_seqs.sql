-- +goose Up
-- One counter per identity, bumped by every change to its limit_events. A
-- node keeps an identity's recent events in memory and checks Smart Limits
-- there; its write succeeds only if the counter still holds the value its
-- copy was made at, so a change by another node sends it back to the
-- database (limits/reserve.go).
CREATE TABLE limit_seqs (
    identity_id INTEGER PRIMARY KEY REFERENCES identities (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL
);

-- +goose Down
DROP TABLE limit_seqs;
