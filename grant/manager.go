package grant

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// TombstoneTTL is how long a revoked or expired grant's profile stays, so the
// helper can explain its refusal instead of the AWS CLI's "profile not found".
const TombstoneTTL = 24 * time.Hour

// Manager carries out grants, listings, revokes and prunes. Its fields are its
// dependencies; all are required except Log, NewID and IAM.
type Manager struct {
	Config   config.Config
	STS      AssumeRoler
	Keys     *keychain.Store
	Profiles *profiles.File
	// Exe is the absolute path of this binary, run by credential_process.
	Exe string
	Now func() time.Time
	// Log receives one line per grant, revoke and prune; nil discards.
	Log *slog.Logger
	// NewID makes grant ids; nil uses [NewID].
	NewID func() (string, error)
	// IAM returns the client [Manager.DenyAtAWS] writes the broker role's
	// deny policy with; it is called only then. Nil makes that fail.
	IAM func(context.Context) (awsiam.RolePolicyAPI, error)
	// Audit receives one event per request, decision, grant, refusal,
	// revoke and prune; nil records nothing.
	Audit Auditor
}

// Auditor appends events to the audit log. Append returns only once the
// event is durable: a grant whose "granted" event cannot be written is
// rolled back.
type Auditor interface {
	Append(audit.Event) error
}

// Record appends e, stamped with the time now, to the audit log. The grant
// use cases record every event themselves; see [Manager.Ask] for those before
// a grant.
func (m *Manager) Record(e audit.Event) error {
	if m.Audit == nil {
		return nil
	}
	e.Time = m.Now().UTC()
	return m.Audit.Append(e)
}

// Session describes a live or ended grant; it never holds a secret.
type Session struct {
	ID      string
	Access  []policy.Access
	Region  string
	Created time.Time
	Expires time.Time
	Status  profiles.Status
	Revoked time.Time
	// Resources are the ARNs the grant is narrowed to; nil means every
	// resource.
	Resources []string
	// PolicyChars is the session policy's length, of STS's 2,048, and
	// PackedPolicySize STS's PackedPolicySize for it: the packed policy and
	// session tags as a percentage of STS's packed limit, nil when STS sent
	// none. Only [Manager.Grant] sets them; the profile file does not keep
	// them.
	PolicyChars      int
	PackedPolicySize *int32
}

// Profile is the AWS profile name of the grant.
func (s Session) Profile() string { return profiles.Prefix + s.ID }

// Services lists the service prefixes in request order.
func (s Session) Services() []string {
	out := make([]string, len(s.Access))
	for i, a := range s.Access {
		out[i] = a.Service
	}
	return out
}

// Level is the common level, or "mixed" when services differ.
func (s Session) Level() string {
	if len(s.Access) == 0 {
		return ""
	}
	for _, a := range s.Access[1:] {
		if a.Level != s.Access[0].Level {
			return "mixed"
		}
	}
	return string(s.Access[0].Level)
}

// Levels maps each service to its level.
func (s Session) Levels() map[string]string {
	m := make(map[string]string, len(s.Access))
	for _, a := range s.Access {
		m[a.Service] = string(a.Level)
	}
	return m
}

// idAlphabet has 32 lowercase letters and digits without look-alikes (0, 1, l, o).
const idAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// NewID returns 8 characters from crypto/rand: 40 bits.
func NewID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating a grant id: %w", err)
	}
	for i := range b {
		b[i] = idAlphabet[b[i]%32]
	}
	return string(b[:]), nil
}

// NormalizeID accepts "tb-<id>" or "<id>".
func NormalizeID(s string) (string, error) {
	id := strings.TrimPrefix(strings.TrimSpace(s), profiles.Prefix)
	if !profiles.ValidID(id) {
		return "", fmt.Errorf("session_id %q is not a grant id such as tb-k3f9ab2c; list_active_sessions shows them", s)
	}
	return id, nil
}

func (m *Manager) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}

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
		return m.grant(ctx, r, arns, policy, id)
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

// Bounds on what a refused request can put into one audit entry: the
// request is the requester's input, unchecked when it is refused.
const (
	maxAuditServices = 50
	maxAuditText     = 1000 // characters of a detail or client name
)

// requestEvent is the audit entry of kind for r and grant id, which may
// still be empty; detail says why for a decline or a refusal.
func requestEvent(kind, id string, r Request, detail string) audit.Event {
	access := r.Access
	if len(access) > maxAuditServices {
		access = access[:maxAuditServices]
	}
	e := audit.Event{Event: kind, Reason: clip(r.Reason, MaxReason), Client: clip(r.Client, maxAuditText), Approver: clip(r.Approver, maxAuditText), Detail: clip(detail, maxAuditText)}
	for _, a := range access {
		svc := clip(a.Service, 100)
		e.Services = append(e.Services, svc)
		if e.Levels == nil {
			e.Levels = map[string]string{}
		}
		e.Levels[svc] = clip(string(a.Level), 100)
	}
	if n := len(r.Access) - len(access); n > 0 {
		e.Services = append(e.Services, fmt.Sprintf("...(%d more)", n))
	}
	if id != "" {
		e.Session = profiles.Prefix + id
	}
	if r.TTL > 0 {
		e.TTL = config.ShortDuration(r.TTL)
	}
	return e
}

// clip cuts s to at most n characters, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-3]) + "..."
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
	if doc, err = policy.BuildScoped(r.Access, arns, m.Config.STSDialect); err != nil {
		return nil, "", err
	}
	return arns, doc, nil
}

// sessionEvent is the audit entry of kind for an existing grant.
func sessionEvent(kind string, e profiles.Entry) audit.Event {
	s := session(e)
	return audit.Event{Event: kind, Session: e.Name(), Services: s.Services(), Levels: s.Levels()}
}

// grant makes a grant of r, which [Manager.check] passed with arns and
// policy; it sets *idp once the grant has one. Every grant comes through
// here, so here a grant that needs a person is refused unless one approved
// it (see [Pending.Approve]).
func (m *Manager) grant(ctx context.Context, r Request, arns []string, policy string, idp *string) (Session, error) {
	if m.Config.NeedsApproval(r.Access) && r.Approver != ApproverElicitation && r.Approver != ApproverTerminal {
		return Session{}, errors.New("this grant needs a person's approval, and none was given")
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
	out, err := m.STS.AssumeRole(ctx, m.assumeRoleInput(id, r, policy))
	if err != nil {
		return Session{}, explainSTS(err, m.Config, config.ShortDuration(r.TTL))
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
		PolicyChars: len(policy)}
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
		e := requestEvent(audit.Granted, id, r, "")
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

// assumeRoleInput is the AssumeRole request of grant id: the session name
// and the tags tie the CloudTrail record to the grant, and SourceIdentity,
// when configured, to the person or machine. MinIO ignores SourceIdentity
// and Tags, so the MinIO dialect sends them too.
func (m *Manager) assumeRoleInput(id string, r Request, policy string) *sts.AssumeRoleInput {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(m.Config.RoleARN),
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

func levelsText(access []policy.Access) string {
	parts := make([]string, len(access))
	for i, a := range access {
		parts[i] = a.Service + ":" + string(a.Level)
	}
	return strings.Join(parts, ",")
}

func (m *Manager) entry(s Session) profiles.Entry {
	access := make([]profiles.Access, len(s.Access))
	for i, a := range s.Access {
		access[i] = profiles.Access{Service: a.Service, Level: string(a.Level)}
	}
	return profiles.Entry{
		ID: s.ID, Region: s.Region, Access: access, Status: s.Status,
		Helper:  profiles.Helper{Exe: m.Exe, Home: m.Config.Home, Backend: m.Keys.Backend()},
		Created: s.Created, Expires: s.Expires, Revoked: s.Revoked, Resources: s.Resources,
		Role: m.Config.RoleARN,
	}
}

func session(e profiles.Entry) Session {
	access := make([]policy.Access, len(e.Access))
	for i, a := range e.Access {
		access[i] = policy.Access{Service: a.Service, Level: policy.Level(a.Level)}
	}
	return Session{ID: e.ID, Access: access, Region: e.Region, Created: e.Created, Expires: e.Expires, Status: e.Status, Revoked: e.Revoked, Resources: e.Resources}
}

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
		return fmt.Errorf("max_grants is %d and %d %s live; revoke one (revoke_access, or timebound-iam revoke) or wait for one to expire", m.Config.MaxGrants, live, plural(live, "grant is", "grants are"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// auditPath names the audit log in messages.
func (m *Manager) auditPath() string {
	return filepath.Join(m.Config.Home, audit.FileName)
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

// Prune deletes the keychain items of expired grants, marking their profiles
// expired, removes tombstones older than [TombstoneTTL], and deletes the
// keychain items that grants killed mid-way left without a profile (see
// [Manager.reconcile]). It takes the file lock only when there is something
// to do.
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
	if reconcile && !stale {
		pending, err := m.pending()
		if err != nil {
			return nil, err
		}
		stale = len(pending) > 0
	}
	if !stale {
		return set, nil
	}
	var errs []error
	var after *profiles.Set
	err = m.Profiles.Update(func(set *profiles.Set) error {
		after, errs = set, m.pruneSet(set, now)
		if reconcile {
			errs = append(errs, m.reconcile(set, now)...)
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

// Reconciliation. A grant stores its keychain item and then renames the new
// profiles file into place, both under the file lock. A grant killed in
// between leaves an item no profile names: a live secret nobody can revoke.
// Before storing the item it therefore writes a marker, <aws-config>.pending/<id>
// holding the backend's name, and removes it once the profile is written.
//
// The markers, not a listing of the keychain, say which items to look at:
// keyctl, the Secret Service and the macOS keychain hold the grants of every
// state directory of the user under one service name, so an item without a
// profile in this file may well be another directory's live grant. Listing
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
