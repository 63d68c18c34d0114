package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoLateWiring keeps every dependency arriving at construction (issue
// 18 item 6): internal/app, which builds the services, never sets a field of
// a service it built (a.Identities.Verify = ..., a.Runs.Queue = ...). A
// cycle between two services is broken where it arises, by splitting the
// piece both need (engine.Connector) or by a value built first and
// connected by its owner (jobs.Queue), not by filling a field afterwards.
//
// It reads internal/app's non-test files and fails on an assignment whose
// left side is a field of a field (x.Service.Field = ...); a field of App
// itself (a.Engine = ...) is construction.
func TestNoLateWiring(t *testing.T) {
	dir := filepath.Join(moduleRoot(t), "internal", "app")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, pos := range lateWiring(f) {
			t.Errorf("%s: sets a field of a service after building it; pass it to the service's construction instead",
				rel(moduleRoot(t), fset.Position(pos).String()))
		}
	}
	if files == 0 {
		t.Fatal("no Go files in internal/app")
	}
}

// lateWiring finds the assignments to x.Y.Z (or deeper) in f.
func lateWiring(f *ast.File) []token.Pos {
	var out []token.Pos
	ast.Inspect(f, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || as.Tok != token.ASSIGN {
			return true
		}
		for _, lhs := range as.Lhs {
			if sel, ok := lhs.(*ast.SelectorExpr); ok {
				if _, inner := sel.X.(*ast.SelectorExpr); inner {
					out = append(out, lhs.Pos())
				}
			}
		}
		return true
	})
	return out
}

// The guard catches what it is for: the assignments it replaced.
func TestLateWiringCatches(t *testing.T) {
	src := `package app
func f(a *App) {
	a.Engine = nil
	a.Identities.Verify = a.Engine.Verify
	a.Runs.Queue, a.Dispatch.Queue = j, j
	x := a.Plane
	_ = x
}`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(lateWiring(f)); got != 3 {
		t.Fatalf("found %d late assignments, want 3", got)
	}
}
