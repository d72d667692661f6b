package grant

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// The channels an approval decision comes through, as in
// [audit.Event.Approver] and [Request.Approver].
const (
	ApproverElicitation = "elicitation" // the MCP client's form
	ApproverTerminal    = "terminal"    // the CLI's prompt
	ApproverPolicy      = "policy"      // the config needed no person
)

// AccessText writes access as "s3 full, logs read_only".
func AccessText(access []policy.Access) string {
	parts := make([]string, len(access))
	for i, a := range access {
		parts[i] = a.Service + " " + string(a.Level)
	}
	return strings.Join(parts, ", ")
}

// ApprovalPrompt is what a person sees before approving a grant.
type ApprovalPrompt struct {
	// Account and Role come from role_arn: the account id and the role's
	// name with its path.
	Account, Role string
	Access        []policy.Access
	// Resources are the ARNs the grant is narrowed to; nil means all.
	Resources []string
	TTL       time.Duration
	// Reason is the requester's stated reason; Client the MCP client's name
	// from initialize, or "cli".
	Reason, Client string
	// PolicySize is the session policy's length in characters, of
	// [policy.MaxSize].
	PolicySize int
	// MFASerial, when set, is the MFA device whose current code the grant
	// needs: it goes to the MFA role (Role), whose trust policy requires it.
	MFASerial string
	// Lifted says in plain words what the grant may do because
	// allow_escalation lifts its escalation denies, a line a service
	// ([config.Config.LiftedEscalation]).
	Lifted []string
}

// String writes the prompt as lines a person reads at a glance. The reason
// and the client's name are quoted: both are chosen by the requester, and
// must not pass for lines of the prompt.
func (p ApprovalPrompt) String() string {
	var b strings.Builder
	reason := "(none given)"
	if p.Reason != "" {
		reason = strconv.Quote(p.Reason)
	}
	fmt.Fprintf(&b, "account:   %s\n", p.Account)
	fmt.Fprintf(&b, "role:      %s\n", p.Role)
	if p.MFASerial != "" {
		fmt.Fprintf(&b, "mfa:       the MFA role: AWS requires the current code of %s\n", p.MFASerial)
	}
	fmt.Fprintf(&b, "access:    %s\n", AccessText(p.Access))
	if len(p.Resources) > 0 {
		fmt.Fprintf(&b, "resources: %s\n", strings.Join(p.Resources, " "))
	}
	fmt.Fprintf(&b, "ttl:       %s\n", config.ShortDuration(p.TTL))
	fmt.Fprintf(&b, "reason:    %s\n", reason)
	fmt.Fprintf(&b, "client:    %s\n", strconv.Quote(p.Client))
	fmt.Fprintf(&b, "policy:    %d of %d characters\n", p.PolicySize, policy.MaxSize)
	for _, l := range p.Lifted {
		fmt.Fprintf(&b, "lifted:    %s, as allow_escalation permits\n", l)
	}
	return b.String()
}

// roleParts splits a role ARN into its account id and the role's name with
// its path: arn:aws:iam::123456789012:role/ops/broker gives 123456789012
// and ops/broker.
func roleParts(arn string) (account, role string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", arn
	}
	return parts[4], strings.TrimPrefix(parts[5], "role/")
}

// Pending is a grant request that has been recorded and checked, waiting for
// its approval decision. Make it with [Manager.Ask]; end it with
// [Pending.Grant] or [Pending.Decline].
type Pending struct {
	m *Manager
	// Request is the request as checked, its TTL filled in; Approve sets its
	// Approver and may shorten its TTL.
	Request Request
	// Needed says whether a person must approve it before Grant.
	Needed bool
	// Prompt describes it for that person.
	Prompt ApprovalPrompt
	// MFASerial, when set, is the MFA device whose current code the person
	// must give with the approval ([Pending.ApproveWithCode]): the grant
	// goes to mfa_role_arn.
	MFASerial string
	// arns and policy are what [Manager.check] found, for the grant.
	arns   []string
	policy string
	// mfaCode is the code ApproveWithCode took, until Grant sends it; it is
	// never in Request, an audit event, a log or an error.
	mfaCode string
}

// Ask records r as requested in the audit log, checks it as [Manager.Grant]
// does, and returns it waiting for its approval. A request that cannot be
// recorded is refused: no grant without its record. A request that fails the
// checks is recorded as refused and returned as the error; no person is asked
// about a grant that could not be made.
func (m *Manager) Ask(r Request) (*Pending, error) {
	if r.TTL == 0 {
		r.TTL = m.Config.DefaultTTL
	}
	r.Approver = ""
	if err := m.Record(requestEvent(audit.Requested, "", r, "")); err != nil {
		return nil, m.auditError(err)
	}
	arns, policy, err := m.check(r)
	if err != nil {
		m.recordQuietly(requestEvent(audit.Refused, "", r, err.Error()))
		return nil, err
	}
	roleARN, serial := m.Config.RoleFor(r.Access)
	account, role := roleParts(roleARN)
	return &Pending{m: m, Request: r, Needed: m.Config.NeedsApproval(r.Access), MFASerial: serial, arns: arns, policy: policy, Prompt: ApprovalPrompt{
		Account: account, Role: role, Access: r.Access, Resources: arns, TTL: r.TTL,
		Reason: r.Reason, Client: r.Client, PolicySize: len(policy), MFASerial: serial, Lifted: m.Config.LiftedEscalation(r.Access),
	}}, nil
}

// Approve records that a person approved p through approver, for ttl; zero
// keeps the ttl asked for. A person may shorten a grant, never lengthen it:
// a ttl over the one asked for, or under [config.MinTTL], is refused, recorded, and
// returned as the error. So is an approval the audit log cannot record, and
// one of a grant that needs an MFA code ([Pending.MFASerial]): use
// [Pending.ApproveWithCode] for those.
func (p *Pending) Approve(approver string, ttl time.Duration) error {
	return p.ApproveWithCode(approver, ttl, "")
}

// ApproveWithCode is [Pending.Approve] with the MFA code the person typed,
// which a grant with [Pending.MFASerial] set needs: a missing or malformed
// code is refused, recorded (without it) and returned as the error, before
// any STS call. [Pending.Grant] sends the code once and forgets it. A code
// given for a grant that needs none is dropped. The errors about the code are
// [ErrMFACode].
func (p *Pending) ApproveWithCode(approver string, ttl time.Duration, code string) error {
	asked := p.Request.TTL
	if ttl == 0 {
		ttl = asked
	}
	var err error
	switch {
	case p.MFASerial != "" && code == "":
		err = fmt.Errorf("%w is missing: this grant goes to the MFA role, which needs the current %d-digit code of %s", ErrMFACode, MFACodeDigits, p.MFASerial)
	case p.MFASerial != "" && CheckMFACode(code) != nil:
		err = CheckMFACode(code)
	case ttl > asked:
		err = fmt.Errorf("the approved ttl %s is longer than the %s asked for: an approval may shorten a grant, never lengthen it", config.ShortDuration(ttl), config.ShortDuration(asked))
	case ttl < config.MinTTL:
		err = fmt.Errorf("the approved ttl %s is below the minimum of %s", config.ShortDuration(ttl), config.ShortDuration(config.MinTTL))
	case ttl%time.Second != 0:
		err = fmt.Errorf("the approved ttl %s is not a whole number of seconds", ttl)
	}
	if err != nil {
		p.m.recordQuietly(requestEvent(audit.Refused, "", p.Request, err.Error()))
		return err
	}
	r := p.Request
	r.TTL, r.Approver = ttl, approver
	detail := ""
	if ttl != asked {
		detail = fmt.Sprintf("ttl shortened from %s to %s", config.ShortDuration(asked), config.ShortDuration(ttl))
	}
	if err := p.m.Record(requestEvent(audit.Approved, "", r, detail)); err != nil {
		return p.m.auditError(err)
	}
	p.Request = r
	if p.MFASerial != "" {
		p.mfaCode = code
	}
	return nil
}

// Decline records that p was not approved through approver, and why:
// "declined", "cancelled", "timed out", "no elicitation support". The grant
// is refused whether or not the record can be written; a failed write is
// logged.
func (p *Pending) Decline(approver, detail string) {
	r := p.Request
	r.Approver = approver
	p.m.recordQuietly(requestEvent(audit.Declined, "", r, detail))
	p.m.recordQuietly(requestEvent(audit.Refused, "", r, "not approved: "+detail))
}

// Grant makes the grant: once approved when approval is needed, else with
// Approver "policy". The checks [Manager.Ask] made are not repeated: an
// approval only shortens the ttl, within the bounds Approve checks, and
// max_grants is checked again under the profiles file's lock.
func (p *Pending) Grant(ctx context.Context) (Session, error) {
	if !p.Needed {
		p.Request.Approver = ApproverPolicy
	}
	// A code goes to STS once: a second Grant of p has none.
	code := p.mfaCode
	p.mfaCode = ""
	return p.m.recordRefusal(p.Request, func(id *string) (Session, error) {
		return p.m.grant(ctx, p.Request, p.arns, p.policy, code, id)
	})
}

// Command is the CLI command a person can run in a terminal to make this
// grant, approving it there.
func (p *Pending) Command() string {
	var b strings.Builder
	b.WriteString("timebound-iam grant")
	for _, a := range p.Request.Access {
		// Checked by Ask: prefixes and levels need no quoting.
		b.WriteString(" -s " + a.Service + ":" + string(a.Level))
	}
	for _, res := range p.Request.Resources {
		b.WriteString(" -r " + quoteShell(res))
	}
	b.WriteString(" -t " + config.ShortDuration(p.Request.TTL))
	return b.String()
}

// Refuse records a request refused before [Manager.Ask] could check it,
// such as one whose input does not parse or whose approval answer approves
// nothing: requested, then refused for detail.
func (m *Manager) Refuse(r Request, detail string) {
	r.Approver = ""
	m.recordQuietly(requestEvent(audit.Requested, "", r, ""))
	m.recordQuietly(requestEvent(audit.Refused, "", r, detail))
}

// recordQuietly records e where a failed write changes nothing: the grant
// is refused anyway. The failure is logged.
func (m *Manager) recordQuietly(e audit.Event) {
	if err := m.Record(e); err != nil {
		m.log().Warn("audit log write failed", "event", e.Event, "err", err)
	}
}

// auditError refuses a grant whose request or approval the audit log could
// not record.
func (m *Manager) auditError(err error) error {
	return fmt.Errorf("the audit log could not record the request, so no grant was made: %w; check %s (timebound-iam audit --verify)", err, m.auditPath())
}
