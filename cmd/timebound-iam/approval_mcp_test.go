package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// approvalWorld is `timebound-iam serve` with the default approval = full,
// the STS stand-in and the file keyring, for MCP clients nobody here wrote.
type approvalWorld struct {
	rig   granttest.Rig
	bin   string
	stand *granttest.STS
	dir   string
}

// newApprovalWorld builds the binary and starts the stand-in; with needRig
// it skips under -short or without the rig's npm clients.
func newApprovalWorld(t *testing.T, needRig bool) *approvalWorld {
	t.Helper()
	w := &approvalWorld{dir: t.TempDir()}
	var err error
	if needRig {
		if testing.Short() {
			t.Skip("runs the TypeScript MCP SDK and the MCP Inspector; skipped with -short")
		}
		if w.rig, err = granttest.FindRig(); err != nil {
			t.Skip(err)
		}
	}
	w.bin = goBuild(t, filepath.Join(w.dir, "timebound-iam"), ".")
	if w.stand, err = granttest.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.stand.Close() })
	return w
}

// env is the environment of the client and the server it starts, with the
// state directory home.
func (w *approvalWorld) env(home string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir,
		"TIMEBOUND_IAM_HOME=" + home,
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + w.stand.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=approval-test",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(w.dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(w.dir, "no-aws-credentials"),
	}, extra...)
}

// checkNoSecret fails t if text holds a credential the stand-in issued.
func (w *approvalWorld) checkNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, c := range w.stand.Issued() {
		for what, secret := range map[string]string{"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.SecretAccessKey, "SessionToken": c.SessionToken} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains the issued %s", where, what)
			}
		}
	}
}

// TestMCPApprovalTypeScriptClient drives the approval through the
// TypeScript SDK's client, which speaks protocol 2025-11-25: the go-sdk
// server sends it elicitation/create, and the client answers as
// MCPCLIENT_ELICIT scripts a person.
func TestMCPApprovalTypeScriptClient(t *testing.T) {
	w := newApprovalWorld(t, true)
	const client = "ts-approver"
	args := map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "1h", "reason": "ts approval test"}
	tests := []struct {
		mode string
		// duration is the DurationSeconds of the grant; empty: no grant.
		duration string
		wantErr  []string
	}{
		{mode: "accept", duration: "3600"},
		{mode: "accept:ttl=20m", duration: "1200"},
		{mode: "decline", wantErr: []string{"the user declined this grant (s3 full for 1h); no grant was made", "Do not call grant_access again", "`timebound-iam grant -s s3:full -t 1h`"}},
		{mode: "cancel", wantErr: []string{"the user cancelled the approval request for this grant", "no grant was made"}},
		{mode: "accept:approve=false", wantErr: []string{"the user did not approve this grant", "no grant was made"}},
		{mode: "accept:ttl=2h", wantErr: []string{"the approved ttl 2h is longer than the 1h asked for"}},
		{mode: "none", wantErr: []string{`this MCP client ("` + client + `") cannot ask for it: it declared no elicitation support. No grant was made.`, "`timebound-iam grant -s s3:full -t 1h`", `change approval (now "full")`}},
	}
	for i, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			home := filepath.Join(w.dir, "state", string(rune('a'+i)))
			var stderr bytes.Buffer
			c, err := w.rig.StartMCPClient(w.dir, client, w.env(home, "MCPCLIENT_ELICIT="+tt.mode), &stderr, w.bin, "serve")
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.Close(); err != nil {
					t.Errorf("closing the client: %v\n%s", err, stderr.String())
				}
				w.checkNoSecret(t, "serve's stderr", stderr.String())
			}()
			if v, err := c.ProtocolVersion(); err != nil || v != "2025-11-25" {
				t.Fatalf("negotiated protocol %q (%v), want 2025-11-25", v, err)
			}
			before := len(w.stand.Issued())
			start := time.Now()
			res, err := c.Call("grant_access", args)
			if err != nil {
				t.Fatalf("grant_access: protocol error %v; want a result\n%s", err, stderr.String())
			}
			w.checkNoSecret(t, "the tool result", res.Raw)
			issued := w.stand.Issued()[before:]

			if tt.mode == "none" {
				if len(res.Elicitations) != 0 {
					t.Errorf("a client without elicitation got %d elicitations", len(res.Elicitations))
				}
			} else if len(res.Elicitations) != 1 {
				t.Fatalf("%d elicitations, want 1: %s", len(res.Elicitations), res.Raw)
			} else {
				e := res.Elicitations[0]
				for _, want := range []string{"account:   123456789012\n", "role:      broker\n", "access:    s3 full\n", "ttl:       1h\n",
					`reason:    "ts approval test"`, `client:    "` + client + `"`, "policy:    "} {
					if !strings.Contains(e.Message, want) {
						t.Errorf("elicitation message lacks %q:\n%s", want, e.Message)
					}
				}
				props, _ := e.RequestedSchema["properties"].(map[string]any)
				if approve, _ := props["approve"].(map[string]any); approve["default"] != true {
					t.Errorf("approve field %v, want default true", approve)
				}
				if ttl, _ := props["ttl"].(map[string]any); ttl["default"] != "1h" {
					t.Errorf("ttl field %v, want default 1h", ttl)
				}
			}

			if tt.duration == "" {
				if !res.IsError {
					t.Fatalf("grant_access succeeded: %s", res.Raw)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(res.Text(), want) {
						t.Errorf("error lacks %q:\n%s", want, res.Text())
					}
				}
				if len(issued) != 0 {
					t.Errorf("STS issued %d credentials, want none", len(issued))
				}
				return
			}
			if res.IsError {
				t.Fatalf("grant_access: tool error %s", res.Text())
			}
			var out grant.GrantOutput
			if err := json.Unmarshal(res.StructuredContent, &out); err != nil {
				t.Fatal(err)
			}
			if len(issued) != 1 || issued[0].Form.Get("DurationSeconds") != tt.duration {
				t.Fatalf("STS issued %d credentials; want one for DurationSeconds %s", len(issued), tt.duration)
			}
			expires, err := time.Parse(time.RFC3339, out.ExpiresAt)
			want := start.Add(mustSeconds(t, tt.duration))
			if err != nil || expires.Before(want.Add(-time.Minute)) || expires.After(want.Add(time.Minute)) {
				t.Errorf("expires_at %s, want about %s", out.ExpiresAt, want.UTC().Format(time.RFC3339))
			}
		})
	}
}

func mustSeconds(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s + "s")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestMCPApprovalInspector: the MCP Inspector CLI has no elicitation, so
// a grant that needs approval is refused with the error that says how a
// person can approve it; one that needs none is made.
func TestMCPApprovalInspector(t *testing.T) {
	w := newApprovalWorld(t, true)
	if _, err := os.Stat(w.rig.Inspector()); err != nil {
		t.Skipf("the MCP Inspector is not in the rig: %v", err)
	}
	home := filepath.Join(w.dir, "state")
	inspect := func(level string) string {
		t.Helper()
		cmd := exec.Command(w.rig.Inspector(), "--cli", w.bin, "serve", "--method", "tools/call", "--tool-name", "grant_access",
			"--tool-arg", `services=["s3"]`, "--tool-arg", "level="+level, "--tool-arg", "ttl=30m")
		cmd.Env = w.env(home)
		out, err := cmd.CombinedOutput()
		// 0.15 exits 0 even on a tool error; the output says which.
		if err != nil {
			t.Fatalf("mcp-inspector --cli: %v\n%s", err, out)
		}
		w.checkNoSecret(t, "the Inspector's output", string(out))
		return string(out)
	}
	out := inspect("full")
	for _, want := range []string{`"isError": true`, "this grant (s3 full for 30m) needs the user's approval", `this MCP client (\"inspector-cli\") cannot ask for it`,
		"declared no elicitation support. No grant was made.", "timebound-iam grant -s s3:full -t 30m"} {
		if !strings.Contains(out, want) {
			t.Errorf("the Inspector's output lacks %q:\n%s", want, out)
		}
	}
	if n := len(w.stand.Issued()); n != 0 {
		t.Errorf("STS issued %d credentials, want none", n)
	}
	if out := inspect("read_only"); strings.Contains(out, `"isError": true`) || !strings.Contains(out, `\"level\":\"read_only\"`) {
		t.Errorf("a read_only grant through the Inspector: %s", out)
	}
}

// TestMCPApprovalGoClientOverStdio approves through the go-sdk client on
// protocol 2026-07-28 against the real `timebound-iam serve`: the client
// gets the form as an input request and calls grant_access again with the
// answer and the request state, over stdio.
func TestMCPApprovalGoClientOverStdio(t *testing.T) {
	w := newApprovalWorld(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var asked []string
	for _, tt := range []struct {
		name   string
		answer *mcp.ElicitResult
		want   string // in the tool error; empty: granted
	}{
		{"accept with a shorter ttl", &mcp.ElicitResult{Action: "accept", Content: map[string]any{"ttl": "30m"}}, ""},
		{"decline", &mcp.ElicitResult{Action: "decline"}, "the user declined this grant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(w.bin, "serve")
			cmd.Env = w.env(filepath.Join(w.dir, "state-go"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			client := mcp.NewClient(&mcp.Implementation{Name: "go-approver", Version: "1.0.0"}, &mcp.ClientOptions{
				ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					asked = append(asked, req.Params.Message)
					return tt.answer, nil
				},
			})
			cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				cs.Close()
				w.checkNoSecret(t, "serve's stderr", stderr.String())
			}()
			if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
				t.Fatalf("negotiated protocol %q, want 2026-07-28", v)
			}
			before, n := len(w.stand.Issued()), len(asked)
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "grant_access", Arguments: map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "1h"}})
			if err != nil {
				t.Fatalf("grant_access: %v\n%s", err, stderr.String())
			}
			raw, _ := json.Marshal(res)
			w.checkNoSecret(t, "the tool result", string(raw))
			if len(asked) != n+1 || !strings.Contains(asked[n], `client:    "go-approver"`) {
				t.Errorf("elicitations %q, want one naming the client", asked[n:])
			}
			issued := w.stand.Issued()[before:]
			if tt.want != "" {
				if !res.IsError || !strings.Contains(string(raw), tt.want) || len(issued) != 0 {
					t.Errorf("grant_access = %s, %d credentials issued; want %q and none", raw, len(issued), tt.want)
				}
				return
			}
			if res.IsError || len(issued) != 1 || issued[0].Form.Get("DurationSeconds") != "1800" {
				t.Errorf("grant_access = %s, %d credentials issued; want one for 1800 seconds", raw, len(issued))
			}
		})
	}
}
