package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/reftest"
)

// The committed catalogue must be exactly what the generator makes of the
// reference: no hand edits, no stale file.
func TestGeneratedFileIsFresh(t *testing.T) {
	raw := reftest.Read(t, reftest.ActionsOpenAPI)
	want, err := Generate(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../internal/catalog/actions_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Fatal("internal/catalog/actions_gen.go is stale or edited by hand; rerun: go run ./tools/catalog-gen")
	}
}

func TestGeneratorRejectsUnknownKeywords(t *testing.T) {
	g := &gen{comps: map[string]any{}}
	if _, err := g.node(map[string]any{"type": "string", "contentEncoding": "base64"}); err == nil {
		t.Error("unknown keyword accepted")
	}
	n, err := g.node(map[string]any{"type": "string", "description": "some words here", "title": "T"})
	if err != nil || n.Format != "" || len(n.Type) != 1 {
		t.Errorf("prose not dropped cleanly: %v %+v", err, n)
	}
}
