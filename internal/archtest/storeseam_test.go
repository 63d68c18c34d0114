package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The storage seam: only internal/store imports a database driver or
// database/sql, and only internal/store knows which database it is on
// (everything else asks the store's capabilities: ConcurrentWrites,
// SharedByNodes, ... in store/capabilities.go). This test reads every non-test Go file of the module
// outside internal/store and fails on
//   - an import of database/sql, pgx or a SQLite driver;
//   - a comparison against the database's kind: ==, != or a switch on
//     store.SQLite, store.Postgres, a .Dialect field or a "sqlite" /
//     "postgres" literal, and strings.HasPrefix/Contains on a database URL's
//     scheme;
//   - a choice of connection: a call of store.Store.Handles (the connections
//     are unexported; Handles gives them to tests and harnesses only).
//     Product code enters through View, Tx and the named entry points.
//
// Test files may name the database: tests run once per database.

// forbiddenImports are the import paths (or their prefixes, ending in "/")
// that only the store may use.
var forbiddenImports = []string{
	"database/sql",
	"github.com/jackc/pgx/",
	"github.com/lib/pq",
	"modernc.org/sqlite",
	"github.com/mattn/go-sqlite3",
}

// allowed lists what still violates the seam, keyed by the package's
// directory (or a directory prefix ending in "/") and the import path or
// "kind" for comparisons. Every entry says why it is still there; remove it
// once the package no longer needs it (the test fails on an entry that is
// no longer used).
var allowed = map[string]string{
	// Benchmark programs measure each database by name, set up their
	// schemas and read River's tables directly; they are harnesses, like
	// tests, not the product.
	"bench/ database/sql":          "benchmark harness",
	"bench/ github.com/jackc/pgx/": "benchmark harness",
	"bench/ kind":                  "benchmark harness: measures each database by name",
	"bench/ handles":               "benchmark harness: seeds and reads rows with its own SQL",
	// The test harness creates a PostgreSQL schema per test.
	"internal/apitest github.com/jackc/pgx/": "test harness: one PostgreSQL schema per test",
	"internal/apitest kind":                  "test harness: chooses the database a test runs on",
}

type violation struct {
	dir, what, where string
}

func TestStoreSeam(t *testing.T) {
	root := moduleRoot(t)
	var found []violation
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel == "internal/store" || strings.HasPrefix(rel, "internal/store/") ||
				name == "testdata" || name == "vendor" || name == "node_modules" || (strings.HasPrefix(name, ".") && rel != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbiddenImports {
				if p == bad || strings.HasPrefix(p, bad) || p == strings.TrimSuffix(bad, "/") {
					found = append(found, violation{dir, bad, fset.Position(imp.Pos()).String()})
				}
			}
		}
		for _, pos := range kindChecks(f) {
			found = append(found, violation{dir, "kind", fset.Position(pos).String()})
		}
		for _, pos := range handleChoices(f) {
			found = append(found, violation{dir, "handles", fset.Position(pos).String()})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, v := range found {
		if key, ok := allowedKey(v); ok {
			used[key] = true
			continue
		}
		if v.what == "handles" {
			t.Errorf("%s: chooses a database connection (Store.Handles); use Store.View, Store.Tx or a named store entry point", rel(root, v.where))
		} else if v.what == "kind" {
			t.Errorf("%s: compares against the database's kind; ask the store a capability (store/dialect.go) or move the branch into the store", rel(root, v.where))
		} else {
			t.Errorf("%s: imports %s; only internal/store may (add a named store method instead)", rel(root, v.where), v.what)
		}
	}
	var stale []string
	for k := range allowed {
		if !used[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	for _, k := range stale {
		t.Errorf("allowlist entry no longer needed, remove it: %q", k)
	}
	t.Logf("allowlist: %d entries, %d in use", len(allowed), len(used))
}

func allowedKey(v violation) (string, bool) {
	for k := range allowed {
		dir, what, _ := strings.Cut(k, " ")
		if what != v.what {
			continue
		}
		if dir == v.dir || (strings.HasSuffix(dir, "/") && strings.HasPrefix(v.dir+"/", dir)) {
			return k, true
		}
	}
	return "", false
}

// handleChoices finds the calls x.Handles() in f: the only way to a
// connection of the store from outside it.
func handleChoices(f *ast.File) []token.Pos {
	var out []token.Pos
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && len(call.Args) == 0 {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Handles" {
				out = append(out, call.Pos())
			}
		}
		return true
	})
	return out
}

// kindChecks finds the comparisons against the database's kind in f.
func kindChecks(f *ast.File) []token.Pos {
	var out []token.Pos
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && (isKind(n.X) || isKind(n.Y)) {
				out = append(out, n.Pos())
			}
		case *ast.SwitchStmt:
			if n.Tag != nil && isKind(n.Tag) {
				out = append(out, n.Pos())
			}
		case *ast.CaseClause:
			for _, e := range n.List {
				if isKind(e) {
					out = append(out, e.Pos())
				}
			}
		case *ast.CallExpr:
			// strings.HasPrefix(url, "postgres://") and the like.
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, "strings") &&
				(sel.Sel.Name == "HasPrefix" || sel.Sel.Name == "Contains") && len(n.Args) == 2 && isKindLiteral(n.Args[1], true) {
				out = append(out, n.Pos())
			}
		}
		return true
	})
	return out
}

// isKind reports an expression naming a database kind: store.SQLite,
// store.Postgres, x.Dialect, or a "sqlite"/"postgres" literal.
func isKind(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		if e.Sel.Name == "Dialect" {
			return true
		}
		return isIdent(e.X, "store") && (e.Sel.Name == "SQLite" || e.Sel.Name == "Postgres")
	case *ast.ParenExpr:
		return isKind(e.X)
	}
	return isKindLiteral(e, false)
}

func isKindLiteral(e ast.Expr, prefix bool) bool {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return false
	}
	s = strings.ToLower(s)
	for _, k := range []string{"sqlite", "sqlite3", "postgres", "postgresql"} {
		if s == k || (prefix && strings.HasPrefix(s, k)) {
			return true
		}
	}
	return false
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func rel(root, pos string) string {
	if r, err := filepath.Rel(root, pos); err == nil {
		return r
	}
	return pos
}

// The handle guard catches a connection chosen outside the store, and
// nothing else.
func TestHandleChoicesCatches(t *testing.T) {
	src := `package x
func f(db *store.Store) {
	db.Handles().Write.Exec("")
	_ = a.DB.Handles().R
	db.View(ctx, nil)
	h.Handles(1)
}`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(handleChoices(f)); got != 2 {
		t.Fatalf("found %d handle choices, want 2", got)
	}
}
