-- +goose Up
-- Every limit_events row used to check its identity with a foreign key: on
-- PostgreSQL a query of its own per row (and a share lock on the identity),
-- two per live extraction, about 8 % of PostgreSQL's CPU per live call
-- (bench/RESULTS.md). The check guarded nothing the counter does not:
-- events are only ever written by a statement or transaction that updates
-- the identity's limit_seqs row, and that row keeps its foreign key, so a
-- deleted identity's row is gone and no new event follows it. Deleting an
-- identity deletes its events explicitly (store.DeleteIdentity), after the
-- identity, once any write that held its counter has committed.
ALTER TABLE limit_events DROP CONSTRAINT limit_events_identity_id_fkey;

-- +goose Down
DELETE FROM limit_events WHERE identity_id NOT IN (SELECT id FROM identities);
ALTER TABLE limit_events ADD CONSTRAINT limit_events_identity_id_fkey
    FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE;
