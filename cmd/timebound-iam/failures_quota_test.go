//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFailureKeyctlQuota: a non-root user's kernel key quota
// (/proc/sys/kernel/keys/maxbytes, 20,000 bytes by default) fills up with
// grants. The grant that does not fit fails with "keychain full", the cause
// and both ways out, and leaves nothing half-written; every earlier grant
// still works; once a revoke frees room, grants work again. The user's keys
// are cleared and the user removed at the end.
func TestFailureKeyctlQuota(t *testing.T) {
	alice := throwawayUser(t, "q")
	r := newUserRig(t)
	scan := r.scan
	state := filepath.Join(r.work, "alice-state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	alice.chown(t, state)
	env := []string{
		"HOME=" + r.work,
		"TMPDIR=" + state,
		"TIMEBOUND_IAM_HOME=" + state,
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + r.sts.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=keyctl",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
	}
	// run runs name as alice; credential-process's stdout is not scanned.
	run := func(name string, args ...string) result {
		cmd := alice.as(exec.Command(name, args...))
		cmd.Dir, cmd.Env = r.work, env
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		what := filepath.Base(name) + " " + strings.Join(args, " ")
		if !strings.Contains(what, "credential-process") {
			scan.Capture("stdout of "+what, o.Bytes())
		}
		scan.Capture("stderr of "+what, e.Bytes())
		return result{o.Bytes(), e.Bytes(), err, 0}
	}
	t.Cleanup(func() {
		if res := run(r.bin, "revoke", "--all"); res.err != nil {
			t.Errorf("revoke --all: %v\n%s", res.err, res.stderr)
		}
		// revoke leaves this tool's (empty) keyring linked to the user's.
		if _, err := exec.LookPath("keyctl"); err == nil {
			if res := run("keyctl", "clear", "@u"); res.err != nil {
				t.Errorf("keyctl clear @u as %s: %v\n%s", alice.name, res.err, res.stderr)
			}
		} else {
			t.Logf("keyctl is not installed: the empty %s keyring stays linked to uid %d's user keyring", "timebound-iam", alice.uid)
		}
	})
	grant := func() (string, result) {
		res := run(r.bin, "grant", "-s", "s3", "-t", "15m", "--json")
		id := ""
		if _, rest, ok := strings.Cut(string(res.stdout), `"session_id": "`); ok {
			id, _, _ = strings.Cut(rest, `"`)
		}
		return id, res
	}
	helper := func(id string) result {
		data, err := os.ReadFile(filepath.Join(state, "aws-config"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "credential_process = "); ok && strings.Contains(v, " --session "+id+" ") {
				return run("/bin/sh", "-c", v)
			}
		}
		t.Fatalf("no credential_process line for tb-%s", id)
		return result{}
	}

	// Each grant takes one key; the key count quota (maxkeys) ends the
	// loop if the byte quota has been raised.
	limit := 200
	if b, err := os.ReadFile("/proc/sys/kernel/keys/maxkeys"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			limit = n + 5
		}
	}
	if limit > 1000 {
		t.Skipf("/proc/sys/kernel/keys/maxkeys allows %d keys: too many grants to fill", limit)
	}
	var ids []string
	var full result
	start := time.Now()
	for i := 0; ; i++ {
		if i == limit {
			t.Fatalf("%d grants fit in %s's key quota; want the quota to run out", i, alice.name)
		}
		id, res := grant()
		if res.err != nil {
			full = res
			break
		}
		ids = append(ids, id)
	}
	t.Logf("%d grants filled %s's key quota in %v", len(ids), alice.name, time.Since(start).Round(time.Millisecond))
	if len(ids) == 0 {
		t.Fatalf("the first grant failed:\n%s", full.stderr)
	}
	msg := string(full.stderr)
	if !strings.HasPrefix(msg, "timebound-iam: error: keychain full: storing tb-") ||
		!strings.Contains(msg, " in the keyctl keyring: the kernel key quota for your user is used up (") ||
		!strings.HasSuffix(msg, "disk quota exceeded); revoke grants you no longer need (timebound-iam revoke), or raise /proc/sys/kernel/keys/maxbytes and maxkeys as root\n") ||
		strings.Count(msg, "\n") != 1 {
		t.Errorf("the grant that did not fit:\n%s", msg)
	}
	if len(full.stdout) != 0 {
		t.Errorf("stdout of the failed grant: %q", full.stdout)
	}
	wantNothingHalfWritten(t, state, ids...)

	for _, id := range []string{ids[0], ids[len(ids)-1]} {
		if res := helper(id); res.err != nil || !bytes.Contains(res.stdout, []byte(`"SessionToken":`)) {
			t.Errorf("credential-process for tb-%s with the quota full: %v\n%s", id, res.err, res.stderr)
		}
	}

	if res := run(r.bin, "revoke", ids[0], ids[1]); res.err != nil {
		t.Fatalf("revoke: %v\n%s", res.err, res.stderr)
	}
	// The kernel frees a revoked key's bytes in its garbage collector, a
	// moment later.
	deadline := time.Now().Add(20 * time.Second)
	for {
		id, res := grant()
		if res.err == nil {
			ids = append(ids[2:], id)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grants still fail 20s after a revoke:\n%s", res.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	wantNothingHalfWritten(t, state, append(ids, tombstoneIDs(t, state)...)...)
}

// tombstoneIDs returns the ids of the revoked grants whose profiles stay as
// tombstones in state's profiles file.
func tombstoneIDs(t *testing.T, state string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(state, "aws-config"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "credential_process = "); ok && strings.Contains(v, "--revoked-at") {
			_, rest, _ := strings.Cut(v, " --session ")
			id, _, _ := strings.Cut(rest, " ")
			out = append(out, id)
		}
	}
	return out
}
