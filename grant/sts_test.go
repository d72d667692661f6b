package grant_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"

	"github.com/99designs/keyring"
)

// TestGrantThroughSDK drives grants through aws-sdk-go-v2's real STS client
// over HTTP to the stand-in, and checks the wire parameters and how STS's
// refusals are explained.
func TestGrantThroughSDK(t *testing.T) {
	stand := granttest.StartStandIn(t)

	tests := []struct {
		name, role, ttl, wantErr string
	}{
		{"ok", "role/broker", "30m", ""},
		{"max session duration", "role/short", "2h", "ttl 2h exceeds the broker role's MaxSessionDuration"},
		{"role chaining", "role/chained", "2h", "exceeds the 1h limit STS sets when the base credentials are themselves a role session (role chaining)"},
		{"chaining within 1h", "role/chained", "1h", ""},
		{"access denied", "role/denied", "30m", "may not assume arn:aws:iam::123456789012:role/denied (AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ring := sdkManager(t, stand, map[string]string{"role_arn": "arn:aws:iam::123456789012:" + tt.role})
			cfg := m.Config
			ttl, err := grant.ParseTTL(tt.ttl, cfg.DefaultTTL, cfg.MaxTTL)
			if err != nil {
				t.Fatal(err)
			}
			before := len(stand.Issued())
			s, err := m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: ttl})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				checkNothingWritten(t, m, ring)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			issued := stand.Issued()[before]
			form := issued.Form
			if got := form.Get("RoleSessionName"); got != "timebound-iam-"+s.ID {
				t.Errorf("RoleSessionName %q", got)
			}
			if got, want := form.Get("DurationSeconds"), map[string]string{"30m": "1800", "1h": "3600"}[tt.ttl]; got != want {
				t.Errorf("DurationSeconds %q, want %q", got, want)
			}
			if got := form.Get("Policy"); got != `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:DescribeJob","s3:Get*","s3:List*"],"Resource":"*"}]}` {
				t.Errorf("Policy %s", got)
			}
			// The policy's size and STS's PackedPolicySize (the stand-in
			// reports the policy's share of 2,048 characters) reach the
			// grant result.
			policy := form.Get("Policy")
			out := m.Output(s)
			if out.PolicyChars != len(policy) || out.PackedPolicySize == nil || int(*out.PackedPolicySize) != len(policy)*100/2048 {
				t.Errorf("Output policy_chars %d, packed_policy_size %v; want %d and %d", out.PolicyChars, out.PackedPolicySize, len(policy), len(policy)*100/2048)
			}
			c, err := m.Keys.Get(s.ID)
			if err != nil || c.SecretAccessKey != issued.SecretAccessKey || !c.Expires.Equal(issued.Expires) {
				t.Errorf("keychain holds %+v, %v; want the issued credentials", c.Expires, err)
			}
		})
	}
}

// sdkManager is a Manager whose STS is aws-sdk-go-v2's real client talking
// to stand, configured by overrides (sts_endpoint is stand's), with an array
// keyring. Set the base credentials in the environment first.
func sdkManager(t *testing.T, stand *granttest.STS, overrides map[string]string) (*grant.Manager, keyring.Keyring) {
	t.Helper()
	home := t.TempDir()
	overrides["sts_endpoint"] = stand.URL
	cfg, err := config.Load(home, func(string) string { return "" }, overrides)
	if err != nil {
		t.Fatal(err)
	}
	client, err := grant.NewSTS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ring := keyring.NewArrayKeyring(nil)
	scan := granttest.ScanSecrets(t)
	scan.From(stand.Secrets)
	scan.From(stand.TokenCodes)
	return &grant.Manager{
		Config: cfg, STS: client, Keys: keychain.New(ring, "array"),
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: home},
		Exe:      "/usr/local/bin/timebound-iam", Now: time.Now,
		Log: slog.New(scan.Handler("the log", nil)),
	}, ring
}

// checkNothingWritten fails t if a failed grant left a keychain item or a
// profile behind.
func checkNothingWritten(t *testing.T, m *grant.Manager, ring keyring.Keyring) {
	t.Helper()
	if keys, _ := ring.Keys(); len(keys) != 0 {
		t.Errorf("keychain items left after a failed grant: %v", keys)
	}
	set, _ := m.Profiles.Read()
	if n := len(set.Entries()); n != 0 {
		t.Errorf("%d profiles left after a failed grant", n)
	}
}

// TestSTSFailures: an STS that never answers is given up on after
// sts_timeout, throttling is retried with backoff, and a grant that still
// fails says what to do and leaves nothing behind.
func TestSTSFailures(t *testing.T) {
	stand := granttest.StartStandIn(t)
	tests := []struct {
		name, role, timeout string
		calls               int
		wantErr             string
		within              time.Duration
	}{
		{"timeout", "role/hang", "1s", 1,
			"STS AssumeRole on arn:aws:iam::123456789012:role/hang got no answer within sts_timeout 1s (endpoint " + stand.URL + "): check the network path to STS and try again, or raise sts_timeout in ", 3 * time.Second},
		{"throttled once", "role/throttled-once", "", 2, "", 5 * time.Second},
		{"always throttled", "role/throttled", "", 3,
			"STS throttled AssumeRole on arn:aws:iam::123456789012:role/throttled and kept refusing after 3 attempts with backoff (Throttling: Rate exceeded): wait a minute and try again", 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ring := sdkManager(t, stand, map[string]string{"role_arn": "arn:aws:iam::123456789012:" + tt.role, "sts_timeout": tt.timeout})
			before := stand.Calls()
			start := time.Now()
			_, err := m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour})
			if took := time.Since(start); took > tt.within {
				t.Errorf("grant took %s, want at most %s", took, tt.within)
			}
			if n := stand.Calls() - before; tt.calls != 0 && n != tt.calls {
				t.Errorf("%d AssumeRole requests, want %d", n, tt.calls)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v\nwant %q", err, tt.wantErr)
			}
			checkNothingWritten(t, m, ring)
		})
	}

	t.Run("caller's own deadline", func(t *testing.T) {
		m, _ := sdkManager(t, stand, map[string]string{"role_arn": "arn:aws:iam::123456789012:role/hang"})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := m.Grant(ctx, grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: time.Hour})
		if err == nil || strings.Contains(err.Error(), "sts_timeout") {
			t.Errorf("err = %v; want the caller's deadline, not sts_timeout", err)
		}
	})
}

// TestBaseCredentialsIgnoreAgentShellFiles: when the agent's shell settings
// reach the server (AWS_CONFIG_FILE = the dedicated file,
// AWS_SHARED_CREDENTIALS_FILE = the empty one), the base credentials still
// come from ~/.aws.
func TestBaseCredentialsIgnoreAgentShellFiles(t *testing.T) {
	stand, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stand.Close()
	home := t.TempDir()
	state := filepath.Join(home, "state")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\naws_access_key_id = AKIABASEFROMFILE0001\naws_secret_access_key = base-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(state, config.AWSConfigName))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(state, config.EmptyCredentialsName))
	cfg, err := config.Load(state, func(string) string { return "" }, map[string]string{"role_arn": "arn:aws:iam::123456789012:role/broker", "sts_endpoint": stand.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := config.SecureHome(state, func(string, fs.FileMode, fs.FileMode) {}); err != nil {
		t.Fatal(err)
	}
	client, err := grant.NewSTS(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &grant.Manager{Config: cfg, STS: client, Keys: keychain.New(keyring.NewArrayKeyring(nil), "array"),
		Profiles: &profiles.File{Path: cfg.AWSConfigFile(), Home: state}, Exe: "/usr/local/bin/timebound-iam", Now: time.Now}
	if _, err := m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: config.MinTTL}); err != nil {
		t.Fatalf("grant with the agent's shell files in the environment: %v", err)
	}
}
