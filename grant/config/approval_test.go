package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func TestLoadConfigApproval(t *testing.T) {
	tests := []struct {
		name, file   string
		wantApproval string
		wantServices []string
		wantErr      string
	}{
		{name: "default", wantApproval: "full"},
		{name: "never", file: "approval = never\n", wantApproval: "never"},
		{name: "always, any case", file: "approval = Always\n", wantApproval: "always"},
		{name: "full with services", file: "approval = full\napproval_services = iam, kms organizations,iam\n", wantApproval: "full", wantServices: []string{"iam", "kms", "organizations"}},
		{name: "bad value", file: "approval = sometimes\n", wantErr: `approval "sometimes" is not allowed: use "never", "full" or "always"`},
		{name: "yes is not a value", file: "approval = yes\n", wantErr: `approval "yes" is not allowed`},
		{name: "bad service", file: "approval_services = s3, iamm\n", wantErr: `approval_services: "iamm" is not an AWS service prefix in the catalog; timebound-iam services lists them`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.file != "" {
				writeConfig(t, home, tt.file)
			}
			cfg, err := Load(home, env(nil), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Approval != tt.wantApproval || cfg.ApprovalTimeout != 5*time.Minute {
				t.Errorf("approval %q timeout %v, want %q 5m", cfg.Approval, cfg.ApprovalTimeout, tt.wantApproval)
			}
			if diff := cmp.Diff(tt.wantServices, cfg.ApprovalServices); diff != "" {
				t.Errorf("approval_services (-want +got):\n%s", diff)
			}
		})
	}
	// The keys are known to Update too.
	home := t.TempDir()
	if _, err := Update(home, map[string]string{"approval": "always", "approval_services": "iam"}, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(home, env(nil), nil)
	if err != nil || cfg.Approval != "always" || !cmp.Equal(cfg.ApprovalServices, []string{"iam"}) {
		t.Errorf("after Update: %q %v, %v", cfg.Approval, cfg.ApprovalServices, err)
	}
}

func TestNeedsApproval(t *testing.T) {
	s3 := func(l policy.Level) []policy.Access { return []policy.Access{{Service: "s3", Level: l}} }
	mixed := []policy.Access{{Service: "logs", Level: policy.ReadOnly}, {Service: "s3", Level: policy.Full}}
	iamRO := []policy.Access{{Service: "s3", Level: policy.ViewOnly}, {Service: "iam", Level: policy.ReadOnly}}
	tests := []struct {
		approval string
		services []string
		access   []policy.Access
		want     bool
	}{
		{"never", nil, s3(policy.Full), false},
		{"never", []string{"iam"}, iamRO, true},
		{"full", nil, s3(policy.ReadOnly), false},
		{"full", nil, s3(policy.Full), true},
		{"full", nil, mixed, true},
		{"", nil, s3(policy.Full), true}, // a Config not from Load fails closed
		{"bogus", nil, s3(policy.Full), true},
		{"always", nil, s3(policy.ViewOnly), true},
		{"full", []string{"iam"}, iamRO, true},
		{"full", []string{"iam"}, s3(policy.ReadOnly), false},
	}
	for _, tt := range tests {
		c := Config{Approval: tt.approval, ApprovalServices: tt.services}
		if got := c.NeedsApproval(tt.access); got != tt.want {
			t.Errorf("approval %q services %v: NeedsApproval(%v) = %v, want %v", tt.approval, tt.services, tt.access, got, tt.want)
		}
	}
}
