package grant

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/timebound-iam/timebound-iam/profiles"
)

// Reconciliation. A grant stores its keychain item and then renames the new
// profiles file into place, both under the file lock. A grant killed in
// between leaves an item no profile names: a live secret nobody can revoke.
// Before storing the item it therefore writes a marker, <aws-config>.pending/<id>
// holding the backend's name, and removes it once the profile is written.
//
// The markers, not a listing of the keychain, say which items to look at:
// keyctl, the Secret Service and the macOS keychain hold the grants of every
// state directory of the user under one service name, so an item without a
// profile in this file may well be another directory's live grant (the
// orphan sweep, see [Orphan], tells them apart by reading each item). Listing
// grants never reconciles, so it still never touches the keychain.
//
// A profile whose item is missing (a revoke killed after deleting the item)
// is left alone: finding it would mean reading every item on every prune, the
// helper already refuses it with "no credentials in the keychain", and the
// usual prune tombstones it at its expiry.

// pendingDir holds the markers; the profiles file's lock guards it too.
func (m *Manager) pendingDir() string { return m.Profiles.Path + ".pending" }

// markPending records that grant id is about to store its keychain item.
func (m *Manager) markPending(id string) error {
	dir := m.pendingDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %q: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, id), []byte(m.Keys.Backend()), 0o600); err != nil {
		return fmt.Errorf("recording the pending grant %s%s: %w", profiles.Prefix, id, err)
	}
	return nil
}

// unmarkPending removes the marker of grant id. A marker that cannot be
// removed only costs the next prune a look at the profiles, so it is logged.
func (m *Manager) unmarkPending(id string) {
	err := os.Remove(filepath.Join(m.pendingDir(), id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		m.log().Warn("removing a pending marker failed", "session", profiles.Prefix+id, "err", err)
	}
}

// pending returns the ids with a marker; a missing directory has none.
func (m *Manager) pending() ([]string, error) {
	entries, err := os.ReadDir(m.pendingDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading pending grants: %w", err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids, nil
}

// reconcile deletes the keychain item of every marked grant that has no live
// profile in set, and removes the markers. It must run under the file lock,
// inside [profiles.File.Update]: a grant between storing its item and
// writing its profile holds that lock, so every marker seen here belongs to
// a grant that finished or died. It returns what it could not do; such a
// marker stays, to be tried again.
func (m *Manager) reconcile(set *profiles.Set, now time.Time) []error {
	ids, err := m.pending()
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, id := range ids {
		path := filepath.Join(m.pendingDir(), id)
		e, ok := set.Get(id)
		// A section that no longer parses was written by that grant and
		// then edited: its item is left for the user to sort out.
		if keep := set.Has(id) && (!ok || e.Live(now)); !keep {
			if !profiles.ValidID(id) {
				errs = append(errs, fmt.Errorf("%q is not a pending grant marker; remove it", path))
				continue
			}
			backend, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading pending grant marker: %w", err))
				continue
			}
			if err := m.keysFor(string(backend)).Delete(id); err != nil {
				errs = append(errs, err)
				continue
			}
			if !set.Has(id) {
				m.log().Info("reconciled", "session", profiles.Prefix+id, "removed", "keychain item without a profile")
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing pending grant marker: %w", err))
		}
	}
	return errs
}
