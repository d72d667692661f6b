package doctor

import (
	"fmt"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// checkProfiles looks for tb- sections a prune, a revoke or an edit should
// clean up. keys is nil when the keyring check failed; live grants' items are
// then not looked for.
func (d *Doctor) checkProfiles(keys *keychain.Store) Check {
	set, err := d.Profiles.Read()
	if err != nil {
		return warn(ProfilesCheck, "cannot check: "+err.Error(), "check the permissions of "+d.Profiles.Path)
	}
	now := d.now()
	var live, recent int
	var old, expired, missing []string
	for _, e := range set.Entries() {
		switch {
		case e.Live(now):
			live++
			// Items of grants made under another backend are that backend's
			// business; this run cannot see them.
			if keys != nil && (e.Helper.Backend == "" || e.Helper.Backend == keys.Backend()) {
				if _, err := keys.Get(e.ID); err != nil {
					missing = append(missing, e.Name())
				}
			}
		case e.Status == profiles.Active:
			expired = append(expired, e.Name())
		case now.Sub(e.Ended()) > grant.TombstoneTTL:
			old = append(old, e.Name())
		default:
			recent++
		}
	}
	problems := set.Problems()
	var found, hints []string
	if n := len(problems); n > 0 {
		texts := make([]string, n)
		for i, p := range problems {
			texts[i] = p.Error()
		}
		found = append(found, fmt.Sprintf("%d unreadable %s (%s)", n, plural(n, "section"), strings.Join(texts, "; ")))
	}
	if n := len(expired); n > 0 {
		found = append(found, fmt.Sprintf("%d expired %s not yet pruned (%s)", n, plural(n, "grant"), strings.Join(expired, ", ")))
	}
	if n := len(old); n > 0 {
		found = append(found, fmt.Sprintf("%d %s ended over 24h ago (%s)", n, plural(n, "tombstone"), strings.Join(old, ", ")))
	}
	if len(expired)+len(old) > 0 {
		hints = append(hints, "timebound-iam sessions prunes expired grants and old tombstones")
	}
	if n := len(missing); n > 0 {
		found = append(found, fmt.Sprintf("%d live %s without a readable keychain item (%s)", n, plural(n, "grant"), strings.Join(missing, ", ")))
		hints = append(hints, "timebound-iam revoke "+strings.Join(missing, " ")+" ends them")
	}
	if len(problems) > 0 {
		hints = append(hints, "fix or delete the unreadable sections in "+d.Profiles.Path)
	}
	if len(found) > 0 {
		return warn(ProfilesCheck, strings.Join(found, "; "), strings.Join(hints, "; "))
	}
	if live+recent == 0 {
		return ok(ProfilesCheck, "no tb- profiles in "+d.Profiles.Path)
	}
	return ok(ProfilesCheck, fmt.Sprintf("%d live %s, %d recent %s; nothing stale",
		live, plural(live, "grant"), recent, plural(recent, "tombstone")))
}
