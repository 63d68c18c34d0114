// Package reftest gives tests the vendor reference files kept beside the
// repository, in ../shared/reference. Without them the tests that compare the
// product with the reference are skipped, unless FIRSTMATE_REQUIRE_REFERENCE=1
// (CI sets it): then a missing file fails the test, so a CI machine without
// the reference cannot pass by skipping them.
package reftest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// RequireEnv is the variable that turns a missing reference into a failure.
const RequireEnv = "FIRSTMATE_REQUIRE_REFERENCE"

// ActionsOpenAPI is the action reference: names, fields, enums, page sizes.
const ActionsOpenAPI = "captaindata-v4-actions.openapi.json"

// Path is where the reference file name is expected: ../shared/reference
// next to the module root (the directory holding go.mod), found from the
// test's working directory.
func Path(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("reftest: unable to read the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "reference", name), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("reftest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Read returns the reference file name. When it cannot be read the test is
// skipped, or fails if FIRSTMATE_REQUIRE_REFERENCE=1.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := read(name)
	if err != nil {
		Missing(t, err)
	}
	return raw
}

func read(name string) ([]byte, error) {
	p, err := Path(name)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reftest: unable to read the reference file: %w", err)
	}
	return raw, nil
}

// Missing skips t because the reference is unavailable (err says why), or
// fails it when the reference is required.
func Missing(t testing.TB, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s=1 but the reference is not available: %v", RequireEnv, err)
		return
	}
	t.Skipf("reference not available (set %s=1 to make this a failure): %v", RequireEnv, err)
}

// Required reports whether a missing reference is a failure.
func Required() bool { return os.Getenv(RequireEnv) == "1" }
