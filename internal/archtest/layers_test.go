package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/firstmate-oss/firstmate/"

// notMapped are the packages ARCHITECTURE.md names in prose rather than in
// the package map: test support, benchmarks, tools, and this package.
var notMapped = []string{"internal/apitest", "internal/reftest", "internal/archtest", "bench/", "chaos", "tools/"}

// TestArchitectureMap keeps ARCHITECTURE.md's package map true: every
// package of the module is in it (a bullet "- `path` — ..." covers path and
// the packages under it, unless they have a bullet of their own), and every
// import goes to a package of the same layer or of a layer listed below it.
func TestArchitectureMap(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "\n## Package map\n")
	if start < 0 {
		t.Fatal("ARCHITECTURE.md has no ## Package map section")
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	// Layers are the bold headings, top first; the bottom layer is 0.
	heading := regexp.MustCompile(`^\*\*(.+?)\*\*`)
	bullet := regexp.MustCompile("^- `([a-z0-9/]+)`")
	var headings []string
	layerOf := map[string]int{} // mapped path -> heading index
	for _, line := range strings.Split(text, "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			headings = append(headings, m[1])
			continue
		}
		if m := bullet.FindStringSubmatch(line); m != nil && len(headings) > 0 {
			layerOf[m[1]] = len(headings) - 1
		}
	}
	if len(layerOf) < 20 {
		t.Fatalf("only %d packages found in the package map: the parsing is broken", len(layerOf))
	}
	// find returns the layer of a package (-1: not mapped) by its longest
	// mapped prefix; a lower index is a higher layer.
	find := func(pkg string) (string, int) {
		best, layer := "", -1
		for p, l := range layerOf {
			if (pkg == p || strings.HasPrefix(pkg, p+"/")) && len(p) > len(best) {
				best, layer = p, l
			}
		}
		return best, layer
	}
	skip := func(pkg string) bool {
		for _, p := range notMapped {
			if pkg == strings.TrimSuffix(p, "/") || strings.HasPrefix(pkg, strings.TrimSuffix(p, "/")+"/") {
				return true
			}
		}
		return false
	}

	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if skip(pkg) {
			continue
		}
		pkgs++
		from, fl := find(pkg)
		if fl < 0 {
			t.Errorf("%s is not in ARCHITECTURE.md's package map: add a line for it", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			to, tl := find(imp)
			if tl >= 0 && tl < fl {
				t.Errorf("%s (%s, under %q) imports %s (%s, under %q), a layer above it in ARCHITECTURE.md",
					pkg, from, headings[fl], imp, to, headings[tl])
			}
		}
	}
	if pkgs < 20 {
		t.Fatalf("only %d packages listed: go list is broken", pkgs)
	}
}
