package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// setupEnv points the AWS SDK at moto with fake base credentials.
func setupEnv(t *testing.T) (home string, moto *granttest.Moto) {
	t.Helper()
	m, err := granttest.StartMoto(t.TempDir())
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { m.Close() })
	home = privateTempDir(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": m.URL, "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"TIMEBOUND_IAM_HOME": home, "TIMEBOUND_IAM_REGION": "",
	} {
		t.Setenv(k, v)
	}
	return home, m
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"timebound-iam"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, a)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// motoIAM is an IAM client for moto, to look at what setup did.
func motoIAM(moto *granttest.Moto) *iam.Client {
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", "")})
}

// checkRole asserts that role name in moto holds exactly the trust and
// permission policies setup wrote into home/setup and printed on stdout, and
// returns them.
func checkRole(t *testing.T, client *iam.Client, home, name, stdout string) (trust, perm string) {
	t.Helper()
	return checkRoleDocs(t, client, home, name, "", stdout)
}

// checkRoleDocs is checkRole for the documents whose file names start with
// prefix: "mfa-" for the MFA role's.
func checkRoleDocs(t *testing.T, client *iam.Client, home, name, prefix, stdout string) (trust, perm string) {
	t.Helper()
	ctx := context.Background()
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	read := func(file string) string {
		b, err := os.ReadFile(filepath.Join(home, "setup", file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout, string(b)) {
			t.Errorf("stdout does not print %s as written", file)
		}
		return string(b)
	}
	trust = decode(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !sameJSON(t, trust, read(prefix+"trust-policy.json")) {
		t.Errorf("role trust policy differs from the printed one:\n%s", trust)
	}
	pol, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("timebound-iam-ceiling")})
	if err != nil {
		t.Fatal(err)
	}
	perm = decode(aws.ToString(pol.PolicyDocument))
	if !sameJSON(t, perm, read(prefix+"permission-policy.json")) {
		t.Errorf("role permission policy differs from the printed one:\n%s", perm)
	}
	return trust, perm
}

// TestSetupAWSApply creates the broker in moto's IAM and checks that the role
// holds exactly the documents setup printed, that a second run changes
// nothing, and that changed answers update only what differs.
func TestSetupAWSApply(t *testing.T) {
	home, moto := setupEnv(t)
	stdout, stderr, code := runCLI(t, "setup", "aws", "-s", "s3,logs", "-s", "lambda:full", "--apply")
	if code != 0 {
		t.Fatalf("setup aws --apply: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"# created role timebound-iam-broker", "# added permission policy timebound-iam-ceiling", "role_arn = arn:aws:iam::123456789012:role/timebound-iam-broker (added)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "base identity arn:aws:sts::123456789012:user/moto") {
		t.Errorf("stderr does not show the detected identity:\n%s", stderr)
	}

	client := motoIAM(moto)
	trust, perm := checkRole(t, client, home, "timebound-iam-broker", stdout)
	if !strings.Contains(trust, `"AWS":"arn:aws:iam::123456789012:user/moto"`) && !strings.Contains(trust, `"AWS": "arn:aws:iam::123456789012:user/moto"`) {
		t.Errorf("trust policy does not name only the detected user:\n%s", trust)
	}
	role, err := client.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("timebound-iam-broker")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(role.Role.MaxSessionDuration); got != 43200 {
		t.Errorf("MaxSessionDuration %d, want 43200", got)
	}
	for _, want := range []string{`"lambda:*"`, `"s3:Get*"`, `"logs:Describe*"`, `"Deny"`, `"lambda:UpdateFunctionCode"`, `"lambda:Add*"`} {
		if !strings.Contains(perm, want) {
			t.Errorf("permission policy lacks %s", want)
		}
	}

	t.Run("second run changes nothing", func(t *testing.T) {
		stdout, stderr, code := runCLI(t, "setup", "aws", "-s", "s3,logs", "-s", "lambda:full", "--apply")
		if code != 0 || !strings.Contains(stdout, "already matches: no changes") {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("changed answers update what differs", func(t *testing.T) {
		stdout, _, code := runCLI(t, "setup", "aws", "-s", "s3", "--max-session-duration", "2h", "--apply")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, want := range []string{"# set max session duration to 2h", "# updated permission policy timebound-iam-ceiling", "max_ttl = 2h (was 12h)", "services = s3 (was s3, logs, lambda)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(stdout, "# updated trust policy") {
			t.Errorf("trust policy rewritten though unchanged:\n%s", stdout)
		}
		_, perm := checkRole(t, client, home, "timebound-iam-broker", stdout)
		if strings.Contains(perm, "lambda:") || strings.Contains(perm, "logs:") {
			t.Errorf("permission policy still allows services no longer asked for:\n%s", perm)
		}
		role, err := client.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("timebound-iam-broker")})
		if err != nil || aws.ToInt32(role.Role.MaxSessionDuration) != 7200 {
			t.Errorf("MaxSessionDuration after the change: %v, %v; want 7200", role, err)
		}
	})
}

// TestSetupAWSUpdatesRootTrust: a broker made by hand, or by the seed tool,
// trusts the whole account. --apply narrows it to the detected principal.
func TestSetupAWSUpdatesRootTrust(t *testing.T) {
	home, moto := setupEnv(t)
	client := motoIAM(moto)
	rootTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := client.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("timebound-iam-broker"), AssumeRolePolicyDocument: aws.String(rootTrust), MaxSessionDuration: aws.Int32(3600)}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "setup", "aws", "-s", "s3", "--apply")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"# updated trust policy", "# set max session duration to 12h", "# added permission policy timebound-iam-ceiling"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	trust, _ := checkRole(t, client, home, "timebound-iam-broker", stdout)
	if strings.Contains(trust, ":root") || !strings.Contains(trust, "arn:aws:iam::123456789012:user/moto") {
		t.Errorf("trust policy after the update does not name only the detected user:\n%s", trust)
	}
}

// TestSetupAWSWarnsOtherPolicies: effective permissions are the role's
// policies AND the session policy, so any other policy on the broker widens
// what a grant can do. --apply names each one, and the boundary, and leaves
// them where they are.
func TestSetupAWSWarnsOtherPolicies(t *testing.T) {
	_, moto := setupEnv(t)
	if _, stderr, code := runCLI(t, "setup", "aws", "-s", "s3", "--apply"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	client := motoIAM(moto)
	ctx := context.Background()
	role := aws.String("timebound-iam-broker")
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("legacy-admin"), PolicyDocument: aws.String(admin)}); err != nil {
		t.Fatal(err)
	}
	managed, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("team-s3-writer"), PolicyDocument: aws.String(admin)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: managed.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: role, PermissionsBoundary: managed.Policy.Arn}); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runCLI(t, "setup", "aws", "-s", "s3", "--apply")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	arn := aws.ToString(managed.Policy.Arn)
	for _, want := range []string{
		"already matches: no changes",
		`# warning: role "timebound-iam-broker" also has inline policy "legacy-admin": it widens the ceiling`,
		"aws iam delete-role-policy --role-name timebound-iam-broker --policy-name legacy-admin",
		`# warning: role "timebound-iam-broker" also has managed policy "team-s3-writer" attached: it widens the ceiling`,
		"aws iam detach-role-policy --role-name timebound-iam-broker --policy-arn " + arn,
		`# warning: role "timebound-iam-broker" has permissions boundary "` + arn + `"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, `inline policy "timebound-iam-ceiling"`) {
		t.Errorf("the tool's own ceiling is reported as another policy:\n%s", stdout)
	}
	if !strings.Contains(stderr, `warning: role "timebound-iam-broker" has 2 policies besides timebound-iam-ceiling`) {
		t.Errorf("stderr does not warn:\n%s", stderr)
	}
	inline, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: role})
	if err != nil || len(inline.PolicyNames) != 2 {
		t.Errorf("inline policies after apply: %v, %v; want the ceiling and legacy-admin, untouched", inline, err)
	}
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: role})
	if err != nil || len(attached.AttachedPolicies) != 1 {
		t.Errorf("attached policies after apply: %v, %v; want team-s3-writer, untouched", attached, err)
	}
}

func decode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// TestSetupAWSKeepsConfig: values the user set earlier stay unless passed.
func TestSetupAWSKeepsConfig(t *testing.T) {
	home, _ := setupEnv(t)
	if err := os.WriteFile(filepath.Join(home, "config"), []byte("# mine\nregion = eu-west-1\nkeyring_backend = keyctl\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "setup", "aws", "-s", "s3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "region = eu-west-1 (unchanged)") {
		t.Errorf("region not kept:\n%s", stdout)
	}
	if !strings.Contains(stdout, "aws iam create-role --role-name timebound-iam-broker --max-session-duration 43200 --assume-role-policy-document file://"+filepath.Join(home, "setup", "trust-policy.json")) {
		t.Errorf("print mode lacks the create-role command:\n%s", stdout)
	}
	_, _, code = runCLI(t, "setup", "aws", "-s", "s3", "--region", "us-west-2")
	got, _ := os.ReadFile(filepath.Join(home, "config"))
	want := "# mine\nregion = us-west-2\nkeyring_backend = keyctl\nrole_arn = arn:aws:iam::123456789012:role/timebound-iam-broker\nmax_ttl = 12h\nservices = s3\n"
	if code != 0 || string(got) != want {
		t.Errorf("config after --region:\n%s\nwant:\n%s", got, want)
	}
}

// TestSetupAWSKeepsEarlierValues: a run overwrites role_arn, services and
// max_ttl only when their flag is passed; otherwise the config's values stay
// and are the defaults of the run, so the printed role matches them.
func TestSetupAWSKeepsEarlierValues(t *testing.T) {
	const earlier = "# mine\nrole_arn = arn:aws:iam::123456789012:role/agents-broker\nmax_ttl = 4h\nservices = s3, lambda\n"
	tests := []struct {
		name       string
		earlier    string
		args       []string
		wantConfig string
		wantOut    []string
		wantWarn   string
	}{
		{
			name:       "nothing passed",
			args:       nil,
			wantConfig: earlier + "region = us-east-1\n",
			wantOut: []string{
				"aws iam create-role --role-name agents-broker --max-session-duration 14400 ",
				"role_arn = arn:aws:iam::123456789012:role/agents-broker (unchanged)",
				"max_ttl = 4h (unchanged)",
				"services = s3, lambda (unchanged)",
			},
		},
		{
			name:       "only services passed",
			args:       []string{"-s", "s3"},
			wantConfig: "# mine\nrole_arn = arn:aws:iam::123456789012:role/agents-broker\nmax_ttl = 4h\nservices = s3\nregion = us-east-1\n",
			wantOut:    []string{"--role-name agents-broker --max-session-duration 14400 ", "max_ttl = 4h (unchanged)", "services = s3 (was s3, lambda)"},
		},
		{
			name:       "all passed",
			args:       []string{"-s", "logs", "--max-session-duration", "2h", "--role-name", "other"},
			wantConfig: "# mine\nrole_arn = arn:aws:iam::123456789012:role/other\nmax_ttl = 2h\nservices = logs\nregion = us-east-1\n",
			wantOut:    []string{"--role-name other --max-session-duration 7200 ", "max_ttl = 2h (was 4h)", "role_arn = arn:aws:iam::123456789012:role/other (was arn:aws:iam::123456789012:role/agents-broker)"},
		},
		{
			name:       "a role in another account is kept, with a warning",
			earlier:    "role_arn = arn:aws:iam::999999999999:role/agents-broker\n",
			args:       []string{"-s", "s3"},
			wantConfig: "role_arn = arn:aws:iam::999999999999:role/agents-broker\nregion = us-east-1\nmax_ttl = 12h\nservices = s3\n",
			wantOut:    []string{"--role-name agents-broker --max-session-duration 43200 ", "role_arn = arn:aws:iam::999999999999:role/agents-broker (kept; set earlier)"},
			wantWarn:   `timebound-iam: warning: the config keeps role_arn "arn:aws:iam::999999999999:role/agents-broker", set earlier, not "arn:aws:iam::123456789012:role/agents-broker", the role this run set up; pass --role-name agents-broker to point the config at it` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := privateTempDir(t)
			t.Setenv("TIMEBOUND_IAM_HOME", home)
			if tt.earlier == "" {
				tt.earlier = earlier
			}
			if err := os.WriteFile(filepath.Join(home, "config"), []byte(tt.earlier), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"setup", "aws", "--principal", "arn:aws:iam::123456789012:user/alice"}, tt.args...)
			stdout, stderr, code := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if tt.wantWarn == "" && strings.Contains(stderr, "warning") || !strings.Contains(stderr, tt.wantWarn) {
				t.Errorf("stderr:\n%s\nwant warning %q", stderr, tt.wantWarn)
			}
			got, _ := os.ReadFile(filepath.Join(home, "config"))
			if string(got) != tt.wantConfig {
				t.Errorf("config:\n%s\nwant:\n%s", got, tt.wantConfig)
			}
		})
	}
}

func TestSetupAWSRefusesRoot(t *testing.T) {
	setupEnv(t)
	_, stderr, code := runCLI(t, "setup", "aws", "-s", "s3", "--principal", "arn:aws:iam::123456789012:root")
	if code == 0 || !strings.Contains(stderr, "the base credentials are the account's root user") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestSetupAWSApplyMFA creates both roles in moto's IAM with --mfa-serial
// and reads them back: the broker trusts the base identity and holds no
// service at full; the MFA role trusts it only with MFA ("Bool", never
// "BoolIfExists") and holds the full ceiling. A second run changes nothing.
func TestSetupAWSApplyMFA(t *testing.T) {
	home, moto := setupEnv(t)
	const serial = "arn:aws:iam::123456789012:mfa/moto"
	stdout, stderr, code := runCLI(t, "setup", "aws", "-s", "s3:full,logs", "--mfa-serial", serial, "--apply")
	if code != 0 {
		t.Fatalf("setup aws --mfa-serial --apply: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"# created role timebound-iam-broker-mfa", "# created role timebound-iam-broker",
		"mfa_serial = " + serial + " (added)", "mfa_role_arn = arn:aws:iam::123456789012:role/timebound-iam-broker-mfa (added)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	client := motoIAM(moto)
	const principal = "arn:aws:iam::123456789012:user/moto"
	actions := []any{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}
	tests := []struct {
		role, prefix  string
		trust         map[string]any
		full, notFull []string
	}{
		{"timebound-iam-broker", "", map[string]any{"Sid": "TimeboundIamBaseIdentity", "Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": actions},
			nil, []string{"s3:PutObject", "s3:DeleteBucket"}},
		{"timebound-iam-broker-mfa", "mfa-", map[string]any{"Sid": "TimeboundIamBaseIdentityWithMFA", "Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": actions,
			"Condition": map[string]any{"Bool": map[string]any{"aws:MultiFactorAuthPresent": "true"}}},
			[]string{"s3:PutObject", "s3:DeleteBucket"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			trust, perm := checkRoleDocs(t, client, home, tt.role, tt.prefix, stdout)
			var got map[string]any
			if err := json.Unmarshal([]byte(trust), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"Version": "2012-10-17", "Statement": []any{tt.trust}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("trust policy of %s:\n%s\nwant the equivalent of %v", tt.role, trust, want)
			}
			for _, a := range tt.full {
				if d := granttest.Decide(t, perm, a); d != "allow" {
					t.Errorf("%s: %s is %s, want allow", tt.role, a, d)
				}
			}
			for _, a := range tt.notFull {
				if d := granttest.Decide(t, perm, a); d == "allow" {
					t.Errorf("%s: %s is allowed; the broker must hold no service at full", tt.role, a)
				}
			}
			for _, a := range []string{"s3:GetObject", "logs:FilterLogEvents"} {
				if d := granttest.Decide(t, perm, a); d != "allow" {
					t.Errorf("%s: %s is %s, want allow", tt.role, a, d)
				}
			}
			// The ceiling denies its own services' escalation; iam is not one
			// of them, and is not allowed either.
			if d := granttest.Decide(t, perm, "iam:CreateAccessKey"); d == "allow" {
				t.Errorf("%s: iam:CreateAccessKey is allowed", tt.role)
			}
			if d := granttest.Decide(t, perm, "s3:PutBucketPolicy"); d == "allow" {
				t.Errorf("%s: s3:PutBucketPolicy is allowed, even at full", tt.role)
			}
		})
	}
	cfg, err := os.ReadFile(filepath.Join(home, "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"role_arn = arn:aws:iam::123456789012:role/timebound-iam-broker\n", "mfa_serial = " + serial + "\n", "mfa_role_arn = arn:aws:iam::123456789012:role/timebound-iam-broker-mfa\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}

	t.Run("second run changes nothing", func(t *testing.T) {
		stdout, stderr, code := runCLI(t, "setup", "aws", "--apply")
		if code != 0 || !strings.Contains(stdout, "# MFA role arn:aws:iam::123456789012:role/timebound-iam-broker-mfa already matches: no changes") ||
			!strings.Contains(stdout, "# Role arn:aws:iam::123456789012:role/timebound-iam-broker already matches: no changes") {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("turning MFA on narrows an existing broker", func(t *testing.T) {
		home2 := privateTempDir(t)
		t.Setenv("TIMEBOUND_IAM_HOME", home2)
		if _, stderr, code := runCLI(t, "setup", "aws", "-s", "lambda:full", "--role-name", "other", "--apply"); code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		stdout, stderr, code := runCLI(t, "setup", "aws", "--mfa-serial", serial, "--apply")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for _, want := range []string{"# created role other-mfa", "# updated permission policy timebound-iam-ceiling"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		_, perm := checkRoleDocs(t, client, home2, "other", "", stdout)
		if d := granttest.Decide(t, perm, "lambda:InvokeFunction"); d == "allow" {
			t.Errorf("the broker still allows lambda at full:\n%s", perm)
		}
		_, perm = checkRoleDocs(t, client, home2, "other-mfa", "mfa-", stdout)
		if d := granttest.Decide(t, perm, "lambda:InvokeFunction"); d != "allow" {
			t.Errorf("the MFA role does not allow lambda at full:\n%s", perm)
		}
	})
}
