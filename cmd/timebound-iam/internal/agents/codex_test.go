package agents

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func codexParams() Params {
	p := testParams("/home/ana/.config/timebound-iam")
	p.Home = "/home/ana"
	p.StateDir = "/home/ana/.config/timebound-iam"
	return p
}

// TestMergeCodex merges into config files the user wrote, and checks that
// their bytes stay, that the result holds timebound-iam's parts, and that a
// second merge changes nothing.
func TestMergeCodex(t *testing.T) {
	tests := []struct {
		name   string
		config string
		act    Action
		keep   []string // substrings of config that must stay as they were
	}{
		{"empty", "", Added, nil},
		{"no final newline", "model = \"o3\"", Added, []string{"model = \"o3\"\n"}},
		{"tables and comments", "# mine\nmodel = \"o3\" # c\n\n[mcp_servers.gh]\ncommand = \"npx\"\n\n# tail\n[profiles.x]\nmodel = \"o4\"\n",
			Added, []string{"# mine\nmodel = \"o3\" # c\n", "[mcp_servers.gh]\ncommand = \"npx\"\n\n# tail\n[profiles.x]\nmodel = \"o4\"\n"}},
		{"a bracket inside a multi-line string", "instructions = \"\"\"\n[not.a.table]\n\"\"\"\n", Added, []string{"instructions = \"\"\"\n[not.a.table]\n\"\"\"\n"}},
		{"a multi-line array", "[mcp_servers.gh]\nargs = [\n  \"a\",\n  # [x]\n  \"b\",\n]\n", Added, []string{"args = [\n  \"a\",\n  # [x]\n  \"b\",\n]\n"}},
		{"CRLF", "model = \"o3\"\r\n\r\n[tui]\r\nx = 1\r\n", Added, []string{"[tui]\r\nx = 1\r\n"}},
		{"our server with its own keys and an env table", "[mcp_servers.timebound-iam]\ncommand = \"/old\"\nstartup_timeout_sec = 30\n\n[mcp_servers.timebound-iam.env]\nFOO = \"bar\"\n",
			Updated, []string{"startup_timeout_sec = 30\n", "FOO = \"bar\""}},
		{"the user's shell policy", "[shell_environment_policy]\ninherit = \"core\"\nexclude = [\"GH_TOKEN\"]\n\n[shell_environment_policy.set]\nEDITOR = \"vi\"\n",
			Added, []string{"inherit = \"core\"\n", "\"GH_TOKEN\", \"AWS_ACCESS_KEY_ID\"", "EDITOR = \"vi\""}},
		{"another profile picked", "default_permissions = \"mine\"\n[permissions.mine]\nextends = \":read-only\"\n", Added, []string{"[permissions.mine]\nextends = \":read-only\"\n"}},
	}
	p := codexParams()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, act, err := MergeCodex([]byte(tt.config), "/src/app", p)
			if err != nil {
				t.Fatal(err)
			}
			if act != tt.act {
				t.Errorf("action %s, want %s", act, tt.act)
			}
			for _, k := range tt.keep {
				if !strings.Contains(string(out), k) {
					t.Errorf("lost %q:\n%s", k, out)
				}
			}
			d, err := parseTOML(out)
			if err != nil {
				t.Fatalf("merged config is not TOML: %v\n%s", err, out)
			}
			if !codexHas(d, codexWant{Entry(p), CodexFilesystem("/src/app", p), ShellEnv(p)}) {
				t.Errorf("merged config lacks timebound-iam's parts:\n%s", out)
			}
			again, act, err := MergeCodex(out, "/src/app", p)
			if err != nil || act != Unchanged || string(again) != string(out) {
				t.Errorf("second merge: %s, %v\n%s", act, err, again)
			}
		})
	}
}

func TestMergeCodexRefuses(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"not TOML", "a = 1\n[b\n", "line 2"},
		{"a duplicate key", "a = 1\na = 2\n", "line 2"},
		{"sandbox_mode", "model = \"o3\"\nsandbox_mode = \"workspace-write\"\n", "line 2: sandbox_mode switches off"},
		{"our server as a dotted key", "mcp_servers.timebound-iam.command = \"/x\"\n", "form setup agent cannot edit"},
		{"our server as an inline table", "mcp_servers = { timebound-iam = { command = \"/x\" } }\n", "form setup agent cannot edit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := MergeCodex([]byte(tt.config), "/src/app", codexParams())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one with %q; out:\n%s", err, tt.want, out)
			}
		})
	}
	_, _, err := MergeCodex([]byte("[x\n"), "/src/app", codexParams())
	var se *TOMLSyntaxError
	if !errors.As(err, &se) || se.Line != 1 {
		t.Errorf("err = %#v, want a *TOMLSyntaxError at line 1", err)
	}
}

func TestCodexFilesystem(t *testing.T) {
	p := codexParams()
	p.ServerEnv["AWS_SHARED_CREDENTIALS_FILE"] = "/secrets/aws-credentials"
	got := CodexFilesystem("/src/app", p)
	want := map[string]string{
		"/home/ana/.aws":                          "none",
		"/secrets/aws-credentials":                "none",
		"/home/ana/.config/timebound-iam/keyring": "none",
		"/home/ana/.config/timebound-iam":         "read",
		"/src/app/.codex":                         "read",
		"/home/ana/.codex":                        "read",
		"/src/app/AGENTS.md":                      "read",
	}
	for path, access := range want {
		if got[filepath.FromSlash(path)] != access {
			t.Errorf("%s = %q, want %q", path, got[path], access)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d paths, want %d: %v", len(got), len(want), got)
	}
}

func TestMergeGemini(t *testing.T) {
	tests := []struct {
		name, settings string
		act            Action
		sandbox        string
	}{
		{"empty", "", Added, `"sandbox": true`},
		{"sandbox off", `{"tools": {"sandbox": false}}`, Added, `"sandbox": true`},
		{"a runtime named", `{"tools": {"sandbox": "podman"}}`, Added, `"sandbox": "podman"`},
	}
	p := codexParams()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, act, err := MergeGemini([]byte(tt.settings), p)
			if err != nil {
				t.Fatal(err)
			}
			if act != tt.act || !strings.Contains(string(out), tt.sandbox) || !strings.Contains(string(out), `"timebound-iam"`) {
				t.Errorf("%s:\n%s", act, out)
			}
			if _, act, _ := MergeGemini(out, p); act != Unchanged {
				t.Errorf("second merge: %s", act)
			}
		})
	}
}

func TestContained(t *testing.T) {
	for _, tt := range []struct {
		agent     string
		contained bool
	}{{"codex", true}, {"gemini", false}} {
		a, _ := Lookup(tt.agent)
		if a.Contained != tt.contained || a.ContainedReason == "" {
			t.Errorf("%s: Contained %v (%q), want %v with a reason", tt.agent, a.Contained, a.ContainedReason, tt.contained)
		}
	}
}
