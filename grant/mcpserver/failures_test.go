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
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
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

// removeFails is a keyring whose Remove fails while fail is set, as a locked
// keychain or a D-Bus error does.
type removeFails struct {
	keyring.Keyring
	fail atomic.Bool
}

func (r *removeFails) Remove(key string) error {
	if r.fail.Load() {
		return errors.New("keychain is locked")
	}
	return r.Keyring.Remove(key)
}

// TestMCPRevokeKeychainDeleteFails: when the keychain refuses to delete, a
// revoke of a live grant and of an orphaned item (its section cut out of the
// AWS config file) each fail with the keychain's error, change nothing (the
// item stays, the profile stays live, the file is as it was) and leave a
// "failed" entry in the audit log. Once the keychain works, both revoke.
func TestMCPRevokeKeychainDeleteFails(t *testing.T) {
	ring := &removeFails{}
	h := newHarness(t, func(h *harness) { ring.Keyring = h.array; h.ring = ring })
	live := h.grant([]string{"s3"}, "read_only", "30m")
	orphan := h.grant([]string{"s3"}, "read_only", "30m")
	cutSection(t, h.m.Profiles.Path, orphan.Profile)
	before := h.profilesText()
	ring.fail.Store(true)

	for _, g := range []grant.GrantOutput{live, orphan} {
		msg := h.toolErr("revoke_access", map[string]any{"session_id": g.Profile})
		if !strings.Contains(msg, "keychain is locked") {
			t.Errorf("revoke %s: tool error %q does not say why", g.Profile, msg)
		}
		entries := h.auditEntries()
		last := entries[len(entries)-1]
		if last.Event != audit.Failed || last.Session != g.Profile || !strings.Contains(last.Detail, "revoke failed; the keychain item and the profile stay: ") || !strings.Contains(last.Detail, "keychain is locked") {
			t.Errorf("revoke %s: last audit entry %+v; want a failed revoke", g.Profile, last)
		}
	}
	if got := h.keychainKeys(); !slices.Equal(got, []string{live.Profile, orphan.Profile}) && !slices.Equal(got, []string{orphan.Profile, live.Profile}) {
		t.Errorf("keychain items %v; want both still there", got)
	}
	if after := h.profilesText(); after != before {
		t.Errorf("a failed revoke changed the profiles file:\n%s\nwas:\n%s", after, before)
	}
	if got := h.sessions(); len(got) != 1 || got[0].Profile != live.Profile {
		t.Errorf("sessions %+v; want %s still live", got, live.Profile)
	}

	ring.fail.Store(false)
	// The orphan first: a successful revoke prunes orphans after it.
	for _, g := range []grant.GrantOutput{orphan, live} {
		var out mcpserver.RevokeOutput
		h.ok("revoke_access", map[string]any{"session_id": g.Profile}, &out)
		if !out.Revoked {
			t.Errorf("revoke %s once the keychain works: %+v", g.Profile, out)
		}
	}
	if got := h.keychainKeys(); len(got) != 0 {
		t.Errorf("keychain items %v left", got)
	}
}
