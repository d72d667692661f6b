package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func credentialProcess(bin, floor, cardFloor, vault, stsURL, work string, rounds int) ([]row, error) {
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
	// aws-vault as a headless user runs it: no D-Bus session, so keyring's
	// start-up launches a dbus-daemon on every call, which outlives it. The
	// bench kills the ones it caused once it is done.
	headlessEnv := env(vaultHome, "AWS_VAULT_BACKEND=file", "AWS_VAULT_FILE_PASSPHRASE="+pass, "AWS_VAULT_FILE_DIR="+filepath.Join(vaultHome, "keys"))
	before := dbusDaemons()
	defer killNewDBusDaemons(before)
	res, err := interleave(rounds, map[string]func() (time.Duration, error){
		"aws-vault headless": func() (time.Duration, error) {
			return timeRun(headlessEnv, vault, "export", "--format=json", "--no-session", "bench")
		},
		"floor":      func() (time.Duration, error) { return timeRun(env(home), floor) },
		"card floor": func() (time.Duration, error) { return timeRun(env(home), cardFloor) },
		"keyctl":     func() (time.Duration, error) { return timeRun(keyctlEnv, keyctlArgv...) },
		"file":       func() (time.Duration, error) { return timeRun(fileEnv, fileArgv...) },
		"aws-vault": func() (time.Duration, error) {
			return timeRun(vaultEnv, vault, "export", "--format=json", "--no-session", "bench")
		},
	})
	if err != nil {
		return nil, err
	}
	f, cf, k, fi, v := median(res["floor"]), median(res["card floor"]), median(res["keyctl"]), median(res["file"]), median(res["aws-vault"])
	return []row{
		{measure: "credential-process, keyctl", median: k, vs: "card floor " + ms(cf), ratio: ratio(k, cf), target: "≤ 1.2x", ok: ratio(k, cf) <= 1.2},
		{measure: "  same, against the fixed-JSON floor", median: k, vs: "floor " + ms(f), ratio: ratio(k, f), target: "(reference)", info: true},
		{measure: "  card floor against the fixed-JSON floor", median: cf, vs: "floor " + ms(f), ratio: ratio(cf, f), target: "(reference)", info: true},
		{measure: "credential-process, file backend", median: fi, vs: "aws-vault " + ms(v), ratio: ratio(fi, v), target: "≤ 1.0x", ok: ratio(fi, v) <= 1.0},
		{measure: "  same, against aws-vault as a headless user runs it", median: fi, vs: "aws-vault " + ms(median(res["aws-vault headless"])), ratio: ratio(fi, median(res["aws-vault headless"])), target: "(reference)", info: true},
	}, nil
}

// dbusDaemons returns the pids of the dbus-daemon processes running now.
func dbusDaemons() map[int]bool {
	pids := map[int]bool{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(filepath.Join("/proc", d.Name(), "comm")); err == nil && strings.TrimSpace(string(comm)) == "dbus-daemon" {
			pids[pid] = true
		}
	}
	return pids
}

// killNewDBusDaemons kills the dbus-daemons that were not running before.
func killNewDBusDaemons(before map[int]bool) {
	for pid := range dbusDaemons() {
		if !before[pid] {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}
