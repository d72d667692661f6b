//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// osUser is a throwaway local account a test runs commands as.
type osUser struct {
	name     string
	uid, gid uint32
}

// throwawayUser creates a local user for the test, removed at cleanup. Root
// reads every file whatever its mode, so permission tests need someone else.
func throwawayUser(t *testing.T, role string) osUser {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating test users needs root; run as root, or run the checks by hand as two users")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd is not installed, so no second user can be made")
	}
	name := fmt.Sprintf("tb%s%d", role, os.Getpid()%100000)
	if out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Skipf("useradd %s failed (%v: %s); cannot test as a non-root user", name, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return osUser{name: name, uid: uint32(uid), gid: uint32(gid)}
}

// as makes cmd run as u.
func (u osUser) as(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid}}
	return cmd
}

// chown gives path to u.
func (u osUser) chown(t *testing.T, path string) {
	t.Helper()
	if err := os.Chown(path, int(u.uid), int(u.gid)); err != nil {
		t.Fatal(err)
	}
}

// userRig runs timebound-iam as another user against an STS stand-in: the
// binary and the work directory are readable by everyone, the state
// directory belongs to the user.
type userRig struct {
	bin, work string
	sts       *granttest.STS
	scan      *granttest.SecretScan
}

func newUserRig(t *testing.T, buildFlags ...string) *userRig {
	t.Helper()
	// t.TempDir is 0700 and root's: the other user could not reach into it.
	work, err := os.MkdirTemp("", "timebound-iam-users-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := goBuild(t, filepath.Join(work, "timebound-iam"), ".", buildFlags...)
	sts, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sts.Close() })
	// Registered after work's removal, so it runs before it.
	scan := granttest.ScanSecrets(t)
	scan.Dir(work)
	scan.From(sts.Secrets)
	return &userRig{bin: bin, work: work, sts: sts, scan: scan}
}

// run runs timebound-iam as u with state directory state.
func (r *userRig) run(u osUser, state string, args ...string) (stdout, stderr string, err error) {
	return r.runEnv(u, state, nil, args...)
}

// runEnv is run with env added to the environment, overriding it.
func (r *userRig) runEnv(u osUser, state string, env []string, args ...string) (stdout, stderr string, err error) {
	cmd := u.as(exec.Command(r.bin, args...))
	cmd.Dir = r.work
	cmd.Env = []string{
		"HOME=" + r.work,
		"TIMEBOUND_IAM_HOME=" + state,
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + r.sts.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=users-test-passphrase",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
	}
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	what := "timebound-iam " + strings.Join(args, " ")
	r.scan.Capture("stdout of "+what, o.Bytes())
	r.scan.Capture("stderr of "+what, e.Bytes())
	return o.String(), e.String(), err
}

// TestPermissionsOtherUser: a user's state directory, found with modes others
// can read, is made private with a warning for each fix; afterwards a second
// user can read none of it: not the config, the AWS config file, the keyring
// directory or its items, the audit log or its head.
func TestPermissionsOtherUser(t *testing.T) {
	alice, bob := throwawayUser(t, "a"), throwawayUser(t, "b")
	r := newUserRig(t)
	state := filepath.Join(r.work, "alice-state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(state, config.FileName)
	if err := os.WriteFile(configPath, []byte("region = eu-west-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	alice.chown(t, state)
	alice.chown(t, configPath)

	_, stderr, err := r.run(alice, state, "grant", "-s", "s3", "-t", "15m", "--json")
	if err != nil {
		t.Fatalf("grant as %s: %v\n%s", alice.name, err, stderr)
	}
	for _, want := range []string{
		"timebound-iam: warning: " + state + " was open to other users; made it private: mode was 0755; now 0700\n",
		"timebound-iam: warning: " + configPath + " was open to other users; made it private: mode was 0644; now 0600\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// A second run finds nothing to fix.
	if _, stderr, err := r.run(alice, state, "sessions"); err != nil || strings.Contains(stderr, "warning") {
		t.Errorf("sessions as %s: %v\n%s", alice.name, err, stderr)
	}

	keyringDir := filepath.Join(state, "keyring")
	items, _ := filepath.Glob(filepath.Join(keyringDir, "*"))
	if len(items) == 0 {
		t.Fatalf("no file keyring items in %s", keyringDir)
	}
	auditLog := filepath.Join(state, audit.FileName)
	paths := append([]string{state, configPath, filepath.Join(state, config.AWSConfigName), keyringDir, auditLog, auditLog + ".head"}, items...)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if st.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm()&^want != 0 {
			t.Errorf("%s: mode %v, want at most %04o", p, st.Mode().Perm(), want)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != alice.uid {
			t.Errorf("%s belongs to uid %d, want %s's %d", p, sys.Uid, alice.name, alice.uid)
		}
		// cat reads a file; on a directory it fails anyway, so list those.
		read := exec.Command("cat", p)
		if st.IsDir() {
			read = exec.Command("ls", p)
		}
		if out, err := bob.as(read).CombinedOutput(); err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("%s could read %s as %s: %v\n%s", bob.name, p, read.Args[0], err, out)
		}
	}
	// Alice still can: the fixes did not lock her out.
	if out, err := alice.as(exec.Command("cat", configPath)).CombinedOutput(); err != nil {
		t.Errorf("%s cannot read her own config: %v\n%s", alice.name, err, out)
	}
}
