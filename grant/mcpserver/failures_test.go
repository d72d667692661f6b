package mcpserver_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/99designs/keyring"
	"github.com/aws/smithy-go"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
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

	h.ok("revoke_access", map[string]any{"session_id": first.Profile}, &mcpserver.RevokeOutput{})
	ring.full.Store(false) // the kernel freed the revoked key
	h.grant([]string{"s3"}, "read_only", "15m")
}

func TestMCPGrantAccessSTSFailure(t *testing.T) {
	tests := []struct {
		name string
		ttl  string
		err  error
		want []string
	}{
		{"max session duration", "2h",
			&smithy.GenericAPIError{Code: "ValidationError", Message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
			[]string{"ttl 2h", "MaxSessionDuration", granttest.Role, "shorter ttl"}},
		{"role chaining", "2h",
			&smithy.GenericAPIError{Code: "ValidationError", Message: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
			[]string{"ttl 2h", "role chaining", "1h"}},
		{"access denied", "30m",
			&smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: " + granttest.Role},
			[]string{"AccessDenied", granttest.Role, "trust policy"}},
		{"other API error", "30m",
			&smithy.GenericAPIError{Code: "RegionDisabledException", Message: "STS is not activated in this region"},
			[]string{"STS AssumeRole", granttest.Role, "RegionDisabledException", "not activated"}},
		{"network error", "30m",
			errors.New("dial tcp 127.0.0.1:1: connect: connection refused"),
			[]string{"STS AssumeRole", granttest.Role, "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sts.SetErr(tt.err)
			msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": tt.ttl})
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if n := len(h.sts.Calls()); n != 1 {
				t.Errorf("%d AssumeRole calls, want 1", n)
			}
			h.checkNothingLeft()
		})
	}
}

func TestMCPGrantAccessStorageFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*harness)
		want  []string
	}{
		{"keychain set fails", func(h *harness) { h.ring = failingSet{h.array} },
			[]string{"storing tb-", "array keyring", "keychain is locked"}},
		{"profiles directory missing", func(h *harness) {
			h.m.Profiles.Path = filepath.Join(h.m.Config.Home, "missing", "aws-config")
		}, []string{filepath.Join("missing", "aws-config")}},
		{"profiles path is a directory", func(h *harness) {
			if err := os.Mkdir(h.m.Profiles.Path, 0o700); err != nil {
				h.t.Fatal(err)
			}
		}, []string{"aws-config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.setup)
			msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"})
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if n := len(h.sts.Calls()); n != 1 {
				t.Errorf("%d AssumeRole calls, want 1: the failure must come after STS", n)
			}
			if keys := h.keychainKeys(); len(keys) != 0 {
				t.Errorf("keychain items left after a failed grant: %v", keys)
			}
			if fi, err := os.Stat(h.m.Profiles.Path); err == nil && !fi.IsDir() {
				h.checkNothingLeft()
			}
		})
	}
}
