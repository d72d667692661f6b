package grant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// RevokeResult says what a revoke did to one grant.
type RevokeResult struct {
	ID string
	// Revoked is true when this call ended a live grant.
	Revoked bool
	// Status is the grant's state afterwards.
	Status profiles.Status
	// AuditErr says the revoke happened but its audit entry could not be
	// written; nil otherwise.
	AuditErr error
}

// ErrUnknownGrant reports a session id with no profile.
var ErrUnknownGrant = errors.New("no such grant")

// Revoke ends the given grants at once: their keychain items are deleted and
// their profiles become tombstones that make the helper refuse with a reason.
// Ids may carry the tb- prefix. Revoking an ended grant is not an error.
func (m *Manager) Revoke(ctx context.Context, ids []string) ([]RevokeResult, error) {
	norm := make([]string, len(ids))
	for i, raw := range ids {
		id, err := NormalizeID(raw)
		if err != nil {
			return nil, err
		}
		norm[i] = id
	}
	var results []RevokeResult
	err := m.Profiles.Update(func(set *profiles.Set) error {
		for _, id := range norm {
			if _, ok := set.Get(id); !ok {
				return fmt.Errorf("session_id %s%s: %w; list_active_sessions shows the live ones", profiles.Prefix, id, ErrUnknownGrant)
			}
		}
		now := m.Now().UTC()
		for _, id := range norm {
			e, _ := set.Get(id)
			if !e.Live(now) {
				results = append(results, RevokeResult{ID: id, Status: ended(e, now)})
				continue
			}
			if err := m.keysFor(e.Helper.Backend).Delete(id); err != nil {
				return err
			}
			e.Status, e.Revoked = profiles.Revoked, now
			m.keepHelper(&e)
			if err := set.Put(e); err != nil {
				return err
			}
			res := RevokeResult{ID: id, Revoked: true, Status: profiles.Revoked}
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
	return results, nil
}

// RevokeAll revokes every live grant.
func (m *Manager) RevokeAll(ctx context.Context) ([]RevokeResult, error) {
	live, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(live))
	for i, s := range live {
		ids[i] = s.ID
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return m.Revoke(ctx, ids)
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
