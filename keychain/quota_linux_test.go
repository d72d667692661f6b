package keychain

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// fullRing fails Set the way keyring's keyctl backend does when the kernel
// key quota is used up: the errno formatted with %v, not wrapped.
type fullRing struct{ keyring.Keyring }

func (fullRing) Set(keyring.Item) error {
	return fmt.Errorf("adding key to session failed: %v", syscall.EDQUOT)
}

// TestPutQuota: a quota refusal is ErrFull, saying what to do; other
// refusals are not.
func TestPutQuota(t *testing.T) {
	s := New(fullRing{keyring.NewArrayKeyring(nil)}, KeyCtl)
	err := s.Put("k3f9ab2c", aws.Credentials{SecretAccessKey: "s", SessionToken: "t", Expires: time.Now()})
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Put: %v, want ErrFull", err)
	}
	want := "keychain full: storing tb-k3f9ab2c in the keyctl keyring: the kernel key quota for your user is used up (adding key to session failed: disk quota exceeded); revoke grants you no longer need (revoke_access, or timebound-iam revoke), or raise /proc/sys/kernel/keys/maxbytes and maxkeys as root"
	if err.Error() != want {
		t.Errorf("Put:\n%s\nwant\n%s", err, want)
	}
	if isQuota(errors.New("permission denied")) || isQuota(nil) || !strings.Contains(want, syscall.EDQUOT.Error()) {
		t.Error("isQuota matches what is not a quota refusal")
	}
}
