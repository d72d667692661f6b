package grant

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// List returns the live grants, soonest expiry first, after a prune. It reads
// only the profiles file, never the keychain.
func (m *Manager) List(ctx context.Context) ([]Session, error) {
	set := m.pruneQuietly(false)
	if set == nil {
		var err error
		if set, err = m.Profiles.Read(); err != nil {
			return nil, err
		}
	}
	now := m.Now()
	var out []Session
	for e := range set.All() {
		if e.Live(now) {
			out = append(out, session(e))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out, nil
}

// Prune deletes the keychain items of expired grants, marking their profiles
// expired, removes tombstones older than [TombstoneTTL], deletes the
// keychain items that grants killed mid-way left without a profile (see
// [Manager.reconcile]), and ends this state directory's orphaned items (see
// [Orphan]). It takes the file lock only when there is something to do.
func (m *Manager) Prune(ctx context.Context) error {
	_, err := m.prune(true)
	return err
}

// prune is Prune, also returning the file as it was left, or nil on error.
// Only with reconcile does it look for items left behind; List passes false,
// so that a listing deletes nothing from the keychain either.
func (m *Manager) prune(reconcile bool) (*profiles.Set, error) {
	set, err := m.Profiles.Read()
	if err != nil {
		return nil, err
	}
	now := m.Now().UTC()
	stale := false
	for e := range set.All() {
		if stale = needsPrune(e, now); stale {
			break
		}
	}
	var errs []error
	if reconcile && !stale {
		pending, err := m.pending()
		if err != nil {
			return nil, err
		}
		stale = len(pending) > 0
	}
	if reconcile && !stale {
		// A keychain that cannot be listed must not stop the rest.
		orphans, err := m.orphans(set, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("looking for orphaned keychain items: %w", err))
		}
		stale = len(orphans) > 0
	}
	if !stale {
		return set, errors.Join(errs...)
	}
	var after *profiles.Set
	err = m.Profiles.Update(func(set *profiles.Set) error {
		after, errs = set, append(errs, m.pruneSet(set, now)...)
		if reconcile {
			errs = append(errs, m.reconcile(set, now)...)
			orphans, err := m.orphans(set, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("looking for orphaned keychain items: %w", err))
			}
			_, oerrs := m.endOrphans(audit.Pruned, orphans)
			errs = append(errs, oerrs...)
		}
		return nil
	})
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return after, nil
}

// pruneSet ends the expired grants in set, deleting their keychain items, and
// removes tombstones older than [TombstoneTTL]. It returns what it could not
// do; a grant it could not end stays active, to be tried again.
func (m *Manager) pruneSet(set *profiles.Set, now time.Time) []error {
	var stale []profiles.Entry
	for e := range set.All() {
		if needsPrune(e, now) {
			stale = append(stale, e)
		}
	}
	var errs []error
	for _, e := range stale {
		if e.Status != profiles.Active {
			set.Remove(e.ID)
			continue
		}
		if err := m.keysFor(e.Helper.Backend).Delete(e.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		e.Status = profiles.Expired
		m.keepHelper(&e)
		if err := set.Put(e); err != nil {
			errs = append(errs, err)
			continue
		}
		m.log().Info("pruned", "session", e.Name(), "expired", e.Expires.Format(time.RFC3339))
		if err := m.Record(sessionEvent(audit.Pruned, e)); err != nil {
			errs = append(errs, fmt.Errorf("pruned %s, but the audit log could not record it: %w", e.Name(), err))
		}
	}
	return errs
}

func needsPrune(e profiles.Entry, now time.Time) bool {
	if e.Status == profiles.Active {
		return !now.Before(e.Expires)
	}
	return now.Sub(e.Ended()) > TombstoneTTL
}

// pruneQuietly runs a prune whose failure must not block the caller's own
// work; the failure is logged. It returns the file as the prune left it, or
// nil after a failure.
func (m *Manager) pruneQuietly(reconcile bool) *profiles.Set {
	set, err := m.prune(reconcile)
	if err != nil {
		m.log().Warn("prune failed", "err", err)
	}
	return set
}
