package agents

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClaudeSandbox(t *testing.T) {
	base := Params{Home: "/home/ana", StateDir: "/home/ana/.config/timebound-iam"}
	withEnv := func(p Params, env map[string]string) Params {
		p.ServerEnv = env
		return p
	}
	tests := []struct {
		name        string
		p           Params
		wantRead    []string
		wantDomains []string
	}{
		{
			name:        "default AWS files",
			p:           withEnv(base, map[string]string{"AWS_CONFIG_FILE": "/home/ana/.aws/config", "AWS_SHARED_CREDENTIALS_FILE": "/home/ana/.aws/credentials"}),
			wantRead:    []string{"/home/ana/.aws", "/home/ana/.config/timebound-iam/keyring"},
			wantDomains: []string{"*.amazonaws.com"},
		},
		{
			name: "AWS files outside ~/.aws",
			p: withEnv(base, map[string]string{
				"AWS_CONFIG_FILE":             "~/secrets/aws-config",
				"AWS_SHARED_CREDENTIALS_FILE": "/srv/creds/../creds/aws",
			}),
			wantRead:    []string{"/home/ana/.aws", "/srv/creds/aws", "/home/ana/secrets/aws-config", "/home/ana/.config/timebound-iam/keyring"},
			wantDomains: []string{"*.amazonaws.com"},
		},
		{
			name: "MinIO as the STS",
			p: func() Params {
				p := base
				p.STSEndpoint = "http://127.0.0.1:9000"
				return p
			}(),
			wantRead:    []string{"/home/ana/.aws", "/home/ana/.config/timebound-iam/keyring"},
			wantDomains: []string{"*.amazonaws.com", "127.0.0.1"},
		},
		{
			name: "a VPC endpoint is AWS",
			p: func() Params {
				p := base
				p.STSEndpoint = "https://vpce-0abc.sts.us-east-1.vpce.amazonaws.com"
				return p
			}(),
			wantRead:    []string{"/home/ana/.aws", "/home/ana/.config/timebound-iam/keyring"},
			wantDomains: []string{"*.amazonaws.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ClaudeSandbox("/src/app", tt.p)
			if diff := cmp.Diff(tt.wantRead, s.DenyRead); diff != "" {
				t.Errorf("DenyRead (-want +got):\n%s", diff)
			}
			wantWrite := []string{"/home/ana/.config/timebound-iam", "/src/app/.claude", "/src/app/.mcp.json", "/src/app/CLAUDE.md", "/home/ana/.claude", "/home/ana/.claude.json"}
			if diff := cmp.Diff(wantWrite, s.DenyWrite); diff != "" {
				t.Errorf("DenyWrite (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDomains, s.AllowedDomains); diff != "" {
				t.Errorf("AllowedDomains (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(CredentialEnvVars, s.EnvVars); diff != "" {
				t.Errorf("EnvVars (-want +got):\n%s", diff)
			}
			if len(s.Deny) != len(s.DenyRead)+2*len(s.DenyWrite) {
				t.Errorf("Deny has %d rules for %d read and %d write paths", len(s.Deny), len(s.DenyRead), len(s.DenyWrite))
			}
			for _, want := range []string{"Read(//home/ana/.aws/**)", "Edit(//src/app/.mcp.json)", "Write(//src/app/.mcp.json)", "Edit(//home/ana/.claude/**)", "Write(//home/ana/.config/timebound-iam/**)"} {
				if !strings.Contains(strings.Join(s.Deny, "\n"), want) {
					t.Errorf("Deny lacks %s: %q", want, s.Deny)
				}
			}
		})
	}
}

// TestMergeClaudeSandbox checks the merge keeps the user's entries and
// bytes, adds ours once, and overwrites what contradicts ours.
func TestClaudeSandboxProjectIsHome(t *testing.T) {
	s := ClaudeSandbox("/home/ana", Params{Home: "/home/ana", StateDir: "/home/ana/state"})
	want := []string{"/home/ana/state", "/home/ana/.claude", "/home/ana/.mcp.json", "/home/ana/CLAUDE.md", "/home/ana/.claude.json"}
	if diff := cmp.Diff(want, s.DenyWrite); diff != "" {
		t.Errorf("DenyWrite (-want +got):\n%s", diff)
	}
}

func TestMergeClaudeSandbox(t *testing.T) {
	s := Sandbox{
		DenyRead:       []string{"/h/.aws"},
		DenyWrite:      []string{"/h/state"},
		EnvVars:        []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID"},
		AllowedDomains: []string{"*.amazonaws.com"},
		Deny:           []string{"Read(//h/.aws/**)"},
	}
	tests := []struct {
		name       string
		in, want   string
		action     Action
		overridden []Override
	}{
		{
			name:   "empty",
			in:     "",
			action: Added,
			want: `{
  "sandbox": {
    "enabled": true,
    "failIfUnavailable": true,
    "allowUnsandboxedCommands": false,
    "filesystem": {
      "denyRead": [
        "/h/.aws"
      ],
      "denyWrite": [
        "/h/state"
      ]
    },
    "network": {
      "allowedDomains": [
        "*.amazonaws.com"
      ]
    },
    "credentials": {
      "envVars": [
        {
          "name": "AWS_PROFILE",
          "mode": "deny"
        },
        {
          "name": "AWS_ACCESS_KEY_ID",
          "mode": "deny"
        }
      ]
    }
  },
  "permissions": {
    "deny": [
      "Read(//h/.aws/**)"
    ]
  }
}
`,
		},
		{
			name: "the user's entries stay, ours join once, contradictions are overwritten",
			in: `{
  "model": "opus",
  "sandbox": {
    "enabled": false,
    "allowUnsandboxedCommands": true,
    "failIfUnavailable": true,
    "filesystem": {"denyRead": ["~/.ssh", "/h/.aws"], "denyWrite": []},
    "credentials": {"envVars": [{"name": "AWS_PROFILE", "mode": "mask"}, {"name": "GH_TOKEN", "mode": "deny"}]}
  },
  "permissions": {"allow": ["Bash(make *)"], "deny": ["Read(./.env)"]}
}
`,
			action: Updated,
			overridden: []Override{
				{Key: "sandbox.enabled", Was: "false", Now: "true"},
				{Key: "sandbox.allowUnsandboxedCommands", Was: "true", Now: "false"},
				{Key: "sandbox.credentials.envVars[AWS_PROFILE]", Was: `{"name": "AWS_PROFILE", "mode": "mask"}`, Now: `{"name":"AWS_PROFILE","mode":"deny"}`},
			},
			want: `{
  "model": "opus",
  "sandbox": {
    "enabled": true,
    "allowUnsandboxedCommands": false,
    "failIfUnavailable": true,
    "filesystem": {"denyRead": ["~/.ssh", "/h/.aws"], "denyWrite": [
        "/h/state"
      ]},
    "credentials": {"envVars": [{"name":"AWS_PROFILE","mode":"deny"}, {"name": "GH_TOKEN", "mode": "deny"}, {"name":"AWS_ACCESS_KEY_ID","mode":"deny"}]},
    "network": {
      "allowedDomains": [
        "*.amazonaws.com"
      ]
    }
  },
  "permissions": {"allow": ["Bash(make *)"], "deny": ["Read(./.env)", "Read(//h/.aws/**)"]}
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, act, over, err := MergeClaudeSandbox([]byte(tt.in), s)
			if err != nil {
				t.Fatal(err)
			}
			if act != tt.action {
				t.Errorf("action %s, want %s", act, tt.action)
			}
			if diff := cmp.Diff(tt.want, string(out)); diff != "" {
				t.Errorf("merged (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.overridden, over); diff != "" {
				t.Errorf("overrides (-want +got):\n%s", diff)
			}
			if !json.Valid(out) {
				t.Fatalf("not JSON:\n%s", out)
			}
			again, act, over, err := MergeClaudeSandbox(out, s)
			if err != nil || act != Unchanged || len(over) != 0 || string(again) != string(out) {
				t.Errorf("second merge: %s, %v, %v", act, over, err)
			}
		})
	}
}

func TestMergeClaudeSandboxRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", "{\n  \"sandbox\": {,\n}", "line 2, column 15"},
		{"sandbox is a string", `{"sandbox": "on"}`, `"sandbox" is a string, not an object`},
		{"denyRead is a string", `{"sandbox": {"filesystem": {"denyRead": "~/.aws"}}}`, `"sandbox.filesystem.denyRead" is a string, not an array`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := MergeClaudeSandbox([]byte(tt.in), Sandbox{DenyRead: []string{"/x"}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestPlanManaged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "managed-settings.json")
	s := ClaudeSandbox("/src/app", testParams("/home/ana/.config/timebound-iam"))

	c, err := PlanManaged(path, s, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindManaged || c.Action != Added || strings.Contains(string(c.Content), `"env"`) {
		t.Errorf("plan: %s %s\n%s", c.Kind, c.Action, c.Content)
	}
	if err := os.WriteFile(path, []byte(`{"sandbox": {"enabled": false}, "permissions": {"deny": ["Bash(curl *)"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = PlanManaged(path, s, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Updated || len(c.Overrides) != 1 || c.Overrides[0].Key != "sandbox.enabled" || !strings.Contains(string(c.Content), `"Bash(curl *)"`) {
		t.Errorf("plan over the admin's file: %s %v\n%s", c.Action, c.Overrides, c.Content)
	}

	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = PlanManaged(path, s, os.ReadFile)
	var fe *FileError
	var se *SyntaxError
	if !errors.As(err, &fe) || fe.Path != path || !errors.As(err, &se) {
		t.Errorf("invalid JSON: %v", err)
	}
}

func TestManagedSettingsPath(t *testing.T) {
	for goos, want := range map[string]string{
		"linux":   "/etc/claude-code/managed-settings.json",
		"darwin":  "/Library/Application Support/ClaudeCode/managed-settings.json",
		"openbsd": "",
	} {
		t.Run(goos, func(t *testing.T) {
			if got := ManagedSettingsPath(goos); got != want {
				t.Errorf("ManagedSettingsPath(%s) = %q, want %q", goos, got, want)
			}
		})
	}
}
