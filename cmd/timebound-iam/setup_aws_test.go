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
	home = t.TempDir()
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

	client := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", "")})
	ctx := context.Background()
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("timebound-iam-broker")})
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(home, "setup", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout, string(b)) {
			t.Errorf("stdout does not print %s as written", name)
		}
		return string(b)
	}
	trust := decode(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !sameJSON(t, trust, read("trust-policy.json")) {
		t.Errorf("role trust policy differs from the printed one:\n%s", trust)
	}
	if !strings.Contains(trust, `"AWS":"arn:aws:iam::123456789012:user/moto"`) && !strings.Contains(trust, `"AWS": "arn:aws:iam::123456789012:user/moto"`) {
		t.Errorf("trust policy does not name only the detected user:\n%s", trust)
	}
	if got := aws.ToInt32(role.Role.MaxSessionDuration); got != 43200 {
		t.Errorf("MaxSessionDuration %d, want 43200", got)
	}
	pol, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("timebound-iam-broker"), PolicyName: aws.String("timebound-iam-ceiling")})
	if err != nil {
		t.Fatal(err)
	}
	perm := decode(aws.ToString(pol.PolicyDocument))
	if !sameJSON(t, perm, read("permission-policy.json")) {
		t.Errorf("role permission policy differs from the printed one:\n%s", perm)
	}
	for _, want := range []string{`"lambda:*"`, `"s3:Get*"`, `"logs:Describe*"`, `"Deny"`, `"iam:CreateAccessKey"`, `"iam:UpdateAssumeRolePolicy"`, `"sts:AssumeRole"`} {
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
		if strings.Contains(stdout, "trust policy\n") && strings.Contains(stdout, "# updated trust policy") {
			t.Errorf("trust policy rewritten though unchanged")
		}
	})
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

func TestSetupAWSRefusesRoot(t *testing.T) {
	setupEnv(t)
	_, stderr, code := runCLI(t, "setup", "aws", "-s", "s3", "--principal", "arn:aws:iam::123456789012:root")
	if code == 0 || !strings.Contains(stderr, "the base credentials are the account's root user") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
