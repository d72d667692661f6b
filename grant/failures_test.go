package grant_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/99designs/keyring"
	"github.com/timebound-iam/timebound-iam/grant"
)

// quotaRing fails Set, once full, as keyring's keyctl backend does when the
// kernel key quota is used up: the errno formatted with %v.
type quotaRing struct {
	keyring.Keyring
	full atomic.Bool
}

func (q *quotaRing) Set(it keyring.Item) error {
	if q.full.Load() {
		return fmt.Errorf("adding key to session failed: %v", syscall.EDQUOT)
	}
	return q.Keyring.Set(it)
}

// TestMCPGrantAccessKeychainFull: with the keychain full, grant_access is a
// tool error the agent can act on (keychain full, revoke_access), and it
// leaves nothing half-written: no item, no profile, no pending marker. The
// earlier grant is untouched, and once a revoke makes room grants work
// again.
func TestMCPGrantAccessKeychainFull(t *testing.T) {
	ring := &quotaRing{}
	h := newHarness(t, func(h *harness) { ring.Keyring = h.array; h.ring = ring })
	first := h.grant([]string{"s3"}, "read_only", "30m")
	before := h.profilesText()
	ring.full.Store(true)

	msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"})
	for _, want := range []string{"keychain full: storing tb-", "the kernel key quota for your user is used up", "revoke grants you no longer need (revoke_access, or timebound-iam revoke)", "/proc/sys/kernel/keys/maxbytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("tool error %q lacks %q", msg, want)
		}
	}
	if got := h.keychainKeys(); !slices.Equal(got, []string{first.Profile}) {
		t.Errorf("keychain items %v, want only %s", got, first.Profile)
	}
	if after := h.profilesText(); after != before {
		t.Errorf("the profiles file changed:\n%s\nwas:\n%s", after, before)
	}
	if left, _ := os.ReadDir(h.m.Profiles.Path + ".pending"); len(left) != 0 {
		t.Errorf("pending markers left: %v", left)
	}
	if live := h.sessions(); len(live) != 1 || live[0].SessionID != first.SessionID {
		t.Errorf("live sessions %+v, want only %s", live, first.Profile)
	}

	h.ok("revoke_access", map[string]any{"session_id": first.Profile}, &grant.RevokeOutput{})
	ring.full.Store(false) // the kernel freed the revoked key
	h.grant([]string{"s3"}, "read_only", "15m")
}
