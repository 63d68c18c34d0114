package reftest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// recorder catches Skipf and Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestMissingSkipsUnlessRequired(t *testing.T) {
	for _, tc := range []struct {
		env        string
		skip, fail bool
	}{
		{"", true, false},
		{"0", true, false},
		{"1", false, true},
	} {
		t.Setenv(RequireEnv, tc.env)
		r := &recorder{TB: t}
		Missing(r, errors.New("no such file"))
		if r.skipped != tc.skip || r.failed != tc.fail {
			t.Errorf("%s=%q: skipped %v failed %v, want skipped %v failed %v", RequireEnv, tc.env, r.skipped, r.failed, tc.skip, tc.fail)
		}
	}
}

func TestReadMissingFileIsRequired(t *testing.T) {
	t.Setenv(RequireEnv, "1")
	r := &recorder{TB: t}
	Read(r, "no-such-reference-file.json")
	if !r.failed {
		t.Error("a missing reference file did not fail with the variable set")
	}
}

func TestPathIsBesideTheModule(t *testing.T) {
	p, err := Path(ActionsOpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	// This package is internal/reftest: the module root is two levels up.
	want := filepath.Join(wd, "..", "..", "..", "shared", "reference", ActionsOpenAPI)
	if filepath.Clean(p) != filepath.Clean(want) {
		t.Errorf("Path = %s, want %s", p, want)
	}
}
