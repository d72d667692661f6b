package mcpserver_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/keychain"
)

// cutSection removes the section of profile from the file at path with a
// plain text edit, as an agent running as the user can.
func cutSection(t *testing.T, path, profile string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?ms)^\[profile ` + regexp.QuoteMeta(profile) + `\]\n.*?(^\[|\z)`)
	cut := re.ReplaceAllString(string(b), "$1")
	if cut == string(b) {
		t.Fatalf("no section %s in %s", profile, path)
	}
	if err := os.WriteFile(path, []byte(cut), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOrphanedItemsEnd: an agent cuts live grants' sections out of the AWS
// config file. RevokeAll, revoking the grant by name and a prune each still
// end its keychain item, say it was orphaned, and record it; another state
// directory's item in the same keychain is left alone.
func TestOrphanedItemsEnd(t *testing.T) {
	h := newHarness(t)
	other := keychain.NewIn(h.ring, "array", "/another/state")
	creds := aws.Credentials{AccessKeyID: "ASIAOTHERDIRECTORY01", SecretAccessKey: "s", SessionToken: "t", Expires: granttest.T0.Add(time.Hour)}
	if err := other.Put("z2z2z2z2", creds); err != nil {
		t.Fatal(err)
	}
	a := h.grant([]string{"s3"}, "read_only", "30m")
	b := h.grant([]string{"s3"}, "read_only", "30m")
	c := h.grant([]string{"s3"}, "read_only", "30m")
	for _, p := range []string{b.Profile, c.Profile} {
		cutSection(t, h.m.Profiles.Path, p)
	}
	if got := h.sessions(); len(got) != 1 {
		t.Fatalf("list_active_sessions shows %d grants after the cuts, want 1", len(got))
	}
	if orphans, err := h.m.Orphans(); err != nil || len(orphans) != 2 {
		t.Fatalf("Orphans() = %+v, %v; want the 2 cut grants", orphans, err)
	}
	orphanEntries := func(kind string) int {
		var n int
		for _, e := range h.auditEntries() {
			if e.Event == kind && strings.HasPrefix(e.Detail, "orphaned keychain item") {
				n++
			}
		}
		return n
	}

	t.Run("RevokeAll", func(t *testing.T) {
		res, err := h.m.RevokeAll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var orphaned []string
		for _, r := range res {
			if r.Orphan != "" {
				orphaned = append(orphaned, "tb-"+r.ID)
			}
		}
		if len(res) != 3 || len(orphaned) != 2 {
			t.Errorf("RevokeAll = %+v; want %s and %s orphaned, and %s", res, b.Profile, c.Profile, a.Profile)
		}
		if got := h.in(t).keychainKeys(); !slices.Equal(got, []string{"tb-z2z2z2z2"}) {
			t.Errorf("keychain items %v, want only the other directory's", got)
		}
		if n := orphanEntries(audit.Revoked); n != 2 {
			t.Errorf("%d audit entries for revoked orphaned items, want 2", n)
		}
	})
	t.Run("revoke_access by name", func(t *testing.T) {
		e := h.in(t).grant([]string{"s3"}, "read_only", "30m")
		cutSection(t, h.m.Profiles.Path, e.Profile)
		var out mcpserver.RevokeOutput
		h.in(t).ok("revoke_access", map[string]any{"session_id": e.Profile}, &out)
		if !out.Revoked || !strings.Contains(out.Orphaned, "removed") {
			t.Errorf("revoke_access %+v; want revoked, orphaned", out)
		}
		if got := h.in(t).keychainKeys(); !slices.Equal(got, []string{"tb-z2z2z2z2"}) {
			t.Errorf("keychain items %v, want only the other directory's", got)
		}
	})
	t.Run("prune", func(t *testing.T) {
		d := h.grant([]string{"s3"}, "read_only", "30m")
		cutSection(t, h.m.Profiles.Path, d.Profile)
		if err := h.m.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := h.in(t).keychainKeys(); !slices.Equal(got, []string{"tb-z2z2z2z2"}) {
			t.Errorf("keychain items after the prune %v, want only the other directory's", got)
		}
		if n := orphanEntries(audit.Pruned); n != 1 {
			t.Errorf("%d audit entries for pruned orphaned items, want 1", n)
		}
	})
}
