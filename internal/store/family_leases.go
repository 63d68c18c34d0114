package store

import (
	"context"
	"fmt"
)

// FamilyLease is a node's request for a family's slots.
type FamilyLease struct {
	Family string
	Node   string
	Limit  int // the family's limit across nodes
	Wanted int // slots the node could use now (in use and waiting)
	InUse  int // slots the node holds now: never granted less
	Now    int64
	TTL    int64 // ms until the lease lapses unless renewed
}

// RenewFamilyLease grants a node its share of a family's slots (how many
// calls it may have in flight from now on) and records it, in one transaction serialised per family (an advisory
// lock where writers run concurrently). The grant never takes the sum of the live
// leases over the limit; when other nodes want slots too, a node keeps no
// more than an even share of the limit; the lease recorded covers its calls
// in flight too until they end, so the sum stays within the limit.
func (db *Store) RenewFamilyLease(ctx context.Context, l FamilyLease) (int, error) {
	granted := 0
	err := db.TxKeepCaches(ctx, func(tx *Tx) error {
		if err := db.dialect.lockKey(ctx, tx, "firstmate:family:"+l.Family); err != nil {
			return err
		}
		var others, wanting int
		err := tx.queryRowContext(ctx, `SELECT COALESCE(SUM(slots), 0), COUNT(*) FILTER (WHERE wanted > slots)
			FROM family_leases WHERE family = $1 AND node <> $2 AND expires_at > $3`, l.Family, l.Node, l.Now).Scan(&others, &wanting)
		if err != nil {
			return fmt.Errorf("store: reading the leases of %s: %w", l.Family, err)
		}
		free := max(l.Limit-others, 0)
		granted = min(l.Wanted, free)
		if wanting > 0 {
			// Others wait: keep an even share, or what is in use.
			granted = min(granted, max(l.Limit/(wanting+1), 1))
		}
		// The node may start calls up to granted; the lease still covers the
		// calls it has in flight until they end (the next renewal).
		held := max(granted, min(l.InUse, free))
		_, err = tx.execContext(ctx, `INSERT INTO family_leases (family, node, slots, wanted, expires_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (family, node) DO UPDATE SET slots = excluded.slots, wanted = excluded.wanted, expires_at = excluded.expires_at`,
			l.Family, l.Node, held, l.Wanted, l.Now+l.TTL)
		if err != nil {
			return fmt.Errorf("store: leasing slots of %s: %w", l.Family, err)
		}
		// Lapsed leases of other nodes go (a restarted node has a new name).
		_, err = tx.execContext(ctx, `DELETE FROM family_leases WHERE family = $1 AND expires_at < $2`, l.Family, l.Now-60_000)
		return err
	})
	return granted, unable(err, "renew family lease")
}

// DropFamilyLease gives a node's slots back at once (a clean shutdown).
func (db *Store) DropFamilyLease(ctx context.Context, family, node string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM family_leases WHERE family = $1 AND node = $2`, family, node)
	return unable(err, "drop family lease")
}
