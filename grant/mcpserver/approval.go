package mcpserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
)

// Approval over MCP: grant_access answers a request that needs a person's
// approval with an input request (a form elicitation) and a requestState.
// Clients on protocol 2026-07-28 show the form and call grant_access again
// with the answer in inputResponses and the requestState; for older clients
// the go-sdk sends elicitation/create and calls the handler again itself.
//
// Any client can put inputResponses and a requestState into any tools/call,
// without having shown anyone a form. So an answer counts only with a state
// this server issued, for this exact request, in this session, within
// ApprovalTimeout, and only once: the states are random, kept here, and
// spent by their first use.

// approvalInputID names the approval form among a result's input requests.
const approvalInputID = "approve_grant"

// maxWaitingApprovals bounds the approval requests waiting for an answer, so
// that an agent calling in a loop cannot grow the table without end.
const maxWaitingApprovals = 64

// protocolInputRequests is the first protocol version whose clients answer
// input requests themselves.
const protocolInputRequests = "2026-07-28"

// Errors of the approval path that end a round trip the go-sdk runs for an
// older client.
var errApprovalTimedOut = errors.New("the approval request timed out")

// approvals are the approval requests one server issued, by requestState,
// for the grants of m.
type approvals struct {
	m       *grant.Manager
	mu      sync.Mutex
	byState map[string]*issued
}

// issued is one approval request. Its state moves once from waiting to
// answered or expired; an entry stays after that for one more timeout, so
// that a late or repeated answer gets an exact message, and is then swept.
type issued struct {
	p       *grant.Pending
	session *mcp.ServerSession
	expires time.Time // by the grant.Manager's clock
	status  issuedStatus
	timer   *time.Timer
	// cancel ends the go-sdk's elicitation round trip to an older client.
	cancel context.CancelCauseFunc
}

type issuedStatus int

const (
	waiting issuedStatus = iota
	answered
	expired
)

func newApprovals(m *grant.Manager) *approvals {
	return &approvals{m: m, byState: map[string]*issued{}}
}

// newRequestState returns 256 bits from crypto/rand.
func newRequestState() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating an approval request state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// canElicit reports whether the client declared form elicitation. An
// elicitation capability naming only url mode cannot show a form.
func canElicit(caps *mcp.ClientCapabilities) bool {
	if caps == nil || caps.Elicitation == nil {
		return false
	}
	e := caps.Elicitation
	return e.Form != nil || e.URL == nil
}

// ask issues the approval form for p, or refuses when the client cannot show
// one.
func (a *approvals) ask(ctx context.Context, req *mcp.CallToolRequest, p *grant.Pending) (*mcp.CallToolResult, error) {
	m := a.m
	if !canElicit(req.ClientCapabilities()) {
		p.Decline(grant.ApproverElicitation, "no elicitation support")
		return nil, fmt.Errorf("this grant (%s for %s) needs the user's approval, but this MCP client (%q) cannot ask for it: it declared no elicitation support. No grant was made. %s",
			grant.AccessText(p.Request.Access), config.ShortDuration(p.Request.TTL), p.Request.Client, a.approveInstead(p))
	}
	state, err := newRequestState()
	if err != nil {
		p.Decline(grant.ApproverElicitation, "no request state")
		return nil, err
	}
	timeout := m.Config.ApprovalWait()
	now := m.Now()
	is := &issued{p: p, session: req.Session, expires: now.Add(timeout)}
	if rt, ok := ctx.Value(roundTripKey{}).(*roundTrip); ok && req.ProtocolVersion() < protocolInputRequests {
		// The go-sdk asks this client itself, within this call; the timer
		// ends that wait.
		rt.state, is.cancel = state, rt.cancel
	}
	late, n, added := a.add(state, is, now, timeout)
	for _, l := range late {
		l.timedOut()
	}
	if !added {
		p.Decline(grant.ApproverElicitation, "too many approval requests waiting")
		return nil, fmt.Errorf("%d approval requests are already waiting for the user; no grant was made. Wait for the user to answer them, then call grant_access again", n)
	}
	return &mcp.CallToolResult{
		InputRequests: mcp.InputRequestMap{approvalInputID: &mcp.ElicitParams{
			Mode:            "form",
			Message:         approvalMessage(p),
			RequestedSchema: approvalSchema(p.Request.TTL, p.MFASerial),
		}},
		RequestState: state,
	}, nil
}

// add sweeps the table and adds is under state, with its timer, unless
// [maxWaitingApprovals] are waiting already. It returns the requests the
// sweep found expired, and how many were waiting.
func (a *approvals) add(state string, is *issued, now time.Time, timeout time.Duration) (late []*issued, n int, added bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	late = a.sweep(now, timeout)
	for _, other := range a.byState {
		if other.status == waiting {
			n++
		}
	}
	if n >= maxWaitingApprovals {
		return late, n, false
	}
	is.timer = time.AfterFunc(timeout, func() { a.expire(state) })
	a.byState[state] = is
	return late, n, true
}

// expire ends a waiting request whose time is up: it is declined as timed
// out, and an older client's elicitation is cancelled.
func (a *approvals) expire(state string) {
	a.mu.Lock()
	is := a.byState[state]
	if is == nil || is.status != waiting {
		a.mu.Unlock()
		return
	}
	is.status = expired
	a.mu.Unlock()
	is.timedOut()
}

// timedOut records the decline of an expired request and cancels an older
// client's elicitation of it.
func (is *issued) timedOut() {
	is.p.Decline(grant.ApproverElicitation, "timed out")
	if is.cancel != nil {
		is.cancel(errApprovalTimedOut)
	}
}

// sweep drops the requests answered or expired more than a timeout ago, and
// marks expired those still waiting past their time, returning them for
// [issued.timedOut]. The caller holds a.mu.
func (a *approvals) sweep(now time.Time, timeout time.Duration) (late []*issued) {
	for state, is := range a.byState {
		if is.status == waiting && now.After(is.expires) {
			is.status = expired
			is.timer.Stop()
			late = append(late, is)
		}
		if is.status != waiting && now.After(is.expires.Add(timeout)) {
			delete(a.byState, state)
		}
	}
	return late
}

// spend marks the request state as answered, if it is still waiting, and
// returns it with the status it had; nil for a state never issued or swept.
func (a *approvals) spend(state string) (*issued, issuedStatus) {
	a.mu.Lock()
	defer a.mu.Unlock()
	is := a.byState[state]
	if is == nil {
		return nil, expired
	}
	was := is.status
	if was == waiting {
		is.status = answered
		if is.timer != nil {
			is.timer.Stop()
		}
	}
	return is, was
}

// answer checks the approval answer in req for r and returns r's pending
// grant, approved; or the error that refuses it. The state is spent by this
// call, whatever the answer.
func (a *approvals) answer(req *mcp.CallToolRequest, r grant.Request) (*grant.Pending, error) {
	m := a.m
	now := m.Now()
	is, was := a.spend(req.Params.RequestState)

	again := "No grant was made; call grant_access again, without inputResponses or requestState, so that the user is asked."
	if is == nil {
		m.Refuse(r, "approval answer with an unknown request state")
		return nil, fmt.Errorf("this approval answer's requestState was not issued by this server, or expired long ago, so it approves nothing. %s", again)
	}
	p := is.p
	switch was {
	case answered:
		m.Refuse(r, "approval request state used twice")
		return nil, fmt.Errorf("this approval request was already answered once; an approval counts once. %s", again)
	case expired:
		return nil, a.timedOut(p)
	}
	if now.After(is.expires) {
		p.Decline(grant.ApproverElicitation, "timed out")
		return nil, a.timedOut(p)
	}
	if is.session != req.Session || !sameRequest(p.Request, r) {
		p.Decline(grant.ApproverElicitation, "its request state was presented for another request")
		m.Refuse(r, "approval request state issued for another request")
		return nil, fmt.Errorf("this approval answer's requestState was issued for another request (%s for %s), not this one (%s for %s); it approves neither. %s",
			grant.AccessText(p.Request.Access), config.ShortDuration(p.Request.TTL), grant.AccessText(r.Access), config.ShortDuration(r.TTL), again)
	}
	res, ok := req.Params.InputResponses[approvalInputID].(*mcp.ElicitResult)
	if !ok {
		p.Decline(grant.ApproverElicitation, "the answer held no approval form")
		return nil, fmt.Errorf("this call carries a requestState but no answer to the approval form (%q). %s", approvalInputID, again)
	}
	switch res.Action {
	case "accept":
		f, err := parseApprovalForm(res.Content, p.MFASerial != "")
		if err != nil {
			p.Decline(grant.ApproverElicitation, "malformed answer: "+err.Error())
			return nil, fmt.Errorf("%w. %s", err, again)
		}
		if !f.approve {
			p.Decline(grant.ApproverElicitation, "declined")
			return nil, a.declined(p, "the user did not approve this grant")
		}
		err = p.ApproveWithCode(grant.ApproverElicitation, f.ttl, f.mfaCode)
		switch {
		case errors.Is(err, grant.ErrMFACode):
			return nil, fmt.Errorf("%w. %s", err, again)
		case err != nil:
			return nil, fmt.Errorf("%w. No grant was made; ask the user for the access you need, with a ttl they accept", err)
		}
		return p, nil
	case "decline":
		p.Decline(grant.ApproverElicitation, "declined")
		return nil, a.declined(p, "the user declined this grant")
	case "cancel":
		p.Decline(grant.ApproverElicitation, "cancelled")
		return nil, a.declined(p, "the user cancelled the approval request for this grant")
	default:
		p.Decline(grant.ApproverElicitation, fmt.Sprintf("unknown action %q", res.Action))
		return nil, a.declined(p, fmt.Sprintf("the approval form came back with action %q, which is not accept", res.Action))
	}
}

// roundTripKey holds a *roundTrip in the context of a grant_access call.
type roundTripKey struct{}

// roundTrip ties a grant_access call from an older client to the approval
// request it issued, so that a failed or timed-out elicitation round trip
// ends as a tool error that says so, never as a protocol error.
type roundTrip struct {
	cancel context.CancelCauseFunc
	state  string
}

// roundTrips is the server's receiving middleware for grant_access. It runs
// outside the go-sdk's own round trip for older clients, which fails the
// whole call when the elicitation fails.
func (a *approvals) roundTrips() mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); !ok || method != "tools/call" || p.Name != "grant_access" {
				return next(ctx, method, req)
			}
			ctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			rt := &roundTrip{cancel: cancel}
			res, err := next(context.WithValue(ctx, roundTripKey{}, rt), method, req)
			if err == nil || rt.state == "" {
				return res, err
			}
			return a.failedRoundTrip(ctx, rt.state, err), nil
		}
	}
}

// failedRoundTrip ends the approval request state whose elicitation round
// trip failed with err, and says why as a tool error.
func (a *approvals) failedRoundTrip(ctx context.Context, state string, err error) *mcp.CallToolResult {
	is, was := a.spend(state)
	res := &mcp.CallToolResult{}
	if is == nil {
		res.SetError(fmt.Errorf("the approval request failed (%v); no grant was made", err))
		return res
	}
	p := is.p
	switch {
	case was == expired || errors.Is(context.Cause(ctx), errApprovalTimedOut):
		res.SetError(a.timedOut(p))
	case was == answered:
		res.SetError(fmt.Errorf("the approval request failed (%v); no grant was made", err))
	case ctx.Err() != nil:
		p.Decline(grant.ApproverElicitation, "cancelled by the client")
		res.SetError(a.declined(p, "the MCP client cancelled the call while the approval request was open"))
	default:
		p.Decline(grant.ApproverElicitation, "elicitation failed: "+err.Error())
		res.SetError(a.declined(p, fmt.Sprintf("the MCP client could not show the approval form (%v)", err)))
	}
	return res
}

// approvalForm is an accepted approval form's content.
type approvalForm struct {
	approve bool
	ttl     time.Duration
	// mfaCode is the code the person typed; it goes to grant.Pending and
	// nowhere else.
	mfaCode string
}

// parseApprovalForm reads the approval form's content. A plain accept means
// yes: a missing approve field is true, and a missing or empty ttl keeps the
// one asked for (zero). withCode says the form asked for mfa_code; then no
// error quotes what a field holds, in case the person typed the code into
// the wrong one.
func parseApprovalForm(content map[string]any, withCode bool) (f approvalForm, err error) {
	f.approve = true
	quote := func(v any) string {
		if withCode {
			return "not"
		}
		return fmt.Sprintf("%v, not", v)
	}
	if v, ok := content["approve"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return approvalForm{}, fmt.Errorf("the approval form's approve field is %s true or false", quote(v))
		}
		f.approve = b
	}
	if v, ok := content["ttl"]; ok {
		s, isString := v.(string)
		if !isString {
			return approvalForm{}, fmt.Errorf("the approval form's ttl field is %s a duration such as \"30m\"", quote(v))
		}
		if s = strings.TrimSpace(s); s != "" {
			if f.ttl, err = time.ParseDuration(s); err != nil {
				if withCode {
					return approvalForm{}, errors.New("the approval form's ttl is not a duration such as \"30m\"")
				}
				return approvalForm{}, fmt.Errorf("the approval form's ttl %q is not a duration such as \"30m\"", s)
			}
		}
	}
	if !withCode {
		return f, nil
	}
	// The code is checked, without being quoted, when the approval is
	// recorded; here only its type.
	switch v := content["mfa_code"].(type) {
	case nil:
	case string:
		f.mfaCode = strings.TrimSpace(v)
	default:
		return approvalForm{}, fmt.Errorf("the approval form's mfa_code field is not text: type the %d digits the MFA device shows", grant.MFACodeDigits)
	}
	return f, nil
}

// approvalSchema is the form: a confirmation that defaults to approve, an
// optional shorter ttl that defaults to the one asked for, and, for a grant
// that goes to the MFA role, the required code of mfaSerial.
func approvalSchema(ttl time.Duration, mfaSerial string) map[string]any {
	asked := config.ShortDuration(ttl)
	properties := map[string]any{
		"approve": map[string]any{
			"type":        "boolean",
			"title":       "Approve this grant",
			"description": "Leave this on and accept to grant the access shown; turn it off, or decline, to refuse.",
			"default":     true,
		},
		"ttl": map[string]any{
			"type":        "string",
			"title":       "TTL",
			"description": fmt.Sprintf("Optional: a shorter lifetime for the credentials, from %s up to the %s asked for, e.g. %q.", config.ShortDuration(config.MinTTL), asked, config.ShortDuration(config.MinTTL)),
			"default":     asked,
		},
	}
	schema := map[string]any{"type": "object", "properties": properties}
	if mfaSerial != "" {
		properties["mfa_code"] = map[string]any{
			"type":  "string",
			"title": "MFA code",
			"description": fmt.Sprintf("The %d-digit code your MFA device %s shows now. This grant goes to the MFA role, which AWS lets no one assume without it; the code is sent to AWS once and kept nowhere.",
				grant.MFACodeDigits, mfaSerial),
			"minLength": grant.MFACodeDigits,
			"maxLength": grant.MFACodeDigits,
		}
		schema["required"] = []string{"mfa_code"}
	}
	return schema
}

// approvalMessage is the form's text.
func approvalMessage(p *grant.Pending) string {
	accept := "\nAccept to grant this access, or set a shorter ttl first. Decline if you did not expect this request."
	if p.MFASerial != "" {
		accept = "\nThis grant goes to the MFA role: to approve it, type the code your MFA device " + p.MFASerial +
			" shows now into mfa_code and accept, after a shorter ttl if you like. Decline if you did not expect this request."
	}
	return "An AI agent asks for AWS credentials through timebound-iam.\n\n" + p.Prompt.String() + accept
}

// approveInstead tells the agent how a person can approve the grant instead.
func (a *approvals) approveInstead(p *grant.Pending) string {
	return fmt.Sprintf("Tell the user; they can make this grant in a terminal with `%s`, where they are asked to approve it, or %s.",
		p.Command(), a.m.Config.ChangeHint("approval", a.m.Config.ApprovalSetting()))
}

// declined says that p was not approved, and what the agent does next.
func (a *approvals) declined(p *grant.Pending, what string) error {
	return fmt.Errorf("%s (%s for %s); no grant was made. Do not call grant_access again for it on your own: ask the user what they want. %s",
		what, grant.AccessText(p.Request.Access), config.ShortDuration(p.Request.TTL), a.approveInstead(p))
}

// timedOut says that nobody answered the approval request for p in time.
func (a *approvals) timedOut(p *grant.Pending) error {
	return a.declined(p, fmt.Sprintf("nobody answered the approval request within %s", config.ShortDuration(a.m.Config.ApprovalWait())))
}

// sameRequest reports whether b asks for exactly what a asked for.
func sameRequest(a, b grant.Request) bool {
	return slices.Equal(a.Access, b.Access) && a.TTL == b.TTL && slices.Equal(a.Resources, b.Resources) &&
		a.Reason == b.Reason && a.Client == b.Client
}
