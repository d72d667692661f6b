package mcpserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

const (
	mfaSerial = "arn:aws:iam::123456789012:mfa/alice"
	mfaRole   = "arn:aws:iam::123456789012:role/broker-mfa"
)

// mfaHarness is a harness with approval = full and MFA configured, whose
// grants go through aws-sdk-go-v2's real STS client to the stand-in, and
// whose client answers the form with ans. Its audit log is the file in the
// state directory, which the secret scan reads.
func mfaHarness(t *testing.T, stand *granttest.STS, ans func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error), opts ...func(*harness)) (*harness, *elicitor) {
	t.Helper()
	e := &elicitor{answer: ans}
	h := newHarness(t, append([]func(*harness){func(h *harness) {
		cfg := h.m.Config
		cfg.Approval = config.ApprovalFull
		cfg.MFASerial, cfg.MFARoleARN = mfaSerial, mfaRole
		cfg.STSEndpoint = stand.URL
		client, err := grant.NewSTS(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		h.m.Config, h.m.STS = cfg, client
		h.clientOpts = &mcp.ClientOptions{ElicitationHandler: e.handle}
		h.scan.From(stand.Secrets)
		h.scan.From(stand.TokenCodes)
	}}, opts...)...)
	return h, e
}

// withCode is a person typing code into the form and accepting it.
func withCode(code string) func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error) {
	return answer("accept", map[string]any{"approve": true, "mfa_code": code})
}

// eventKinds lists the audit log's events, each with its detail.
func (h *harness) eventKinds() []string {
	h.t.Helper()
	var out []string
	for _, e := range h.auditEntries() {
		out = append(out, strings.TrimSpace(e.Event+" "+e.Detail))
	}
	return out
}

func TestMCPApprovalMFA(t *testing.T) {
	stand := granttest.StartStandIn(t)
	for _, tt := range []struct {
		name, code string
		opts       []func(*harness)
	}{
		{"2026-07-28", "306172", nil},
		{"2025-11-25", "306173", []func(*harness){func(h *harness) { h.sessionOpts = &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"} }}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code := tt.code
			stand.SetMFA(mfaSerial, code)
			h, e := mfaHarness(t, stand, withCode(code), tt.opts...)
			before := len(stand.Issued())
			var out grant.GrantOutput
			h.ok("grant_access", s3Full("1h"), &out)

			asked := e.requests()
			if len(asked) != 1 {
				t.Fatalf("%d elicitations, want 1", len(asked))
			}
			for _, want := range []string{"role:      broker-mfa\n", "mfa:       the MFA role: AWS requires the current code of " + mfaSerial + "\n", "type the code your MFA device " + mfaSerial + " shows now into mfa_code"} {
				if !strings.Contains(asked[0].Message, want) {
					t.Errorf("form message lacks %q:\n%s", want, asked[0].Message)
				}
			}
			schema := asMap(asked[0].RequestedSchema)
			field := asMap(asMap(schema["properties"])["mfa_code"])
			if field["type"] != "string" || !strings.Contains(field["description"].(string), mfaSerial) {
				t.Errorf("mfa_code field %v, want a string naming the device", field)
			}
			if req, _ := schema["required"].([]any); len(req) != 1 || req[0] != "mfa_code" {
				t.Errorf("required %v, want [mfa_code]", schema["required"])
			}

			issued := stand.Issued()
			if len(issued) != before+1 {
				t.Fatalf("%d credentials issued, want 1", len(issued)-before)
			}
			form := issued[before].Form
			if form.Get("RoleArn") != mfaRole || form.Get("SerialNumber") != mfaSerial || form.Get("TokenCode") != code {
				t.Errorf("AssumeRole RoleArn %q SerialNumber %q, TokenCode is the code: %v", form.Get("RoleArn"), form.Get("SerialNumber"), form.Get("TokenCode") == code)
			}
			if entry, ok := h.entry(out.SessionID); !ok || entry.Role != mfaRole {
				t.Errorf("profile tb_role %q, want %q", entry.Role, mfaRole)
			}
			want := []string{"requested", "approved", "granted assumed the MFA role " + mfaRole + " with a code of " + mfaSerial}
			if got := h.eventKinds(); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("audit %q, want %q", got, want)
			}
		})
	}
}

// TestMCPApprovalMFARefusals: a wrong, malformed, missing or reused code
// makes no grant; only a wrong one reaches STS, and no answer puts the code
// in a result, the log, the audit log or any file.
func TestMCPApprovalMFARefusals(t *testing.T) {
	stand := granttest.StartStandIn(t)
	const good = "917364"
	tests := []struct {
		name   string
		answer string
		first  bool // a grant approved with good comes first
		want   string
		calls  int
		events []string
	}{
		{name: "wrong code", answer: "517364", calls: 1,
			want:   "AWS did not accept the MFA code for mfa_serial " + mfaSerial + " (AccessDenied: " + granttest.MFAInvalidCode + "): no grant was made",
			events: []string{"requested", "approved", "refused AWS did not accept the MFA code"}},
		{name: "letters", answer: "91736x",
			want:   "mfa_code is not the 6 digits the MFA device shows",
			events: []string{"requested", "refused mfa_code is not the 6 digits"}},
		{name: "a code used already", answer: good, first: true,
			want:   "this MFA code of " + mfaSerial + " was used for a grant already, and a code counts once",
			events: []string{"requested", "approved", "refused this MFA code of " + mfaSerial + " was used for a grant already"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stand.SetMFA(mfaSerial, good)
			h, _ := mfaHarness(t, stand, withCode(tt.answer))
			h.scan.Add(granttest.Secret{What: "the code typed", Value: tt.answer})
			seen := 0
			if tt.first {
				h.grant([]string{"s3"}, "full", "1h")
				var ids []string
				for _, s := range h.sessions() {
					ids = append(ids, s.SessionID)
				}
				if _, err := h.m.Revoke(context.Background(), ids); err != nil {
					t.Fatal(err)
				}
				seen = len(h.eventKinds())
			}
			calls := stand.Calls()
			msg := h.toolErr("grant_access", s3Full("1h"))
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error:\n%s\nwant %q", msg, tt.want)
			}
			if strings.Contains(msg, tt.answer) {
				t.Errorf("the error holds the code:\n%s", msg)
			}
			if got := stand.Calls() - calls; got != tt.calls {
				t.Errorf("%d AssumeRole calls, want %d", got, tt.calls)
			}
			if keys := h.keychainKeys(); len(keys) != 0 {
				t.Errorf("keychain items left: %v", keys)
			}
			if got := len(h.sessions()); got != 0 {
				t.Errorf("%d live grants, want none", got)
			}
			got := h.eventKinds()[seen:]
			ok := len(got) == len(tt.events)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.HasPrefix(got[i], tt.events[i])
			}
			if !ok {
				t.Errorf("audit %q, want %q", got, tt.events)
			}
		})
	}
}

// TestMCPApprovalMFANoCode: an answer without a good code is refused
// before STS. The client here sends its own inputResponses, as one that
// skips its schema check, or a process forging an approval, does: the
// server's check is the one that counts.
func TestMCPApprovalMFANoCode(t *testing.T) {
	stand := granttest.StartStandIn(t)
	stand.SetMFA(mfaSerial, "118406")
	for _, tt := range []struct {
		name    string
		content map[string]any
		want    string
	}{
		{"a forged plain accept", map[string]any{"approve": true}, "mfa_code is missing: this grant goes to the MFA role, which needs the current 6-digit code of " + mfaSerial},
		{"a number", map[string]any{"approve": true, "mfa_code": 118406}, "the approval form's mfa_code field is not text"},
		{"the code in ttl", map[string]any{"approve": true, "ttl": "118406", "mfa_code": "118406"}, "the approval form's ttl is not a duration"},
		{"too short", map[string]any{"approve": true, "mfa_code": "11840"}, "mfa_code is not the 6 digits"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := mfaHarness(t, stand, plainAccept, func(h *harness) {
				h.clientOpts.MultiRoundTrip = &mcp.MultiRoundTripOptions{Disabled: true}
			})
			h.scan.Add(granttest.Secret{What: "the code typed", Value: "118406"})
			calls := stand.Calls()
			state := issue(h, h.cs, s3Full("1h"))
			res := callRaw(h, h.cs, s3Full("1h"), mcp.InputResponseMap{"approve_grant": &mcp.ElicitResult{Action: "accept", Content: tt.content}}, state)
			h.scan.Result("the answer's result", res)
			msg := text(res)
			if !res.IsError || !strings.Contains(msg, tt.want) || !strings.Contains(msg, "No grant was made") {
				t.Errorf("result %q, want a tool error with %q", msg, tt.want)
			}
			if stand.Calls() != calls {
				t.Error("the refused grant reached STS")
			}
			h.checkNothingLeft()
			var refused bool
			for _, e := range h.auditEntries() {
				refused = refused || e.Event == audit.Refused
			}
			if !refused {
				t.Error("no refusal recorded")
			}
		})
	}
}
