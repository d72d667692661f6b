package doctor

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
)

func TestRole(t *testing.T) {
	tests := []struct {
		name         string
		keys         map[string]string
		g            *fakeGranter
		granterErr   error
		status       Status
		detail, hint string
		service      string
		level        policy.Level // read_only when empty
	}{
		{
			name: "default service", g: &fakeGranter{},
			status: OK, detail: "assumed " + broker + " for a 15m s3 read_only grant and revoked it (its keys stay valid at AWS until 2026-11-25T14:20:00Z)",
			service: "s3",
		},
		{
			name: "first allowed service", keys: map[string]string{"services": "logs, s3"}, g: &fakeGranter{},
			status: OK, detail: "15m logs read_only grant", service: "logs",
		},
		{
			name: "a service limited to view_only", keys: map[string]string{"services": "ec2:view_only, s3"}, g: &fakeGranter{},
			status: OK, detail: "15m ec2 view_only grant", service: "ec2", level: policy.ViewOnly,
		},
		{
			name: "minio grants s3", keys: map[string]string{"services": "logs, s3", "sts_dialect": "minio"}, g: &fakeGranter{},
			status: OK, detail: "15m s3 read_only grant", service: "s3",
		},
		{
			name: "refused", g: &fakeGranter{grantErr: errors.New("the base credentials may not assume " + broker + " (AccessDenied: nope): check the role's trust policy and the base identity")},
			status: Fail, detail: "the base credentials may not assume " + broker + " (AccessDenied: nope): check the role's trust policy and the base identity",
			hint: "timebound-iam setup aws prints the broker role's trust and permission policies", service: "s3",
		},
		{
			name: "revoke fails", g: &fakeGranter{revokeErr: errors.New("deleting tb-doc2abcd from the keyctl keyring: denied")},
			status: Fail, detail: "granted tb-doc2abcd, then could not revoke it: deleting tb-doc2abcd from the keyctl keyring: denied",
			hint: "run timebound-iam revoke tb-doc2abcd", service: "s3",
		},
		{
			name: "no manager", granterErr: errors.New("loading base AWS credentials: boom"),
			status: Fail, detail: "loading base AWS credentials: boom", hint: "setup aws",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			d.Config = loadConfig(t, d.Config.Home, tt.keys)
			d.Granter = func(context.Context) (Granter, error) {
				if tt.granterErr != nil {
					return nil, tt.granterErr
				}
				return tt.g, nil
			}
			want(t, run(t, d, RoleCheck), tt.status, tt.detail, tt.hint)
			if tt.g == nil {
				return
			}
			level := tt.level
			if level == "" {
				level = policy.ReadOnly
			}
			wantReq := grant.Request{Access: []policy.Access{{Service: tt.service, Level: level}}, TTL: 15 * time.Minute}
			if got := tt.g.req; !slices.Equal(got.Access, wantReq.Access) || got.TTL != wantReq.TTL || got.Client != "doctor" {
				t.Errorf("grant request %+v, want %+v from client doctor", got, wantReq)
			}
			if tt.g.grantErr == nil && !slices.Equal(tt.g.revoked, []string{"doc2abcd"}) {
				t.Errorf("revoked %v, want [doc2abcd]", tt.g.revoked)
			}
		})
	}
}

// TestRoleNeedsApproval: where the probe grant would need a person's
// approval, doctor makes no grant and says how to test the role by hand.
func TestRoleNeedsApproval(t *testing.T) {
	d := healthy(t)
	d.Config = loadConfig(t, d.Config.Home, map[string]string{"approval": "always"})
	g := &fakeGranter{}
	d.Granter = func(context.Context) (Granter, error) { return g, nil }
	want(t, run(t, d, RoleCheck), Warn, "not probed: a s3 read_only grant needs a person's approval here (approval = always)", "timebound-iam grant -s s3:read_only -t 15m")
	if g.req.Access != nil {
		t.Errorf("doctor made a grant %+v; want none", g.req)
	}
}

// TestRoleWithManager runs the role check through the real grant.Manager, the
// real profiles file and a keyring, with STS faked: the grant is made, revoked,
// and leaves neither keychain item nor profile behind.
func TestRoleWithManager(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		status       Status
		detail, hint string
	}{
		{name: "assumed", status: OK, detail: "for a 15m s3 read_only grant and revoked it"},
		{
			name: "access denied", err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: sts:AssumeRole"},
			status: Fail, detail: "the base credentials may not assume " + broker + " (AccessDenied: not authorized to perform: sts:AssumeRole)",
			hint: "setup aws prints",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			arr := keyring.NewArrayKeyring(nil)
			store := keychain.New(arr, keychain.KeyCtl)
			d.Keys = func() (*keychain.Store, error) { return store, nil }
			var in *sts.AssumeRoleInput
			d.Granter = func(context.Context) (Granter, error) {
				return &grant.Manager{
					Config: d.Config, Keys: store, Profiles: d.Profiles, Exe: "/usr/local/bin/timebound-iam", Now: time.Now,
					STS: grant.AssumeRoleFunc(func(_ context.Context, i *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
						in = i
						if tt.err != nil {
							return nil, tt.err
						}
						return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
							AccessKeyId: aws.String("ASIAEXAMPLEEXAMPLE12"), SecretAccessKey: aws.String(secret),
							SessionToken: aws.String("token"), Expiration: aws.Time(time.Now().Add(15 * time.Minute)),
						}}, nil
					}),
				}, nil
			}
			want(t, run(t, d, RoleCheck), tt.status, tt.detail, tt.hint)
			if in == nil || aws.ToInt32(in.DurationSeconds) != 900 || aws.ToString(in.RoleArn) != broker {
				t.Fatalf("AssumeRole input %+v, want 900s on %s", in, broker)
			}
			if keys, _ := arr.Keys(); len(keys) != 0 {
				t.Errorf("keychain items left: %v", keys)
			}
			set, err := d.Profiles.Read()
			if err != nil {
				t.Fatal(err)
			}
			if e := set.Entries(); len(e) != 0 {
				t.Errorf("profiles left: %+v", e)
			}
		})
	}
}

func TestMaxSessionDuration(t *testing.T) {
	tests := []struct {
		name         string
		keys         map[string]string
		iam          func(context.Context) (RoleGetter, error)
		status       Status
		detail, hint string
	}{
		{
			name: "fits", iam: roleGetter(12*time.Hour, nil),
			status: OK, detail: "role broker allows sessions up to 12h; max_ttl 12h fits",
		},
		{
			name: "below max_ttl", keys: map[string]string{"max_ttl": "2h"}, iam: roleGetter(time.Hour, nil),
			status: Warn, detail: "role broker allows sessions up to 1h, below max_ttl 2h: longer grants will fail",
			hint: "lower max_ttl to 1h in ",
		},
		{
			name: "update-role command", keys: map[string]string{"max_ttl": "2h"}, iam: roleGetter(time.Hour, nil),
			status: Warn, detail: "up to 1h", hint: "aws iam update-role --role-name broker --max-session-duration 7200",
		},
		{
			name: "unset means 1h", keys: map[string]string{"max_ttl": "90m"}, iam: roleGetter(0, nil),
			status: Warn, detail: "allows sessions up to 1h, below max_ttl 1h30m", hint: "--max-session-duration 5400",
		},
		{
			name: "role with a path", keys: map[string]string{"role_arn": "arn:aws:iam::123456789012:role/team/agents/broker2"},
			iam: func(context.Context) (RoleGetter, error) {
				return RoleGetterFunc(func(_ context.Context, name string) (awsiam.Role, error) {
					if name != "broker2" {
						return awsiam.Role{}, &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "no role " + name}
					}
					return awsiam.Role{MaxSessionDuration: 12 * time.Hour}, nil
				}), nil
			},
			status: OK, detail: "role broker2 allows sessions up to 12h",
		},
		{
			name: "denied", iam: roleGetter(0, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: iam:GetRole"}),
			status: Warn, detail: "cannot check: the base credentials may not call iam:GetRole on broker",
			hint: "allow iam:GetRole on the broker role to the base identity, or compare",
		},
		{
			name: "no such role", iam: roleGetter(0, &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "The role with name broker cannot be found."}),
			status: Warn, detail: "cannot check: iam:GetRole on broker failed: NoSuchEntity: The role with name broker cannot be found.",
			hint: "aws iam get-role --role-name broker",
		},
		{
			name: "unreachable", iam: roleGetter(0, unreachableErr),
			status: Warn, detail: `cannot check: iam:GetRole on broker failed: Post "https://sts.us-east-1.amazonaws.com/": dial tcp`,
			hint: "with max_ttl 12h",
		},
		{
			name: "no IAM", iam: func(context.Context) (RoleGetter, error) {
				return nil, errors.New("the STS endpoint http://127.0.0.1:9000 is not AWS, and no IAM endpoint is set (AWS_ENDPOINT_URL_IAM)")
			},
			status: Warn, detail: "cannot check: the STS endpoint http://127.0.0.1:9000 is not AWS", hint: "with max_ttl 12h",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			d.Config = loadConfig(t, d.Config.Home, tt.keys)
			d.IAM = tt.iam
			want(t, run(t, d, DurationCheck), tt.status, tt.detail, tt.hint)
		})
	}
}

func TestRoleName(t *testing.T) {
	for arn, name := range map[string]string{
		broker: "broker",
		"arn:aws:iam::123456789012:role/service-role/agents/tb": "tb",
		"arn:aws-cn:iam::123456789012:role/x":                   "x",
	} {
		if got := RoleName(arn); got != name {
			t.Errorf("RoleName(%q) = %q, want %q", arn, got, name)
		}
	}
}
