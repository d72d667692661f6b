package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
	"github.com/urfave/cli/v2"
)

// runSetupAgent runs `timebound-iam setup agent args...` through an app that
// holds only that command, wired like run's.
func runSetupAgent(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{
		Name:           "timebound-iam",
		Writer:         &out,
		ErrWriter:      &errb,
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError,
		Commands: []*cli.Command{{
			Name:        "setup",
			Subcommands: []*cli.Command{setupAgentCommand()},
		}},
	}
	if err := app.Run(append([]string{"timebound-iam", "setup", "agent"}, args...)); err != nil {
		code = report(&errb, err)
	}
	return out.String(), errb.String(), code
}

func setupAgentEnv(t *testing.T) (project, state string) {
	t.Helper()
	project, state = t.TempDir(), privateTempDir(t)
	t.Setenv("TIMEBOUND_IAM_HOME", state)
	t.Setenv("HOME", project)
	t.Setenv("AWS_CONFIG_FILE", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
	return project, state
}

// TestSetupAgentWrite merges Claude Code's files into a project that has
// another server and the user's own CLAUDE.md, then checks that a second run,
// with the flags after the agent, changes nothing.
func TestSetupAgentWrite(t *testing.T) {
	project, state := setupAgentEnv(t)
	claude, _ := agents.Lookup("claude-code")
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(project, name), []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write(".mcp.json", `{"mcpServers": {"other": {"command": "x", "args": []}}, "extra": [1, 2.50]}`)
	write("CLAUDE.md", "# Mine\n\nKeep me.")

	stdout, stderr, code := runSetupAgent(t, "--write", "--project", project, "claude-code")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	want := "added      .mcp.json\nadded      CLAUDE.md\nadded      .claude/settings.json\nadded      " + filepath.Join(state, agents.EmptyCredentialsName) + "\n" +
		"# contained: " + claude.ContainedReason + "\n"
	if stdout != want || stderr != "" {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", stdout, want, stderr)
	}

	exe, err := selfPath()
	if err != nil {
		t.Fatal(err)
	}
	var mcp struct {
		MCPServers map[string]agents.Server `json:"mcpServers"`
		Extra      []json.Number            `json:"extra"`
	}
	data, _ := os.ReadFile(filepath.Join(project, ".mcp.json"))
	if err := json.Unmarshal(data, &mcp); err != nil {
		t.Fatal(err)
	}
	s := mcp.MCPServers["timebound-iam"]
	if s.Command != exe || strings.Join(s.Args, " ") != "serve --home "+state || mcp.MCPServers["other"].Command != "x" || len(mcp.Extra) != 2 {
		t.Errorf(".mcp.json:\n%s", data)
	}
	if got := s.Env["AWS_CONFIG_FILE"]; got != filepath.Join(project, ".aws", "config") {
		t.Errorf("server AWS_CONFIG_FILE = %q, want the user's own", got)
	}
	if !strings.HasPrefix(string(data), `{"mcpServers": {"other": {"command": "x", "args": []},`) {
		t.Errorf("other server reformatted:\n%s", data)
	}
	if fi, _ := os.Stat(filepath.Join(project, ".mcp.json")); fi.Mode().Perm() != 0o640 {
		t.Errorf(".mcp.json mode %v, want 0640 kept", fi.Mode().Perm())
	}
	md, _ := os.ReadFile(filepath.Join(project, "CLAUDE.md"))
	if !strings.HasPrefix(string(md), "# Mine\n\nKeep me.\n\n"+agents.BeginMarker+"\n") {
		t.Errorf("CLAUDE.md:\n%s", md)
	}
	var settings struct {
		Env     map[string]string
		Sandbox struct {
			Enabled, FailIfUnavailable, AllowUnsandboxedCommands bool
			Filesystem                                           struct{ DenyRead, DenyWrite []string }
		}
		Permissions struct{ Deny []string }
	}
	data, _ = os.ReadFile(filepath.Join(project, ".claude", "settings.json"))
	if err := json.Unmarshal(data, &settings); err != nil {
		t.Fatal(err)
	}
	if settings.Env["AWS_CONFIG_FILE"] != filepath.Join(state, "aws-config") || settings.Env["AWS_EC2_METADATA_DISABLED"] != "true" {
		t.Errorf("settings.json:\n%s", data)
	}
	sb := settings.Sandbox
	if !sb.Enabled || !sb.FailIfUnavailable || sb.AllowUnsandboxedCommands ||
		!slices.Contains(sb.Filesystem.DenyRead, filepath.Join(project, ".aws")) ||
		!slices.Contains(sb.Filesystem.DenyWrite, state) ||
		!slices.Contains(settings.Permissions.Deny, "Read(/"+filepath.Join(project, ".aws")+"/**)") {
		t.Errorf("settings.json sandbox:\n%s", data)
	}

	stdout, stderr, code = runSetupAgent(t, "claude-code", "--project", project, "--write")
	if code != 0 || strings.Count(stdout, "unchanged  ") != 4 {
		t.Errorf("second run: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestSetupAgentErrors(t *testing.T) {
	project, _ := setupAgentEnv(t)
	if err := os.WriteFile(filepath.Join(project, ".mcp.json"), []byte("{\n  \"mcpServers\": [\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"windsurf"}, "timebound-iam: error: unknown agent \"windsurf\"\ntimebound-iam: hint: use one of kiro, claude-code, cursor, vscode, generic, codex, gemini\n"},
		{nil, "timebound-iam: error: no agent named\n"},
		{[]string{"claude-code", "--project", project}, "timebound-iam: error: " + filepath.Join(project, ".mcp.json") + " is not valid JSON: line 3, column 1: invalid character '}' looking for beginning of value\ntimebound-iam: hint: fix the file at line 3, or move it aside; nothing was written\n"},
		{[]string{"cursor", "--bogus"}, "timebound-iam: error: flag provided but not defined: -bogus\n"},
		{[]string{"kiro", "--managed"}, "timebound-iam: error: --managed is for claude-code only: Kiro's permissions.yaml has no confirmed rule"},
		{[]string{"claude-code", "--managed", "--write"}, "timebound-iam: error: --write and --managed go in separate runs\ntimebound-iam: hint: run --write as yourself"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, code := runSetupAgent(t, tt.args...)
			if code != 1 || stdout != "" || !strings.HasPrefix(stderr, tt.stderr) {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant stderr starting:\n%s", code, stdout, stderr, tt.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(project, "CLAUDE.md")); !os.IsNotExist(err) {
		t.Errorf("CLAUDE.md written after an error: %v", err)
	}
}

// TestSetupAgentBrokenSettings: settings that are not JSON stop the run
// before any file is written, the MCP config before them included.
func TestSetupAgentBrokenSettings(t *testing.T) {
	project, _ := setupAgentEnv(t)
	if err := os.Mkdir(filepath.Join(project, ".claude"), 0o755); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(project, ".claude", "settings.json")
	if err := os.WriteFile(settings, []byte(`{"sandbox": {"enabled": tru}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runSetupAgent(t, "claude-code", "--write", "--project", project)
	want := "timebound-iam: error: " + settings + " is not valid JSON: line 1, column 28"
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "nothing was written") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant stderr starting:\n%s", code, stdout, stderr, want)
	}
	for _, name := range []string{".mcp.json", "CLAUDE.md"} {
		if _, err := os.Stat(filepath.Join(project, name)); !os.IsNotExist(err) {
			t.Errorf("%s written after an error: %v", name, err)
		}
	}
}
