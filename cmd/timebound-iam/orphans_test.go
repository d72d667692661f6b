package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
)

const orphanPassphrase = "orphan-test-passphrase"

// standInEnv points the CLI at the STS stand-in with the file keyring, in a
// fresh state directory, and returns that directory.
func standInEnv(t *testing.T) (home string, env []string) {
	t.Helper()
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stand.Close() })
	work := t.TempDir()
	home = filepath.Join(work, "state")
	env = []string{
		"HOME=" + work,
		"TIMEBOUND_IAM_HOME=" + home,
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + stand.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + orphanPassphrase,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(work, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(work, "no-aws-credentials"),
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return home, env
}

// itemIDs lists the file keyring's grant items from outside the CLI.
func itemIDs(t *testing.T, home string) []string {
	t.Helper()
	keys, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: home, Passphrase: orphanPassphrase})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := keys.IDs()
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestRevokeAllOrphaned is the attack of issue #15: of two grants, the agent
// cuts one's section out of aws-config with a plain file edit. sessions
// shows it as orphaned, and revoke --all still deletes its keychain item and
// names it as orphaned.
func TestRevokeAllOrphaned(t *testing.T) {
	home, _ := standInEnv(t)
	kept, _ := grantJSON(t, "-s", "s3", "-t", "15m")
	cut, _ := grantJSON(t, "-s", "s3", "-t", "15m")
	path := filepath.Join(home, "aws-config")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := regexp.MustCompile(`(?ms)^\[profile tb-`+cut+`\]\n.*?(^\[|\z)`).ReplaceAllString(string(b), "$1")
	if edited == string(b) {
		t.Fatalf("no section tb-%s in\n%s", cut, b)
	}
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runCLI(t, "sessions")
	if code != 0 || !strings.Contains(stdout, "tb-"+kept) || !regexp.MustCompile(`tb-`+cut+`\s+orphaned`).MatchString(stdout) {
		t.Errorf("sessions: exit %d\nstdout:\n%s\nstderr:\n%s\nwant tb-%s live and tb-%s orphaned", code, stdout, stderr, kept, cut)
	}

	stdout, stderr, code = runCLI(t, "revoke", "--all")
	if code != 0 {
		t.Fatalf("revoke --all: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"revoked tb-" + kept + "\n", "revoked tb-" + cut + " (orphaned keychain item: its profile was removed from the AWS config file)\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("revoke --all stdout lacks %q:\n%s", want, stdout)
		}
	}
	if ids := itemIDs(t, home); len(ids) != 0 {
		t.Errorf("keychain items after revoke --all: %v, want none", ids)
	}
	stdout, _, _ = runCLI(t, "audit")
	if !strings.Contains(stdout, "orphaned keychain item") {
		t.Errorf("the audit log does not record the orphan:\n%s", stdout)
	}
}

// TestServePrunesAtExpiry: serve deletes a file-keyring item at its grant's
// expiry, with no command run in between. STS grants 15 minutes at least,
// so the grant is backdated to expire 2 seconds after serve starts.
func TestServePrunesAtExpiry(t *testing.T) {
	home, env := standInEnv(t)
	bin := goBuild(t, filepath.Join(t.TempDir(), "timebound-iam"), ".")
	id, _ := grantJSON(t, "-s", "s3", "-t", "15m")
	expires := time.Now().Add(2 * time.Second).Truncate(time.Second) // as Backdate stores it
	if _, err := granttest.Backdate(home, orphanPassphrase, id, expires); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	stdin, err := cmd.StdinPipe() // kept open: serve runs until it closes
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	if ids := itemIDs(t, home); len(ids) != 1 {
		t.Fatalf("keychain items before the expiry: %v, want tb-%s", ids, id)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(itemIDs(t, home)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("tb-%s's item still there 15s after serve started\nserve's stderr:\n%s", id, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if time.Now().Before(expires) {
		t.Errorf("the item went before its expiry %s", expires.Format(time.RFC3339Nano))
	}
}
