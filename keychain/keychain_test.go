package keychain_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/keychain"
)

var creds = aws.Credentials{
	AccessKeyID:     "ASIAEXAMPLEEXAMPLE12",
	SecretAccessKey: "secret/with+chars=",
	SessionToken:    "token-" + strings.Repeat("t", 600),
	// In the future: a keyctl item lives until its expiry.
	Expires: time.Now().Add(time.Hour).Truncate(time.Second).UTC(),
}

// roundTrip is the contract every backend must keep.
func roundTrip(t *testing.T, s *keychain.Store) {
	t.Helper()
	id := "k3f9ab2c"
	if _, err := s.Get(id); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("Get before Put: err = %v, want ErrNotFound", err)
	}
	if err := s.Put(id, creds); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != creds.AccessKeyID || got.SecretAccessKey != creds.SecretAccessKey || got.SessionToken != creds.SessionToken || !got.Expires.Equal(creds.Expires) || !got.CanExpire {
		t.Errorf("Get = %+v, want %+v", got, creds)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(id); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(id); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
}

func TestArray(t *testing.T) {
	roundTrip(t, keychain.New(keyring.NewArrayKeyring(nil), "array"))
}

func TestFileBackend(t *testing.T) {
	dir := t.TempDir()
	// keyring never fixes a looser existing directory; Open must.
	if err := os.Mkdir(filepath.Join(dir, "keyring"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: dir, Passphrase: "p"})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s)
	st, err := os.Stat(filepath.Join(dir, "keyring"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("file keyring dir mode = %v, %v; want 0700", st.Mode().Perm(), err)
	}
	// The item on disk is encrypted: no secret in plain text.
	if err := s.Put("abcd2345", creds); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "keyring"))
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, "keyring", e.Name()))
		if strings.Contains(string(data), creds.SecretAccessKey) || strings.Contains(string(data), creds.SessionToken) {
			t.Errorf("%s holds a secret in plain text", e.Name())
		}
	}
	// Another passphrase cannot read it.
	other, _ := keychain.Open(keychain.Options{Backend: keychain.File, Dir: dir, Passphrase: "wrong"})
	if _, err := other.Get("abcd2345"); err == nil || errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("Get with the wrong passphrase: err = %v, want a decryption error", err)
	}
}

func TestKeyCtl(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("keyctl is Linux only")
	}
	s, err := keychain.Open(keychain.Options{Backend: keychain.KeyCtl})
	if err != nil {
		t.Skipf("kernel keyring unavailable here: %v", err)
	}
	roundTrip(t, s)
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		opts keychain.Options
		want string
	}{
		{"unknown backend", keychain.Options{Backend: "vault"}, `keyring_backend "vault" is not one of [keyctl secret-service keychain wincred pass file]`},
		{"file without passphrase", keychain.Options{Backend: keychain.File, Dir: "/tmp"}, "the file keyring needs a passphrase and TIMEBOUND_IAM_FILE_PASSPHRASE is empty: set it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keychain.Open(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResolveAutoNeverFile(t *testing.T) {
	got, err := keychain.Resolve(keychain.Auto)
	if err != nil {
		t.Skipf("no OS keychain here: %v", err)
	}
	if got == keychain.File {
		t.Errorf("Resolve(auto) = file; the file backend must be chosen explicitly")
	}
	// keyctl even beside a Secret Service: an agent's sandbox reaches only
	// the kernel keyring.
	if runtime.GOOS == "linux" && got != keychain.KeyCtl {
		t.Errorf("Resolve(auto) on Linux = %q, want keyctl", got)
	}
}

// TestKeyCtlConcurrentPuts stores from many goroutines at once, as serve
// does. keyring's keyctl Set creates each item in the session keyring, sets
// its permissions and moves it: three system calls that must all run on one
// OS thread, because a session keyring joined by one thread is not the
// others'. Across threads, Set fails with "permission denied" or "no such
// file or directory".
func TestKeyCtlConcurrentPuts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("keyctl is Linux only")
	}
	s, err := keychain.Open(keychain.Options{Backend: keychain.KeyCtl})
	if err != nil {
		t.Skipf("kernel keyring unavailable here: %v", err)
	}
	const workers, each = 8, 40
	errs := make(chan error, workers*each)
	// Garbage collections stop and restart every goroutine, which is when
	// one moves to another thread.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("cc%02d%04d", w, i)
				t.Cleanup(func() { s.Delete(id) })
				if err := s.Put(id, creds); err != nil {
					errs <- err
					continue
				}
				if _, err := s.Get(id); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d concurrent Puts or Gets failed", n, workers*each)
	}
}

// TestGuardLinked shows that linking this package is enough for the D-Bus
// guard: this test binary imports keychain, not the guard, and keyring's init
// has already run without a session bus.
func TestGuardLinked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("D-Bus session buses are a Linux matter here")
	}
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
		t.Skip("a session bus exists here; the guard rightly stays out of the way")
	}
	// The environment this binary was started with, before any init ran.
	start, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Skipf("cannot read the start-up environment: %v", err)
	}
	for _, kv := range strings.Split(string(start), "\x00") {
		if v, ok := strings.CutPrefix(kv, "DBUS_SESSION_BUS_ADDRESS="); ok && v != "" {
			t.Skipf("started with DBUS_SESSION_BUS_ADDRESS=%q; the guard rightly stays out of the way", v)
		}
	}
	if v := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); v != "disabled:" { // dbusguard.Disabled; importing it here would prove nothing
		t.Errorf("DBUS_SESSION_BUS_ADDRESS = %q after start-up, want %q: the guard did not run before keyring", v, "disabled:")
	}
	if slices.Contains(keyring.AvailableBackends(), keyring.SecretServiceBackend) {
		t.Errorf("keyring reached a Secret Service despite the guard: its init started a bus")
	}
}

// TestIDs lists grant ids without reading any item, and skips items that are
// not grants.
func TestIDs(t *testing.T) {
	file, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: t.TempDir(), Passphrase: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*keychain.Store{
		"array": keychain.New(keyring.NewArrayKeyring([]keyring.Item{{Key: "not-a-grant"}}), "array"),
		"file":  file,
	} {
		t.Run(name, func(t *testing.T) {
			if ids, err := s.IDs(); err != nil || len(ids) != 0 {
				t.Fatalf("IDs of an empty keyring = %q, %v; want none", ids, err)
			}
			for _, id := range []string{"k3f9ab2c", "abcd2345"} {
				if err := s.Put(id, creds); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Delete("k3f9ab2c"); err != nil {
				t.Fatal(err)
			}
			ids, err := s.IDs()
			if err != nil || !slices.Equal(ids, []string{"abcd2345"}) {
				t.Errorf("IDs = %q, %v; want [abcd2345]", ids, err)
			}
		})
	}
}

// TestOwner: an item records the state directory that wrote it, and only a
// shared backend's item of another directory, or of none, is not its own.
func TestOwner(t *testing.T) {
	ring := keyring.NewArrayKeyring(nil)
	a := keychain.NewIn(ring, "array", "/state/a")
	if err := a.Put("k3f9ab2c", creds); err != nil {
		t.Fatal(err)
	}
	if err := keychain.New(ring, "array").Put("m4n5p6q7", creds); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, home string
		want           bool
	}{
		{"own directory", "k3f9ab2c", "/state/a", true},
		{"another directory", "k3f9ab2c", "/state/b", false},
		{"no directory recorded", "m4n5p6q7", "/state/a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := a.Owner(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Of(tt.home); got != tt.want {
				t.Errorf("Owner(%s).Of(%s) = %v, want %v (owner %+v)", tt.id, tt.home, got, tt.want, o)
			}
			if !o.Expires.Equal(creds.Expires) {
				t.Errorf("Expires = %v, want %v", o.Expires, creds.Expires)
			}
		})
	}
	if _, err := a.Owner("zzzzzzzz"); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("Owner of a missing item: err = %v, want ErrNotFound", err)
	}
	// The file keyring is its directory's own: every item in it is.
	dir := t.TempDir()
	f, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: dir, Passphrase: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Put("k3f9ab2c", creds); err != nil {
		t.Fatal(err)
	}
	if o, err := f.Owner("k3f9ab2c"); err != nil || o.Home != dir || !o.Of("/elsewhere") {
		t.Errorf("file item owner %+v, %v; want home %s, and the directory's own", o, err, dir)
	}
}
