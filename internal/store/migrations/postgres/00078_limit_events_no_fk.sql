-- +goose Up
-- Every limit_events row used to check its identity with a foreign key: on
-- PostgreSQL a query of its own per row and a share lock on the identity,
-- two per live extraction, about 8 % of PostgreSQL's CPU per live call
-- (bench/RESULTS.md). The check guarded nothing the counter does not:
-- events are only ever written by a statement or transaction that updates
-- the identity's limit_seqs row, and that row keeps its foreign key, so once
-- an identity is deleted no new event can name it.
--
-- The cascade moves to the parent's side: a statement trigger deletes the
-- events of deleted identities, however they were deleted (by the API, or
-- by a workspace's cascade). It runs after the row-level cascades, which
-- wait for any write holding a deleted identity's counter, and its DELETE
-- sees what those writes committed.
ALTER TABLE limit_events DROP CONSTRAINT limit_events_identity_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION identities_delete_limit_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM limit_events WHERE identity_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER identities_delete_limit_events AFTER DELETE ON identities REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION identities_delete_limit_events();

-- +goose Down
DROP TRIGGER identities_delete_limit_events ON identities;
DROP FUNCTION identities_delete_limit_events();
DELETE FROM limit_events WHERE identity_id NOT IN (SELECT id FROM identities);
ALTER TABLE limit_events ADD CONSTRAINT limit_events_identity_id_fkey
    FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE;
