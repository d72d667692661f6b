package doctor

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/config"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name                 string
		change               func(t *testing.T, d *Doctor)
		status               Status
		detail, hint         string
		role, duration       Status // the checks that need role_arn
		roleDetail, skipHint string
	}{
		{
			name:   "loads",
			change: func(*testing.T, *Doctor) {},
			status: OK, detail: "role " + broker + ", region us-east-1, max_ttl 12h, services all catalog services",
			role: OK, duration: OK,
		},
		{
			name: "no config file",
			change: func(t *testing.T, d *Doctor) {
				if err := os.Remove(d.Config.ConfigFile()); err != nil {
					t.Fatal(err)
				}
			},
			status: Warn, detail: "does not exist; role_arn " + broker + " comes from the environment or a flag",
			hint: "run timebound-iam setup aws to write it",
			role: OK, duration: OK,
		},
		{
			name:   "no role_arn",
			change: func(_ *testing.T, d *Doctor) { d.Config.RoleARN = "" },
			status: Fail, detail: "no broker role configured: set role_arn in ",
			hint: "timebound-iam setup aws creates the broker role and writes role_arn",
			role: Warn, duration: Warn, roleDetail: "not checked: no valid role_arn", skipHint: "fix the config check first",
		},
		{
			name:   "malformed role_arn",
			change: func(_ *testing.T, d *Doctor) { d.Config.RoleARN = "arn:aws:iam::123456789012:user/alice" },
			status: Fail, detail: `role_arn "arn:aws:iam::123456789012:user/alice" is not a role ARN`,
			hint: "setup aws",
			role: Warn, duration: Warn, roleDetail: "not checked: no valid role_arn", skipHint: "fix the config check first",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			tt.change(t, d)
			checks := d.Run(context.Background())
			want(t, checks[0], tt.status, tt.detail, tt.hint)
			want(t, checks[slices.Index(Names, RoleCheck)], tt.role, tt.roleDetail, tt.skipHint)
			want(t, checks[slices.Index(Names, DurationCheck)], tt.duration, tt.roleDetail, tt.skipHint)
		})
	}

	t.Run("does not load", func(t *testing.T) {
		// Nothing but the environment is wired: the skipped checks must not
		// touch their dependencies.
		d := &Doctor{ConfigErr: errors.New(`/x/config: unknown key "role"`), Getenv: env(nil)}
		checks := d.Run(context.Background())
		want(t, checks[0], Fail, `/x/config: unknown key "role"`, "timebound-iam setup aws writes a working config")
		for _, c := range checks[1:] {
			if c.Name == FallbackCheck {
				want(t, c, OK, "no AWS_ACCESS_KEY_ID", "")
				continue
			}
			want(t, c, Warn, "not checked: the config did not load", "fix the config check first")
		}
		if NewReport(checks).Failures() != 1 {
			t.Error("skipped checks must not count as failures")
		}
	})
}

func TestLimits(t *testing.T) {
	d := &Doctor{Config: config.Config{MaxTTL: time.Hour, MaxGrants: 2, Approval: config.ApprovalFull, Services: []string{"s3"},
		PolicyFile: "/etc/timebound-iam/policy", Sources: map[string]string{"max_ttl": "managed policy /etc/timebound-iam/policy", "services": "/home/a/config"}}}
	c := d.checkLimits()
	for _, want := range []string{"managed policy /etc/timebound-iam/policy caps them: ", "services s3 (/home/a/config)", "max_ttl 1h (managed policy /etc/timebound-iam/policy)", "max_grants 2 (default)", "role_arn not set (default)"} {
		if c.Status != OK || !strings.Contains(c.Detail, want) {
			t.Errorf("%s %s: %q lacks %q", c.Name, c.Status, c.Detail, want)
		}
	}
	d.Config.PolicyFile = ""
	if c := d.checkLimits(); !strings.HasPrefix(c.Detail, "no managed policy at "+config.ManagedPolicyPath()+", so these are your own settings, which any process running as you can change: ") {
		t.Errorf("without a policy: %q", c.Detail)
	}
}
