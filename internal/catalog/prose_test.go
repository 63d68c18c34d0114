package catalog

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// No description, title, help text, placeholder, summary or example from the
// reference may appear in the product's source: the catalogue holds facts
// only. Sample-prose defaults the generator drops are checked too.
func TestNoReferenceProseInSource(t *testing.T) {
	r := loadReference(t)
	prose := map[string]bool{}
	var walk func(v any, inProps bool)
	walk = func(v any, inProps bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if !inProps {
					switch k {
					case "description", "title", "x-help", "x-placeholder", "summary", "example", "default":
						if s, ok := e.(string); ok && len(s) > 40 && (k != "default" || strings.ContainsAny(s, " \n")) {
							prose[s] = true
						}
					}
				}
				walk(e, !inProps && (k == "properties" || k == "patternProperties"))
			}
		case []any:
			for _, e := range x {
				walk(e, false)
			}
		}
	}
	walk(r.doc, false)
	if len(prose) < 100 {
		t.Fatalf("only %d prose strings found; is the reference the right file?", len(prose))
	}
	var files []string
	for _, dir := range []string{".", "../validate", "../../tools/catalog-gen"} {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		files = append(files, matches...)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(src)
		for p := range prose {
			quoted := strconv.Quote(p)
			if strings.Contains(text, p) || strings.Contains(text, quoted[1:len(quoted)-1]) {
				t.Errorf("%s contains reference prose: %.60q", f, p)
			}
		}
	}
}
