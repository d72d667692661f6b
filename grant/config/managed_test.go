package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// writePolicy writes a managed policy into a fresh root-owned directory and
// returns its path. Files a test creates are root's only when it runs as
// root.
func writePolicy(t *testing.T, text string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a managed policy must be root's; run as root")
	}
	dir := filepath.Join(t.TempDir(), "etc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "policy")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestManagedPolicyIsACeiling(t *testing.T) {
	pol := writePolicy(t, "services = s3, logs:read_only, lambda\nmax_ttl = 1h\nmax_grants = 3\napproval = full\napproval_services = iam\nrole_arn = arn:aws:iam::123456789012:role/broker\nallow_escalation = lambda\n")
	tests := []struct {
		name   string
		config string
		env    map[string]string
		flags  map[string]string
		check  func(t *testing.T, c Config)
	}{
		{"a config cannot loosen any limit", "approval = never\nmax_ttl = 12h\nmax_grants = 50\nservices = s3, logs, ec2\n", nil, nil, func(t *testing.T, c Config) {
			if c.Approval != ApprovalFull || c.MaxTTL != time.Hour || c.MaxGrants != 3 {
				t.Errorf("approval %q, max_ttl %s, max_grants %d; want the policy's full, 1h, 3", c.Approval, c.MaxTTL, c.MaxGrants)
			}
			if diff := cmp.Diff([]string{"s3", "logs"}, c.Services); diff != "" {
				t.Errorf("services: ec2 is outside the policy (-want +got):\n%s", diff)
			}
			if l, ok := c.MaxLevel("logs"); !ok || l != policy.ReadOnly {
				t.Errorf("logs max level %q, %v; want the policy's read_only", l, ok)
			}
			if c.Allows("ec2") || !c.Allows("s3") {
				t.Error("ec2 allowed or s3 refused")
			}
			if !c.NeedsApproval([]policy.Access{{Service: "s3", Level: policy.Full}}) {
				t.Error("s3 full needs no approval under a policy that says approval = full")
			}
			if !c.NeedsApproval([]policy.Access{{Service: "iam", Level: policy.ReadOnly}}) {
				t.Error("the policy's approval_services do not need approval")
			}
		}},
		{"a config can tighten every limit", "approval = always\nmax_ttl = 30m\nmax_grants = 1\nservices = logs:view_only\napproval_services = s3\n", nil, nil, func(t *testing.T, c Config) {
			if c.Approval != ApprovalAlways || c.MaxTTL != 30*time.Minute || c.MaxGrants != 1 {
				t.Errorf("approval %q, max_ttl %s, max_grants %d; want the config's always, 30m, 1", c.Approval, c.MaxTTL, c.MaxGrants)
			}
			if l, _ := c.MaxLevel("logs"); l != policy.ViewOnly || len(c.Services) != 1 {
				t.Errorf("services %v, logs up to %q; want logs up to view_only", c.Services, l)
			}
			if diff := cmp.Diff([]string{"s3", "iam"}, c.ApprovalServices); diff != "" {
				t.Errorf("approval_services are the union (-want +got):\n%s", diff)
			}
			if c.From("max_ttl") == "default" || strings.Contains(c.From("max_ttl"), "managed") {
				t.Errorf("max_ttl from %q; want the config file", c.From("max_ttl"))
			}
		}},
		{"no config takes the policy's limits", "", nil, nil, func(t *testing.T, c Config) {
			if diff := cmp.Diff([]string{"s3", "logs", "lambda"}, c.Services); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
			if c.RoleARN != "arn:aws:iam::123456789012:role/broker" {
				t.Errorf("role_arn %q; want the policy's", c.RoleARN)
			}
			for _, l := range c.Limits() {
				if l.Key != "approval" && l.Source != "managed policy "+c.PolicyFile {
					t.Errorf("limit %s = %s from %q; want the managed policy", l.Key, l.Value, l.Source)
				}
			}
		}},
		{"the environment and flags cannot loosen it either", "", map[string]string{"TIMEBOUND_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/broker"}, map[string]string{"region": "eu-west-1"}, func(t *testing.T, c Config) {
			if c.MaxTTL != time.Hour || c.Region != "eu-west-1" {
				t.Errorf("max_ttl %s, region %s", c.MaxTTL, c.Region)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, tt.config)
			c, err := load(home, env(tt.env), tt.flags, pol)
			if err != nil {
				t.Fatal(err)
			}
			if c.PolicyFile != pol {
				t.Errorf("PolicyFile %q; want %q", c.PolicyFile, pol)
			}
			tt.check(t, c)
		})
	}
}

func TestManagedPolicyRefusals(t *testing.T) {
	pol := writePolicy(t, "services = s3, logs\nrole_arn = arn:aws:iam::123456789012:role/broker\n")
	tests := []struct {
		name, config string
		env          map[string]string
		want         string
	}{
		{"a config listing none of its services", "services = ec2\n", nil, `services: none of ec2 (from ` /* path follows */},
		{"another role in the config", "role_arn = arn:aws:iam::123456789012:role/admin\n", nil, `role_arn "arn:aws:iam::123456789012:role/admin" (from `},
		{"another role in the environment", "", map[string]string{"TIMEBOUND_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/admin"}, `(from TIMEBOUND_IAM_ROLE_ARN) is not the role the managed policy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, tt.config)
			_, err := load(home, env(tt.env), nil, pol)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestManagedPolicyFileChecks(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		setup func(t *testing.T, path string)
		want  string // "" means the policy loads
	}{
		{"root's, 0644, in a root directory", "max_ttl = 1h\n", nil, ""},
		{"in a sticky world-writable directory", "max_ttl = 1h\n", func(t *testing.T, path string) { chmod(t, filepath.Dir(path), 0o777|os.ModeSticky) }, ""},
		{"owned by a user", "max_ttl = 1h\n", func(t *testing.T, path string) { chown(t, path, 65534) }, "is owned by uid 65534, not root"},
		{"group-writable", "max_ttl = 1h\n", func(t *testing.T, path string) { chmod(t, path, 0o664) }, "has mode 0664: group or others can write it"},
		{"in a directory a user owns", "max_ttl = 1h\n", func(t *testing.T, path string) { chown(t, filepath.Dir(path), 65534) }, "directory " + "%DIR%" + " is owned by uid 65534"},
		{"in a world-writable directory", "max_ttl = 1h\n", func(t *testing.T, path string) { chmod(t, filepath.Dir(path), 0o777) }, "has mode 0777: group or others can write it"},
		{"a user's file behind a symlink", "max_ttl = 1h\n", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "mine")
			if err := os.WriteFile(target, []byte("max_ttl = 12h\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			chown(t, target, 65534)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, "is owned by uid 65534, not root"},
		{"a key the policy does not take", "region = eu-west-1\n", nil, `unknown key "region"; known keys: services, max_ttl, max_grants, approval, approval_services, role_arn`},
		{"a bad value", "max_ttl = 2d\n", nil, `max_ttl "2d" is not a Go duration`},
		{"a bad approval", "approval = sometimes\n", nil, `approval "sometimes" is not allowed: use "never", "full" or "always"`},
		{"a bad role", "role_arn = admin\n", nil, `role_arn "admin" is not a role ARN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writePolicy(t, tt.text)
			if tt.setup != nil {
				tt.setup(t, path)
			}
			_, err := load(t.TempDir(), env(nil), nil, path)
			want := strings.ReplaceAll(tt.want, "%DIR%", filepath.Dir(path))
			switch {
			case want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Fatalf("err %v; want one containing %q", err, want)
			case want != "" && !strings.Contains(err.Error(), path):
				t.Errorf("err %v does not name the policy %s", err, path)
			}
		})
	}
}

func TestNoManagedPolicy(t *testing.T) {
	home := t.TempDir()
	writeConfig(t, home, "max_ttl = 2h\n")
	c, err := load(home, env(nil), nil, filepath.Join(t.TempDir(), "absent", "policy"))
	if err != nil {
		t.Fatal(err)
	}
	if c.PolicyFile != "" || c.MaxTTL != 2*time.Hour || c.From("max_ttl") != filepath.Join(home, FileName) || c.From("max_grants") != "default" {
		t.Errorf("policy %q, max_ttl %s from %q, max_grants from %q", c.PolicyFile, c.MaxTTL, c.From("max_ttl"), c.From("max_grants"))
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}
