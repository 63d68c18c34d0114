package store

import (
	"context"
	"strconv"
	"strings"
)

// listQuery builds the filtered, sorted, paged SELECT that the list
// endpoints share (runs, deliveries, schedules): each adds its conditions,
// renders its own ORDER BY (their defaults and tie-breaks are part of the
// API's contract), and runs it with list.
type listQuery struct {
	args  []any
	where []string
}

// arg adds a parameter and returns its placeholder.
func (l *listQuery) arg(v any) string {
	l.args = append(l.args, v)
	return "$" + strconv.Itoa(len(l.args))
}

// cond adds a condition, ANDed with the others.
func (l *listQuery) cond(c string) { l.where = append(l.where, c) }

// in keeps the rows whose col is one of vals; no vals: no condition.
func (l *listQuery) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = l.arg(v)
	}
	l.cond(col + " IN (" + strings.Join(ph, ", ") + ")")
}

// page renders the statement: "SELECT " + selectFrom, the conditions, order,
// and the page.
func (l *listQuery) page(selectFrom, order string, limit, offset int) string {
	lim, off := l.arg(limit), l.arg(offset)
	return `SELECT ` + selectFrom + `
		WHERE ` + strings.Join(l.where, `
			AND `) + `
		ORDER BY ` + order + `
		LIMIT ` + lim + `
		OFFSET ` + off
}

// list runs query and scans every row; it never returns nil without an
// error (an empty page is an empty list, in JSON too).
func list[T any](ctx context.Context, q Querier, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	out, err := queryAll(ctx, q, scan, query, args...)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}
