package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func TestAllowEscalation(t *testing.T) {
	tests := []struct {
		name, config string
		want         []string
		wantErr      string
		wantWarnings []string
	}{
		{"absent", "", nil, "", nil},
		{"two services", "allow_escalation = ssm, Lambda\n", []string{"ssm", "lambda"}, "", nil},
		{"spaces and repeats", "allow_escalation = ssm ssm,lambda\n", []string{"ssm", "lambda"}, "", nil},
		{"none", "allow_escalation = none\n", nil, "", nil},
		{"unknown service", "allow_escalation = ssm, lamda\n", nil, `allow_escalation: "lamda" is not an AWS service prefix in the catalog`, nil},
		{"none with others", "allow_escalation = none, ssm\n", nil, `"none" cannot be listed with services`, nil},
		{"a service with nothing to lift", "allow_escalation = athena\n", []string{"athena"}, "", []string{`allow_escalation: "athena" has no escalation denies at any level, so listing it lifts nothing`}},
		{"a service outside services", "services = s3\nallow_escalation = ssm\n", []string{"ssm"}, "", []string{`allow_escalation: "ssm" is not in services, so no grant can reach it`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, tt.config)
			c, err := load(home, env(nil), nil, "/nonexistent/policy")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.AllowEscalation); diff != "" {
				t.Errorf("AllowEscalation (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, c.Warnings); diff != "" {
				t.Errorf("Warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAllowEscalationNeedsApproval: a grant that reaches a lifted deny
// needs a person whatever approval says; one that reaches none of them
// does not on that account.
func TestAllowEscalationNeedsApproval(t *testing.T) {
	c := Config{Approval: ApprovalNever, STSDialect: policy.DialectAWS}
	c.AllowEscalation = []string{"ssm", "ecr"}
	tests := []struct {
		access []policy.Access
		want   bool
	}{
		{[]policy.Access{{Service: "ssm", Level: policy.Full}}, true},
		{[]policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "ssm", Level: policy.Full}}, true},
		{[]policy.Access{{Service: "ssm", Level: policy.ReadOnly}}, false}, // ssm read_only denies nothing
		{[]policy.Access{{Service: "ecr", Level: policy.ReadOnly}}, true},  // lifts ecr:GetAuthorizationToken
		{[]policy.Access{{Service: "lambda", Level: policy.Full}}, false},  // not opted in: denied, no approval under never
	}
	for _, tt := range tests {
		if got := c.NeedsApproval(tt.access); got != tt.want {
			t.Errorf("NeedsApproval(%v) with approval = never, allow_escalation = ssm, ecr: %v, want %v", tt.access, got, tt.want)
		}
	}
	lifted := c.LiftedEscalation([]policy.Access{{Service: "ssm", Level: policy.Full}, {Service: "lambda", Level: policy.Full}})
	if len(lifted) != 1 || !strings.HasPrefix(lifted[0], "ssm full can run code as the roles its existing resources run as (ssm:SendCommand, ssm:StartSession)") {
		t.Errorf("LiftedEscalation = %q", lifted)
	}
}

// TestManagedPolicyAllowEscalation: the policy's allow_escalation is the
// most a user may opt in; "none" forbids it; a policy without the key
// leaves it to the user.
func TestManagedPolicyAllowEscalation(t *testing.T) {
	tests := []struct {
		name, policy, config string
		want                 []string
		wantErr              string
		wantLimit            string
	}{
		{"within the policy", "allow_escalation = ssm, lambda\n", "allow_escalation = ssm\n", []string{"ssm"}, "", "ssm (the managed policy allows at most ssm, lambda)"},
		{"beyond the policy", "allow_escalation = ssm\n", "allow_escalation = ssm, lambda\n", nil, `allow_escalation: "lambda" (from `, ""},
		{"the policy forbids it", "allow_escalation = none\n", "allow_escalation = ssm\n", nil, "the managed policy %s allows none", ""},
		{"the policy forbids, the user asks nothing", "allow_escalation = none\n", "", nil, "", "none (the managed policy allows none)"},
		{"no key in the policy", "max_ttl = 1h\n", "allow_escalation = ssm, lambda\n", []string{"ssm", "lambda"}, "", "ssm, lambda"},
		{"an empty key sets nothing", "allow_escalation =\n", "allow_escalation = ssm\n", []string{"ssm"}, "", "ssm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := writePolicy(t, tt.policy)
			home := t.TempDir()
			writeConfig(t, home, tt.config)
			c, err := load(home, env(nil), nil, pol)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "%s", pol)
				if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), pol) {
					t.Fatalf("err = %v, want one naming the policy and containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.AllowEscalation); diff != "" {
				t.Errorf("AllowEscalation (-want +got):\n%s", diff)
			}
			for _, l := range c.Limits() {
				if l.Key == "allow_escalation" && l.Value != tt.wantLimit {
					t.Errorf("limit allow_escalation = %q, want %q", l.Value, tt.wantLimit)
				}
			}
		})
	}
}
