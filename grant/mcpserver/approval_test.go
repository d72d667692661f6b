package mcpserver_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// The approval tests drive grant_access through the go-sdk client, which
// speaks protocol 2026-07-28 and answers input requests itself, unless a
// test pins it to 2025-11-25 (where the go-sdk server sends
// elicitation/create) or turns its round trips off to forge answers.

// auditLog is an in-memory Auditor; fail makes Append of an event kind fail.
type auditLog struct {
	mu     sync.Mutex
	events []audit.Event
	fail   map[string]error
}

func (a *auditLog) Append(e audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.fail[e.Event]; err != nil {
		return err
	}
	a.events = append(a.events, e)
	return nil
}

// front returns the events the front-end records itself, in order:
// requested, approved and declined. The Manager adds granted and refused
// of its own, which these tests do not pin down.
func (a *auditLog) front() []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []audit.Event
	for _, e := range a.events {
		if e.Event == audit.Requested || e.Event == audit.Approved || e.Event == audit.Declined {
			out = append(out, e)
		}
	}
	return out
}

// has reports whether an event of kind with detail was recorded.
func (a *auditLog) has(kind, detail string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.ContainsFunc(a.events, func(e audit.Event) bool { return e.Event == kind && strings.Contains(e.Detail, detail) })
}

// elicitor is a client's elicitation handler: it records each request and
// answers it with answer.
type elicitor struct {
	mu     sync.Mutex
	asked  []*mcp.ElicitParams
	answer func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error)
}

func (e *elicitor) handle(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	e.mu.Lock()
	e.asked = append(e.asked, req.Params)
	e.mu.Unlock()
	return e.answer(ctx, req.Params)
}

func (e *elicitor) requests() []*mcp.ElicitParams {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.asked)
}

// answer returns an elicitation answer with action and content.
func answer(action string, content map[string]any) func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error) {
	return func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: action, Content: content}, nil
	}
}

// plainAccept is a person pressing accept on the form as shown: the client
// fills the schema's defaults into the (fresh) content.
func plainAccept(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error) {
	return &mcp.ElicitResult{Action: "accept", Content: map[string]any{}}, nil
}

// approvalHarness is a harness whose client answers elicitations with ans
// (nil: a client without elicitation), with approval = full and an
// in-memory audit log; cfg may change the config before the server starts.
func approvalHarness(t *testing.T, ans func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error), opts ...func(*harness)) (*harness, *auditLog, *elicitor) {
	t.Helper()
	log := &auditLog{}
	e := &elicitor{answer: ans}
	h := newHarness(t, append([]func(*harness){func(h *harness) {
		h.m.Config.Approval = config.ApprovalFull
		h.m.Audit = log
		if ans != nil {
			h.clientOpts = &mcp.ClientOptions{ElicitationHandler: e.handle}
		}
	}}, opts...)...)
	return h, log, e
}

func s3Full(ttl string) map[string]any {
	return map[string]any{"services": []string{"s3"}, "level": "full", "ttl": ttl, "reason": "fix the upload job"}
}

func TestMCPApprovalAccept(t *testing.T) {
	h, log, e := approvalHarness(t, plainAccept)
	if v := h.cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("the go-sdk client negotiated protocol %q, want 2026-07-28", v)
	}
	var out grant.GrantOutput
	h.ok("grant_access", s3Full("1h"), &out)
	if out.Levels["s3"] != "full" || out.ExpiresAt != granttest.T0.Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("grant %+v, want s3 full until %s", out, granttest.T0.Add(time.Hour).Format(time.RFC3339))
	}
	if n := len(h.sts.Calls()); n != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", n)
	}

	asked := e.requests()
	if len(asked) != 1 {
		t.Fatalf("%d elicitations, want 1", len(asked))
	}
	policy, err := policy.BuildScoped([]policy.Access{{Service: "s3", Level: policy.Full}}, nil, policy.DialectAWS)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"account:   123456789012\n",
		"role:      broker\n",
		"access:    s3 full\n",
		"ttl:       1h\n",
		`reason:    "fix the upload job"` + "\n",
		`client:    "` + clientName + `"` + "\n",
		fmt.Sprintf("policy:    %d of 2048 characters\n", len(policy)),
	} {
		if !strings.Contains(asked[0].Message, want) {
			t.Errorf("elicitation message lacks %q:\n%s", want, asked[0].Message)
		}
	}
	props := asMap(asMap(asked[0].RequestedSchema)["properties"])
	if d := asMap(props["approve"]); d["type"] != "boolean" || d["default"] != true {
		t.Errorf("approve field %v, want a boolean defaulting to true", d)
	}
	if d := asMap(props["ttl"]); d["type"] != "string" || d["default"] != "1h" {
		t.Errorf("ttl field %v, want a string defaulting to the asked 1h", d)
	}

	want := []audit.Event{
		{Event: audit.Requested, Services: []string{"s3"}, Levels: map[string]string{"s3": "full"}, TTL: "1h", Reason: "fix the upload job", Client: clientName},
		{Event: audit.Approved, Services: []string{"s3"}, Levels: map[string]string{"s3": "full"}, TTL: "1h", Reason: "fix the upload job", Client: clientName, Approver: "elicitation"},
	}
	if diff := cmp.Diff(want, log.front(), cmpIgnoreTime); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}

var cmpIgnoreTime = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Time" }, cmp.Ignore())

func TestMCPApprovalShortenedTTL(t *testing.T) {
	h, log, _ := approvalHarness(t, answer("accept", map[string]any{"approve": true, "ttl": "20m"}))
	var out grant.GrantOutput
	h.ok("grant_access", s3Full("1h"), &out)
	if want := granttest.T0.Add(20 * time.Minute).Format(time.RFC3339); out.ExpiresAt != want {
		t.Errorf("expires_at %s, want %s: the shortened ttl", out.ExpiresAt, want)
	}
	calls := h.sts.Calls()
	if len(calls) != 1 || aws.ToInt32(calls[0].DurationSeconds) != 1200 {
		t.Fatalf("AssumeRole calls %d, DurationSeconds %d; want one of 1200", len(calls), aws.ToInt32(calls[0].DurationSeconds))
	}
	ev := log.front()
	if len(ev) != 2 || ev[1].Event != audit.Approved || ev[1].TTL != "20m" || ev[1].Detail != "ttl shortened from 1h to 20m" {
		t.Errorf("audit events %+v, want approved for 20m, shortened from 1h", ev)
	}
}

// TestMCPApprovalRefusals: every answer but a yes, and a yes that would
// lengthen the grant, makes no grant, and the error says what happened and
// how a person can approve instead.
func TestMCPApprovalRefusals(t *testing.T) {
	const instead = "timebound-iam grant -s s3:full -t 1h"
	tests := []struct {
		name   string
		answer func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error)
		want   []string
		detail string // of the declined event; empty: a refusal
	}{
		{"decline", answer("decline", nil), []string{"the user declined this grant (s3 full for 1h)", "Do not call grant_access again for it on your own", instead}, "declined"},
		{"cancel", answer("cancel", nil), []string{"the user cancelled the approval request", instead}, "cancelled"},
		{"accept unticked", answer("accept", map[string]any{"approve": false, "ttl": "1h"}), []string{"the user did not approve this grant", instead}, "declined"},
		{"longer ttl", answer("accept", map[string]any{"approve": true, "ttl": "2h"}), []string{"the approved ttl 2h is longer than the 1h asked for", "never lengthen it"}, ""},
		{"ttl under 15m", answer("accept", map[string]any{"approve": true, "ttl": "5m"}), []string{"the approved ttl 5m is below the minimum of 15m"}, ""},
		{"ttl not a duration", answer("accept", map[string]any{"approve": true, "ttl": "soon"}), []string{`the approval form's ttl "soon" is not a duration`}, "malformed answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, log, e := approvalHarness(t, tt.answer)
			msg := h.toolErr("grant_access", s3Full("1h"))
			for _, want := range append(tt.want, "no grant was made") {
				if !strings.Contains(strings.ToLower(msg), strings.ToLower(want)) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			if len(e.requests()) != 1 {
				t.Errorf("%d elicitations, want 1", len(e.requests()))
			}
			if n := len(h.sts.Calls()); n != 0 {
				t.Errorf("%d AssumeRole calls, want none", n)
			}
			h.checkNothingLeft()
			if tt.detail != "" && !log.has(audit.Declined, tt.detail) {
				t.Errorf("no declined event with detail %q: %+v", tt.detail, log.front())
			}
			if log.has(audit.Approved, "") {
				t.Errorf("an approved event was recorded: %+v", log.front())
			}
			if !log.has(audit.Refused, "") {
				t.Errorf("no refused event: %+v", log.front())
			}
		})
	}
}

func TestMCPApprovalNoElicitation(t *testing.T) {
	h, log, _ := approvalHarness(t, nil)
	msg := h.toolErr("grant_access", s3Full("30m"))
	for _, want := range []string{
		"needs the user's approval", `this MCP client ("` + clientName + `") cannot ask for it`, "no elicitation support",
		"No grant was made", "timebound-iam grant -s s3:full -t 30m", `change approval (now "full") in ` + h.m.Config.ConfigFile(),
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if n := len(h.sts.Calls()); n != 0 {
		t.Errorf("%d AssumeRole calls, want none", n)
	}
	ev := log.front()
	if len(ev) != 2 || ev[0].Event != audit.Requested || ev[1].Event != audit.Declined || ev[1].Detail != "no elicitation support" || ev[1].Approver != "elicitation" {
		t.Errorf("audit events %+v, want requested, then declined for no elicitation support", ev)
	}
	// What needs no approval still works with such a client.
	h.grant([]string{"s3"}, "read_only", "15m")
}

// TestMCPApprovalTimeout: an answer after the approval request expired
// grants nothing, whether the client answers late (2026-07-28) or the
// go-sdk's elicitation/create to an older client waits too long.
func TestMCPApprovalTimeout(t *testing.T) {
	t.Run("late answer, 2026-07-28", func(t *testing.T) {
		var h *harness
		h, log, _ := approvalHarness(t, func(ctx context.Context, _ *mcp.ElicitParams) (*mcp.ElicitResult, error) {
			h.clock.Add(config.DefaultApprovalTimeout + time.Second)
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}, nil
		})
		msg := h.toolErr("grant_access", s3Full("1h"))
		if !strings.Contains(msg, "nobody answered the approval request within 5m") || !strings.Contains(msg, "no grant was made") {
			t.Errorf("error %q, want a timeout", msg)
		}
		if n := len(h.sts.Calls()); n != 0 {
			t.Errorf("%d AssumeRole calls, want none", n)
		}
		if !log.has(audit.Declined, "timed out") {
			t.Errorf("no declined event for the timeout: %+v", log.front())
		}
	})
	t.Run("no answer, 2025-11-25", func(t *testing.T) {
		h, log, _ := approvalHarness(t, func(ctx context.Context, _ *mcp.ElicitParams) (*mcp.ElicitResult, error) {
			<-ctx.Done() // a person who never answers; the server cancels the request
			return nil, ctx.Err()
		}, func(h *harness) {
			h.m.Config.ApprovalTimeout = 300 * time.Millisecond
			h.sessionOpts = &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}
		})
		if v := h.cs.InitializeResult().ProtocolVersion; v != "2025-11-25" {
			t.Fatalf("negotiated protocol %q, want 2025-11-25", v)
		}
		start := time.Now()
		msg := h.toolErr("grant_access", s3Full("1h"))
		if !strings.Contains(msg, "nobody answered the approval request within 300ms") {
			t.Errorf("error %q, want a timeout", msg)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the call took %v; the timeout is 300ms", d)
		}
		if n := len(h.sts.Calls()); n != 0 {
			t.Errorf("%d AssumeRole calls, want none", n)
		}
		if !log.has(audit.Declined, "timed out") {
			t.Errorf("no declined event for the timeout: %+v", log.front())
		}
	})
}

// TestMCPApprovalOlderProtocol: a client on 2025-11-25 gets the form as
// elicitation/create and its accept, decline and shortened ttl count.
func TestMCPApprovalOlderProtocol(t *testing.T) {
	old := func(h *harness) { h.sessionOpts = &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"} }
	h, log, e := approvalHarness(t, answer("accept", map[string]any{"ttl": "30m"}), old)
	if v := h.cs.InitializeResult().ProtocolVersion; v != "2025-11-25" {
		t.Fatalf("negotiated protocol %q, want 2025-11-25", v)
	}
	var out grant.GrantOutput
	h.ok("grant_access", s3Full("1h"), &out)
	if want := granttest.T0.Add(30 * time.Minute).Format(time.RFC3339); out.ExpiresAt != want {
		t.Errorf("expires_at %s, want %s", out.ExpiresAt, want)
	}
	if len(e.requests()) != 1 || !log.has(audit.Approved, "ttl shortened from 1h to 30m") {
		t.Errorf("elicitations %d, audit %+v; want one, approved for 30m", len(e.requests()), log.front())
	}

	h, _, _ = approvalHarness(t, answer("decline", nil), old)
	if msg := h.toolErr("grant_access", s3Full("1h")); !strings.Contains(msg, "the user declined this grant") {
		t.Errorf("error %q, want a decline", msg)
	}
	if n := len(h.sts.Calls()); n != 0 {
		t.Errorf("%d AssumeRole calls after a decline, want none", n)
	}
}

// TestMCPApprovalPolicy: which requests ask, by approval and
// approval_services.
func TestMCPApprovalPolicy(t *testing.T) {
	tests := []struct {
		name     string
		approval string
		services []string
		grant    []string
		level    string
		asks     bool
	}{
		{"never: full granted without asking", config.ApprovalNever, nil, []string{"s3"}, "full", false},
		{"full: read_only without asking", config.ApprovalFull, nil, []string{"s3"}, "read_only", false},
		{"full: full asks", config.ApprovalFull, nil, []string{"s3", "logs"}, "full", true},
		{"always: read_only asks", config.ApprovalAlways, nil, []string{"s3"}, "read_only", true},
		{"always: view_only asks", config.ApprovalAlways, nil, []string{"s3"}, "view_only", true},
		{"approval_services: a listed service at read_only asks", config.ApprovalFull, []string{"iam"}, []string{"s3", "iam"}, "read_only", true},
		{"approval_services: others at read_only do not", config.ApprovalFull, []string{"iam"}, []string{"s3"}, "read_only", false},
		{"approval_services ask even with never", config.ApprovalNever, []string{"iam"}, []string{"iam"}, "read_only", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, log, e := approvalHarness(t, plainAccept, func(h *harness) {
				h.m.Config.Approval, h.m.Config.ApprovalServices = tt.approval, tt.services
			})
			h.grant(tt.grant, tt.level, "30m")
			if asked := len(e.requests()) == 1; asked != tt.asks {
				t.Errorf("asked %v, want %v", asked, tt.asks)
			}
			kinds := []string{}
			for _, ev := range log.front() {
				kinds = append(kinds, ev.Event+"/"+ev.Approver)
			}
			want := []string{"requested/"}
			if tt.asks {
				want = append(want, "approved/elicitation")
			}
			if diff := cmp.Diff(want, kinds); diff != "" {
				t.Errorf("audit events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMCPApprovalAuditFailure: a request or an approval the audit log
// cannot record is refused.
func TestMCPApprovalAuditFailure(t *testing.T) {
	for _, kind := range []string{audit.Requested, audit.Approved} {
		t.Run(kind, func(t *testing.T) {
			h, log, e := approvalHarness(t, plainAccept)
			log.fail = map[string]error{kind: errors.New("disk full")}
			msg := h.toolErr("grant_access", s3Full("1h"))
			if !strings.Contains(msg, "the audit log could not record the request, so no grant was made: disk full") {
				t.Errorf("error %q, want the audit failure", msg)
			}
			if n := len(h.sts.Calls()); n != 0 {
				t.Errorf("%d AssumeRole calls, want none", n)
			}
			if asked := len(e.requests()); kind == audit.Requested && asked != 0 {
				t.Errorf("the user was asked about a request that is not on record")
			}
		})
	}
	t.Run("requested, no approval needed", func(t *testing.T) {
		h, log, _ := approvalHarness(t, plainAccept)
		log.fail = map[string]error{audit.Requested: errors.New("disk full")}
		h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "ttl": "15m"})
		if n := len(h.sts.Calls()); n != 0 {
			t.Errorf("%d AssumeRole calls, want none", n)
		}
	})
}
