package awsiam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/gofrs/flock"
	"github.com/timebound-iam/timebound-iam/grant/config"
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
// iam, and a ceiling that allows iam, deny iam:Put* and iam:Delete*
// ([policy.Denied]), unless allow_escalation names iam.

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

// RevokedSession is a grant whose role session the deny policy names.
type RevokedSession struct {
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

// Expired reports whether s's credentials have expired at now, with a grace
// for clock skew: its deny is no longer needed.
func (s RevokedSession) Expired(now time.Time) bool {
	return !now.Before(wholeSecond(s.Expires).Add(revokedGrace))
}

// statement is the Deny of s's session.
func (s RevokedSession) statement() revokedStatement {
	return revokedStatement{
		Sid: revokedSidPrefix + s.ID, Effect: "Deny", Action: "*", Resource: "*",
		Condition: revokedCondition{
			StringLike:   map[string]string{"aws:userid": "*:" + SessionName(s.ID)},
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
func parseRevoked(raw json.RawMessage) (RevokedSession, bool) {
	var st revokedStatement
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if dec.Decode(&st) != nil {
		return RevokedSession{}, false
	}
	id, ok := strings.CutPrefix(st.Sid, revokedSidPrefix)
	if !ok || !profiles.ValidID(id) {
		return RevokedSession{}, false
	}
	expires, err := time.Parse(time.RFC3339, st.Condition.DateLessThan["aws:TokenIssueTime"])
	if err != nil {
		return RevokedSession{}, false
	}
	s := RevokedSession{ID: id, Expires: expires}
	want, _ := json.Marshal(s.statement())
	if !sameJSON(string(raw), string(want)) {
		return RevokedSession{}, false
	}
	return s, true
}

// revokedPolicy returns the document the broker role's [RevokedPolicyName]
// policy becomes when the sessions in add are denied: existing is its
// current document, URL-decoded ("" when the role has none). The
// statements of sessions that expired more than a few minutes before now
// are dropped, and their ids returned as pruned; a session both present and
// added keeps the later expiry. Statements this tool did not write, and the
// document's Version and Id, are kept as they are. It fails when existing is
// not a policy document, or when the result exceeds IAM's limit.
func revokedPolicy(existing string, add []RevokedSession, now time.Time) (doc string, pruned []string, err error) {
	return revisePolicy(existing, add, time.Time{}, now)
}

// revisePolicy is [revokedPolicy] that, when before is not zero, also
// denies every session of the role issued before it, in one statement that
// replaces any earlier one of its kind (see [DenyAllSessions]).
func revisePolicy(existing string, add []RevokedSession, before, now time.Time) (doc string, pruned []string, err error) {
	var old struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	var statements []json.RawMessage
	if strings.TrimSpace(existing) != "" {
		if err := json.Unmarshal([]byte(existing), &old); err != nil {
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
	adding := map[string]RevokedSession{}
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
		if t, ok := parseRevokedAll(raw); ok {
			// Replaced by the new bound, or past any session's life.
			if before.IsZero() && !allExpired(t, now) {
				out = append(out, raw)
			}
			continue
		}
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
		if s.Expired(now) {
			pruned = append(pruned, s.ID)
			continue
		}
		b, _ := json.Marshal(s.statement())
		out = append(out, b)
	}
	for _, id := range order {
		s, ok := adding[id]
		if !ok || s.Expired(now) {
			continue
		}
		st := s.statement()
		if foreignSids[st.Sid] {
			return "", nil, fmt.Errorf("the role's inline policy %q already has a statement with Sid %q that this tool did not write: rename or remove it, then revoke again", RevokedPolicyName, st.Sid)
		}
		b, _ := json.Marshal(st)
		out = append(out, b)
	}
	if !before.IsZero() {
		st := allStatement(before)
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

// RolePolicyAPI is what the AWS-side revoke needs from IAM; [*Client]
// satisfies it. GetRolePolicy returns the document URL-decoded.
type RolePolicyAPI interface {
	GetRolePolicy(ctx context.Context, role, policyName string) (string, error)
	PutRolePolicy(ctx context.Context, role, policyName, doc string) error
}

// NewRolePolicyClient returns an IAM client signed with the base
// credentials, for grant.Manager's IAM. When sts_endpoint names something other
// than AWS (MinIO, an emulator) and no IAM endpoint is set either
// (AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL), it fails rather than send the
// base credentials to AWS's IAM, which would not know them.
func NewRolePolicyClient(ctx context.Context, cfg config.Config) (RolePolicyAPI, error) {
	client, err := NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if !client.Custom() && !IsAWSEndpoint(cfg.STSEndpoint) {
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

// DenySessions adds a Deny of each session in add to the [RevokedPolicyName]
// policy of the role roleARN, and drops the statements of sessions that have
// expired, returning their ids. The read, merge and write happen under the
// file lock lockPath. It does not revoke locally: the caller has.
func DenySessions(ctx context.Context, api RolePolicyAPI, roleARN, lockPath string, add []RevokedSession, now time.Time) (pruned []string, err error) {
	return writeRevoked(ctx, api, roleARN, lockPath, add, time.Time{}, now)
}

// writeRevoked reads, revises (see [revisePolicy]) and writes the role's
// [RevokedPolicyName] policy under the file lock lockPath.
func writeRevoked(ctx context.Context, api RolePolicyAPI, roleARN, lockPath string, add []RevokedSession, before, now time.Time) (pruned []string, err error) {
	role := RoleNameOf(roleARN)
	// Read, merge, write: two revokes at once would each write the policy
	// they read, and one session would go missing. A lock serialises the
	// revokes of this state directory; revokes from other machines on the
	// same role can still race; revoke --aws of a grant again writes its
	// statement back.
	lock := flock.New(lockPath, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("locking %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()

	var existing string
	got, err := api.GetRolePolicy(ctx, role, RevokedPolicyName)
	switch {
	case IsNoSuchEntity(err):
		// The first revoke with --aws: no policy yet.
	case err != nil:
		return nil, explainIAM("GetRolePolicy", roleARN, err)
	default:
		existing = got
	}
	doc, pruned, err := revisePolicy(existing, add, before, now)
	if err != nil {
		return nil, err
	}
	if err := api.PutRolePolicy(ctx, role, RevokedPolicyName, doc); err != nil {
		return nil, explainIAM("PutRolePolicy", roleARN, err)
	}
	return pruned, nil
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
