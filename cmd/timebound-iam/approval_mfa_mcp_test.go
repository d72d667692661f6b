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
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// The MFA device and role of the CLI's MFA tests.
const (
	testMFASerial = "arn:aws:iam::123456789012:mfa/alice"
	testMFARole   = "arn:aws:iam::123456789012:role/broker-mfa"
)

// mfaHome is a state directory whose config sets up MFA.
func mfaHome(t *testing.T, dir string) string {
	t.Helper()
	home := filepath.Join(dir, "state-mfa")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	config := "mfa_serial = " + testMFASerial + "\nmfa_role_arn = " + testMFARole + "\n"
	if err := os.WriteFile(filepath.Join(home, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// TestMCPApprovalMFAOverStdio approves through the go-sdk client against the
// real `timebound-iam serve`, typing the code into the form: the grant
// goes to the MFA role with it; a wrong one is refused. The code appears in
// no tool result, not on serve's stderr and in no file.
func TestMCPApprovalMFAOverStdio(t *testing.T) {
	w := newApprovalWorld(t, false)
	scan := granttest.ScanSecrets(t)
	scan.From(w.stand.Secrets)
	scan.From(w.stand.TokenCodes)
	home := mfaHome(t, w.dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tt := range []struct {
		name, valid, typed string
		want               string // in the tool error; empty: granted
	}{
		{"the right code", "582047", "582047", ""},
		{"a wrong code", "582048", "182048", "AWS did not accept the MFA code for mfa_serial " + testMFASerial},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.stand.SetMFA(testMFASerial, tt.valid)
			scan.Add(granttest.Secret{What: "the code typed", Value: tt.typed})
			cmd := exec.Command(w.bin, "serve")
			cmd.Env = w.env(home)
			var stderr bytes.Buffer
			cmd.Stderr = scan.Writer("serve's stderr", &stderr)
			var asked []*mcp.ElicitParams
			client := mcp.NewClient(&mcp.Implementation{Name: "go-approver", Version: "1.0.0"}, &mcp.ClientOptions{
				ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					asked = append(asked, req.Params)
					return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"mfa_code": tt.typed}}, nil
				},
			})
			cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			before := len(w.stand.Issued())
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "grant_access", Arguments: map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "1h"}})
			cs.Close()
			if err != nil {
				t.Fatalf("grant_access: %v\n%s", err, stderr.String())
			}
			raw, _ := json.Marshal(res)
			scan.Result("the tool result", raw)
			if len(asked) != 1 || !strings.Contains(asked[0].Message, "type the code your MFA device "+testMFASerial+" shows now") {
				t.Fatalf("elicitations %v, want one asking for the code", asked)
			}
			issued := w.stand.Issued()[before:]
			if tt.want != "" {
				if !res.IsError || !strings.Contains(string(raw), tt.want) || len(issued) != 0 {
					t.Errorf("grant_access = %s, %d credentials issued; want %q and none", raw, len(issued), tt.want)
				}
				return
			}
			if res.IsError || len(issued) != 1 {
				t.Fatalf("grant_access = %s, %d credentials issued; want one", raw, len(issued))
			}
			if f := issued[0].Form; f.Get("RoleArn") != testMFARole || f.Get("SerialNumber") != testMFASerial || f.Get("TokenCode") != tt.typed {
				t.Errorf("AssumeRole RoleArn %q SerialNumber %q, TokenCode typed: %v", f.Get("RoleArn"), f.Get("SerialNumber"), f.Get("TokenCode") == tt.typed)
			}
		})
	}
}

// TestMCPApprovalMFATypeScriptClient: the TypeScript SDK's client, which
// checks the answer against the form's schema, sends the code it was
// given; the grant goes to the MFA role.
func TestMCPApprovalMFATypeScriptClient(t *testing.T) {
	w := newApprovalWorld(t, true)
	scan := granttest.ScanSecrets(t)
	scan.From(w.stand.Secrets)
	scan.From(w.stand.TokenCodes)
	home := mfaHome(t, w.dir)
	const code = "640195"
	w.stand.SetMFA(testMFASerial, code)
	var stderr bytes.Buffer
	c, err := w.rig.StartMCPClient(w.dir, "ts-approver", w.env(home, "MCPCLIENT_ELICIT=accept:mfa_code="+code), scan.Writer("serve's stderr", &stderr), w.bin, "serve")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Call("grant_access", map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "1h"})
	if cerr := c.Close(); cerr != nil {
		t.Errorf("closing the client: %v\n%s", cerr, stderr.String())
	}
	if err != nil {
		t.Fatalf("grant_access: %v\n%s", err, stderr.String())
	}
	scan.Result("the tool result", res.Raw)
	if res.IsError || len(res.Elicitations) != 1 {
		t.Fatalf("grant_access = %s", res.Raw)
	}
	props, _ := res.Elicitations[0].RequestedSchema["properties"].(map[string]any)
	if field, _ := props["mfa_code"].(map[string]any); field["type"] != "string" {
		t.Errorf("mfa_code field %v, want a string", field)
	}
	issued := w.stand.Issued()
	if len(issued) != 1 || issued[0].Form.Get("RoleArn") != testMFARole || issued[0].Form.Get("TokenCode") != code {
		t.Errorf("%d credentials issued; want one for the MFA role with the code", len(issued))
	}
}
