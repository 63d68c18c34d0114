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

// inList appends vs to args and returns the placeholders of an IN list over
// them ("$2, $3, $4"), numbered after the arguments already in args.
func inList[T any](args []any, vs []T) ([]any, string) {
	ph := make([]string, len(vs))
	for i, v := range vs {
		args = append(args, v)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	return args, strings.Join(ph, ", ")
}

// sortKey reads one key of a list's sort ("status", or "-status" for
// descending) against the columns it may sort on: the key's name, its
// column and " ASC" or " DESC"; ok is false for a column not allowed.
func sortKey(key string, columns map[string]string) (name, col, dir string, ok bool) {
	name, desc := strings.CutPrefix(key, "-")
	col, ok = columns[name]
	dir = " ASC"
	if desc {
		dir = " DESC"
	}
	return name, col, dir, ok
}

// cond adds a condition, ANDed with the others.
func (l *listQuery) cond(c string) { l.where = append(l.where, c) }

// in keeps the rows whose col is one of vals; no vals: no condition.
func (l *listQuery) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	var in string
	l.args, in = inList(l.args, vals)
	l.cond(col + " IN (" + in + ")")
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
