// Command seamstats counts, in a source tree, the figures issue 18 ("One
// storage seam") is judged by: comparisons against the database kind, SQL
// outside the store, connection choices outside the store, long functions,
// and row-scanning loops. It reads files as text and syntax (go/parser), so
// it runs on any revision's tree, including ones that no longer build with
// today's code: seamstats.sh extracts a revision with git archive and runs
// it, then adds the duplicate pairs of the `duplicates` tool.
//
// Usage: go run ./tools/seamstats DIR
//
// What counts (non-test .go files under DIR/internal and DIR/cmd; generated
// files, marked "Code generated ... DO NOT EDIT.", are left out):
//   - kind check: a == or != with a database name on one side (Postgres,
//     SQLite, store.Postgres, store.SQLite, "postgres", "sqlite"), or a type
//     assertion or type switch on a dialect type (*Dialect); counted outside
//     internal/store, and inside it apart from the dialect files
//     (dialect*.go), where a difference is meant to live.
//   - SQL statement: a string literal that starts with SELECT, INSERT,
//     UPDATE, DELETE or WITH followed by a second clause keyword, or that
//     holds FOR UPDATE; outside internal/store.
//   - handle choice: outside internal/store, a call of Handles() or a pick of
//     one of the store's connections by field (X.DB.R, X.DB.Read,
//     X.DB.Write, X.DB.W, db.R, db.Read, db.Write, db.W).
//   - long function: a function or method declaration of more than 100 lines.
//   - scan loop: a `for rows.Next()` loop (X.Next() on a value named rows).
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type counts struct {
	kindOutside, kindStore, sqlOutside, handles, longFuncs, scanLoops int
	where                                                             map[string][]string
}

func (c *counts) note(kind, pos string) {
	c.where[kind] = append(c.where[kind], pos)
}

var (
	sqlStart  = regexp.MustCompile(`^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s`)
	sqlSecond = regexp.MustCompile(`\b(FROM|INTO|SET|VALUES|WHERE|AS)\b`)
	forUpdate = regexp.MustCompile(`\bFOR UPDATE\b`)
	generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: seamstats DIR")
		os.Exit(2)
	}
	root := os.Args[1]
	c := &counts{where: map[string][]string{}}
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			return c.file(path, filepath.ToSlash(rel))
		})
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, f := range []struct {
		name string
		n    int
	}{
		{"kind checks outside internal/store", c.kindOutside},
		{"kind checks in internal/store outside dialect*.go", c.kindStore},
		{"SQL statements outside internal/store", c.sqlOutside},
		{"handle choices outside internal/store", c.handles},
		{"functions over 100 lines", c.longFuncs},
		{"for rows.Next() loops", c.scanLoops},
	} {
		fmt.Printf("%s\t%d\n", f.name, f.n)
	}
	if os.Getenv("SEAMSTATS_WHERE") != "" {
		kinds := make([]string, 0, len(c.where))
		for k := range c.where {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			for _, p := range c.where[k] {
				fmt.Printf("  %s: %s\n", k, p)
			}
		}
	}
}

func (c *counts) file(path, rel string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if generated.Match(src) {
		return nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return fmt.Errorf("seamstats: %w", err)
	}
	inStore := strings.HasPrefix(rel, "internal/store/")
	dialectFile := inStore && strings.HasPrefix(filepath.Base(rel), "dialect")
	pos := func(n ast.Node) string {
		return fmt.Sprintf("%s:%d", rel, fset.Position(n.Pos()).Line)
	}
	kind := func(n ast.Node) {
		switch {
		case !inStore:
			c.kindOutside++
			c.note("kind check", pos(n))
		case !dialectFile:
			c.kindStore++
			c.note("kind check in store", pos(n))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncDecl:
			if x.Body != nil {
				lines := fset.Position(x.End()).Line - fset.Position(x.Pos()).Line + 1
				if lines > 100 {
					c.longFuncs++
					c.note("long function", fmt.Sprintf("%s %s (%d lines)", pos(x), x.Name.Name, lines))
				}
			}
		case *ast.BinaryExpr:
			if (x.Op == token.EQL || x.Op == token.NEQ) && (dbName(x.X) || dbName(x.Y)) {
				kind(x)
			}
		case *ast.TypeAssertExpr:
			if x.Type != nil && dialectType(x.Type) {
				kind(x)
			}
		case *ast.TypeSwitchStmt:
			for _, cl := range x.Body.List {
				for _, t := range cl.(*ast.CaseClause).List {
					if dialectType(t) {
						kind(t)
					}
				}
			}
		case *ast.BasicLit:
			if inStore || x.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(x.Value)
			if err != nil {
				return true
			}
			if (sqlStart.MatchString(s) && sqlSecond.MatchString(s)) || forUpdate.MatchString(s) {
				c.sqlOutside++
				c.note("SQL", pos(x))
			}
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && !inStore && sel.Sel.Name == "Handles" && len(x.Args) == 0 {
				c.handles++
				c.note("handle choice", pos(x))
			}
		case *ast.SelectorExpr:
			if !inStore && handleField(x) {
				c.handles++
				c.note("handle choice", pos(x))
			}
		case *ast.ForStmt:
			if call, ok := x.Cond.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Next" {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "rows" {
						c.scanLoops++
						c.note("scan loop", pos(x))
					}
				}
			}
		}
		return true
	})
	return nil
}

// dbName: an operand that names a database kind.
func dbName(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return dbNames[x.Name]
	case *ast.SelectorExpr:
		return dbNames[x.Sel.Name]
	case *ast.BasicLit:
		return dbNames[x.Value]
	}
	return false
}

// dbNames are the databases' names as code writes them (a set, not
// comparisons: internal/archtest would take those for kind checks).
var dbNames = map[string]bool{"Postgres": true, "SQLite": true, `"postgres"`: true, `"sqlite"`: true}

// dialectType: a type named like the store's dialect implementations.
func dialectType(e ast.Expr) bool {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	var name string
	switch x := e.(type) {
	case *ast.Ident:
		name = x.Name
	case *ast.SelectorExpr:
		name = x.Sel.Name
	}
	return strings.HasSuffix(name, "Dialect") && name != "Dialect"
}

// handleField: X.DB.R / .Read / .Write / .W, or db.R / ... (a connection
// of the store picked by its field).
func handleField(s *ast.SelectorExpr) bool {
	switch s.Sel.Name {
	case "R", "Read", "Write", "W":
	default:
		return false
	}
	switch x := s.X.(type) {
	case *ast.SelectorExpr:
		return x.Sel.Name == "DB"
	case *ast.Ident:
		return x.Name == "db" || x.Name == "DB"
	}
	return false
}
