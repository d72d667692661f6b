package doctor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/keychain"
)

// checkKeyring returns the opened store when a test item round-tripped.
func (d *Doctor) checkKeyring() (*keychain.Store, Check) {
	backendHint := fmt.Sprintf("choose a backend with keyring_backend in %s (one of %s)",
		d.Config.ConfigFile(), strings.Join(keychain.Backends, ", "))
	keys, err := d.Keys()
	if err != nil {
		return nil, fail(KeyringCheck, err.Error(), backendHint)
	}
	backend := keys.Backend()
	if err := roundTrip(keys, d.now()); err != nil {
		return nil, fail(KeyringCheck, err.Error(),
			fmt.Sprintf("check that the %s keyring is reachable and unlocked, or %s", backend, backendHint))
	}
	detail := backend + ": a test item round-tripped"
	if backend == keychain.File {
		return keys, warn(KeyringCheck, detail,
			"the file keyring's passphrase (TIMEBOUND_IAM_FILE_PASSPHRASE) must be in the environment of every process that reads it, "+
				"the agent's AWS CLI included, so the agent can read the keyring too; use it for CI, and keyctl or the OS keychain elsewhere")
	}
	return keys, ok(KeyringCheck, detail)
}

// roundTrip puts, reads back and deletes a throwaway item. Its values are
// made up: nothing real is ever written.
func roundTrip(keys *keychain.Store, now time.Time) error {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	id := "doctor" + hex.EncodeToString(b[:])
	want := aws.Credentials{
		AccessKeyID:     "AKIADOCTORTESTITEM00",
		SecretAccessKey: "not-a-secret-" + id,
		SessionToken:    "not-a-token-" + id,
		CanExpire:       true,
		Expires:         now.Add(time.Minute).UTC().Truncate(time.Second),
	}
	if err := keys.Put(id, want); err != nil {
		return err
	}
	got, err := keys.Get(id)
	if err != nil {
		_ = keys.Delete(id) // best effort; the Get error is the news
		return err
	}
	if err := keys.Delete(id); err != nil {
		return err
	}
	if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey ||
		got.SessionToken != want.SessionToken || !got.Expires.Equal(want.Expires) {
		return fmt.Errorf("test item tb-%s came back from the %s keyring changed", id, keys.Backend())
	}
	if _, err := keys.Get(id); !errors.Is(err, keychain.ErrNotFound) {
		if err == nil {
			return fmt.Errorf("test item tb-%s is still in the %s keyring after its delete", id, keys.Backend())
		}
		return err
	}
	return nil
}
