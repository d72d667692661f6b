package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// fixedJSON is what the floor prints.
const fixedJSON = `{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret","SessionToken":"token","Expiration":"2099-01-01T00:00:00Z"}`

// buildFloor builds a floor: a Go program that only prints the given
// credential_process JSON, built the same way as the release binary.
func buildFloor(work, name, json string) (string, error) {
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	src := fmt.Sprintf("package main\n\nimport \"os\"\n\nfunc main() {\n\tos.Stdout.WriteString(%q)\n}\n", json+"\n")
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the floor: %v\n%s", err, b)
	}
	return out, nil
}

// buildCardFloor builds ./cmd/timebound-iam/internal/bench/cardfloor from
// this module, with the release build's flags (make build's).
func buildCardFloor(work string) (string, error) {
	out := filepath.Join(work, "cardfloor")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w", "-o", out, "./cmd/timebound-iam/internal/bench/cardfloor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the card floor: %v\n%s", err, b)
	}
	return out, nil
}

// awsVaultVersion is the peer measured against; built from the module proxy
// into the bench cache once.
const awsVaultVersion = "v7.2.0"

func buildAWSVault(cache string) (string, error) {
	out := filepath.Join(cache, "bin", "aws-vault-"+awsVaultVersion)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	fmt.Fprintf(os.Stderr, "bench: building aws-vault %s (first time only)\n", awsVaultVersion)
	dl := exec.Command("go", "mod", "download", "-json", "github.com/99designs/aws-vault/v7@"+awsVaultVersion)
	b, err := dl.Output()
	if err != nil {
		return "", fmt.Errorf("downloading aws-vault: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(b, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("downloading aws-vault: no module directory in %s", b)
	}
	// go install @version would also ask the proxy for the version list,
	// which it may refuse; building the downloaded module needs only the
	// module itself.
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	build.Dir = mod.Dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building aws-vault: %v\n%s", err, b)
	}
	return out, nil
}
