package mcpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// motoBroker starts moto, creates the broker role granttest.Role names in its IAM
// with a ceiling policy, and returns two IAM clients for it: aws-sdk-go-v2's,
// which the test reads and writes with, and timebound-iam's own, which the
// revoke uses.
func motoBroker(t *testing.T) (*iam.Client, *awsiam.Client) {
	t.Helper()
	moto, err := granttest.StartMoto(t.TempDir())
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { moto.Close() })
	client := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", "")})
	ctx := context.Background()
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("broker"), AssumeRolePolicyDocument: aws.String(awsiam.TrustPolicy("arn:aws:iam::123456789012:user/dev"))}); err != nil {
		t.Fatal(err)
	}
	ceiling, err := awsiam.PermissionPolicy([]policy.Access{{Service: "s3", Level: policy.ReadOnly}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	putPolicy(t, client, awsiam.CeilingPolicyName, ceiling)
	ours, err := awsiam.NewFromConfig(ctx, aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEFAKEFAKE", "fake", "")})
	if err != nil {
		t.Fatal(err)
	}
	return client, ours
}

func putPolicy(t *testing.T, client *iam.Client, name, doc string) {
	t.Helper()
	if _, err := client.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String("broker"), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
}

// rolePolicy is the text of the broker's inline policy name, as IAM holds it.
func rolePolicy(t *testing.T, client *iam.Client, name string) string {
	t.Helper()
	out, err := client.GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String("broker"), PolicyName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetRolePolicy %s: %v", name, err)
	}
	doc, err := url.PathUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// denyStatement is the statement revoke --aws writes for grant id.
func denyStatement(id, expires string) string {
	return `{"Sid":"TimeboundIamRevoked` + id + `","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:userid":"*:timebound-iam-` + id + `"},"DateLessThan":{"aws:TokenIssueTime":"` + expires + `"}}}`
}

func withIAM(api awsiam.RolePolicyAPI) func(*harness) {
	return func(h *harness) {
		h.m.IAM = func(context.Context) (awsiam.RolePolicyAPI, error) { return api, nil }
	}
}

// TestMCPRevokeAccessAWS drives revoke_access with aws: true against moto's
// IAM: the first revoke writes the deny policy, a second adds its session
// and drops the expired one, a statement someone else added stays, and the
// role's other inline policy is never touched.
func TestMCPRevokeAccessAWS(t *testing.T) {
	client, ours := motoBroker(t)
	ceilingBefore := rolePolicy(t, client, awsiam.CeilingPolicyName)
	h := newHarness(t, withIAM(ours))
	a := h.grant([]string{"s3"}, "read_only", "30m") // expires 12:30
	b := h.grant([]string{"s3"}, "read_only", "1h")  // 13:00
	c := h.grant([]string{"s3"}, "read_only", "15m") // 12:15
	d := h.grant([]string{"s3"}, "read_only", "45m") // 12:45
	h.clock.Add(time.Minute)

	revoke := func(t *testing.T, args map[string]any) mcpserver.RevokeOutput {
		t.Helper()
		var out mcpserver.RevokeOutput
		h.in(t).ok("revoke_access", args, &out)
		return out
	}
	yes := true
	t.Run("first revoke writes the deny", func(t *testing.T) {
		got := revoke(t, map[string]any{"session_id": a.Profile, "aws": true})
		want := mcpserver.RevokeOutput{SessionID: a.SessionID, Profile: a.Profile, Revoked: true, Status: "revoked", AWSRevoked: &yes,
			AWSDetail: "role " + granttest.Role + " now denies every request of " + a.Profile + " (inline policy timebound-iam-revoked)"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
		wantDoc := `{
  "Version": "2012-10-17",
  "Statement": [
    ` + denyStatement(a.SessionID, "2026-11-25T12:30:00Z") + `
  ]
}
`
		if got := rolePolicy(t, client, awsiam.RevokedPolicyName); !jsonEqual(got, wantDoc) {
			t.Errorf("deny policy in IAM:\n%s\nwant %s", got, wantDoc)
		}
		if keys := h.in(t).keychainKeys(); len(keys) != 3 {
			t.Errorf("keychain items %v: want the other three grants only", keys)
		}
	})

	// An administrator adds a statement of their own.
	const foreign = `{"Sid":"AdminBreakGlass","Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}`
	doc := rolePolicy(t, client, awsiam.RevokedPolicyName)
	var parsed struct {
		Version   string
		Statement []json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &parsed); err != nil {
		t.Fatal(err)
	}
	parsed.Statement = append([]json.RawMessage{json.RawMessage(foreign)}, parsed.Statement...)
	edited, _ := json.Marshal(parsed)
	putPolicy(t, client, awsiam.RevokedPolicyName, string(edited))

	t.Run("second revoke adds its session and drops the expired one", func(t *testing.T) {
		h.clock.Add(35 * time.Minute) // 12:36: a expired at 12:30, past the 5m grace
		got := revoke(t, map[string]any{"session_id": b.SessionID, "aws": true})
		want := mcpserver.RevokeOutput{SessionID: b.SessionID, Profile: b.Profile, Revoked: true, Status: "revoked", AWSRevoked: &yes,
			AWSDetail: "role " + granttest.Role + " now denies every request of " + b.Profile + " (inline policy timebound-iam-revoked); dropped the expired " + a.Profile + " from the policy"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
		wantDoc := `{"Version":"2012-10-17","Statement":[` + foreign + `,` + denyStatement(b.SessionID, "2026-11-25T13:00:00Z") + `]}`
		if got := rolePolicy(t, client, awsiam.RevokedPolicyName); !jsonEqual(got, wantDoc) {
			t.Errorf("deny policy in IAM:\n%s\nwant %s", got, wantDoc)
		}
	})
	t.Run("a grant revoked earlier without aws", func(t *testing.T) {
		if got := revoke(t, map[string]any{"session_id": d.SessionID}); got.AWSRevoked != nil || got.AWSDetail != "" || got.AWSError != "" {
			t.Errorf("revoke_access without aws reports on AWS: %+v", got)
		}
		// The local revoke had happened; the AWS side is new.
		got := revoke(t, map[string]any{"session_id": d.SessionID, "aws": true})
		want := mcpserver.RevokeOutput{SessionID: d.SessionID, Profile: d.Profile, Revoked: false, Status: "revoked", AWSRevoked: &yes,
			AWSDetail: "role " + granttest.Role + " now denies every request of " + d.Profile + " (inline policy timebound-iam-revoked)"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
		wantDoc := `{"Version":"2012-10-17","Statement":[` + foreign + `,` + denyStatement(b.SessionID, "2026-11-25T13:00:00Z") + `,` + denyStatement(d.SessionID, "2026-11-25T12:45:00Z") + `]}`
		if got := rolePolicy(t, client, awsiam.RevokedPolicyName); !jsonEqual(got, wantDoc) {
			t.Errorf("deny policy in IAM:\n%s\nwant %s", got, wantDoc)
		}
	})
	t.Run("an expired grant needs no deny", func(t *testing.T) {
		before := rolePolicy(t, client, awsiam.RevokedPolicyName)
		got := revoke(t, map[string]any{"session_id": c.SessionID, "aws": true})
		want := mcpserver.RevokeOutput{SessionID: c.SessionID, Profile: c.Profile, Revoked: false, Status: "expired", AWSRevoked: &yes,
			AWSDetail: "the credentials of " + c.Profile + " had expired, so AWS refuses them already"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("revoke_access (-want +got):\n%s", diff)
		}
		if after := rolePolicy(t, client, awsiam.RevokedPolicyName); after != before {
			t.Errorf("the deny policy changed for an expired grant:\n%s", after)
		}
	})
	t.Run("the role's other inline policy is untouched", func(t *testing.T) {
		if after := rolePolicy(t, client, awsiam.CeilingPolicyName); after != ceilingBefore {
			t.Errorf("%s changed:\n%s", awsiam.CeilingPolicyName, after)
		}
	})
}

// fakeIAM answers GetRolePolicy and PutRolePolicy with the errors it holds,
// and records what it was asked to write.
type fakeIAM struct {
	getErr, putErr error
	mu             sync.Mutex
	puts           []string
}

func (f *fakeIAM) GetRolePolicy(context.Context, string, string) (string, error) {
	if f.getErr != nil {
		return "", f.getErr
	}
	return `{"Version":"2012-10-17","Statement":[]}`, nil
}

func (f *fakeIAM) PutRolePolicy(_ context.Context, _, _, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, doc)
	return f.putErr
}

// TestMCPRevokeAccessAWSFails: when the AWS side cannot be done the tool
// still succeeds, the grant is revoked locally, and the result says plainly
// that only that happened and until when a copy works.
func TestMCPRevokeAccessAWSFails(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:PutRolePolicy"}
	tests := []struct {
		name    string
		opt     func(*harness)
		wantErr string
	}{
		{"GetRolePolicy denied", withIAM(&fakeIAM{getErr: denied}), "not permitted to call iam:GetRolePolicy on role " + granttest.Role + " (AccessDenied)"},
		{"PutRolePolicy denied", withIAM(&fakeIAM{putErr: denied}), "not permitted to call iam:PutRolePolicy on role " + granttest.Role + " (AccessDenied)"},
		{"UnauthorizedOperation", withIAM(&fakeIAM{putErr: &smithy.GenericAPIError{Code: "UnauthorizedOperation"}}), "not permitted to call iam:PutRolePolicy on role " + granttest.Role + " (UnauthorizedOperation)"},
		{"role missing", withIAM(&fakeIAM{putErr: &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "role broker not found"}}), "role " + granttest.Role + " does not exist in IAM (NoSuchEntity): check role_arn"},
		{"no credentials", withIAM(&fakeIAM{getErr: errors.New("failed to retrieve credentials")}), "iam:GetRolePolicy on role " + granttest.Role + " failed: failed to retrieve credentials"},
		{"MinIO", func(h *harness) { h.m.Config.STSDialect = policy.DialectMinIO }, "sts_dialect is minio, and MinIO has no IAM role policies to deny a session with"},
		{"no IAM client", func(h *harness) { h.m.IAM = nil }, "this run has no IAM client"},
		{"client cannot be made", func(h *harness) {
			h.m.IAM = func(context.Context) (awsiam.RolePolicyAPI, error) {
				return nil, errors.New("sts_endpoint http://127.0.0.1:9000 is not AWS, and no IAM endpoint is set")
			}
		}, "sts_endpoint http://127.0.0.1:9000 is not AWS, and no IAM endpoint is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opt)
			g := h.grant([]string{"s3"}, "read_only", "30m")
			var got mcpserver.RevokeOutput
			h.ok("revoke_access", map[string]any{"session_id": g.SessionID, "aws": true}, &got)
			no := false
			want := mcpserver.RevokeOutput{SessionID: g.SessionID, Profile: g.Profile, Revoked: true, Status: "revoked", AWSRevoked: &no,
				AWSError:  tt.wantErr,
				AWSDetail: "only the local revoke happened; the AWS-side deny failed: " + tt.wantErr + "; any copied credentials stay valid until 2026-11-25T12:30:00Z"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("revoke_access (-want +got):\n%s", diff)
			}
			if keys := h.keychainKeys(); len(keys) != 0 {
				t.Errorf("keychain items after the revoke: %v", keys)
			}
			if !strings.Contains(h.credentialProcess(g.SessionID), "--revoked-at ") {
				t.Errorf("profile %s is not a revoked tombstone", g.Profile)
			}
			if !strings.Contains(h.log.String(), "AWS-side revoke failed") {
				t.Errorf("the failure is not logged:\n%s", h.log.String())
			}
		})
	}
}

func TestMCPRevokeAccessDescribesAWS(t *testing.T) {
	h := newHarness(t)
	res, err := h.cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range res.Tools {
		if tool.Name != "revoke_access" {
			continue
		}
		if !strings.Contains(tool.Description, "aws: true") {
			t.Errorf("revoke_access description does not mention aws:\n%s", tool.Description)
		}
		props := asMap(schema(t, tool.InputSchema)["properties"])
		if d, _ := asMap(props["aws"])["description"].(string); !strings.Contains(d, "iam:PutRolePolicy") {
			t.Errorf("input aws: description %q does not name the permission it needs", d)
		}
		out := asMap(schema(t, tool.OutputSchema)["properties"])
		for _, p := range []string{"aws_revoked", "aws_detail", "aws_error"} {
			if _, ok := out[p]; !ok {
				t.Errorf("output schema lacks %s", p)
			}
		}
		return
	}
	t.Fatal("no revoke_access tool")
}

// TestMCPRevokeAccessAWSOtherRole: a grant made under another broker role
// than the one configured now is denied on neither: the deny on the current
// role would deny nothing and read as done, so no IAM call is made and the
// result names both roles.
func TestMCPRevokeAccessAWSOtherRole(t *testing.T) {
	fake := &fakeIAM{}
	h := newHarness(t, withIAM(fake))
	g := h.grant([]string{"s3"}, "read_only", "30m")
	const other = "arn:aws:iam::123456789012:role/another-broker"
	h.m.Config.RoleARN = other
	var got mcpserver.RevokeOutput
	h.ok("revoke_access", map[string]any{"session_id": g.SessionID, "aws": true}, &got)
	want := "grant " + g.Profile + " was made with role " + granttest.Role + ", but role_arn is now " + other
	if !got.Revoked || got.AWSRevoked == nil || *got.AWSRevoked || !strings.Contains(got.AWSError, want) {
		t.Errorf("revoke_access = %+v; want revoked locally and aws_error %q", got, want)
	}
	if len(fake.puts) != 0 {
		t.Errorf("%d PutRolePolicy calls; want none", len(fake.puts))
	}
}
