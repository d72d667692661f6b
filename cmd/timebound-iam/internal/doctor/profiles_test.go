package doctor

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

func TestStaleProfiles(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	entry := func(id string, status profiles.Status, expires, revoked time.Time, backend string) profiles.Entry {
		return profiles.Entry{
			ID: id, Region: "us-east-1", Access: []profiles.Access{{Service: "s3", Level: "read_only"}},
			Helper: profiles.Helper{Exe: "/usr/local/bin/timebound-iam", Backend: backend},
			Status: status, Created: expires.Add(-time.Hour), Expires: expires, Revoked: revoked,
		}
	}
	live := entry("livekept", profiles.Active, now.Add(time.Hour), time.Time{}, keychain.KeyCtl)
	lost := entry("livelost", profiles.Active, now.Add(time.Hour), time.Time{}, keychain.KeyCtl)
	elsewhere := entry("liveelse", profiles.Active, now.Add(time.Hour), time.Time{}, keychain.File)
	expired := entry("expired2", profiles.Active, now.Add(-time.Minute), time.Time{}, keychain.KeyCtl)
	recent := entry("recent22", profiles.Revoked, now.Add(time.Hour), now.Add(-time.Hour), keychain.KeyCtl)
	old := entry("oldstone", profiles.Revoked, now.Add(-20*time.Hour), now.Add(-25*time.Hour), keychain.KeyCtl)
	oldExpired := entry("oldexpir", profiles.Expired, now.Add(-25*time.Hour), time.Time{}, keychain.KeyCtl)
	const broken = "[profile tb-brokenab]\ntb_status = active\n"

	tests := []struct {
		name         string
		entries      []profiles.Entry
		extra        string
		status       Status
		detail, hint string
	}{
		{name: "empty", status: OK, detail: "no tb- profiles in "},
		{
			name: "clean", entries: []profiles.Entry{live, recent, elsewhere},
			status: OK, detail: "2 live grants, 1 recent tombstone; nothing stale",
		},
		{
			name: "expired not pruned", entries: []profiles.Entry{live, expired},
			status: Warn, detail: "1 expired grant not yet pruned (tb-expired2)",
			hint: "timebound-iam sessions prunes expired grants and old tombstones",
		},
		{
			name: "old tombstones", entries: []profiles.Entry{old, oldExpired, recent},
			status: Warn, detail: "2 tombstones ended over 24h ago (tb-oldstone, tb-oldexpir)", hint: "timebound-iam sessions prunes",
		},
		{
			name: "keychain item missing", entries: []profiles.Entry{live, lost},
			status: Warn, detail: "1 live grant without a readable keychain item (tb-livelost)",
			hint: "timebound-iam revoke tb-livelost ends them",
		},
		{
			name: "unreadable", entries: []profiles.Entry{live}, extra: broken,
			status: Warn, detail: "1 unreadable section (profile tb-brokenab: tb_expires is missing)",
			hint: "fix or delete the unreadable sections in ",
		},
		{
			name: "all at once", entries: []profiles.Entry{live, lost, expired, old, recent}, extra: broken,
			status: Warn, detail: "1 unreadable section (profile tb-brokenab: tb_expires is missing); 1 expired grant not yet pruned (tb-expired2); 1 tombstone ended over 24h ago (tb-oldstone); 1 live grant without a readable keychain item (tb-livelost)",
			hint: "timebound-iam sessions prunes expired grants and old tombstones; timebound-iam revoke tb-livelost ends them; fix or delete",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			store := keychain.New(keyring.NewArrayKeyring(nil), keychain.KeyCtl)
			d.Keys = func() (*keychain.Store, error) { return store, nil }
			if err := store.Put(live.ID, aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: secret, Expires: live.Expires}); err != nil {
				t.Fatal(err)
			}
			err := d.Profiles.Update(func(s *profiles.Set) error {
				for _, e := range tt.entries {
					if err := s.Put(e); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.extra != "" {
				f, err := os.OpenFile(d.Profiles.Path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(tt.extra)
				f.Close()
			}
			want(t, run(t, d, ProfilesCheck), tt.status, tt.detail, tt.hint)
		})
	}

	t.Run("keyring failed", func(t *testing.T) {
		d := healthy(t)
		d.Keys = func() (*keychain.Store, error) { return nil, errors.New("no keyring") }
		if err := d.Profiles.Update(func(s *profiles.Set) error { return s.Put(lost) }); err != nil {
			t.Fatal(err)
		}
		want(t, run(t, d, ProfilesCheck), OK, "1 live grant, 0 recent tombstones; nothing stale", "")
	})
}
