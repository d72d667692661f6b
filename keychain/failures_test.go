package keychain_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/keychain"
)

// TestOpenUnavailable: a backend this machine lacks is ErrUnavailable, with
// the reason and the backends that are available here.
func TestOpenUnavailable(t *testing.T) {
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "disabled:" {
		t.Skipf("a D-Bus session bus is configured here (%s)", addr)
	}
	_, err := keychain.Open(keychain.Options{Backend: keychain.SecretService})
	if !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("Open(secret-service) without a session bus: %v, want ErrUnavailable", err)
	}
	for _, want := range []string{`keyring_backend "secret-service" cannot be used here`, "no D-Bus session bus", "backends available here: "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	avail := keychain.Available()
	if slices.Contains(avail, keychain.SecretService) || !slices.Contains(avail, keychain.File) {
		t.Errorf("Available() = %v; want file and not secret-service", avail)
	}
	if !strings.HasSuffix(err.Error(), strings.Join(avail, ", ")) {
		t.Errorf("error %q does not end with the available backends %v", err, avail)
	}
}

// TestFileWrongPassphrase: items stored under one passphrase cannot be
// read with another (ErrLocked, naming the directory and the variable), and
// nothing can be stored with it either, so the keyring never mixes two
// passphrases; the right passphrase still reads every item. Delete needs no
// passphrase.
func TestFileWrongPassphrase(t *testing.T) {
	dir := t.TempDir()
	right, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: dir, Passphrase: "right"})
	if err != nil {
		t.Fatal(err)
	}
	if err := right.Check(); err != nil {
		t.Errorf("Check on an empty keyring: %v", err)
	}
	if err := right.Put("k3f9ab2c", creds); err != nil {
		t.Fatal(err)
	}
	wrong, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: dir, Passphrase: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"Check": wrong.Check(), "Put": wrong.Put("n3w2345a", creds), "Get": getErr(wrong, "k3f9ab2c")} {
		if !errors.Is(err, keychain.ErrLocked) {
			t.Errorf("%s with a wrong passphrase: %v, want ErrLocked", name, err)
			continue
		}
		for _, want := range []string{filepath.Join(dir, "keyring"), "cannot decrypt tb-k3f9ab2c with this passphrase", "set TIMEBOUND_IAM_FILE_PASSPHRASE to the passphrase the grants were stored with"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q lacks %q", name, err, want)
			}
		}
		if strings.Contains(err.Error(), creds.SecretAccessKey) || strings.Contains(err.Error(), creds.SessionToken) {
			t.Errorf("%s: the error carries a secret", name)
		}
	}
	if ids, _ := right.IDs(); !slices.Equal(ids, []string{"k3f9ab2c"}) {
		t.Errorf("items after the refused Put: %v", ids)
	}
	if got, err := right.Get("k3f9ab2c"); err != nil || got.SessionToken != creds.SessionToken {
		t.Errorf("the right passphrase no longer reads the item: %v", err)
	}
	if err := wrong.Delete("k3f9ab2c"); err != nil {
		t.Errorf("Delete with a wrong passphrase: %v", err)
	}
	if _, err := right.Get("k3f9ab2c"); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func getErr(s *keychain.Store, id string) error {
	_, err := s.Get(id)
	return err
}

// TestFileCheckSkipsDamagedItems: an item another process is writing right
// now (the backend writes in place), or a damaged one, is no verdict on the
// passphrase: Check goes on to the next item.
func TestFileCheckSkipsDamagedItems(t *testing.T) {
	dir := t.TempDir()
	right, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: dir, Passphrase: "right"})
	if err != nil {
		t.Fatal(err)
	}
	if err := right.Put("k3f9ab2c", creds); err != nil {
		t.Fatal(err)
	}
	// Sorts before the good item, so Check reads it first.
	if err := os.WriteFile(filepath.Join(dir, "keyring", "tb-aaaa2345"), []byte("eyJhbGciOi"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := right.Check(); err != nil {
		t.Errorf("Check with the right passphrase and a damaged item: %v", err)
	}
	wrong, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: dir, Passphrase: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Check(); !errors.Is(err, keychain.ErrLocked) || !strings.Contains(err.Error(), "tb-k3f9ab2c") {
		t.Errorf("Check with a wrong passphrase: %v, want ErrLocked naming tb-k3f9ab2c", err)
	}
	if _, err := right.Get("aaaa2345"); err == nil || errors.Is(err, keychain.ErrLocked) {
		t.Errorf("Get of the damaged item: %v, want an error that does not blame the passphrase", err)
	}
}
