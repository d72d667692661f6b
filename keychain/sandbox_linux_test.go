package keychain_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestKeyCtlItemsExpire stores a grant that expires in 2 seconds and then
// runs nothing: past its expiry the kernel has made the item unreadable,
// by name and by serial, inside a sandbox and out.
func TestKeyCtlItemsExpire(t *testing.T) {
	s, err := keychain.Open(keychain.Options{Backend: keychain.KeyCtl})
	if err != nil {
		t.Skipf("kernel keyring unavailable here: %v", err)
	}
	id := fmt.Sprintf("exp%05d", os.Getpid()%100000)
	c := creds
	c.Expires = time.Now().Add(2 * time.Second)
	if err := s.Put(id, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Delete(id) })
	serial := serialOf(t, "tb-"+id)
	if _, err := s.Get(id); err != nil {
		t.Fatalf("Get before the expiry: %v", err)
	}
	time.Sleep(3 * time.Second)
	if _, err := s.Get(id); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("Get past the expiry: %v, want ErrNotFound", err)
	}
	if out, err := exec.Command("keyctl", "print", fmt.Sprint(serial)).CombinedOutput(); err == nil || strings.Contains(string(out), creds.SecretAccessKey) {
		t.Errorf("keyctl print %d past the expiry: %v, %q; want an error", serial, err, out)
	}
	if got := inSandbox(t, id); got != "not found" {
		t.Errorf("inside the sandbox past the expiry: %q, want not found", got)
	}
}

// serialOf finds the serial number of this user's key named name in
// /proc/keys.
func serialOf(t *testing.T, name string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/keys")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 9 && f[8] == name+":" {
			n, err := strconv.ParseInt(f[0], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("%s is not in /proc/keys", name)
	return 0
}
