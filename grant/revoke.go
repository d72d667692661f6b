package grant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// RevokeResult says what a revoke did to one grant.
type RevokeResult struct {
	ID string
	// Revoked is true when this call ended a live grant.
	Revoked bool
	// Status is the grant's state afterwards.
	Status profiles.Status
	// Orphan is set when the grant's keychain item had no live profile:
	// it says what happened to the profile (see [Orphan]).
	Orphan string
	// Expires is when the grant's credentials expire.
	Expires time.Time
	// AuditErr says the revoke happened but its audit entry could not be
	// written; nil otherwise.
	AuditErr error
}

// ErrUnknownGrant reports a session id with neither a profile nor a
// keychain item.
var ErrUnknownGrant = errors.New("no such grant")

// Revoke ends the given grants at once: their keychain items are deleted and
// their profiles become tombstones that make the helper refuse with a reason.
// Ids may carry the tb- prefix. Revoking an ended grant is not an error. A
// named grant whose keychain item has no live profile (see [Orphan]) is
// revoked all the same, whichever state directory made the item, and its
// result says so.
func (m *Manager) Revoke(ctx context.Context, ids []string) ([]RevokeResult, error) {
	norm := make([]string, len(ids))
	for i, raw := range ids {
		id, err := NormalizeID(raw)
		if err != nil {
			return nil, err
		}
		norm[i] = id
	}
	return m.revoke(func(set *profiles.Set, now time.Time) ([]string, map[string]Orphan, error) {
		orphans := map[string]Orphan{}
		for _, id := range norm {
			why, orphaned := orphanedBy(set, id, now)
			if !orphaned {
				continue
			}
			o, err := m.Keys.Owner(id)
			switch {
			case errors.Is(err, keychain.ErrNotFound) && set.Has(id):
				if _, ok := set.Get(id); !ok {
					return nil, nil, fmt.Errorf("the profile of %s%s in %s no longer parses and its keychain item is gone: %w; remove the section", profiles.Prefix, id, m.Profiles.Path, ErrUnknownGrant)
				}
			case errors.Is(err, keychain.ErrNotFound):
				return nil, nil, fmt.Errorf("session_id %s%s: %w; list_active_sessions shows the live ones", profiles.Prefix, id, ErrUnknownGrant)
			case err != nil:
				return nil, nil, err
			default:
				orphans[id] = Orphan{ID: id, Expires: o.Expires, Why: why}
			}
		}
		return norm, orphans, nil
	})
}

// ErrUnlisted reports that [Manager.RevokeAll] revoked the live grants but
// could not look for orphaned keychain items.
var ErrUnlisted = errors.New("the keychain could not be listed")

// RevokeAll revokes every live grant, and every orphaned keychain item of
// this state directory (see [Orphan]). When the keychain cannot be listed
// the live grants are revoked all the same: the results say which, and the
// error says the orphans may remain.
func (m *Manager) RevokeAll(ctx context.Context) ([]RevokeResult, error) {
	var listErr error
	res, err := m.revoke(func(set *profiles.Set, now time.Time) ([]string, map[string]Orphan, error) {
		var ids []string
		for e := range set.All() {
			if e.Live(now) {
				ids = append(ids, e.ID)
			}
		}
		found, err := m.orphans(set, now)
		if err != nil {
			listErr = fmt.Errorf("%w, so orphaned items may remain: %w", ErrUnlisted, err)
		}
		orphans := map[string]Orphan{}
		for _, o := range found {
			ids = append(ids, o.ID)
			orphans[o.ID] = o
		}
		return ids, orphans, nil
	})
	if err != nil {
		return nil, err
	}
	return res, listErr
}

// revoke ends the grants pick names, under the file lock: the live ones by
// their profiles, the orphans by their items.
func (m *Manager) revoke(pick func(*profiles.Set, time.Time) ([]string, map[string]Orphan, error)) ([]RevokeResult, error) {
	var results []RevokeResult
	err := m.Profiles.Update(func(set *profiles.Set) error {
		now := m.Now().UTC()
		ids, orphans, err := pick(set, now)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if o, ok := orphans[id]; ok {
				ended, errs := m.endOrphans(audit.Revoked, []Orphan{o})
				if len(ended) == 0 {
					err := errors.Join(errs...)
					m.recordRevokeFailure(id, err)
					return err
				}
				res := RevokeResult{ID: id, Revoked: true, Status: profiles.Revoked, Orphan: o.Why, Expires: o.Expires}
				res.AuditErr = errors.Join(errs...)
				results = append(results, res)
				continue
			}
			e, _ := set.Get(id)
			if !e.Live(now) {
				results = append(results, RevokeResult{ID: id, Status: ended(e, now), Expires: e.Expires})
				continue
			}
			if err := m.keysFor(e.Helper.Backend).Delete(id); err != nil {
				m.recordRevokeFailure(id, err)
				return err
			}
			e.Status, e.Revoked = profiles.Revoked, now
			m.keepHelper(&e)
			if err := set.Put(e); err != nil {
				return err
			}
			res := RevokeResult{ID: id, Revoked: true, Status: profiles.Revoked, Expires: e.Expires}
			m.log().Info("revoked", "session", profiles.Prefix+id)
			// The grant is ended whatever the log says: a secret never
			// stays alive for want of a log line.
			if err := m.Record(sessionEvent(audit.Revoked, e)); err != nil {
				res.AuditErr = fmt.Errorf("revoked %s%s, but the audit log could not record it: %w", profiles.Prefix, id, err)
				m.log().Warn("recording a revoke in the audit log failed", "session", profiles.Prefix+id, "err", err)
			}
			results = append(results, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.pruneQuietly(true)
	m.changed()
	return results, nil
}

// keepHelper fills in this binary only where the profile's own line could
// not be read back.
func (m *Manager) keepHelper(e *profiles.Entry) {
	if e.Helper.Exe == "" {
		e.Helper.Exe = m.Exe
	}
}

func ended(e profiles.Entry, now time.Time) profiles.Status {
	if e.Status == profiles.Active && !now.Before(e.Expires) {
		return profiles.Expired
	}
	return e.Status
}

// keysFor returns the store for a grant's backend. Grants made under another
// keyring_backend are left to a run configured with that backend.
func (m *Manager) keysFor(backend string) deleter {
	if backend == "" || backend == m.Keys.Backend() {
		return m.Keys
	}
	return otherBackend(backend)
}

type deleter interface{ Delete(id string) error }

type otherBackend string

func (b otherBackend) Delete(id string) error {
	return fmt.Errorf("grant %s%s is in the %s keyring but this run uses another; set keyring_backend = %s to revoke it", profiles.Prefix, id, string(b), string(b))
}

// recordRevokeFailure records that revoking grant id failed with err, so the
// audit log shows a revoke that was asked for and did not happen: the item
// and the profile stay as they were.
func (m *Manager) recordRevokeFailure(id string, err error) {
	m.recordQuietly(audit.Event{Event: audit.Failed, Session: profiles.Prefix + id,
		Detail: "revoke failed; the keychain item and the profile stay: " + err.Error()})
}
