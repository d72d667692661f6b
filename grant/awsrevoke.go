package grant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/gofrs/flock"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// The AWS-side revoke. A local revoke deletes the keychain item and
// tombstones the profile, but temporary credentials someone copied stay
// valid at AWS until they expire: STS cannot recall a session. What AWS
// offers instead is a Deny in the role's own policies, which IAM evaluates
// on every request of every session of the role, those already issued
// included. So revoke --aws writes one Deny statement per revoked grant into
// an inline policy of the broker role, [RevokedPolicyName], and drops the
// statements of grants whose credentials have expired since.
//
// Each statement matches the session by aws:userid, which for a role session
// is "<RoleId>:<RoleSessionName>", with StringLike "*:timebound-iam-<id>"
// rather than the exact RoleId from iam:GetRole:
//   - the policy is attached to the broker role, and IAM evaluates a role's
//     policies only for that role's own sessions, so the * can never reach
//     another role's session; it only spares the base identity the extra
//     iam:GetRole permission and the extra call;
//   - the grant id is random (40 bits) and the session name is unique per
//     grant, so the pattern names one session; anyone else who assumed the
//     broker with that very name would be denied too, which is harmless, as
//     the statement only ever takes access away;
//   - the id holds only [a-z2-9], so the pattern has no wildcard but the
//     leading one.
//
// aws:SourceIdentity is not used: source_identity is one value per
// configuration, shared by every grant, not per session.
//
// Each statement also carries DateLessThan aws:TokenIssueTime <expiry>, the
// expiry STS reported for the grant. It does two jobs. It records the expiry
// in the document itself, so that a later revoke, on any machine, can drop
// the statement once the credentials are dead, which keeps the policy under
// IAM's 10,240-character limit on a role's inline policies. And it confines
// the Deny to sessions issued before that time, so a later grant that drew
// the same id would not be caught. AWS's own "Revoke active sessions" bounds
// aws:TokenIssueTime by the moment of the revoke instead; here that moment
// would come from the local clock, and a clock running behind AWS's would
// put the bound before the session's issue time and deny nothing. The
// expiry comes from STS's own clock and is always after the issue time.
//
// The local revoke runs first and the deny after it: the local part needs no
// network, so a slow or refusing IAM can neither delay nor undo it, and the
// deny needs nothing the local revoke removes (the tombstone keeps the
// expiry). No grant can take the deny away again: every grant that reaches
// iam, and the broker's ceiling, deny iam:Put* and iam:Delete*Policy
// ([policy.EscalationActions]).

// RevokedPolicyName names the broker role's inline policy that denies the
// role sessions of grants revoked with --aws.
const RevokedPolicyName = "timebound-iam-revoked"

// revokedSidPrefix starts the Sid of every statement this tool writes into
// [RevokedPolicyName]; the grant id follows. Statements without it are left
// exactly as they are.
const revokedSidPrefix = "TimeboundIamRevoked"

// revokedGrace is how long after its expiry a session's statement stays: the
// expiry is compared with the local clock, and SigV4 itself accepts requests
// whose clock is up to 5 minutes off.
const revokedGrace = 5 * time.Minute

// awsRevokeTimeout bounds the two IAM calls of an AWS-side revoke, retries
// included: the local revoke has happened already, and the user is waiting.
const awsRevokeTimeout = 30 * time.Second

// revokedSession is a grant whose role session the deny policy names.
type revokedSession struct {
	ID string
	// Expires is when the grant's credentials expire, as STS reported it.
	Expires time.Time
}

type revokedStatement struct {
	Sid       string           `json:"Sid"`
	Effect    string           `json:"Effect"`
	Action    string           `json:"Action"`
	Resource  string           `json:"Resource"`
	Condition revokedCondition `json:"Condition"`
}

type revokedCondition struct {
	StringLike   map[string]string `json:"StringLike"`
	DateLessThan map[string]string `json:"DateLessThan"`
}

// statement is the Deny of s's session.
// dead reports whether s's credentials have expired at now, with a grace
// for clock skew: its deny is no longer needed.
func (s revokedSession) dead(now time.Time) bool {
	return !now.Before(wholeSecond(s.Expires).Add(revokedGrace))
}

func (s revokedSession) statement() revokedStatement {
	return revokedStatement{
		Sid: revokedSidPrefix + s.ID, Effect: "Deny", Action: "*", Resource: "*",
		Condition: revokedCondition{
			StringLike:   map[string]string{"aws:userid": "*:" + sessionName(s.ID)},
			DateLessThan: map[string]string{"aws:TokenIssueTime": wholeSecond(s.Expires).Format(time.RFC3339)},
		},
	}
}

// wholeSecond is t in UTC without its fraction, as the profiles file and
// grant_access's expires_at show it, so that the document names the same
// time whether the expiry came from STS or from the file. A bound up to a
// second early still lies far after the session's issue time (grants last
// 15 minutes at least), and the prune grace covers the second.
func wholeSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// parseRevoked returns the session a statement of ours denies. A statement
// that only looks like ours (our Sid prefix, anything else changed) is not
// ours: it is kept as it is.
func parseRevoked(raw json.RawMessage) (revokedSession, bool) {
	var st revokedStatement
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&st) != nil {
		return revokedSession{}, false
	}
	id, ok := strings.CutPrefix(st.Sid, revokedSidPrefix)
	if !ok || !profiles.ValidID(id) {
		return revokedSession{}, false
	}
	expires, err := time.Parse(time.RFC3339, st.Condition.DateLessThan["aws:TokenIssueTime"])
	if err != nil {
		return revokedSession{}, false
	}
	s := revokedSession{ID: id, Expires: expires}
	want, _ := json.Marshal(s.statement())
	if !sameJSON(string(raw), string(want)) {
		return revokedSession{}, false
	}
	return s, true
}

// revokedPolicy returns the document the broker role's [RevokedPolicyName]
// policy becomes when the sessions in add are denied: existing is its
// current document ("" when the role has none, URL-encoded or not). The
// statements of sessions that expired more than a few minutes before now
// are dropped, and their ids returned as pruned; a session both present and
// added keeps the later expiry. Statements this tool did not write, and the
// document's Version and Id, are kept as they are. It fails when existing is
// not a policy document, or when the result exceeds IAM's limit.
func revokedPolicy(existing string, add []revokedSession, now time.Time) (doc string, pruned []string, err error) {
	var old struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	var statements []json.RawMessage
	if text := policyText(existing); strings.TrimSpace(text) != "" {
		if err := json.Unmarshal([]byte(text), &old); err != nil {
			return "", nil, fmt.Errorf("the role's inline policy %q is not a JSON policy document (%v): fix or delete it, then revoke again", RevokedPolicyName, err)
		}
		switch s := bytes.TrimSpace(old.Statement); {
		case len(s) == 0 || bytes.Equal(s, []byte("null")):
		case s[0] == '{': // IAM accepts a single statement without the list
			statements = []json.RawMessage{s}
		default:
			if err := json.Unmarshal(s, &statements); err != nil {
				return "", nil, fmt.Errorf("the Statement of the role's inline policy %q is neither a statement nor a list of them (%v): fix or delete it, then revoke again", RevokedPolicyName, err)
			}
		}
	}

	// Sessions to write, by id: the added ones replace their old statements
	// in place, keeping the later expiry, and the rest go at the end.
	adding := map[string]revokedSession{}
	var order []string
	for _, s := range add {
		if prev, ok := adding[s.ID]; ok {
			if s.Expires.After(prev.Expires) {
				adding[s.ID] = s
			}
			continue
		}
		adding[s.ID] = s
		order = append(order, s.ID)
	}
	var out []json.RawMessage
	foreignSids := map[string]bool{}
	for _, raw := range statements {
		s, ours := parseRevoked(raw)
		if !ours {
			var sid struct{ Sid string }
			_ = json.Unmarshal(raw, &sid)
			foreignSids[sid.Sid] = true
			out = append(out, raw)
			continue
		}
		if a, ok := adding[s.ID]; ok {
			if a.Expires.After(s.Expires) {
				s = a
			}
			delete(adding, s.ID)
		}
		if s.dead(now) {
			pruned = append(pruned, s.ID)
			continue
		}
		b, _ := json.Marshal(s.statement())
		out = append(out, b)
	}
	for _, id := range order {
		s, ok := adding[id]
		if !ok || s.dead(now) {
			continue
		}
		st := s.statement()
		if foreignSids[st.Sid] {
			return "", nil, fmt.Errorf("the role's inline policy %q already has a statement with Sid %q that this tool did not write: rename or remove it, then revoke again", RevokedPolicyName, st.Sid)
		}
		b, _ := json.Marshal(st)
		out = append(out, b)
	}

	version := old.Version
	if version == "" {
		version = "2012-10-17"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a foreign statement's text stays as its author wrote it
	if err := enc.Encode(struct {
		Version   string            `json:"Version"`
		ID        string            `json:"Id,omitempty"`
		Statement []json.RawMessage `json:"Statement"`
	}{version, old.ID, out}); err != nil {
		return "", nil, fmt.Errorf("encoding the deny policy: %w", err)
	}
	doc = buf.String()
	if n := compactLen(doc); n > MaxRolePolicySize {
		return "", nil, fmt.Errorf("the deny policy %q would be %d characters, over the %d IAM allows for a role's inline policies: too many revoked sessions are still unexpired; wait for some to expire, then revoke again", RevokedPolicyName, n, MaxRolePolicySize)
	}
	return doc, pruned, nil
}

// policyText undoes the RFC 3986 URL encoding IAM applies to the policy
// documents it returns. Unlike [decodeDoc] it keeps a literal + as it is: a
// foreign statement must come back unchanged.
func policyText(s string) string {
	if json.Valid([]byte(s)) {
		return s
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// RolePolicyAPI is what the AWS-side revoke needs from IAM; *iam.Client
// satisfies it.
type RolePolicyAPI interface {
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
}

// NewRolePolicyClient returns an IAM client signed with the base
// credentials, for [Manager.IAM]. When sts_endpoint names something other
// than AWS (MinIO, an emulator) and no IAM endpoint is set either
// (AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL), it fails rather than send the
// base credentials to AWS's IAM, which would not know them.
func NewRolePolicyClient(ctx context.Context, cfg config.Config) (RolePolicyAPI, error) {
	client, err := NewIAM(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if client.Options().BaseEndpoint == nil && !IsAWSEndpoint(cfg.STSEndpoint) {
		return nil, fmt.Errorf("sts_endpoint %s is not AWS, and no IAM endpoint is set: set AWS_ENDPOINT_URL_IAM to the IAM that holds role %s", cfg.STSEndpoint, cfg.RoleARN)
	}
	return client, nil
}

// IsAWSEndpoint reports whether an endpoint URL is AWS's own (a VPC
// endpoint included), rather than MinIO, an emulator or a stand-in. Empty
// means AWS: the SDK's default.
func IsAWSEndpoint(endpoint string) bool {
	if endpoint == "" {
		return true
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn") || strings.HasSuffix(h, ".api.aws")
}

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
	if len(d.IDs) > 0 {
		parts = append(parts, fmt.Sprintf("role %s now denies every request of %s (inline policy %s)", d.Role, profileList(d.IDs), RevokedPolicyName))
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

// DenyAtAWS adds a Deny of the role sessions of the given grants to the
// broker role's [RevokedPolicyName] policy, and drops the statements of
// grants that have expired; it does not revoke locally (call
// [Manager.Revoke] first). Ids may carry the tb- prefix and must name
// grants in the profiles file, live or ended: a grant revoked earlier
// without --aws still has credentials to deny until its expiry. Every
// failure, the id check included, is in the result's Err: the caller has
// already revoked locally, and reports both.
func (m *Manager) DenyAtAWS(ctx context.Context, ids []string) AWSDeny {
	d := AWSDeny{Role: m.Config.RoleARN}
	set, err := m.Profiles.Read()
	if err != nil {
		d.Err = err
		return d
	}
	now := m.Now().UTC()
	var add []revokedSession
	for _, raw := range ids {
		id, err := NormalizeID(raw)
		if err != nil {
			d.Err = err
			return d
		}
		e, ok := set.Get(id)
		if !ok {
			d.Err = fmt.Errorf("session_id %s%s: %w", profiles.Prefix, id, ErrUnknownGrant)
			return d
		}
		s := revokedSession{ID: id, Expires: e.Expires}
		if s.dead(now) {
			d.Expired = append(d.Expired, id)
			continue
		}
		// The deny goes on the role the grant assumed. On another role it
		// would deny nothing and read as done. Sections from before the
		// role was recorded hold none; for them the configured role is all
		// there is to go on.
		if e.Role != "" && e.Role != d.Role {
			d.Err = fmt.Errorf("grant %s%s was made with role %s, but role_arn is now %s: the deny must go on the grant's own role; run the revoke with --role-arn %s", profiles.Prefix, id, e.Role, d.Role, e.Role)
			return d
		}
		if slices.Contains(d.IDs, id) {
			continue
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
	m.log().Info("denied at AWS", "sessions", profileList(d.IDs), "role", d.Role, "policy", RevokedPolicyName, "pruned", profileList(d.Pruned))
	return d
}

func (m *Manager) denyAtAWS(ctx context.Context, add []revokedSession, now time.Time, d *AWSDeny) error {
	if m.Config.STSDialect == policy.DialectMinIO {
		return errors.New("sts_dialect is minio, and MinIO has no IAM role policies to deny a session with")
	}
	if err := m.Config.CheckRole(); err != nil {
		return err
	}
	role := RoleNameOf(m.Config.RoleARN)
	if m.IAM == nil {
		return errors.New("this run has no IAM client")
	}
	ctx, cancel := context.WithTimeout(ctx, awsRevokeTimeout)
	defer cancel()
	api, err := m.IAM(ctx)
	if err != nil {
		return err
	}
	// Read, merge, write: two revokes at once would each write the policy
	// they read, and one session would go missing. A lock serialises the
	// revokes of this state directory; revokes from other machines on the
	// same role can still race; revoke --aws of a grant again writes its
	// statement back.
	lock := flock.New(filepath.Join(m.Config.Home, "aws-revoke.lock"), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()

	var existing string
	got, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(RevokedPolicyName)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &missing):
		// The first revoke with --aws: no policy yet.
	case err != nil:
		return explainIAM("GetRolePolicy", m.Config.RoleARN, err)
	default:
		existing = aws.ToString(got.PolicyDocument)
	}
	doc, pruned, err := revokedPolicy(existing, add, now)
	if err != nil {
		return err
	}
	if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(RevokedPolicyName), PolicyDocument: aws.String(doc)}); err != nil {
		return explainIAM("PutRolePolicy", m.Config.RoleARN, err)
	}
	d.Pruned = pruned
	return nil
}

// ErrNotPermitted marks an AWS-side revoke the base identity may not make:
// IAM refused GetRolePolicy or PutRolePolicy on the broker role.
var ErrNotPermitted = errors.New("not permitted")

// explainIAM says which IAM call failed on the broker role and why, naming
// the permission when the base identity lacks it.
func explainIAM(op, roleARN string, err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("iam:%s on role %s failed: %w", op, roleARN, err)
	}
	switch code := api.ErrorCode(); code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess":
		return fmt.Errorf("%w to call iam:%s on role %s (%s)", ErrNotPermitted, op, roleARN, code)
	case "NoSuchEntity":
		return fmt.Errorf("role %s does not exist in IAM (NoSuchEntity): check role_arn", roleARN)
	case "LimitExceeded":
		return fmt.Errorf("role %s has no room for the deny policy %q within IAM's %d characters for a role's inline policies (LimitExceeded: %s): wait for some revoked sessions to expire, or shrink the ceiling policy", roleARN, RevokedPolicyName, MaxRolePolicySize, api.ErrorMessage())
	default:
		return fmt.Errorf("iam:%s on role %s failed: %s: %s", op, roleARN, code, api.ErrorMessage())
	}
}
