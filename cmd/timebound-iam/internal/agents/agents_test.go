package agents

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testParams(state string) Params {
	p := Params{
		Exe:              "/usr/local/bin/timebound-iam",
		AWSConfigFile:    filepath.Join(state, "aws-config"),
		EmptyCredentials: filepath.Join(state, EmptyCredentialsName),
		Home:             "/home/ana",
		StateDir:         state,
	}
	p.ServerEnv = ServerEnv(func(string) string { return "" }, p.Home, p)
	return p
}

func TestLookup(t *testing.T) {
	if diff := cmp.Diff([]string{"kiro", "claude-code", "cursor", "vscode", "generic", "codex", "gemini"}, Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	if _, ok := Lookup("windsurf"); ok {
		t.Error("Lookup(windsurf) found an agent")
	}
}

type planned struct {
	Rel    string
	Kind   Kind
	Action Action
}

// TestPlanAndWrite writes each agent's files into an empty project, checks
// what they hold, and that a second run finds nothing to change.
func TestPlanAndWrite(t *testing.T) {
	tests := []struct {
		agent string
		want  []planned
	}{
		{"claude-code", []planned{{".mcp.json", KindMCP, Added}, {"CLAUDE.md", KindRules, Added}, {".claude/settings.json", KindSettings, Added}, {"state/empty-credentials", KindCredentials, Added}}},
		{"cursor", []planned{{".cursor/mcp.json", KindMCP, Added}, {".cursor/rules/timebound-iam.mdc", KindRules, Added}, {"state/empty-credentials", KindCredentials, Added}}},
		{"kiro", []planned{{".kiro/settings/mcp.json", KindMCP, Added}, {".kiro/steering/timebound-iam.md", KindRules, Added}, {"state/empty-credentials", KindCredentials, Added}}},
		{"generic", []planned{{"AGENTS.md", KindRules, Added}, {"state/empty-credentials", KindCredentials, Added}}},
	}
	for _, tt := range tests {
		t.Run(tt.agent, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			if err := os.Mkdir(state, 0o700); err != nil {
				t.Fatal(err)
			}
			a, _ := Lookup(tt.agent)
			p := testParams(state)
			changes, err := Plan(a, dir, p, os.ReadFile)
			if err != nil {
				t.Fatal(err)
			}
			var got []planned
			for _, c := range changes {
				rel, _ := filepath.Rel(dir, c.Path)
				got = append(got, planned{filepath.ToSlash(rel), c.Kind, c.Action})
				if err := Write(c); err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(c.Path)
				if err != nil || string(data) != string(c.Content) {
					t.Errorf("%s holds %q, %v; want %q", rel, data, err, c.Content)
				}
				fi, _ := os.Stat(c.Path)
				want := os.FileMode(0o644)
				if c.Private {
					want = 0o600
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s: mode %v, want %v", rel, fi.Mode().Perm(), want)
				}
				switch c.Kind {
				case KindMCP, KindSettings:
					if !json.Valid(data) {
						t.Errorf("%s is not JSON:\n%s", rel, data)
					}
				case KindRules:
					if !strings.Contains(string(data), Rules) {
						t.Errorf("%s lacks the rules:\n%s", rel, data)
					}
				case KindCredentials:
					if len(data) != 0 {
						t.Errorf("%s is not empty", rel)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			again, err := Plan(a, dir, p, os.ReadFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range again {
				if c.Action != Unchanged {
					t.Errorf("second run: %s %s", c.Action, c.Path)
				}
			}
		})
	}
}

func TestRulesFileFrontMatter(t *testing.T) {
	cursor, _ := Lookup("cursor")
	if !strings.HasPrefix(cursor.rules, "---\ndescription: ") || !strings.Contains(cursor.rules, "\nalwaysApply: true\n---\n") {
		t.Errorf("cursor rule front matter:\n%s", cursor.rules)
	}
	kiro, _ := Lookup("kiro")
	if !strings.HasPrefix(kiro.rules, "---\ninclusion: always\n---\n") {
		t.Errorf("kiro steering front matter:\n%s", kiro.rules)
	}
	for _, must := range []string{"grant_access", "AWS_CONFIG_FILE=<config_file> aws --profile tb-<id>", "AWS_PROFILE", "AccessDenied", "revoke_access"} {
		if !strings.Contains(Rules, must) {
			t.Errorf("Rules lack %q", must)
		}
	}
}

func TestWriteKeepsModeAndLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "mcp.json")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte(`{"mcpServers": {}}`), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, ".mcp.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(Change{Path: link, Action: Updated, Content: []byte("{}\n")}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link replaced: %v, %v", fi.Mode(), err)
	}
	fi, err := os.Stat(target)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("target mode %v, %v; want 0640", fi.Mode().Perm(), err)
	}
	if data, _ := os.ReadFile(target); string(data) != "{}\n" {
		t.Errorf("target holds %q", data)
	}

	// An unchanged file is not rewritten.
	if err := os.Chmod(target, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := Write(Change{Path: link, Action: Unchanged, Content: []byte("other")}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(target); string(data) != "{}\n" {
		t.Errorf("unchanged file rewritten: %q", data)
	}
}

func TestPlanRefusesInvalidJSON(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".mcp.json"), []byte("{\n  \"mcpServers\": {,}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, _ := Lookup("claude-code")
	_, err := Plan(a, dir, testParams(filepath.Join(dir, "state")), os.ReadFile)
	want := filepath.Join(dir, ".mcp.json") + ": line 2, column 18: invalid character ',' looking for beginning of object key string"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestPlanKeepsUserText(t *testing.T) {
	dir := t.TempDir()
	user := "# Notes\r\n\r\nKeep this.  \r\n"
	if err := os.WriteFile(filepath.Join(dir, "AGENTS.md"), []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	a, _ := Lookup("generic")
	changes, err := Plan(a, dir, testParams(filepath.Join(dir, "state")), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(changes[0].Content); !strings.HasPrefix(got, user+"\r\n"+BeginMarker+"\r\n") {
		t.Errorf("AGENTS.md:\n%q", got)
	}
}

func TestServerEnv(t *testing.T) {
	p := Params{AWSConfigFile: "/s/aws-config", EmptyCredentials: "/s/empty-credentials"}
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{
			name: "AWS defaults",
			want: map[string]string{"AWS_CONFIG_FILE": "/home/ana/.aws/config", "AWS_SHARED_CREDENTIALS_FILE": "/home/ana/.aws/credentials", "AWS_EC2_METADATA_DISABLED": "false"},
		},
		{
			name: "the shell already points at ours",
			env:  map[string]string{"AWS_CONFIG_FILE": "/s/aws-config", "AWS_SHARED_CREDENTIALS_FILE": "/s//empty-credentials", "AWS_EC2_METADATA_DISABLED": "true"},
			want: map[string]string{"AWS_CONFIG_FILE": "/home/ana/.aws/config", "AWS_SHARED_CREDENTIALS_FILE": "/home/ana/.aws/credentials", "AWS_EC2_METADATA_DISABLED": "false"},
		},
		{
			name: "the user's own files",
			env:  map[string]string{"AWS_CONFIG_FILE": "/work/aws/config", "AWS_SHARED_CREDENTIALS_FILE": "~/creds"},
			want: map[string]string{"AWS_CONFIG_FILE": "/work/aws/config", "AWS_SHARED_CREDENTIALS_FILE": "~/creds", "AWS_EC2_METADATA_DISABLED": "false"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ServerEnv(func(k string) string { return tt.env[k] }, "/home/ana", p)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ServerEnv (-want +got):\n%s", diff)
			}
		})
	}
}
