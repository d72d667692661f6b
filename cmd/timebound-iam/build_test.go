package main

import (
	"os/exec"
	"testing"
)

// goBuild builds pkg (relative to this directory) into out with the go tool
// running the tests: go test puts its own GOROOT/bin first on PATH. flags go
// to go build, such as -ldflags.
func goBuild(t *testing.T, out, pkg string, flags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, pkg)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}
