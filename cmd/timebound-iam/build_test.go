package main

import (
	"os/exec"
	"strings"
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

// TestNoHeavyStartup: every credential_process call runs the package
// initialisation of everything this binary links. aws-sdk-go-v2's
// service/iam (its schemas and endpoint table: about 4 ms and 640 KB per
// start on a VM where page faults are dear) and urfave/cli's documentation
// generators are not linked; awsiam.Client and the urfave_cli_no_docs tag
// stand in for them.
func TestNoHeavyStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	out, err := exec.Command("go", "list", "-deps", "-tags", "urfave_cli_no_docs", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/iam") || strings.HasPrefix(pkg, "github.com/cpuguy83/go-md2man") {
			t.Errorf("the binary links %s", pkg)
		}
	}
}
