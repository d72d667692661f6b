package grant

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// awsRevokeTimeout bounds the two IAM calls of an AWS-side revoke, retries
// included: the local revoke has happened already, and the user is waiting.
const awsRevokeTimeout = 30 * time.Second

// AWSDeny is what [Manager.DenyAtAWS] did at AWS.
type AWSDeny struct {
	// Role is the broker role's ARN.
	Role string
	// IDs are the grants whose credentials had not yet expired: the broker
	// role now denies their sessions, unless Err is set.
	IDs []string
	// Expired are the named grants whose credentials had already expired:
	// nothing was left to deny.
	Expired []string
	// Pruned are the grants whose statements were dropped from the policy
	// because their credentials have expired.
	Pruned []string
	// Orphans are the grants of IDs that were orphaned keychain items (see
	// [Orphan]): with no profile to say which role they assumed, the deny
	// went on the configured role_arn.
	Orphans []string
	// All, when set, is the bound of [Manager.DenyAllAtAWS]: the role
	// denies every session issued before it.
	All time.Time
	// Until is the latest expiry among IDs: when Err is set, copies of
	// their credentials work until then.
	Until time.Time
	// Err says why the deny could not be written; only the local revoke
	// happened then.
	Err error
}

// Denied reports whether the credentials of every named grant are dead at
// AWS: denied by the broker role, or expired.
func (d AWSDeny) Denied() bool { return d.Err == nil }

// Failure is the sentence that says the AWS side failed and what that
// leaves: "the AWS-side deny failed: ...; the copied credentials stay valid
// until ...". It is empty when nothing failed.
func (d AWSDeny) Failure() string {
	switch {
	case d.Err == nil:
		return ""
	case d.Until.IsZero():
		return fmt.Sprintf("the AWS-side deny failed: %v", d.Err)
	}
	return fmt.Sprintf("the AWS-side deny failed: %v; any copied credentials stay valid until %s", d.Err, d.Until.UTC().Format(time.RFC3339))
}

// Detail says in one sentence what happened at AWS, failure included.
func (d AWSDeny) Detail() string {
	if d.Err != nil {
		return "only the local revoke happened; " + d.Failure()
	}
	var parts []string
	if !d.All.IsZero() {
		parts = append(parts, fmt.Sprintf("role %s now denies every session issued before %s (inline policy %s)", d.Role, d.All.UTC().Format(time.RFC3339), awsiam.RevokedPolicyName))
	}
	if len(d.IDs) > 0 {
		parts = append(parts, fmt.Sprintf("role %s now denies every request of %s (inline policy %s)", d.Role, profileList(d.IDs), awsiam.RevokedPolicyName))
	}
	if len(d.Orphans) > 0 {
		parts = append(parts, fmt.Sprintf("%s had no profile to name its role, so the deny went on role_arn %s", profileList(d.Orphans), d.Role))
	}
	if len(d.Expired) > 0 {
		parts = append(parts, fmt.Sprintf("the credentials of %s had expired, so AWS refuses them already", profileList(d.Expired)))
	}
	if len(d.Pruned) > 0 {
		parts = append(parts, fmt.Sprintf("dropped the expired %s from the policy", profileList(d.Pruned)))
	}
	return strings.Join(parts, "; ")
}

func profileList(ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = profiles.Prefix + id
	}
	return strings.Join(names, ", ")
}

// DenyAtAWS adds a Deny of the role sessions of the revoked grants to the
// broker role's [awsiam.RevokedPolicyName] policy, and drops the statements of
// grants that have expired; it does not revoke locally: revoked are
// [Manager.Revoke]'s results. A grant revoked earlier without --aws is one
// of them too, as "already ended", and still has credentials to deny until
// its expiry. The deny goes on the role a grant's profile records; an
// orphaned item's grant has none, and gets the configured role_arn. Every
// failure, the id check included, is in the result's Err: the caller has
// already revoked locally, and reports both.
func (m *Manager) DenyAtAWS(ctx context.Context, revoked []RevokeResult) AWSDeny {
	d := AWSDeny{Role: m.Config.RoleARN}
	set, err := m.Profiles.Read()
	if err != nil {
		d.Err = err
		return d
	}
	now := m.Now().UTC()
	var add []awsiam.RevokedSession
	for _, r := range revoked {
		id := r.ID
		s := awsiam.RevokedSession{ID: id, Expires: r.Expires}
		if r.Orphan == "" {
			e, ok := set.Get(id)
			if !ok {
				d.Err = fmt.Errorf("session_id %s%s: %w", profiles.Prefix, id, ErrUnknownGrant)
				return d
			}
			s.Expires = e.Expires
			// The deny goes on the role the grant assumed. On another
			// role it would deny nothing and read as done. Sections from
			// before the role was recorded hold none; for them the
			// configured role is all there is to go on.
			if e.Role != "" && e.Role != d.Role && !s.Expired(now) {
				d.Err = fmt.Errorf("grant %s%s was made with role %s, but role_arn is now %s: the deny must go on the grant's own role; run the revoke with --role-arn %s", profiles.Prefix, id, e.Role, d.Role, e.Role)
				return d
			}
		}
		if s.Expired(now) {
			d.Expired = append(d.Expired, id)
			continue
		}
		if slices.Contains(d.IDs, id) {
			continue
		}
		if r.Orphan != "" {
			d.Orphans = append(d.Orphans, id)
		}
		add = append(add, s)
		d.IDs = append(d.IDs, id)
		if s.Expires.After(d.Until) {
			d.Until = s.Expires
		}
	}
	if len(add) == 0 {
		return d
	}
	if d.Err = m.denyAtAWS(ctx, add, now, &d); d.Err != nil {
		// Info, not Warn: the caller reports the failure itself, and the CLI
		// prints warnings on stderr next to its own error.
		m.log().Info("AWS-side revoke failed", "sessions", profileList(d.IDs), "role", d.Role, "err", d.Err)
		return d
	}
	m.log().Info("denied at AWS", "sessions", profileList(d.IDs), "role", d.Role, "policy", awsiam.RevokedPolicyName, "pruned", profileList(d.Pruned))
	return d
}

// DenyAllAtAWS makes the broker role deny every one of its sessions issued
// before now, with one statement that replaces any earlier one (see
// [awsiam.DenyAllSessions]): the grants of every state directory and
// machine on the role, listed or not. It does not revoke locally (call
// [Manager.RevokeAll] first). A failure is in the result's Err.
func (m *Manager) DenyAllAtAWS(ctx context.Context) AWSDeny {
	now := m.Now().UTC()
	d := AWSDeny{Role: m.Config.RoleARN, All: now.Truncate(time.Second)}
	d.Err = m.denyAtAWS(ctx, nil, now, &d)
	if d.Err != nil {
		m.log().Info("AWS-side revoke of every session failed", "role", d.Role, "err", d.Err)
		return d
	}
	m.log().Info("denied every earlier session at AWS", "role", d.Role, "before", d.All.Format(time.RFC3339), "policy", awsiam.RevokedPolicyName)
	return d
}

func (m *Manager) denyAtAWS(ctx context.Context, add []awsiam.RevokedSession, now time.Time, d *AWSDeny) error {
	if m.Config.STSDialect == policy.DialectMinIO {
		return errors.New("sts_dialect is minio, and MinIO has no IAM role policies to deny a session with")
	}
	if err := m.Config.CheckRole(); err != nil {
		return err
	}
	if m.IAM == nil {
		return errors.New("this run has no IAM client")
	}
	ctx, cancel := context.WithTimeout(ctx, awsRevokeTimeout)
	defer cancel()
	api, err := m.IAM(ctx)
	if err != nil {
		return err
	}
	lock := filepath.Join(m.Config.Home, "aws-revoke.lock")
	if !d.All.IsZero() {
		d.Pruned, err = awsiam.DenyAllSessions(ctx, api, m.Config.RoleARN, lock, now)
		return err
	}
	d.Pruned, err = awsiam.DenySessions(ctx, api, m.Config.RoleARN, lock, add, now)
	return err
}
