package grant_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// TestAllowEscalationGrant: with allow_escalation = ssm and approval =
// never, an ssm full grant still needs a person; the prompt and the result
// say what it can do that a default one cannot; and the policy STS gets
// lacks ssm's denies, while lambda's, not opted in, stay.
func TestAllowEscalationGrant(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, config.FileName), []byte("approval = never\nallow_escalation = ssm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(home, func(string) string { return "" }, map[string]string{"role_arn": granttest.Role})
	if err != nil {
		t.Fatal(err)
	}
	clk := granttest.NewClock(granttest.T0)
	fake := &granttest.FakeSTS{Clock: clk}
	m := &grant.Manager{
		Config: cfg, STS: fake, Keys: keychain.New(keyring.NewArrayKeyring(nil), "array"),
		Profiles: &profiles.File{Path: filepath.Join(home, config.AWSConfigName), Home: home},
		Exe:      granttest.Exe, Now: clk.Now,
	}
	r := grant.Request{Access: []policy.Access{{Service: "ssm", Level: policy.Full}, {Service: "lambda", Level: policy.Full}}, TTL: config.MinTTL, Client: "test"}
	p, err := m.Ask(r)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Needed {
		t.Fatal("an ssm full grant with ssm's denies lifted needs no approval under approval = never")
	}
	prompt := p.Prompt.String()
	if !strings.Contains(prompt, "\nlifted:    ssm full can run code as the roles its existing resources run as (ssm:SendCommand, ssm:StartSession)") || strings.Contains(prompt, "lambda full can") {
		t.Errorf("prompt does not say what ssm full can do, or says it of lambda:\n%s", prompt)
	}
	if _, err := p.Grant(context.Background()); err == nil {
		t.Fatal("granted without approval")
	}
	p, err = m.Ask(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Approve(grant.ApproverTerminal, 0); err != nil {
		t.Fatal(err)
	}
	s, err := p.Grant(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := m.Output(s)
	if len(out.Lifted) != 1 || !strings.HasPrefix(out.Lifted[0], "ssm full can run code as the roles") {
		t.Errorf("grant output Lifted = %q", out.Lifted)
	}
	calls := fake.Calls()
	sent := aws.ToString(calls[len(calls)-1].Policy)
	for action, want := range map[string]string{"ssm:SendCommand": "allow", "ssm:StartSession": "allow", "lambda:UpdateFunctionCode": "deny", "iam:PassRole": "implicit deny"} {
		if got := granttest.Decide(t, sent, action); got != want {
			t.Errorf("%s: %s, want %s; policy %s", action, got, want, sent)
		}
	}
}
