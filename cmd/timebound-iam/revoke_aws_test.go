package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/keychain"
)

// grantJSON runs grant with args and --json and returns its session_id and
// expires_at.
func grantJSON(t *testing.T, args ...string) (id, expires string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, append(append([]string{"grant"}, args...), "--json")...)
	if code != 0 {
		t.Fatalf("grant %v: exit %d\n%s", args, code, stderr)
	}
	var out struct {
		SessionID string `json:"session_id"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("grant --json: %v\n%s", err, stdout)
	}
	return out.SessionID, out.ExpiresAt
}

func denyStatement(id, expires string) string {
	return `{"Sid":"TimeboundIamRevoked` + id + `","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:userid":"*:timebound-iam-` + id + `"},"DateLessThan":{"aws:TokenIssueTime":"` + expires + `"}}}`
}

// TestRevokeAWSMoto runs the real chain against moto: setup aws creates the
// broker, grant assumes it through moto's STS, and revoke --aws writes the
// deny into the role's inline policy, which is then read back with
// iam:GetRolePolicy. The session it names is the one STS reports for the
// grant's own credentials.
func TestRevokeAWSMoto(t *testing.T) {
	home, moto := setupEnv(t)
	t.Setenv("TIMEBOUND_IAM_KEYRING_BACKEND", "file")
	t.Setenv("TIMEBOUND_IAM_FILE_PASSPHRASE", "test-passphrase")
	if _, stderr, code := runCLI(t, "setup", "aws", "-s", "s3", "--apply"); code != 0 {
		t.Fatalf("setup aws --apply: exit %d\n%s", code, stderr)
	}
	const role = "arn:aws:iam::123456789012:role/timebound-iam-broker"
	client := motoIAM(moto)
	ctx := context.Background()
	policy := func(t *testing.T) string {
		t.Helper()
		out, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("timebound-iam-broker"), PolicyName: aws.String("timebound-iam-revoked")})
		if err != nil {
			t.Fatalf("GetRolePolicy timebound-iam-revoked: %v", err)
		}
		return decode(aws.ToString(out.PolicyDocument))
	}
	ceiling := func() string {
		out, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("timebound-iam-broker"), PolicyName: aws.String("timebound-iam-ceiling")})
		if err != nil {
			t.Fatal(err)
		}
		return decode(aws.ToString(out.PolicyDocument))
	}
	ceilingBefore := ceiling()

	a, aExpires := grantJSON(t, "-s", "s3", "-t", "15m")
	t.Run("the pattern matches the grant's session at STS", func(t *testing.T) {
		keys, err := keychain.Open(keychain.Options{Backend: "file", Dir: home, Passphrase: "test-passphrase"})
		if err != nil {
			t.Fatal(err)
		}
		creds, err := keys.Get(a)
		if err != nil {
			t.Fatal(err)
		}
		who, err := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL),
			Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)}).
			GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		// aws:userid of a role session is GetCallerIdentity's UserId.
		if ok, _ := path.Match("*:timebound-iam-"+a, aws.ToString(who.UserId)); !ok {
			t.Errorf("aws:userid %q does not match *:timebound-iam-%s", aws.ToString(who.UserId), a)
		}
	})

	stdout, stderr, code := runCLI(t, "revoke", "--aws", "tb-"+a)
	if code != 0 {
		t.Fatalf("revoke --aws: exit %d\n%s", code, stderr)
	}
	want := "revoked tb-" + a + "\ndenied tb-" + a + " at AWS (policy timebound-iam-revoked on " + role + ")\n"
	if diff := cmp.Diff(want, stdout); diff != "" || stderr != "" {
		t.Errorf("revoke --aws stdout (-want +got):\n%s\nstderr:\n%s", diff, stderr)
	}
	wantDoc := `{"Version":"2012-10-17","Statement":[` + denyStatement(a, aExpires) + `]}`
	if got := policy(t); !sameJSON(t, got, wantDoc) {
		t.Errorf("deny policy in IAM:\n%s\nwant %s", got, wantDoc)
	}
	// Locally revoked as without --aws.
	if stdout, _, _ := runCLI(t, "sessions"); strings.Contains(stdout, a) {
		t.Errorf("sessions still lists tb-%s:\n%s", a, stdout)
	}

	t.Run("--all --aws denies every earlier session in one statement", func(t *testing.T) {
		allDoc := func(t *testing.T) (doc string) {
			t.Helper()
			b, _ := grantJSON(t, "-s", "s3", "-t", "30m")
			c, _ := grantJSON(t, "-s", "s3", "-t", "1h")
			stdout, stderr, code := runCLI(t, "revoke", "--all", "--aws")
			if code != 0 {
				t.Fatalf("revoke --all --aws: exit %d\n%s", code, stderr)
			}
			for _, id := range []string{b, c} {
				if line := "revoked tb-" + id + "\n"; !strings.Contains(stdout, line) {
					t.Errorf("stdout lacks %q:\n%s", line, stdout)
				}
			}
			m := regexp.MustCompile(`denied every session of ` + regexp.QuoteMeta(role) + ` issued before (\S+) at AWS \(policy timebound-iam-revoked\)\n`).FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("stdout does not say what --aws --all denied:\n%s", stdout)
			}
			if before, err := time.Parse(time.RFC3339, m[1]); err != nil || time.Since(before) > time.Minute || time.Until(before) > time.Second {
				t.Errorf("bound %s, %v; want now", m[1], err)
			}
			return `{"Version":"2012-10-17","Statement":[` + denyStatement(a, aExpires) + `,{"Sid":"TimeboundIamRevokedAll","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + m[1] + `"}}}]}`
		}
		wantDoc := allDoc(t)
		if got := policy(t); !sameJSON(t, got, wantDoc) {
			t.Errorf("deny policy in IAM:\n%s\nwant %s", got, wantDoc)
		}
		time.Sleep(time.Second) // a later bound
		// Again with two more grants: the statement is replaced, not added.
		wantDoc = allDoc(t)
		if got := policy(t); !sameJSON(t, got, wantDoc) {
			t.Errorf("deny policy in IAM after a second --all --aws:\n%s\nwant %s", got, wantDoc)
		}
	})
	t.Run("the ceiling policy is untouched", func(t *testing.T) {
		if got := ceiling(); got != ceilingBefore {
			t.Errorf("timebound-iam-ceiling changed:\n%s", got)
		}
	})
}

// TestRevokeAWSNotPermitted: an IAM that refuses every call, as AWS does for
// a base identity without iam:GetRolePolicy. revoke --aws still revokes
// locally, and says plainly that only that happened.
func TestRevokeAWSNotPermitted(t *testing.T) {
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stand.Close() })
	var iamCalls atomic.Int32
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iamCalls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code>` +
			`<Message>User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:GetRolePolicy on resource: role broker</Message></Error><RequestId>r1</RequestId></ErrorResponse>`))
	}))
	t.Cleanup(deny.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"TIMEBOUND_IAM_HOME": filepath.Join(dir, "state"), "TIMEBOUND_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT": stand.URL, "AWS_ENDPOINT_URL_IAM": deny.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND": "file", "TIMEBOUND_IAM_FILE_PASSPHRASE": "test-passphrase",
		"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": "", "TIMEBOUND_IAM_REGION": "",
	} {
		t.Setenv(k, v)
	}
	id, expires := grantJSON(t, "-s", "s3", "-t", "30m")
	stdout, stderr, code := runCLI(t, "revoke", "--aws", id)
	if code != 1 {
		t.Errorf("revoke --aws: exit %d, want 1", code)
	}
	if stdout != "revoked tb-"+id+"\n" {
		t.Errorf("stdout %q, want the local revoke", stdout)
	}
	wantErr := "timebound-iam: error: revoked tb-" + id + " locally; the AWS-side deny failed: not permitted to call iam:GetRolePolicy on role arn:aws:iam::123456789012:role/broker (AccessDenied); any copied credentials stay valid until " + expires + "\n" +
		"timebound-iam: hint: give the base identity iam:GetRolePolicy and iam:PutRolePolicy on arn:aws:iam::123456789012:role/broker, then run timebound-iam revoke --aws tb-" + id + " again\n"
	if diff := cmp.Diff(wantErr, stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if iamCalls.Load() == 0 {
		t.Error("IAM was never asked")
	}
	if stdout, _, _ := runCLI(t, "sessions"); strings.Contains(stdout, id) {
		t.Errorf("the grant is still live after the failed AWS side:\n%s", stdout)
	}
	// Once the permission is there, revoke --aws again adds the deny; here
	// IAM still refuses, and the message is the same but for "locally".
	_, stderr, _ = runCLI(t, "revoke", "--aws", id)
	if !strings.HasPrefix(stderr, "timebound-iam: error: tb-"+id+" had already ended locally; the AWS-side deny failed: not permitted") {
		t.Errorf("second revoke --aws stderr:\n%s", stderr)
	}
}

// TestServeRevokeAWSMoto runs `timebound-iam serve` as a subprocess against
// moto for STS and IAM, through the go-sdk client: grant_access assumes the
// broker, and revoke_access with aws: true writes the deny that
// iam:GetRolePolicy then returns.
func TestServeRevokeAWSMoto(t *testing.T) {
	bin := goBuild(t, filepath.Join(t.TempDir(), "timebound-iam"), ".")
	moto, err := granttest.StartMoto(t.TempDir())
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { moto.Close() })
	client := motoIAM(moto)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("broker"),
		AssumeRolePolicyDocument: aws.String(awsiam.TrustPolicy("arn:aws:iam::123456789012:user/moto"))}); err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = work
	cmd.Env = []string{
		"HOME=" + work,
		"TIMEBOUND_IAM_HOME=" + filepath.Join(work, "state"),
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_KEYRING_BACKEND=file",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=serve-test-passphrase",
		"AWS_ENDPOINT_URL=" + moto.URL,
		"AWS_ACCESS_KEY_ID=AKIAFAKEFAKEFAKE",
		"AWS_SECRET_ACCESS_KEY=fake",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(work, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(work, "no-aws-credentials"),
	}
	var stderr bytes.Buffer // read only after the process has exited
	cmd.Stderr = &stderr
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "revoke-aws-agent", Version: "1.0.0"}, nil).
		Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	defer func() {
		cs.Close()
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()
	call := func(name string, args map[string]any, out any) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw, _ := json.Marshal(res.StructuredContent)
		if res.IsError {
			t.Fatalf("%s: tool error %s", name, raw)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, raw)
		}
	}
	var g grant.GrantOutput
	call("grant_access", map[string]any{"services": []string{"s3"}, "ttl": "20m"}, &g)
	var got mcpserver.RevokeOutput
	call("revoke_access", map[string]any{"session_id": g.Profile, "aws": true}, &got)
	yes := true
	want := mcpserver.RevokeOutput{SessionID: g.SessionID, Profile: g.Profile, Revoked: true, Status: "revoked", AWSRevoked: &yes,
		AWSDetail: "role arn:aws:iam::123456789012:role/broker now denies every request of " + g.Profile + " (inline policy timebound-iam-revoked)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revoke_access (-want +got):\n%s", diff)
	}
	out, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("broker"), PolicyName: aws.String("timebound-iam-revoked")})
	if err != nil {
		t.Fatal(err)
	}
	wantDoc := `{"Version":"2012-10-17","Statement":[` + denyStatement(g.SessionID, g.ExpiresAt) + `]}`
	if doc := decode(aws.ToString(out.PolicyDocument)); !sameJSON(t, doc, wantDoc) {
		t.Errorf("deny policy in IAM:\n%s\nwant %s", doc, wantDoc)
	}
}
