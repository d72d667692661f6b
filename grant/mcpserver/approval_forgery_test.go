package mcpserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// forger is a harness whose client declares elicitation but drives the
// round trips itself, so a test can send any inputResponses and state.
func forger(t *testing.T, opts ...func(*harness)) (*harness, *auditLog) {
	h, log, _ := approvalHarness(t, plainAccept, append([]func(*harness){func(h *harness) {
		h.clientOpts.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true}
	}}, opts...)...)
	return h, log
}

var yes = mcp.InputResponseMap{"approve_grant": &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}}

// callRaw calls grant_access with inputResponses and a requestState.
func callRaw(h *harness, cs *mcp.ClientSession, args any, responses mcp.InputResponseMap, state string) *mcp.CallToolResult {
	h.t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "grant_access", Arguments: args, InputResponses: responses, RequestState: state})
	if err != nil {
		h.t.Fatalf("grant_access: protocol error %v", err)
	}
	return res
}

// issue asks for args and returns the request state of the approval form.
func issue(h *harness, cs *mcp.ClientSession, args any) string {
	h.t.Helper()
	res := callRaw(h, cs, args, nil, "")
	if !res.NeedsInput() || res.RequestState == "" || res.InputRequests["approve_grant"] == nil {
		h.t.Fatalf("grant_access = %+v, want an approval input request", res)
	}
	return res.RequestState
}

func TestMCPApprovalForgery(t *testing.T) {
	t.Run("unsolicited answer without state asks afresh", func(t *testing.T) {
		h, log := forger(t)
		res := callRaw(h, h.cs, s3Full("1h"), yes, "")
		if !res.NeedsInput() || res.RequestState == "" {
			t.Fatalf("grant_access with unsolicited inputResponses = %+v (%s), want a fresh approval input request", res, text(res))
		}
		if len(res.RequestState) < 43 { // 256 bits, base64
			t.Errorf("request state %q is shorter than 256 bits", res.RequestState)
		}
		if n := len(h.sts.Calls()); n != 0 {
			t.Errorf("%d AssumeRole calls, want none", n)
		}
		if log.has(audit.Approved, "") {
			t.Errorf("approved recorded: %+v", log.front())
		}
	})
	t.Run("unknown state is refused", func(t *testing.T) {
		h, log := forger(t)
		issue(h, h.cs, s3Full("1h")) // a real one is waiting, and is not this
		for _, state := range []string{"forged", strings.Repeat("A", 43)} {
			res := callRaw(h, h.cs, s3Full("1h"), yes, state)
			if !res.IsError || !strings.Contains(text(res), "was not issued by this server") {
				t.Errorf("state %q: grant_access = %s, want a refusal", state, text(res))
			}
		}
		if n := len(h.sts.Calls()); n != 0 {
			t.Errorf("%d AssumeRole calls, want none", n)
		}
		if !log.has(audit.Refused, "unknown request state") {
			t.Errorf("no refused event: %+v", log.front())
		}
	})
	t.Run("replayed state is refused", func(t *testing.T) {
		h, log := forger(t)
		state := issue(h, h.cs, s3Full("1h"))
		if res := callRaw(h, h.cs, s3Full("1h"), yes, state); res.IsError || res.NeedsInput() {
			t.Fatalf("the genuine answer: %s, want a grant", text(res))
		}
		res := callRaw(h, h.cs, s3Full("1h"), yes, state)
		if !res.IsError || !strings.Contains(text(res), "already answered once") {
			t.Errorf("replay: %s, want a refusal", text(res))
		}
		if n := len(h.sts.Calls()); n != 1 {
			t.Errorf("%d AssumeRole calls, want the one approved", n)
		}
		if !log.has(audit.Refused, "used twice") {
			t.Errorf("no refused event for the replay: %+v", log.front())
		}
	})
	t.Run("state from another request is refused", func(t *testing.T) {
		other := []struct {
			name string
			args map[string]any
		}{
			{"services", map[string]any{"services": []string{"iam"}, "level": "full", "ttl": "1h", "reason": "fix the upload job"}},
			{"level", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "1h", "reason": "fix the upload job"}},
			{"ttl", s3Full("2h")},
			{"resources", map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "1h", "reason": "fix the upload job", "resources": []string{"other-bucket"}}},
			{"reason", map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "1h", "reason": "something else"}},
		}
		for _, o := range other {
			t.Run(o.name, func(t *testing.T) {
				h, log := forger(t)
				h = h.in(t)
				state := issue(h, h.cs, s3Full("1h"))
				res := callRaw(h, h.cs, o.args, yes, state)
				if !res.IsError || !strings.Contains(text(res), "was issued for another request") {
					t.Errorf("grant_access = %s, want a refusal", text(res))
				}
				// The state is spent: the request it was issued for is
				// not approved by it either.
				if res := callRaw(h, h.cs, s3Full("1h"), yes, state); !res.IsError {
					t.Errorf("the original request with the spent state: %s, want a refusal", text(res))
				}
				if n := len(h.sts.Calls()); n != 0 {
					t.Errorf("%d AssumeRole calls, want none", n)
				}
				if !log.has(audit.Refused, "issued for another request") {
					t.Errorf("no refused event: %+v", log.front())
				}
			})
		}
	})
	t.Run("state from another session is refused", func(t *testing.T) {
		h, _ := forger(t)
		st, ct := mcp.NewInMemoryTransports()
		ss, err := h.server.Connect(context.Background(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		other, err := mcp.NewClient(&mcp.Implementation{Name: clientName, Version: "1.0.0"}, h.clientOpts).Connect(context.Background(), ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { other.Close(); ss.Wait() }()
		state := issue(h, h.cs, s3Full("1h"))
		if res := callRaw(h, other, s3Full("1h"), yes, state); !res.IsError || !strings.Contains(text(res), "was issued for another request") {
			t.Errorf("grant_access from another session = %s, want a refusal", text(res))
		}
		if n := len(h.sts.Calls()); n != 0 {
			t.Errorf("%d AssumeRole calls, want none", n)
		}
	})
	t.Run("2025-11-25: a forged state is refused, unsolicited answers ask the user", func(t *testing.T) {
		old := func(h *harness) { h.sessionOpts = &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"} }
		h, _ := forger(t, old)
		if res := callRaw(h, h.cs, s3Full("1h"), yes, "forged"); !res.IsError || !strings.Contains(text(res), "was not issued by this server") {
			t.Errorf("forged state: %s, want a refusal", text(res))
		}
		if n := len(h.sts.Calls()); n != 0 {
			t.Errorf("%d AssumeRole calls, want none", n)
		}
		// Without a state the server asks the user with elicitation/create;
		// only that answer (a plain accept here) counts.
		h, log, e := approvalHarness(t, answer("accept", map[string]any{"ttl": "30m"}), old)
		res := callRaw(h, h.cs, s3Full("1h"), yes, "")
		if res.IsError || len(e.requests()) != 1 {
			t.Fatalf("unsolicited answer: %s, %d elicitations; want the user asked once", text(res), len(e.requests()))
		}
		if !log.has(audit.Approved, "ttl shortened from 1h to 30m") {
			t.Errorf("the grant was not approved by the user's answer: %+v", log.front())
		}
	})
	t.Run("a state without the form's answer is refused", func(t *testing.T) {
		h, _ := forger(t)
		state := issue(h, h.cs, s3Full("1h"))
		if res := callRaw(h, h.cs, s3Full("1h"), nil, state); !res.IsError || !strings.Contains(text(res), "no answer to the approval form") {
			t.Errorf("grant_access = %s, want a refusal", text(res))
		}
	})
}

func TestMCPApprovalStatesAreBounded(t *testing.T) {
	h, _ := forger(t)
	seen := map[string]bool{}
	for range 64 {
		state := issue(h, h.cs, s3Full("1h"))
		if seen[state] {
			t.Fatalf("request state %q issued twice", state)
		}
		seen[state] = true
	}
	res := callRaw(h, h.cs, s3Full("1h"), nil, "")
	if !res.IsError || !strings.Contains(text(res), "64 approval requests are already waiting") {
		t.Errorf("the 65th request: %+v %s, want a refusal", res, text(res))
	}
	// Expired ones are swept and make room.
	h.clock.Add(2*config.DefaultApprovalTimeout + time.Second)
	issue(h, h.cs, s3Full("1h"))
}

// TestGrantNeedsApproverOnRecord: Manager.Grant itself, which every front
// end ends in, refuses a grant that needs a person unless the request names
// a person's channel: "policy", or none, is not enough.
func TestGrantNeedsApproverOnRecord(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.m.Config.Approval = "full" })
	for _, approver := range []string{"", grant.ApproverPolicy} {
		_, err := h.m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.Full}}, TTL: 15 * time.Minute, Approver: approver})
		if err == nil || !strings.Contains(err.Error(), "needs a person's approval") {
			t.Errorf("Grant with approver %q = %v; want refused", approver, err)
		}
	}
	if n := len(h.sts.Calls()); n != 0 {
		t.Errorf("%d AssumeRole calls; want none", n)
	}
	if _, err := h.m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.Full}}, TTL: 15 * time.Minute, Approver: grant.ApproverTerminal}); err != nil {
		t.Errorf("Grant approved on the terminal: %v", err)
	}
}
