package doctor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/keyring"
	"github.com/timebound-iam/timebound-iam/keychain"
)

// ring is a keyring whose operations can be replaced one at a time.
type ring struct {
	*keyring.ArrayKeyring
	set    func(keyring.Item) error
	get    func(string) (keyring.Item, error)
	remove func(string) error
}

func (r ring) Set(it keyring.Item) error {
	if r.set != nil {
		return r.set(it)
	}
	return r.ArrayKeyring.Set(it)
}

func (r ring) Get(k string) (keyring.Item, error) {
	if r.get != nil {
		return r.get(k)
	}
	return r.ArrayKeyring.Get(k)
}

func (r ring) Remove(k string) error {
	if r.remove != nil {
		return r.remove(k)
	}
	return r.ArrayKeyring.Remove(k)
}

func TestKeyring(t *testing.T) {
	tests := []struct {
		name         string
		keys         func(t *testing.T, d *Doctor) (*keychain.Store, error)
		status       Status
		detail, hint string
	}{
		{
			name: "round-trips",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				return keychain.New(keyring.NewArrayKeyring(nil), keychain.KeyCtl), nil
			},
			status: OK, detail: "keyctl: a test item round-tripped",
		},
		{
			name: "file backend",
			keys: func(t *testing.T, d *Doctor) (*keychain.Store, error) {
				return keychain.Open(keychain.Options{Backend: keychain.File, Dir: d.Config.Home, Passphrase: "test-passphrase"})
			},
			status: Warn, detail: "file: a test item round-tripped",
			hint: "TIMEBOUND_IAM_FILE_PASSPHRASE) must be in the environment of every process that reads it",
		},
		{
			name: "does not open",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				return nil, errors.New("opening keyctl keyring: operation not permitted")
			},
			status: Fail, detail: "opening keyctl keyring: operation not permitted",
			hint: "choose a backend with keyring_backend in ",
		},
		{
			name: "cannot store",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				r := ring{ArrayKeyring: keyring.NewArrayKeyring(nil), set: func(keyring.Item) error { return errors.New("quota exceeded") }}
				return keychain.New(r, keychain.KeyCtl), nil
			},
			status: Fail, detail: "in the keyctl keyring: quota exceeded",
			hint: "check that the keyctl keyring is reachable and unlocked",
		},
		{
			name: "changes the item",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				r := ring{ArrayKeyring: keyring.NewArrayKeyring(nil)}
				r.get = func(k string) (keyring.Item, error) {
					it, err := r.ArrayKeyring.Get(k)
					it.Data = []byte(strings.Replace(string(it.Data), "not-a-token", "other", 1))
					return it, err
				}
				return keychain.New(r, keychain.KeyCtl), nil
			},
			status: Fail, detail: "came back from the keyctl keyring changed", hint: "keyring_backend",
		},
		{
			name: "keeps a deleted item",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				r := ring{ArrayKeyring: keyring.NewArrayKeyring(nil), remove: func(string) error { return nil }}
				return keychain.New(r, keychain.KeyCtl), nil
			},
			status: Fail, detail: "is still in the keyctl keyring after its delete", hint: "keyring_backend",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			store, err := tt.keys(t, d)
			d.Keys = func() (*keychain.Store, error) { return store, err }
			checks := d.Run(context.Background())
			want(t, checks[slices.Index(Names, KeyringCheck)], tt.status, tt.detail, tt.hint)
			role := checks[slices.Index(Names, RoleCheck)]
			if tt.status == Fail {
				want(t, role, Warn, "not checked: grants need a working keyring", "fix the keyring check first")
			} else {
				want(t, role, OK, "", "")
			}
		})
	}

	t.Run("leaves nothing behind", func(t *testing.T) {
		d := healthy(t)
		arr := keyring.NewArrayKeyring(nil)
		d.Keys = func() (*keychain.Store, error) { return keychain.New(arr, keychain.KeyCtl), nil }
		want(t, run(t, d, KeyringCheck), OK, "", "")
		if keys, _ := arr.Keys(); len(keys) != 0 {
			t.Errorf("items left in the keyring: %v", keys)
		}
	})
}
