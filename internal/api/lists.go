package api

import "strings"

// What every list route shares: its page (limit and offset) and the names of
// the columns it sorts by. The filters stay with each route: their names and
// checks are the route's contract.

// page reads the list's limit (def when absent, 1 to max) and offset
// (0 to 2^30) from the query string.
func (c *rctx) page(def, max int) (limit, offset int, err error) {
	if limit, err = c.queryInt("limit", def, 1, max); err != nil {
		return 0, 0, err
	}
	if offset, err = c.queryInt("offset", 0, 0, 1<<30); err != nil {
		return 0, 0, err
	}
	return limit, offset, nil
}

// sortNames lists the sortable columns in order, for the error that names
// them.
func sortNames[V any](allowed map[string]V) string {
	names := make([]string, 0, len(allowed))
	for k := range allowed {
		names = append(names, k)
	}
	return strings.Join(sorted(names), ", ")
}
