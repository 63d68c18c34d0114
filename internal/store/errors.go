package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned when a row does not exist in the asked workspace.
var ErrNotFound = errors.New("store: not found")

// unable wraps err with what the store was doing, as in
// "store: unable to get run 42: <the driver's error>" (Miniflux's storage is
// the model). nil stays nil. ErrNotFound and sql.ErrNoRows stay themselves:
// callers compare them. An error the store already wrapped keeps its one
// context rather than a chain of them.
func unable(err error, doing string, args ...any) error {
	if err == nil || err == ErrNotFound || err == sql.ErrNoRows {
		return err
	}
	if strings.HasPrefix(err.Error(), "store: ") {
		return err
	}
	return fmt.Errorf("store: unable to "+doing+": %w", append(args, err)...)
}
