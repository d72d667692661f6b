package grant

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Orphaned keychain items. The profiles file is the user's own, and anything
// running as the user can edit it: cut a live grant's section out, and a
// revoke that looks only at the file would never see the grant, whose
// credentials would stay in the keychain, readable by a copy of the section,
// until the next prune after its expiry. So revoke --all and
// [Manager.Prune] also list the keychain's grant items ([keychain.Store.IDs])
// and end every item of this state directory whose grant is not live by the
// file: no section, a section that no longer parses, or one that says the
// grant ended.
//
// The kernel keyring, the Secret Service and the macOS keychain hold the
// items of every state directory of the user together. An item records the
// directory that made it ([keychain.Owner]); one of another directory, or a
// shared backend's item from before that was recorded, is never ended by
// --all or a prune here, since it may be another directory's live grant.
// Named on the command line (revoke tb-<id>), an item is revoked whoever made
// it. Telling them apart means reading the item, so listing grants does not
// look for orphans: list_active_sessions never touches the keychain, and
// only `sessions` shows them.

// Orphan is a keychain item of this state directory whose grant the
// profiles file does not show as live.
type Orphan struct {
	ID string
	// Expires is when its credentials expire, from the item itself.
	Expires time.Time
	// Why says what happened to its profile.
	Why string
}

// Orphans returns the keychain items of this state directory that no live
// profile accounts for, soonest expiry first. Unlike [Manager.List] it reads
// the keychain: the item names, and each item those leave in doubt.
func (m *Manager) Orphans() ([]Orphan, error) {
	set, err := m.Profiles.Read()
	if err != nil {
		return nil, err
	}
	return m.orphans(set, m.Now().UTC())
}

// orphans finds the orphaned items against set; an item it cannot read is
// an error, and the others are still returned.
func (m *Manager) orphans(set *profiles.Set, now time.Time) ([]Orphan, error) {
	ids, err := m.Keys.IDs()
	if err != nil {
		return nil, err
	}
	var out []Orphan
	var errs []error
	for _, id := range ids {
		if !profiles.ValidID(id) {
			continue
		}
		why, orphaned := orphanedBy(set, id, now)
		if !orphaned {
			continue
		}
		o, err := m.Keys.Owner(id)
		if errors.Is(err, keychain.ErrNotFound) {
			continue // revoked or pruned since the listing
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !o.Of(m.Config.Home) {
			continue
		}
		out = append(out, Orphan{ID: id, Expires: o.Expires, Why: why})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out, errors.Join(errs...)
}

// orphanedBy says whether set leaves grant id's keychain item unaccounted
// for, and why.
func orphanedBy(set *profiles.Set, id string, now time.Time) (string, bool) {
	e, ok := set.Get(id)
	switch {
	case !set.Has(id):
		return "its profile was removed from the AWS config file", true
	case !ok:
		return "its profile was edited and no longer parses", true
	case e.Status != profiles.Active:
		return "its profile says " + string(e.Status) + ", but the credentials were still in the keychain", true
	case !e.Live(now):
		return "", false // expired: the usual prune ends it
	}
	return "", false
}

// endOrphans deletes the items in orphans and records each in the audit log
// as kind; it must run under the file lock. It returns what it ended and
// what it could not do.
func (m *Manager) endOrphans(kind string, orphans []Orphan) (ended []Orphan, errs []error) {
	for _, o := range orphans {
		if err := m.Keys.Delete(o.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		ended = append(ended, o)
		m.log().Info("ended an orphaned keychain item", "session", profiles.Prefix+o.ID, "why", o.Why, "event", kind)
		e := audit.Event{Event: kind, Session: profiles.Prefix + o.ID, Detail: "orphaned keychain item: " + o.Why}
		if err := m.Record(e); err != nil {
			errs = append(errs, fmt.Errorf("ended the orphaned keychain item %s%s, but the audit log could not record it: %w", profiles.Prefix, o.ID, err))
		}
	}
	return ended, errs
}
