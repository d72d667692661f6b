package mcpserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/profiles"
)

func TestMCPRevokeAccess(t *testing.T) {
	h := newHarness(t)
	a := h.grant([]string{"s3"}, "read_only", "30m")
	b := h.grant([]string{"ec2"}, "full", "30m")
	c := h.grant([]string{"logs"}, "read_only", "15m")
	h.clock.Add(10 * time.Minute)
	revokedAt := h.clock.Now().Format(time.RFC3339)

	revoke := func(t *testing.T, id string) mcpserver.RevokeOutput {
		t.Helper()
		var out mcpserver.RevokeOutput
		h.in(t).ok("revoke_access", map[string]any{"session_id": id}, &out)
		return out
	}
	// The subtests share one server and run in order.
	t.Run("live grant by profile name", func(t *testing.T) {
		got := revoke(t, a.Profile)
		if diff := cmp.Diff(mcpserver.RevokeOutput{SessionID: a.SessionID, Profile: a.Profile, Revoked: true, Status: "revoked"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
	})
	t.Run("live grant by bare id", func(t *testing.T) {
		got := revoke(t, b.SessionID)
		if diff := cmp.Diff(mcpserver.RevokeOutput{SessionID: b.SessionID, Profile: b.Profile, Revoked: true, Status: "revoked"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
	})
	t.Run("keychain items gone, tombstones written", func(t *testing.T) {
		h := h.in(t)
		if diff := cmp.Diff([]string{c.Profile}, h.keychainKeys()); diff != "" {
			t.Errorf("keychain items (-want +got):\n%s", diff)
		}
		for _, g := range []grant.GrantOutput{a, b} {
			wantLine := "'" + granttest.Exe + "' credential-process --session " + g.SessionID + " --home '" + h.m.Config.Home +
				"' --backend array --expires 2026-11-25T12:30:00Z --revoked-at " + revokedAt
			if line := h.credentialProcess(g.SessionID); line != wantLine {
				t.Errorf("%s credential_process\n got %s\nwant %s", g.Profile, line, wantLine)
			}
			if e, _ := h.entry(g.SessionID); e.Status != profiles.Revoked {
				t.Errorf("%s status %q, want revoked", g.Profile, e.Status)
			}
		}
		if diff := cmp.Diff([]string{c.Profile}, profileNames(h.sessions())); diff != "" {
			t.Errorf("live sessions after revokes (-want +got):\n%s", diff)
		}
		if !strings.Contains(h.log.String(), "msg=revoked session="+a.Profile) {
			t.Errorf("no revoke logged for %s:\n%s", a.Profile, h.log.String())
		}
	})
	t.Run("again", func(t *testing.T) {
		got := revoke(t, a.Profile)
		if diff := cmp.Diff(mcpserver.RevokeOutput{SessionID: a.SessionID, Profile: a.Profile, Revoked: false, Status: "revoked"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
	})
	t.Run("expired grant", func(t *testing.T) {
		h := h.in(t)
		h.clock.Add(5 * time.Minute) // c expires at granttest.T0+15m
		got := revoke(t, c.SessionID)
		if diff := cmp.Diff(mcpserver.RevokeOutput{SessionID: c.SessionID, Profile: c.Profile, Revoked: false, Status: "expired"}, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
		if keys := h.keychainKeys(); len(keys) != 0 {
			t.Errorf("keychain items after every grant ended: %v", keys)
		}
	})

	bad := []struct {
		name, id string
		want     []string
	}{
		{"unknown id", "tb-zzzzzzzz", []string{"tb-zzzzzzzz", "no such grant", "list_active_sessions"}},
		{"path traversal", "../etc", []string{"session_id", `"../etc"`, "list_active_sessions"}},
		{"empty", "", []string{"session_id", `""`}},
		{"uppercase", "TB-ABCDEFGH", []string{"session_id", `"TB-ABCDEFGH"`}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			before := h.profilesText()
			msg := h.toolErr("revoke_access", map[string]any{"session_id": tt.id})
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if after := h.profilesText(); after != before {
				t.Errorf("a refused revoke changed the profiles file:\n%s", after)
			}
		})
	}
}

func profileNames(s []grant.SessionOutput) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Profile)
	}
	return out
}
