package keychain_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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
	Expires:         time.Date(2026, 11, 25, 14, 5, 10, 0, time.UTC),
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
		{"file without passphrase", keychain.Options{Backend: keychain.File, Dir: "/tmp"}, "set TIMEBOUND_IAM_FILE_PASSPHRASE"},
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
	if runtime.GOOS == "linux" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" && got != keychain.KeyCtl {
		t.Errorf("Resolve(auto) on headless Linux = %q, want keyctl", got)
	}
}
