package granttest

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Backdate makes grant id expire at to, in its file-keyring item and its
// profile in state/aws-config, as if the clock had run on: an expired grant
// without waiting the 15 minutes STS requires at least. It returns the
// grant's credentials as they were, for checks at the server.
func Backdate(state, passphrase, id string, to time.Time) (aws.Credentials, error) {
	keys, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: state, Passphrase: passphrase})
	if err != nil {
		return aws.Credentials{}, err
	}
	c, err := keys.Get(id)
	if err != nil {
		return c, err
	}
	moved := c
	moved.Expires = to.UTC().Truncate(time.Second)
	if err := keys.Put(id, moved); err != nil {
		return c, err
	}
	f := &profiles.File{Path: filepath.Join(state, "aws-config"), Home: state}
	return c, f.Update(func(s *profiles.Set) error {
		e, ok := s.Get(id)
		if !ok {
			return fmt.Errorf("no profile %s%s", profiles.Prefix, id)
		}
		e.Expires = moved.Expires
		return s.Put(e)
	})
}
