package keychain_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/keychain"
	"golang.org/x/sys/unix"
)

// childEnv makes this test binary, started again inside a sandbox, read one
// item and print what it found instead of running tests.
const childEnv = "TIMEBOUND_IAM_KEYCHAIN_TEST_CHILD"

func TestMain(m *testing.M) {
	if id, ok := os.LookupEnv(childEnv); ok {
		os.Exit(child(id))
	}
	os.Exit(m.Run())
}

// child is the sandboxed side: Open and Get, as credential-process does.
func child(id string) int {
	s, err := keychain.Open(keychain.Options{Backend: keychain.KeyCtl})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	c, err := s.Get(id)
	if errors.Is(err, keychain.ErrNotFound) {
		fmt.Println("not found")
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "get:", err)
		return 2
	}
	fmt.Println("found", c.AccessKeyID, c.SecretAccessKey)
	return 0
}

// inSandbox runs this test binary's child side for id in a new user
// namespace made by bubblewrap, the runtime under Claude Code's sandbox: the
// user keyring there is a new, empty one.
func inSandbox(t *testing.T, id string, extra ...string) string {
	t.Helper()
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bubblewrap is not installed (the test rig installs it: sh .ci/rig)")
	}
	args := append([]string{"--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"}, extra...)
	args = append(args, os.Args[0])
	cmd := exec.Command(bwrap, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+id)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bwrap %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestKeyCtlInsideSandbox stores a grant outside a user namespace and reads
// it from inside one, where keyring's own search finds nothing. A key of the
// same user that is not a grant, kept with keyctl's default permissions,
// stays unreadable there by every means the sandbox has.
func TestKeyCtlInsideSandbox(t *testing.T) {
	s, err := keychain.Open(keychain.Options{Backend: keychain.KeyCtl})
	if err != nil {
		t.Skipf("kernel keyring unavailable here: %v", err)
	}
	id := fmt.Sprintf("sbx%05d", os.Getpid()%100000)
	if err := s.Put(id, creds); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Delete(id) })

	// Outside, the plain search finds it; inside, only the serial does.
	if got := inSandbox(t, id); got != "found "+creds.AccessKeyID+" "+creds.SecretAccessKey {
		t.Errorf("inside the sandbox: %q, want the grant's credentials", got)
	}

	// A secret of this user that is not a grant, as another tool would keep
	// it: added to the user keyring with the kernel's default permissions,
	// and named like a grant so that the lookup would try it.
	other := "tb-notagrant" + id
	serial, err := unix.AddKey("user", other, []byte("base-secret-"+id), unix.KEY_SPEC_USER_KEYRING)
	if err != nil {
		t.Fatalf("adding a foreign key: %v", err)
	}
	t.Cleanup(func() { _, _ = unix.KeyctlInt(unix.KEYCTL_UNLINK, serial, unix.KEY_SPEC_USER_KEYRING, 0, 0) })
	if got := inSandbox(t, strings.TrimPrefix(other, "tb-")); got != "not found" {
		t.Errorf("a key that is not a grant, from inside the sandbox: %q, want not found", got)
	}
	// And read directly by serial, as an agent would try after listing
	// /proc/keys.
	out, err := exec.Command("bwrap", "--unshare-user", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
		"keyctl", "print", fmt.Sprint(serial)).CombinedOutput()
	if err == nil || strings.Contains(string(out), "base-secret") {
		t.Errorf("keyctl print %d inside the sandbox: %v, %q; want permission denied", serial, err, out)
	}

	// A revoked grant is gone inside too.
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if got := inSandbox(t, id); got != "not found" {
		t.Errorf("after Delete, inside the sandbox: %q, want not found", got)
	}
}
