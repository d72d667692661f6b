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
	// went on the configured role_arn, and on mfa_role_arn when one is set.
	Orphans []string
	// MFARole is mfa_role_arn when the deny went there too: OnMFARole are
	// the grants of IDs made on it (approved with an MFA code), and every
	// session of it issued before All is denied with All.
	MFARole   string
	OnMFARole []string
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

// RoleOf is the role whose policy now denies grant id of IDs: MFARole
// for those in OnMFARole, else Role.
func (d AWSDeny) RoleOf(id string) string {
	if slices.Contains(d.OnMFARole, id) {
		return d.MFARole
	}
	return d.Role
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
		if d.MFARole != "" {
			parts = append(parts, fmt.Sprintf("so does the MFA role %s", d.MFARole))
		}
	}
	var onBase []string
	for _, id := range d.IDs {
		if !slices.Contains(d.OnMFARole, id) {
			onBase = append(onBase, id)
		}
	}
	if len(onBase) > 0 {
		parts = append(parts, fmt.Sprintf("role %s now denies every request of %s (inline policy %s)", d.Role, profileList(onBase), awsiam.RevokedPolicyName))
	}
	if len(d.OnMFARole) > 0 {
		parts = append(parts, fmt.Sprintf("the MFA role %s now denies every request of %s (inline policy %s)", d.MFARole, profileList(d.OnMFARole), awsiam.RevokedPolicyName))
	}
	if len(d.Orphans) > 0 {
		if d.MFARole != "" {
			parts = append(parts, fmt.Sprintf("%s had no profile to name its role, so the deny went on role_arn %s and mfa_role_arn %s", profileList(d.Orphans), d.Role, d.MFARole))
		} else {
			parts = append(parts, fmt.Sprintf("%s had no profile to name its role, so the deny went on role_arn %s", profileList(d.Orphans), d.Role))
		}
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
// its expiry. The deny goes on the role a grant's profile records: role_arn,
// or mfa_role_arn for a grant approved with an MFA code. An orphaned item's
// grant has none, and gets both. Every failure, the id check included, is in
// the result's Err: the caller has already revoked locally, and reports
// both.
func (m *Manager) DenyAtAWS(ctx context.Context, revoked []RevokeResult) AWSDeny {
	d := AWSDeny{Role: m.Config.RoleARN}
	set, err := m.Profiles.Read()
	if err != nil {
		d.Err = err
		return d
	}
	now := m.Now().UTC()
	mfaRole := m.Config.MFARoleARN
	var add, addMFA []awsiam.RevokedSession
	for _, r := range revoked {
		id := r.ID
		s := awsiam.RevokedSession{ID: id, Expires: r.Expires}
		onMFA := false
		if r.Orphan == "" {
			e, ok := set.Get(id)
			if !ok {
				d.Err = fmt.Errorf("session_id %s%s: %w", profiles.Prefix, id, ErrUnknownGrant)
				return d
			}
			s.Expires = e.Expires
			onMFA = mfaRole != "" && e.Role == mfaRole
			// The deny goes on the role the grant assumed. On another
			// role it would deny nothing and read as done. Sections from
			// before the role was recorded hold none; for them the
			// configured role is all there is to go on.
			if e.Role != "" && e.Role != d.Role && !onMFA && !s.Expired(now) {
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
		switch {
		case r.Orphan != "":
			d.Orphans = append(d.Orphans, id)
			add = append(add, s)
			// Either role may have issued it.
			if mfaRole != "" {
				addMFA = append(addMFA, s)
			}
		case onMFA:
			d.OnMFARole = append(d.OnMFARole, id)
			addMFA = append(addMFA, s)
		default:
			add = append(add, s)
		}
		d.IDs = append(d.IDs, id)
		if s.Expires.After(d.Until) {
			d.Until = s.Expires
		}
	}
	if len(addMFA) > 0 {
		d.MFARole = mfaRole
	}
	var errs []error
	if len(add) > 0 {
		errs = append(errs, m.denyAtAWS(ctx, d.Role, add, now, &d))
	}
	if len(addMFA) > 0 {
		errs = append(errs, m.denyAtAWS(ctx, mfaRole, addMFA, now, &d))
	}
	if len(add)+len(addMFA) == 0 {
		return d
	}
	if d.Err = errors.Join(errs...); d.Err != nil {
		// Info, not Warn: the caller reports the failure itself, and the CLI
		// prints warnings on stderr next to its own error.
		m.log().Info("AWS-side revoke failed", "sessions", profileList(d.IDs), "role", d.Role, "mfa_role", d.MFARole, "err", d.Err)
		return d
	}
	m.log().Info("denied at AWS", "sessions", profileList(d.IDs), "role", d.Role, "mfa_role", d.MFARole, "policy", awsiam.RevokedPolicyName, "pruned", profileList(d.Pruned))
	return d
}

// DenyAllAtAWS makes the broker role deny every one of its sessions issued
// before now, with one statement that replaces any earlier one (see
// [awsiam.DenyAllSessions]): the grants of every state directory and
// machine on the role, listed or not; and the MFA role too, when
// mfa_role_arn is set. It does not revoke locally (call
// [Manager.RevokeAll] first). A failure is in the result's Err.
func (m *Manager) DenyAllAtAWS(ctx context.Context) AWSDeny {
	now := m.Now().UTC()
	d := AWSDeny{Role: m.Config.RoleARN, All: now.Truncate(time.Second), MFARole: m.Config.MFARoleARN}
	errs := []error{m.denyAtAWS(ctx, d.Role, nil, now, &d)}
	if d.MFARole != "" {
		errs = append(errs, m.denyAtAWS(ctx, d.MFARole, nil, now, &d))
	}
	if d.Err = errors.Join(errs...); d.Err != nil {
		m.log().Info("AWS-side revoke of every session failed", "role", d.Role, "mfa_role", d.MFARole, "err", d.Err)
		return d
	}
	m.log().Info("denied every earlier session at AWS", "role", d.Role, "mfa_role", d.MFARole, "before", d.All.Format(time.RFC3339), "policy", awsiam.RevokedPolicyName)
	return d
}

// denyAtAWS denies add on role, or with d.All every session of role issued
// before it, and adds the statements it dropped to d.Pruned.
func (m *Manager) denyAtAWS(ctx context.Context, role string, add []awsiam.RevokedSession, now time.Time, d *AWSDeny) error {
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
	var pruned []string
	if !d.All.IsZero() {
		pruned, err = awsiam.DenyAllSessions(ctx, api, role, lock, now)
	} else {
		pruned, err = awsiam.DenySessions(ctx, api, role, lock, add, now)
	}
	for _, id := range pruned {
		if !slices.Contains(d.Pruned, id) {
			d.Pruned = append(d.Pruned, id)
		}
	}
	return err
}
