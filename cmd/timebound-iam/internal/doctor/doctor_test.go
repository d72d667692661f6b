package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

const (
	broker     = "arn:aws:iam::123456789012:role/broker"
	userARN    = "arn:aws:iam::123456789012:user/alice"
	sessionARN = "arn:aws:sts::123456789012:assumed-role/admin/alice"
	keyID      = "AKIAIOSFODNN7EXAMPLE"
	secret     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// unreachableErr is how aws-sdk-go-v2 reports a request that got no answer.
var unreachableErr = &smithy.OperationError{ServiceID: "STS", OperationName: "GetCallerIdentity", Err: &smithyhttp.RequestSendError{
	Err: &url.Error{Op: "Post", URL: "https://sts.us-east-1.amazonaws.com/", Err: errors.New("dial tcp: lookup sts.us-east-1.amazonaws.com: no such host")},
}}

// healthy returns a Doctor whose every check passes, built from fakes and
// real files under t.TempDir. Tests change one dependency at a time.
func healthy(t *testing.T) *Doctor {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, config.FileName), []byte("role_arn = "+broker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, home, nil)
	store := keychain.New(keyring.NewArrayKeyring(nil), keychain.KeyCtl)
	date := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // like STS answering an unsigned request
	}))
	t.Cleanup(date.Close)
	return &Doctor{
		Config:   cfg,
		Keys:     func() (*keychain.Store, error) { return store, nil },
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: home},
		STS:      identity(userARN, nil),
		IAM:      roleGetter(12*time.Hour, nil),
		Granter:  func(context.Context) (Granter, error) { return &fakeGranter{}, nil },
		ClockURL: date.URL,
		Getenv:   env(nil),
		UserHome: t.TempDir(),
	}
}

// loadConfig loads a Config for home with the given keys, role_arn defaulting
// to the broker.
func loadConfig(t *testing.T, home string, keys map[string]string) config.Config {
	t.Helper()
	over := map[string]string{"role_arn": broker}
	for k, v := range keys {
		over[k] = v
	}
	cfg, err := config.Load(home, env(nil), over)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func identity(arn string, err error) func(context.Context) (Identity, error) {
	return func(context.Context) (Identity, error) {
		return IdentityFunc(func(ctx context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
			if err != nil {
				return nil, err
			}
			return &sts.GetCallerIdentityOutput{Account: aws.String("123456789012"), Arn: aws.String(arn), UserId: aws.String("AIDAEXAMPLE")}, nil
		}), nil
	}
}

func roleGetter(limit time.Duration, err error) func(context.Context) (RoleGetter, error) {
	return func(context.Context) (RoleGetter, error) {
		return RoleGetterFunc(func(ctx context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
			if err != nil {
				return nil, err
			}
			role := &iamtypes.Role{RoleName: in.RoleName}
			if limit > 0 {
				role.MaxSessionDuration = aws.Int32(int32(limit / time.Second))
			}
			return &iam.GetRoleOutput{Role: role}, nil
		}), nil
	}
}

type fakeGranter struct {
	grantErr, revokeErr error
	req                 grant.Request
	revoked             []string
}

func (g *fakeGranter) Grant(ctx context.Context, r grant.Request) (grant.Session, error) {
	g.req = r
	if g.grantErr != nil {
		return grant.Session{}, g.grantErr
	}
	return grant.Session{ID: "doc2abcd", Access: r.Access, Expires: time.Date(2026, 11, 25, 14, 20, 0, 0, time.UTC), Status: profiles.Active}, nil
}

func (g *fakeGranter) Revoke(ctx context.Context, ids []string) ([]grant.RevokeResult, error) {
	g.revoked = append(g.revoked, ids...)
	if g.revokeErr != nil {
		return nil, g.revokeErr
	}
	return []grant.RevokeResult{{ID: ids[0], Revoked: true, Status: profiles.Revoked}}, nil
}

// run runs every check and returns the one named.
func run(t *testing.T, d *Doctor, name string) Check {
	t.Helper()
	checks := d.Run(context.Background())
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, Names) {
		t.Fatalf("checks %v, want %v", names, Names)
	}
	return checks[slices.Index(Names, name)]
}

// want asserts a check's status and that detail and hint contain the given
// fragments; a hint is required exactly when the status is not ok.
func want(t *testing.T, c Check, status Status, detail, hint string) {
	t.Helper()
	if c.Status != status || !strings.Contains(c.Detail, detail) || !strings.Contains(c.Hint, hint) {
		t.Errorf("%s = %s %q (hint %q)\nwant %s, detail containing %q, hint containing %q", c.Name, c.Status, c.Detail, c.Hint, status, detail, hint)
	}
	if (c.Hint == "") != (c.Status == OK) {
		t.Errorf("%s: status %s with hint %q", c.Name, c.Status, c.Hint)
	}
	if strings.Contains(c.Detail, "\n") || strings.Contains(c.Hint, "\n") {
		t.Errorf("%s: detail or hint spans lines: %q / %q", c.Name, c.Detail, c.Hint)
	}
}

func TestRunHealthy(t *testing.T) {
	checks := healthy(t).Run(context.Background())
	for _, c := range checks {
		want(t, c, OK, "", "")
	}
	r := NewReport(checks)
	if !r.OK || r.Failures() != 0 {
		t.Errorf("report OK %v with %d failures, want true and 0", r.OK, r.Failures())
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Checks []map[string]any `json:"checks"`
		OK     *bool            `json:"ok"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		t.Fatal(err)
	}
	if shape.OK == nil || len(shape.Checks) != len(Names) {
		t.Fatalf("JSON %s: want ok and %d checks", data, len(Names))
	}
	for _, c := range shape.Checks {
		var keys []string
		for k := range c {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"detail", "hint", "name", "status"}) {
			t.Errorf("check keys %v, want detail, hint, name, status", keys)
		}
	}
}

func TestReportFailures(t *testing.T) {
	r := NewReport([]Check{{Status: OK}, {Status: Warn}, {Status: Fail}, {Status: Fail}})
	if r.OK || r.Failures() != 2 {
		t.Errorf("OK %v, %d failures; want false, 2", r.OK, r.Failures())
	}
	if r := NewReport([]Check{{Status: Warn}}); !r.OK {
		t.Error("warnings alone must leave OK true")
	}
}

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

// ring is a keyring whose operations can be replaced one at a time.
type ring struct {
	*keyring.ArrayKeyring
	set    func(keyring.Item) error
	get    func(string) (keyring.Item, error)
	remove func(string) error
}

func (r ring) Set(it keyring.Item) error {
	if r.set != nil {
		return r.set(it)
	}
	return r.ArrayKeyring.Set(it)
}

func (r ring) Get(k string) (keyring.Item, error) {
	if r.get != nil {
		return r.get(k)
	}
	return r.ArrayKeyring.Get(k)
}

func (r ring) Remove(k string) error {
	if r.remove != nil {
		return r.remove(k)
	}
	return r.ArrayKeyring.Remove(k)
}

func TestKeyring(t *testing.T) {
	tests := []struct {
		name         string
		keys         func(t *testing.T, d *Doctor) (*keychain.Store, error)
		status       Status
		detail, hint string
	}{
		{
			name: "round-trips",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				return keychain.New(keyring.NewArrayKeyring(nil), keychain.KeyCtl), nil
			},
			status: OK, detail: "keyctl: a test item round-tripped",
		},
		{
			name: "file backend",
			keys: func(t *testing.T, d *Doctor) (*keychain.Store, error) {
				return keychain.Open(keychain.Options{Backend: keychain.File, Dir: d.Config.Home, Passphrase: "test-passphrase"})
			},
			status: Warn, detail: "file: a test item round-tripped",
			hint: "TIMEBOUND_IAM_FILE_PASSPHRASE) must be in the environment of every process that reads it",
		},
		{
			name: "does not open",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				return nil, errors.New("opening keyctl keyring: operation not permitted")
			},
			status: Fail, detail: "opening keyctl keyring: operation not permitted",
			hint: "choose a backend with keyring_backend in ",
		},
		{
			name: "cannot store",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				r := ring{ArrayKeyring: keyring.NewArrayKeyring(nil), set: func(keyring.Item) error { return errors.New("quota exceeded") }}
				return keychain.New(r, keychain.KeyCtl), nil
			},
			status: Fail, detail: "in the keyctl keyring: quota exceeded",
			hint: "check that the keyctl keyring is reachable and unlocked",
		},
		{
			name: "changes the item",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				r := ring{ArrayKeyring: keyring.NewArrayKeyring(nil)}
				r.get = func(k string) (keyring.Item, error) {
					it, err := r.ArrayKeyring.Get(k)
					it.Data = []byte(strings.Replace(string(it.Data), "not-a-token", "other", 1))
					return it, err
				}
				return keychain.New(r, keychain.KeyCtl), nil
			},
			status: Fail, detail: "came back from the keyctl keyring changed", hint: "keyring_backend",
		},
		{
			name: "keeps a deleted item",
			keys: func(*testing.T, *Doctor) (*keychain.Store, error) {
				r := ring{ArrayKeyring: keyring.NewArrayKeyring(nil), remove: func(string) error { return nil }}
				return keychain.New(r, keychain.KeyCtl), nil
			},
			status: Fail, detail: "is still in the keyctl keyring after its delete", hint: "keyring_backend",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			store, err := tt.keys(t, d)
			d.Keys = func() (*keychain.Store, error) { return store, err }
			checks := d.Run(context.Background())
			want(t, checks[slices.Index(Names, KeyringCheck)], tt.status, tt.detail, tt.hint)
			role := checks[slices.Index(Names, RoleCheck)]
			if tt.status == Fail {
				want(t, role, Warn, "not checked: grants need a working keyring", "fix the keyring check first")
			} else {
				want(t, role, OK, "", "")
			}
		})
	}

	t.Run("leaves nothing behind", func(t *testing.T) {
		d := healthy(t)
		arr := keyring.NewArrayKeyring(nil)
		d.Keys = func() (*keychain.Store, error) { return keychain.New(arr, keychain.KeyCtl), nil }
		want(t, run(t, d, KeyringCheck), OK, "", "")
		if keys, _ := arr.Keys(); len(keys) != 0 {
			t.Errorf("items left in the keyring: %v", keys)
		}
	})
}

func TestBaseCredentials(t *testing.T) {
	status501 := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusNotImplemented}},
		Err:      errors.New("not implemented"),
	}}
	tests := []struct {
		name         string
		keys         map[string]string // config
		sts          func(context.Context) (Identity, error)
		status       Status
		detail, hint string
	}{
		{
			name: "user", sts: identity(userARN, nil),
			status: OK, detail: "account 123456789012, " + userARN,
		},
		{
			name: "role session above max_ttl", sts: identity(sessionARN, nil),
			status: Warn, detail: sessionARN + ": a role session, so STS caps every grant at 1h (role chaining), below max_ttl 12h",
			hint: "or lower max_ttl to 1h in ",
		},
		{
			name: "role session within 1h", keys: map[string]string{"max_ttl": "1h"}, sts: identity(sessionARN, nil),
			status: OK, detail: "a role session; max_ttl 1h fits its 1h role-chaining cap",
		},
		{
			name: "no GetCallerIdentity", sts: identity("", &smithy.GenericAPIError{Code: "InvalidAction", Message: "only AssumeRole is served here"}),
			status: Warn, detail: "cannot check: the STS endpoint does not serve GetCallerIdentity (InvalidAction: only AssumeRole is served here)",
			hint: "the role check shows",
		},
		{
			name: "endpoint answers 501", sts: identity("", status501),
			status: Warn, detail: "cannot check: the STS endpoint does not serve GetCallerIdentity", hint: "role check",
		},
		{
			name: "minio", keys: map[string]string{"sts_dialect": "minio"},
			sts: func(context.Context) (Identity, error) {
				t.Error("STS called for a MinIO endpoint")
				return nil, errors.New("called")
			},
			status: Warn, detail: "cannot check: MinIO's STS has no GetCallerIdentity (sts_dialect = minio)", hint: "role check",
		},
		{
			name: "invalid keys", sts: identity("", &smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}),
			status: Fail, detail: "STS GetCallerIdentity failed: InvalidClientTokenId: The security token included in the request is invalid.",
			hint: "set up base credentials in the standard AWS chain",
		},
		{
			name: "bad source_profile", keys: map[string]string{"source_profile": "base"},
			sts: func(context.Context) (Identity, error) {
				return nil, errors.New("loading base AWS credentials: failed to get shared config profile, base")
			},
			status: Fail, detail: "loading base AWS credentials: failed to get shared config profile, base",
			hint: `check profile "base" (source_profile)`,
		},
		{
			name: "unreachable", sts: identity("", unreachableErr),
			status: Fail, detail: `cannot reach STS: Post "https://sts.us-east-1.amazonaws.com/": dial tcp: lookup sts.us-east-1.amazonaws.com: no such host`,
			hint: "check the network, region and sts_endpoint",
		},
		{
			name: "no answer",
			sts: func(context.Context) (Identity, error) {
				return IdentityFunc(func(ctx context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}), nil
			},
			status: Fail, detail: "STS GetCallerIdentity got no answer within 50ms", hint: "check the network",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			d.Config = loadConfig(t, d.Config.Home, tt.keys)
			d.STS = tt.sts
			d.Timeout = 50 * time.Millisecond
			want(t, run(t, d, CredentialsCheck), tt.status, tt.detail, tt.hint)
		})
	}
}

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
				return RoleGetterFunc(func(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
					if aws.ToString(in.RoleName) != "broker2" {
						return nil, &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "no role " + aws.ToString(in.RoleName)}
					}
					return &iam.GetRoleOutput{Role: &iamtypes.Role{MaxSessionDuration: aws.Int32(43200)}}, nil
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

func TestClockSkew(t *testing.T) {
	serverTime := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		offset       time.Duration // local minus server
		handler      http.HandlerFunc
		status       Status
		detail, hint string
	}{
		{name: "in step", status: OK, detail: "the local clock is within 1s of STS (127.0.0.1:"},
		{name: "30s ahead", offset: 30 * time.Second, status: OK, detail: "the local clock is 30s ahead of STS"},
		{
			name: "90s behind", offset: -90 * time.Second,
			status: Warn, detail: "the local clock is 1m30s behind STS", hint: "before it drifts past 5 minutes",
		},
		{
			name: "6m ahead", offset: 6 * time.Minute,
			status: Fail, detail: "the local clock is 6m ahead of STS", hint: "AWS rejects requests signed more than 5 minutes off",
		},
		{
			name: "redirect is not followed", offset: 2 * time.Minute,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", serverTime.Format(http.TimeFormat))
				http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
			},
			status: Warn, detail: "the local clock is 2m ahead of STS",
			hint: "sync the clock with NTP",
		},
		{
			name:    "no Date header",
			handler: func(w http.ResponseWriter, r *http.Request) { w.Header()["Date"] = nil },
			status:  Warn, detail: "cannot check: 127.0.0.1:", hint: "is reachable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handler
			if h == nil {
				h = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Date", serverTime.Format(http.TimeFormat))
					w.WriteHeader(http.StatusForbidden)
				}
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			d := healthy(t)
			d.ClockURL = srv.URL
			// Date is truncated to the second: the server read its clock half
			// a second past it on average.
			d.Now = func() time.Time { return serverTime.Add(500*time.Millisecond + tt.offset) }
			want(t, run(t, d, ClockCheck), tt.status, tt.detail, tt.hint)
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		d := healthy(t)
		d.ClockURL = srv.URL
		want(t, run(t, d, ClockCheck), Warn, "cannot check: Get \""+srv.URL, "check that "+srv.URL+" is reachable")
	})
}

func TestFallbackCredentials(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		homeFile     string // ~/.aws/credentials
		envFile      string // the file AWS_SHARED_CREDENTIALS_FILE names
		status       Status
		detail, hint string
	}{
		{name: "none", status: OK, detail: "no AWS_ACCESS_KEY_ID in the environment and no aws_access_key_id in "},
		{
			name: "environment", env: map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret},
			status: Warn, detail: "AWS_ACCESS_KEY_ID (****MPLE) is set in this environment",
			hint: "run the agent with AWS_SHARED_CREDENTIALS_FILE pointing to an empty file",
		},
		{
			name:     "credentials file",
			homeFile: "[default]\naws_access_key_id = " + keyID + "\naws_secret_access_key = " + secret + "\n\n[ci]\nrole_arn = " + broker + "\n\n[old]\nAWS_ACCESS_KEY_ID=AKIAOLDOLDOLDOLD1234\n",
			status:   Warn, detail: "holds aws_access_key_id in default (****MPLE), old (****1234)", hint: "setup agent",
		},
		{
			name:     "AWS_SHARED_CREDENTIALS_FILE wins",
			homeFile: "[default]\naws_access_key_id = " + keyID + "\n",
			envFile:  "[default]\nregion = us-east-1\n",
			status:   OK, detail: "no aws_access_key_id in ",
		},
		{
			name:    "AWS_SHARED_CREDENTIALS_FILE with keys",
			envFile: "[prod]\naws_access_key_id = AKIAPRODPRODPROD9876\n",
			status:  Warn, detail: "holds aws_access_key_id in prod (****9876)", hint: "empty file",
		},
		{
			name: "both", env: map[string]string{"AWS_ACCESS_KEY_ID": keyID},
			homeFile: "[default]\naws_access_key_id = " + keyID + "\n",
			status:   Warn, detail: "AWS_ACCESS_KEY_ID (****MPLE) is set in this environment; ", hint: "AWS_SHARED_CREDENTIALS_FILE",
		},
		{name: "not INI", homeFile: "[default\n", status: Warn, detail: "cannot check ", hint: "check it by hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			vars := map[string]string{}
			for k, v := range tt.env {
				vars[k] = v
			}
			if tt.homeFile != "" {
				write(t, filepath.Join(d.UserHome, ".aws", "credentials"), tt.homeFile)
			}
			if tt.envFile != "" {
				vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(t.TempDir(), "creds")
				write(t, vars["AWS_SHARED_CREDENTIALS_FILE"], tt.envFile)
			}
			d.Getenv = env(vars)
			c := run(t, d, FallbackCheck)
			want(t, c, tt.status, tt.detail, tt.hint)
			if s := c.Detail + c.Hint; strings.Contains(s, keyID) || strings.Contains(s, secret) {
				t.Errorf("a key or secret is shown: %q", s)
			}
			if tt.envFile != "" && !strings.Contains(c.Detail, vars["AWS_SHARED_CREDENTIALS_FILE"]) && c.Status == OK {
				t.Errorf("detail %q does not name %s", c.Detail, vars["AWS_SHARED_CREDENTIALS_FILE"])
			}
		})
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStaleProfiles(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	entry := func(id string, status profiles.Status, expires, revoked time.Time, backend string) profiles.Entry {
		return profiles.Entry{
			ID: id, Region: "us-east-1", Access: []profiles.Access{{Service: "s3", Level: "read_only"}},
			Helper: profiles.Helper{Exe: "/usr/local/bin/timebound-iam", Backend: backend},
			Status: status, Created: expires.Add(-time.Hour), Expires: expires, Revoked: revoked,
		}
	}
	live := entry("livekept", profiles.Active, now.Add(time.Hour), time.Time{}, keychain.KeyCtl)
	lost := entry("livelost", profiles.Active, now.Add(time.Hour), time.Time{}, keychain.KeyCtl)
	elsewhere := entry("liveelse", profiles.Active, now.Add(time.Hour), time.Time{}, keychain.File)
	expired := entry("expired2", profiles.Active, now.Add(-time.Minute), time.Time{}, keychain.KeyCtl)
	recent := entry("recent22", profiles.Revoked, now.Add(time.Hour), now.Add(-time.Hour), keychain.KeyCtl)
	old := entry("oldstone", profiles.Revoked, now.Add(-20*time.Hour), now.Add(-25*time.Hour), keychain.KeyCtl)
	oldExpired := entry("oldexpir", profiles.Expired, now.Add(-25*time.Hour), time.Time{}, keychain.KeyCtl)
	const broken = "[profile tb-brokenab]\ntb_status = active\n"

	tests := []struct {
		name         string
		entries      []profiles.Entry
		extra        string
		status       Status
		detail, hint string
	}{
		{name: "empty", status: OK, detail: "no tb- profiles in "},
		{
			name: "clean", entries: []profiles.Entry{live, recent, elsewhere},
			status: OK, detail: "2 live grants, 1 recent tombstone; nothing stale",
		},
		{
			name: "expired not pruned", entries: []profiles.Entry{live, expired},
			status: Warn, detail: "1 expired grant not yet pruned (tb-expired2)",
			hint: "timebound-iam sessions prunes expired grants and old tombstones",
		},
		{
			name: "old tombstones", entries: []profiles.Entry{old, oldExpired, recent},
			status: Warn, detail: "2 tombstones ended over 24h ago (tb-oldstone, tb-oldexpir)", hint: "timebound-iam sessions prunes",
		},
		{
			name: "keychain item missing", entries: []profiles.Entry{live, lost},
			status: Warn, detail: "1 live grant without a readable keychain item (tb-livelost)",
			hint: "timebound-iam revoke tb-livelost ends them",
		},
		{
			name: "unreadable", entries: []profiles.Entry{live}, extra: broken,
			status: Warn, detail: "1 unreadable section (profile tb-brokenab: tb_expires is missing)",
			hint: "fix or delete the unreadable sections in ",
		},
		{
			name: "all at once", entries: []profiles.Entry{live, lost, expired, old, recent}, extra: broken,
			status: Warn, detail: "1 unreadable section (profile tb-brokenab: tb_expires is missing); 1 expired grant not yet pruned (tb-expired2); 1 tombstone ended over 24h ago (tb-oldstone); 1 live grant without a readable keychain item (tb-livelost)",
			hint: "timebound-iam sessions prunes expired grants and old tombstones; timebound-iam revoke tb-livelost ends them; fix or delete",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			store := keychain.New(keyring.NewArrayKeyring(nil), keychain.KeyCtl)
			d.Keys = func() (*keychain.Store, error) { return store, nil }
			if err := store.Put(live.ID, aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: secret, Expires: live.Expires}); err != nil {
				t.Fatal(err)
			}
			err := d.Profiles.Update(func(s *profiles.Set) error {
				for _, e := range tt.entries {
					if err := s.Put(e); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.extra != "" {
				f, err := os.OpenFile(d.Profiles.Path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(tt.extra)
				f.Close()
			}
			want(t, run(t, d, ProfilesCheck), tt.status, tt.detail, tt.hint)
		})
	}

	t.Run("keyring failed", func(t *testing.T) {
		d := healthy(t)
		d.Keys = func() (*keychain.Store, error) { return nil, errors.New("no keyring") }
		if err := d.Profiles.Update(func(s *profiles.Set) error { return s.Put(lost) }); err != nil {
			t.Fatal(err)
		}
		want(t, run(t, d, ProfilesCheck), OK, "1 live grant, 0 recent tombstones; nothing stale", "")
	})
}

// TestNoSecretInOutput runs every check with keys in the environment and the
// credentials file and looks for them in the whole JSON report.
func TestNoSecretInOutput(t *testing.T) {
	d := healthy(t)
	write(t, filepath.Join(d.UserHome, ".aws", "credentials"), "[default]\naws_access_key_id = "+keyID+"\naws_secret_access_key = "+secret+"\n")
	d.Getenv = env(map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE"})
	data, err := json.Marshal(NewReport(d.Run(context.Background())))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{keyID, secret, "IQoJb3JpZ2luX2VjEXAMPLE", "not-a-secret"} {
		if strings.Contains(string(data), s) {
			t.Errorf("report shows %q: %s", s, data)
		}
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

func TestIsAWS(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"", true},
		{"https://sts.us-east-1.amazonaws.com", true},
		{"https://vpce-0abc-xyz.sts.eu-west-1.vpce.amazonaws.com", true},
		{"https://sts.cn-north-1.amazonaws.com.cn", true},
		{"https://sts.us-east-1.api.aws", true},
		{"http://127.0.0.1:9000", false},
		{"https://minio.example.com", false},
		{"https://amazonaws.com.evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := IsAWS(tt.url); got != tt.want {
				t.Errorf("IsAWS(%q) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}

func TestSTSURL(t *testing.T) {
	tests := []struct {
		name, region, endpoint, want string
	}{
		{"regional", "eu-west-1", "", "https://sts.eu-west-1.amazonaws.com"},
		{"us-east-1 is regional too", "us-east-1", "", "https://sts.us-east-1.amazonaws.com"},
		{"china", "cn-north-1", "", "https://sts.cn-north-1.amazonaws.com.cn"},
		{"sts_endpoint", "us-east-1", "http://127.0.0.1:9000", "http://127.0.0.1:9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := STSURL(config.Config{Region: tt.region, STSEndpoint: tt.endpoint})
			if got != tt.want {
				t.Errorf("STSURL = %q, want %q", got, tt.want)
			}
		})
	}
}
