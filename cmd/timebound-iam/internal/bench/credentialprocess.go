package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

func credentialProcess(bin, floor, vault, stsURL, work string, rounds int) ([]row, error) {
	home := filepath.Join(work, "cp")
	const pass = "bench-passphrase"
	helper := func(backend string) ([]string, []string, error) {
		// One state directory per backend: a revoke runs with one backend.
		state := filepath.Join(home, backend)
		g, err := grantJSON(bin, toolEnv(home, state, stsURL, backend, "TIMEBOUND_IAM_FILE_PASSPHRASE="+pass), "-s", "s3", "-t", "12h")
		if err != nil {
			return nil, nil, err
		}
		id, _ := g["session_id"].(string)
		exp, _ := g["expires_at"].(string)
		// The AWS CLI runs the line without a shell and with its own
		// environment; the file backend needs only its passphrase.
		return []string{bin, "credential-process", "--session", id, "--home", state, "--backend", backend, "--expires", exp},
			env(home, "TIMEBOUND_IAM_FILE_PASSPHRASE="+pass), nil
	}
	keyctlArgv, keyctlEnv, err := helper("keyctl")
	if err != nil {
		return nil, err
	}
	fileArgv, fileEnv, err := helper("file")
	if err != nil {
		return nil, err
	}
	// aws-vault on its file backend, with fake static keys, no STS session.
	vaultHome := filepath.Join(work, "vault")
	if err := os.MkdirAll(filepath.Join(vaultHome, ".aws"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(vaultHome, ".aws", "config"), []byte("[profile bench]\nregion = us-east-1\n"), 0o600); err != nil {
		return nil, err
	}
	// aws-vault links keyring without a D-Bus guard: on a headless machine
	// every run would start (and leak) a dbus-daemon and pay for it.
	vaultEnv := env(vaultHome, "DBUS_SESSION_BUS_ADDRESS=disabled:", "AWS_VAULT_BACKEND=file", "AWS_VAULT_FILE_PASSPHRASE="+pass, "AWS_VAULT_FILE_DIR="+filepath.Join(vaultHome, "keys"))
	add := exec.Command(vault, "add", "--env", "bench")
	add.Env = append(slices.Clone(vaultEnv), "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	if b, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("aws-vault add: %v\n%s", err, b)
	}
	res, err := interleave(rounds, map[string]func() (time.Duration, error){
		"floor":  func() (time.Duration, error) { return timeRun(env(home), floor) },
		"keyctl": func() (time.Duration, error) { return timeRun(keyctlEnv, keyctlArgv...) },
		"file":   func() (time.Duration, error) { return timeRun(fileEnv, fileArgv...) },
		"aws-vault": func() (time.Duration, error) {
			return timeRun(vaultEnv, vault, "export", "--format=json", "--no-session", "bench")
		},
	})
	if err != nil {
		return nil, err
	}
	f, k, fi, v := median(res["floor"]), median(res["keyctl"]), median(res["file"]), median(res["aws-vault"])
	return []row{
		{measure: "credential-process, keyctl", median: k, vs: "floor " + ms(f), ratio: ratio(k, f), target: "≤ 2.5x", ok: ratio(k, f) <= 2.5},
		{measure: "credential-process, file backend", median: fi, vs: "aws-vault " + ms(v), ratio: ratio(fi, v), target: "≤ 0.8x", ok: ratio(fi, v) <= 0.8},
	}, nil
}
