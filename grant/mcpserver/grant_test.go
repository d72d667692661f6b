package mcpserver_test

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

func TestMCPGrantAccess(t *testing.T) {
	h := newHarness(t)
	reason := "list the report bucket"
	var out grant.GrantOutput
	h.ok("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m", "reason": reason}, &out)

	id := out.SessionID
	if !profiles.ValidID(id) {
		t.Fatalf("session_id %q is not a grant id", id)
	}
	configFile := filepath.Join(h.m.Config.Home, "aws-config")
	want := grant.GrantOutput{
		SessionID:  id,
		Profile:    "tb-" + id,
		Services:   []string{"s3"},
		Level:      "read_only",
		Levels:     map[string]string{"s3": "read_only"},
		ExpiresAt:  "2026-11-25T12:15:00Z",
		ConfigFile: configFile,
		Usage:      out.Usage,
		// The fake STS sends no PackedPolicySize.
		PolicyChars: len(aws.ToString(h.sts.Calls()[0].Policy)),
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("grant_access output (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.Usage, "--profile tb-"+id) || !strings.Contains(out.Usage, configFile) {
		t.Errorf("usage %q: want --profile tb-%s and %s", out.Usage, id, configFile)
	}
	if strings.Contains(out.Usage, "AWS_PROFILE") {
		t.Errorf("usage %q suggests AWS_PROFILE", out.Usage)
	}

	t.Run("STS input", func(t *testing.T) {
		calls := h.sts.Calls()
		if len(calls) != 1 {
			t.Fatalf("%d AssumeRole calls, want 1", len(calls))
		}
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:DescribeJob","s3:Get*","s3:List*"],"Resource":"*"}]}`
		// No source_identity is configured, so none is sent; the client tag
		// is the name the client gave in initialize.
		wantIn := &sts.AssumeRoleInput{
			RoleArn:         aws.String(granttest.Role),
			RoleSessionName: aws.String("timebound-iam-" + id),
			DurationSeconds: aws.Int32(900),
			Policy:          aws.String(policy),
			Tags:            tags("tb-"+id, "read_only", clientName),
		}
		if diff := cmp.Diff(wantIn, calls[0], cmpopts.IgnoreUnexported(sts.AssumeRoleInput{}, types.Tag{})); diff != "" {
			t.Errorf("AssumeRole input (-want +got):\n%s", diff)
		}
		// The literal above must be what the catalog calls s3's read-only
		// slice, so that a catalog change shows up here rather than in AWS.
		var doc struct {
			Version   string
			Statement []struct{ Action []string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(calls[0].Policy)), &doc); err != nil {
			t.Fatal(err)
		}
		s3, _ := catalog.Lookup("s3")
		if doc.Version != "2012-10-17" || len(doc.Statement) != 1 || !cmp.Equal(doc.Statement[0].Action, s3.ReadOnly) {
			t.Errorf("policy %s: want version 2012-10-17 and actions %v", aws.ToString(calls[0].Policy), s3.ReadOnly)
		}
	})

	t.Run("profile", func(t *testing.T) {
		h := h.in(t)
		e, ok := h.entry(id)
		if !ok {
			t.Fatalf("no profile tb-%s in\n%s", id, h.profilesText())
		}
		wantEntry := profiles.Entry{
			ID: id, Region: "us-east-1", Access: []profiles.Access{{Service: "s3", Level: "read_only"}},
			Helper:  profiles.Helper{Exe: granttest.Exe, Home: h.m.Config.Home, Backend: "array"},
			Status:  profiles.Active,
			Created: granttest.T0, Expires: granttest.T0.Add(15 * time.Minute),
			Role: granttest.Role,
		}
		if diff := cmp.Diff(wantEntry, e); diff != "" {
			t.Errorf("profile (-want +got):\n%s", diff)
		}
		wantLine := "'" + granttest.Exe + "' credential-process --session " + id + " --home '" + h.m.Config.Home + "' --backend array --expires 2026-11-25T12:15:00Z"
		if line := h.credentialProcess(id); line != wantLine {
			t.Errorf("credential_process\n got %s\nwant %s", line, wantLine)
		}
		if strings.Contains(h.profilesText(), reason) {
			t.Errorf("the reason reached the AWS config file:\n%s", h.profilesText())
		}
	})

	t.Run("keychain", func(t *testing.T) {
		h := h.in(t)
		if diff := cmp.Diff([]string{"tb-" + id}, h.keychainKeys()); diff != "" {
			t.Errorf("keychain items (-want +got):\n%s", diff)
		}
		got, err := h.m.Keys.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		issued := h.sts.Secrets()[0]
		if got.AccessKeyID != issued.AccessKeyID || got.SecretAccessKey != issued.SecretAccessKey ||
			got.SessionToken != issued.SessionToken || !got.Expires.Equal(issued.Expires) {
			t.Error("the keychain item does not hold the issued credentials")
		}
	})

	t.Run("log", func(t *testing.T) {
		h := h.in(t)
		var line string
		for _, l := range strings.Split(h.log.String(), "\n") {
			if strings.Contains(l, "msg=granted") {
				line = l
			}
		}
		issued := h.sts.Secrets()[0]
		for _, want := range []string{
			"session=tb-" + id, "client=" + clientName, `reason="` + reason + `"`,
			"services=s3:read_only", "ttl=15m", "access_key=****" + issued.AccessKeyID[len(issued.AccessKeyID)-4:],
		} {
			if !strings.Contains(line, want) {
				t.Errorf("granted log line %q lacks %s", line, want)
			}
		}
	})
}

// TestMCPResultsCarryNoSecret walks every tool, successes and failures, and
// then checks every result's JSON (text and structured content), the log and
// the profiles file against every credential STS issued.
// tags are the session tags of a grant, in the order Grant sends them; an
// empty client is left out.
func tags(session, level, client string) []types.Tag {
	out := []types.Tag{
		{Key: aws.String("timebound-iam:session"), Value: aws.String(session)},
		{Key: aws.String("timebound-iam:level"), Value: aws.String(level)},
	}
	if client != "" {
		out = append(out, types.Tag{Key: aws.String("timebound-iam:client"), Value: aws.String(client)})
	}
	return out
}

// TestGrantAssumeRoleInput pins the whole AssumeRole input for the ways a
// grant is asked for: the CLI's request (Client "cli"), mixed levels, the
// configured source_identity, and client names that break STS's tag rules,
// which must be made to fit rather than fail the grant.
func TestGrantAssumeRoleInput(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name           string
		sourceIdentity string
		access         []policy.Access
		client         string
		wantLevel      string
		wantClient     string
	}{
		{"cli, with source_identity", "alice@build-07", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "cli", "read_only", "cli"},
		{"mixed levels", "", []policy.Access{{Service: "s3", Level: policy.Full}, {Service: "logs", Level: policy.ReadOnly}}, "cli", "mixed", "cli"},
		{"full", "", []policy.Access{{Service: "s3", Level: policy.Full}}, "Kiro CLI", "full", "Kiro CLI"},
		{"allowed punctuation kept", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "@scope/agent_v1.2:beta=+-", "read_only", "@scope/agent_v1.2:beta=+-"},
		{"other characters become _", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, " Claude Code (VS Code) ✓\n\"x\" ", "read_only", "Claude Code _VS Code_ ___x_"},
		{"unicode letters kept", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "Zoë's agent", "read_only", "Zoë_s agent"},
		{"cut to 256 characters", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, long, "read_only", long[:2*256]},
		{"no client", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "", "read_only", ""},
		{"nothing left of the client", "", []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, "   ", "read_only", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(h *harness) { h.m.Config.SourceIdentity = tt.sourceIdentity })
			s, err := h.m.Grant(context.Background(), grant.Request{Access: tt.access, TTL: 30 * time.Minute, Client: tt.client})
			if err != nil {
				t.Fatal(err)
			}
			policy, err := policy.Build(tt.access, policy.DialectAWS)
			if err != nil {
				t.Fatal(err)
			}
			want := &sts.AssumeRoleInput{
				RoleArn:         aws.String(granttest.Role),
				RoleSessionName: aws.String("timebound-iam-" + s.ID),
				DurationSeconds: aws.Int32(1800),
				Policy:          aws.String(policy),
				Tags:            tags("tb-"+s.ID, tt.wantLevel, tt.wantClient),
			}
			if tt.sourceIdentity != "" {
				want.SourceIdentity = aws.String(tt.sourceIdentity)
			}
			calls := h.sts.Calls()
			if len(calls) != 1 {
				t.Fatalf("%d AssumeRole calls, want 1", len(calls))
			}
			if diff := cmp.Diff(want, calls[0], cmpopts.IgnoreUnexported(sts.AssumeRoleInput{}, types.Tag{})); diff != "" {
				t.Errorf("AssumeRole input (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGrantAttributionOnTheWire sends a CLI grant through aws-sdk-go-v2's
// real STS client to the stand-in, which refuses a SourceIdentity or tags
// that STS would refuse, and checks the parameters that reached it.
func TestGrantAttributionOnTheWire(t *testing.T) {
	stand := granttest.StartStandIn(t)
	home := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"TIMEBOUND_IAM_SOURCE_IDENTITY": "alice@build-07"}[k]
	}
	cfg, err := config.Load(home, getenv, map[string]string{"role_arn": granttest.Role, "sts_endpoint": stand.URL})
	if err != nil {
		t.Fatal(err)
	}
	client, err := grant.NewSTS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &grant.Manager{
		Config: cfg, STS: client, Keys: keychain.New(keyring.NewArrayKeyring(nil), "array"),
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: home}, Exe: granttest.Exe, Now: time.Now,
	}
	access := []policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "logs", Level: policy.Full}}
	// logs at full needs a person under the default approval: as if one
	// approved it on the terminal.
	s, err := m.Grant(context.Background(), grant.Request{Access: access, TTL: 15 * time.Minute, Client: "cli", Approver: grant.ApproverTerminal})
	if err != nil {
		t.Fatal(err)
	}
	issued := stand.Issued()
	if len(issued) != 1 {
		t.Fatalf("the stand-in issued %d credentials, want 1", len(issued))
	}
	policy, err := policy.Build(access, policy.DialectAWS)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"Action":              {"AssumeRole"},
		"Version":             {"2011-06-15"},
		"RoleArn":             {granttest.Role},
		"RoleSessionName":     {"timebound-iam-" + s.ID},
		"DurationSeconds":     {"900"},
		"Policy":              {policy},
		"SourceIdentity":      {"alice@build-07"},
		"Tags.member.1.Key":   {"timebound-iam:session"},
		"Tags.member.1.Value": {"tb-" + s.ID},
		"Tags.member.2.Key":   {"timebound-iam:level"},
		"Tags.member.2.Value": {"mixed"},
		"Tags.member.3.Key":   {"timebound-iam:client"},
		"Tags.member.3.Value": {"cli"},
	}
	if diff := cmp.Diff(want, issued[0].Form); diff != "" {
		t.Errorf("AssumeRole parameters (-want +got):\n%s", diff)
	}

	// What STS refuses, the stand-in refuses: the checks above can fail.
	m.Config.SourceIdentity = "alice smith"
	if _, err := m.Grant(context.Background(), grant.Request{Access: access, TTL: 15 * time.Minute, Client: "cli", Approver: grant.ApproverTerminal}); err == nil || !strings.Contains(err.Error(), "'alice smith' at 'sourceIdentity' failed to satisfy constraint") {
		t.Errorf("a SourceIdentity with a space: err = %v, want STS's ValidationError", err)
	}
	for _, tag := range []types.Tag{
		{Key: aws.String("aws:session"), Value: aws.String("x")},
		{Key: aws.String("timebound-iam:client"), Value: aws.String("Claude (beta)")},
	} {
		_, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
			RoleArn: aws.String(granttest.Role), RoleSessionName: aws.String("timebound-iam-test"), Tags: []types.Tag{tag},
		})
		if err == nil || !strings.Contains(err.Error(), "ValidationError") {
			t.Errorf("tag %s=%s: err = %v, want STS's ValidationError", aws.ToString(tag.Key), aws.ToString(tag.Value), err)
		}
	}
}

func TestMCPResultsCarryNoSecret(t *testing.T) {
	h := newHarness(t)
	g1 := h.grant([]string{"s3"}, "read_only", "30m")
	g2 := h.grant([]string{"lambda", "logs"}, "full", "1h")
	h.sessions()
	h.ok("list_services", map[string]any{}, &grant.ServicesOutput{})
	h.toolErr("grant_access", map[string]any{"services": []string{"nope"}, "level": "full"})
	h.ok("revoke_access", map[string]any{"session_id": g1.Profile}, &mcpserver.RevokeOutput{})
	h.clock.Add(2 * time.Hour) // g2 expires and is pruned
	h.sessions()
	h.ok("revoke_access", map[string]any{"session_id": g2.SessionID}, &mcpserver.RevokeOutput{})
	if n := len(h.sts.Secrets()); n != 2 {
		t.Fatalf("%d credentials issued, want 2", n)
	}
	if found, err := h.scan.Findings(); len(found) > 0 || err != nil {
		t.Errorf("secret scan: %q, %v", found, err)
	}
	if n := *h.results; n < 8 {
		t.Fatalf("checked %d results, want 8", n)
	}
}

func TestMCPGrantAccessBadInput(t *testing.T) {
	many := []string{"s3", "ec2", "lambda", "logs", "dynamodb", "sqs", "sns", "cloudwatch", "iam", "rds", "ecs", "eks", "ecr",
		"cloudformation", "kms", "secretsmanager", "ssm", "route53", "elasticloadbalancing", "autoscaling", "apigateway"}
	s3 := []string{"s3"}
	tests := []struct {
		name     string
		allow    []string // config.Config.Services
		args     map[string]any
		want     []string // substrings of the tool error
		wantLike string   // a regexp the tool error must match
	}{
		{name: "level admin", args: map[string]any{"services": s3, "level": "admin"},
			want: []string{`level "admin" is not allowed: use "view_only", "read_only" or "full"`}},
		{name: "view_only where there is none", args: map[string]any{"services": []string{"s3", "secretsmanager"}, "level": "view_only"},
			want: []string{`services[1]: service "secretsmanager" has no view_only level`, `use "read_only" or "full"`}},
		{name: "level blank", args: map[string]any{"services": s3, "level": " "},
			want: []string{"level", "read_only", "full"}},
		{name: "services empty", args: map[string]any{"services": []string{}, "level": "read_only"},
			want: []string{"services", "at least one", "list_services"}},
		{name: "services missing", args: map[string]any{"level": "read_only"},
			want: []string{"services"}},
		{name: "services unknown", args: map[string]any{"services": []string{"nope"}, "level": "read_only"},
			want: []string{"services[0]", `"nope"`, "list_services"}},
		{name: "services uppercase", args: map[string]any{"services": []string{"S3"}, "level": "read_only"},
			want: []string{"services[0]", `"S3"`, "list_services"}},
		{name: "services twice", args: map[string]any{"services": []string{"s3", "s3"}, "level": "read_only"},
			want: []string{"services[1]", `"s3"`, "twice"}},
		{name: "ttl too short", args: map[string]any{"services": s3, "level": "read_only", "ttl": "5m"},
			want: []string{"ttl", "5m", "15m", "12h"}},
		{name: "ttl too long", args: map[string]any{"services": s3, "level": "read_only", "ttl": "13h"},
			want: []string{"ttl", "13h", "15m", "12h"}},
		{name: "ttl not a duration", args: map[string]any{"services": s3, "level": "read_only", "ttl": "soon"},
			want: []string{"ttl", `"soon"`, "15m", "12h", `"30m"`}},
		{name: "reason too long", args: map[string]any{"services": s3, "level": "read_only", "reason": strings.Repeat("x", 501)},
			want: []string{"reason", "501", "500"}},
		{name: "reason with newline", args: map[string]any{"services": s3, "level": "read_only", "reason": "a\nb"},
			want: []string{"reason", "control characters"}},
		{name: "policy too large", args: map[string]any{"services": many, "level": "read_only"},
			want:     []string{"split it into grants that fit", "2048"},
			wantLike: `session policy .* is \d{4,} characters; STS allows 2048`},
		{name: "service outside allow-list", allow: []string{"s3", "lambda"}, args: map[string]any{"services": []string{"s3", "ec2"}, "level": "read_only"},
			want: []string{"services[1]", `"ec2"`, "not allowed", "allowed: s3, lambda"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(h *harness) { h.m.Config.Services = tt.allow })
			msg := h.toolErr("grant_access", tt.args)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("tool error %q lacks %q", msg, w)
				}
			}
			if tt.wantLike != "" && !regexp.MustCompile(tt.wantLike).MatchString(msg) {
				t.Errorf("tool error %q does not match %s", msg, tt.wantLike)
			}
			if n := len(h.sts.Calls()); n != 0 {
				t.Errorf("STS was called %d times for a request that cannot be granted", n)
			}
			h.checkNothingLeft()
		})
	}
}
