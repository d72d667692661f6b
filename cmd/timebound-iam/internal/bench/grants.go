package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// env is a minimal environment plus extra variables.
func env(home string, extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, extra...)
}

// toolEnv is the environment of a timebound-iam command granting through the
// STS stand-in, with fake base keys and no AWS files to find.
func toolEnv(home, state, stsURL, backend string, extra ...string) []string {
	return env(home, append([]string{"TIMEBOUND_IAM_HOME=" + state, "TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + stsURL, "TIMEBOUND_IAM_KEYRING_BACKEND=" + backend,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + filepath.Join(home, "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none")}, extra...)...)
}

// granted holds the environment of every state directory the bench granted
// in, for revokeAll.
var granted [][]string

func remember(environ []string) {
	if !slices.ContainsFunc(granted, func(e []string) bool { return slices.Equal(e, environ) }) {
		granted = append(granted, environ)
	}
}

func revokeAll(bin string) {
	for _, environ := range granted {
		cmd := exec.Command(bin, "revoke", "--all")
		cmd.Env = environ
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: cleaning up: revoke --all: %v\n%s", err, b)
		}
	}
}

// grantJSON makes a grant with the real binary and returns its fields.
func grantJSON(bin string, environ []string, args ...string) (map[string]any, error) {
	remember(environ)
	cmd := exec.Command(bin, append([]string{"grant", "--json"}, args...)...)
	cmd.Env = environ
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("grant: %v: %s", err, stderr.String())
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}
