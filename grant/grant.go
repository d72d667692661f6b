package grant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Grant assumes the broker role with a session policy for r, stores the
// credentials in the keychain and writes profile tb-<id>. It is all or
// nothing: on any failure no keychain item and no profile remain. The audit
// log gets a "granted" entry, written before the profile, or a "refused"
// one; a grant whose entry cannot be written is refused and rolled back.
func (m *Manager) Grant(ctx context.Context, r Request) (Session, error) {
	if r.TTL == 0 {
		r.TTL = m.Config.DefaultTTL
	}
	return m.recordRefusal(r, func(id *string) (Session, error) {
		arns, policy, err := m.check(r)
		if err != nil {
			return Session{}, err
		}
		return m.grant(ctx, r, arns, policy, "", id)
	})
}

// recordRefusal runs try, a grant of r, and records a "refused" entry when
// it fails; try sets *id once the grant has one.
func (m *Manager) recordRefusal(r Request, try func(id *string) (Session, error)) (Session, error) {
	var id string
	s, err := try(&id)
	if err != nil {
		m.recordQuietly(requestEvent(audit.Refused, id, r, err.Error()))
	}
	return s, err
}

// check runs every check a grant makes before STS, so that neither an STS
// call nor a person's approval is spent on a grant that would be refused:
// the request against the catalog and the limits, max_grants, the role,
// and the policy's size. It returns the resources as ARNs and the session
// policy.
func (m *Manager) check(r Request) (arns []string, doc string, err error) {
	if arns, err = r.validate(m.Config); err != nil {
		return nil, "", err
	}
	// Checked again under the lock, where it holds across processes.
	if set, err := m.Profiles.Read(); err == nil {
		if err := m.checkMaxGrants(set); err != nil {
			return nil, "", err
		}
	}
	if err := m.Config.CheckRole(); err != nil {
		return nil, "", err
	}
	if _, serial := m.Config.RoleFor(r.Access); serial != "" {
		if err := m.Config.CheckMFA(); err != nil {
			return nil, "", err
		}
	}
	if doc, err = policy.BuildWith(r.Access, arns, m.Config.STSDialect, m.Config.AllowEscalation); err != nil {
		return nil, "", err
	}
	return arns, doc, nil
}

// grant makes a grant of r, which [Manager.check] passed with arns and
// policy; it sets *idp once the grant has one. Every grant comes through
// here, so here a grant that needs a person is refused unless one approved
// it (see [Pending.Approve]), and one that goes to the MFA role unless it
// has mfaCode, a code not sent lately (see [Config.RoleFor]).
func (m *Manager) grant(ctx context.Context, r Request, arns []string, policy, mfaCode string, idp *string) (Session, error) {
	if m.Config.NeedsApproval(r.Access) && r.Approver != ApproverElicitation && r.Approver != ApproverTerminal {
		return Session{}, errors.New("this grant needs a person's approval, and none was given")
	}
	role, serial := m.Config.RoleFor(r.Access)
	if serial != "" {
		if mfaCode == "" {
			return Session{}, fmt.Errorf("this grant goes to the MFA role %s, and no code of %s was given with its approval", role, serial)
		}
		if err := CheckMFACode(mfaCode); err != nil {
			return Session{}, err
		}
		// STS refuses a code twice too; here that costs no call, and two
		// grants approved with one code cannot both reach STS.
		if !m.codes.take(serial, mfaCode, m.Now()) {
			return Session{}, fmt.Errorf("this MFA code of %s was used for a grant already, and a code counts once: wait for the device to show the next code, then ask again", serial)
		}
	}
	newID := m.NewID
	if newID == nil {
		newID = NewID
	}
	id, err := newID()
	if err != nil {
		return Session{}, err
	}
	*idp = id
	in := m.assumeRoleInput(id, r, policy, role)
	if serial != "" {
		in.SerialNumber, in.TokenCode = aws.String(serial), aws.String(mfaCode)
	}
	out, err := m.STS.AssumeRole(ctx, in)
	// Spent: nothing holds the code after its one call.
	in.TokenCode = nil
	if err != nil {
		return Session{}, explainSTS(err, m.Config, role, serial, config.ShortDuration(r.TTL))
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil || c.Expiration == nil {
		return Session{}, errors.New("STS AssumeRole returned no credentials")
	}
	creds := aws.Credentials{
		AccessKeyID:     *c.AccessKeyId,
		SecretAccessKey: *c.SecretAccessKey,
		SessionToken:    *c.SessionToken,
		CanExpire:       true,
		Expires:         c.Expiration.UTC(),
	}
	s := Session{ID: id, Access: r.Access, Region: m.Config.Region, Created: m.Now().UTC(), Expires: creds.Expires, Status: profiles.Active, Resources: arns,
		Role: role, PolicyChars: len(policy)}
	//lint:ignore SA1019 the SDK points to SessionTokenUtilization, which measures the token, not the policy; STS still sends this, and when it stops the field is left out
	s.PackedPolicySize = out.PackedPolicySize
	// One locked read and write does the prune, the id check, the keychain
	// item and the profile. The item is stored only once the id is known to
	// be free: under a taken id it would replace another grant's item.
	// A pending marker, written before the item, names it until the profile
	// is in place, so that a grant killed in between leaves an item the
	// next prune can find; see [Manager.reconcile].
	marked, stored := false, false
	var pruneErrs []error
	err = m.Profiles.Update(func(set *profiles.Set) error {
		now := m.Now().UTC()
		pruneErrs = append(m.pruneSet(set, now), m.reconcile(set, now)...)
		if set.Has(id) {
			return fmt.Errorf("grant id %s is already in %s; try again", id, m.Profiles.Path)
		}
		// Under the lock, so that concurrent grants cannot pass it together.
		if err := m.checkMaxGrants(set); err != nil {
			return err
		}
		if err := m.markPending(id); err != nil {
			return err
		}
		marked = true
		if err := m.Keys.Put(id, creds); err != nil {
			return err
		}
		stored = true
		if err := set.Put(m.entry(s)); err != nil {
			return err
		}
		// Last, so that nothing after it can fail but the file write; an
		// error here aborts the write and rolls the grant back.
		detail := ""
		if serial != "" {
			detail = fmt.Sprintf("assumed the MFA role %s with a code of %s", role, serial)
		}
		e := requestEvent(audit.Granted, id, r, detail)
		e.AccessKey = MaskKey(creds.AccessKeyID)
		if err := m.Record(e); err != nil {
			return fmt.Errorf("the audit log could not record the grant, so it was not made: %w; check %s (timebound-iam audit --verify)", err, m.auditPath())
		}
		return nil
	})
	if len(pruneErrs) > 0 {
		m.log().Warn("prune failed", "err", errors.Join(pruneErrs...))
	}
	if err != nil {
		if stored {
			if derr := m.Keys.Delete(id); derr != nil {
				// The marker stays: the next prune tries again.
				return Session{}, fmt.Errorf("%w; removing its keychain item also failed: %v", err, derr)
			}
		}
		if marked {
			m.unmarkPending(id)
		}
		return Session{}, err
	}
	m.unmarkPending(id)
	m.changed()
	m.log().Info("granted", "session", s.Profile(), "services", levelsText(r.Access), "ttl", config.ShortDuration(r.TTL),
		"expires", s.Expires.Format(time.RFC3339), "client", r.Client, "reason", r.Reason,
		"access_key", MaskKey(creds.AccessKeyID))
	return s, nil
}

// The session tags every grant's AssumeRole carries. CloudTrail records them
// with the role session, and policies can test them as
// aws:PrincipalTag/<key>. The keys stay clear of the "aws:" prefix STS
// reserves.
const (
	SessionTag = "timebound-iam:session" // the grant's profile, tb-<id>
	LevelTag   = "timebound-iam:level"   // view_only, read_only, full or mixed
	ClientTag  = "timebound-iam:client"  // the MCP client's name from initialize, or "cli"
)

// assumeRoleInput is the AssumeRole request of grant id on role: the
// session name and the tags tie the CloudTrail record to the grant, and
// SourceIdentity, when configured, to the person or machine. MinIO ignores
// SourceIdentity and Tags, so the MinIO dialect sends them too.
func (m *Manager) assumeRoleInput(id string, r Request, policy, role string) *sts.AssumeRoleInput {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(role),
		RoleSessionName: aws.String(awsiam.SessionName(id)),
		DurationSeconds: aws.Int32(int32(r.TTL / time.Second)),
		Policy:          aws.String(policy),
		Tags: []types.Tag{
			{Key: aws.String(SessionTag), Value: aws.String(profiles.Prefix + id)},
			{Key: aws.String(LevelTag), Value: aws.String(Session{Access: r.Access}.Level())},
		},
	}
	// The client's name is whatever the agent sent in initialize; an empty
	// one says nothing, so it is left out.
	if client := tagValue(r.Client); client != "" {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(ClientTag), Value: aws.String(client)})
	}
	if m.Config.SourceIdentity != "" {
		in.SourceIdentity = aws.String(m.Config.SourceIdentity)
	}
	return in
}

// maxTagValue is STS's limit on a session tag's value, in characters.
const maxTagValue = 256

// tagValue makes s a session tag value STS accepts, so that an odd client
// name never fails a grant: at most 256 characters of letters, digits,
// spaces and _ . : / = + - @, every other character becoming _.
func tagValue(s string) string {
	var b strings.Builder
	n := 0
	for _, c := range strings.TrimSpace(s) {
		if n == maxTagValue {
			break
		}
		if !unicode.IsLetter(c) && !unicode.IsNumber(c) && c != ' ' && !strings.ContainsRune("_.:/=+-@", c) {
			c = '_'
		}
		b.WriteRune(c)
		n++
	}
	return b.String()
}

// MaskKey shows only the last 4 characters of an access key id.
func MaskKey(id string) string {
	if len(id) <= 4 {
		return "****"
	}
	return "****" + id[len(id)-4:]
}

// checkMaxGrants refuses a new grant when max_grants are live in set.
func (m *Manager) checkMaxGrants(set *profiles.Set) error {
	if m.Config.MaxGrants <= 0 {
		return nil
	}
	now, live := m.Now(), 0
	for e := range set.All() {
		if e.Live(now) {
			live++
		}
	}
	if live >= m.Config.MaxGrants {
		return m.Config.NoteLimit("max_grants", fmt.Errorf("max_grants is %d and %d %s live; revoke one (revoke_access, or timebound-iam revoke) or wait for one to expire", m.Config.MaxGrants, live, plural(live, "grant is", "grants are")))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
