package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
)

// TestContainment lays out a project's agent files and Claude Code's
// settings, and checks what the containment checks make of them.
func TestContainment(t *testing.T) {
	mcp := `{"mcpServers": {"timebound-iam": {"command": "/bin/timebound-iam", "args": ["serve"]}}}`
	// sandboxed is a settings file as setup agent writes it, over extra.
	sandboxed := func(t *testing.T, c *Containment, extra string) string {
		out, _, _, err := agents.MergeClaudeSandbox([]byte(extra), agents.ClaudeSandbox(c.Project, c.Params))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	// codexed is a Codex config as setup agent writes it, over extra.
	codexed := func(t *testing.T, c *Containment, extra string) string {
		out, _, err := agents.MergeCodex([]byte(extra), c.Project, c.Params)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	trusted := func(c *Containment) string {
		return fmt.Sprintf("[projects.%q]\ntrust_level = \"trusted\"\n", c.Project)
	}
	tests := []struct {
		name  string
		files func(t *testing.T, c *Containment) map[string]string // relative to the project; "~/" and "managed" too
		want  []Check
	}{
		{
			name: "no agent",
			files: func(*testing.T, *Containment) map[string]string {
				return map[string]string{".mcp.json": `{"mcpServers": {"other": {}}}`}
			},
			want: []Check{{Name: "containment", Status: OK, Detail: "no agent's MCP config in"}},
		},
		{
			name:  "claude-code without a sandbox",
			files: func(*testing.T, *Containment) map[string]string { return map[string]string{".mcp.json": mcp} },
			want:  []Check{{Name: "containment-claude-code", Status: Fail, Detail: "Claude Code's sandbox is not in place: sandbox.enabled is not true; sandbox.failIfUnavailable is not true; sandbox.allowUnsandboxedCommands is not false; and ", Hint: "run timebound-iam setup agent claude-code --write --project "}},
		},
		{
			name: "claude-code with the sandbox in project settings",
			files: func(t *testing.T, c *Containment) map[string]string {
				return map[string]string{".mcp.json": mcp, ".claude/settings.json": sandboxed(t, c, `{"env": {}}`)}
			},
			want: []Check{{Name: "containment-claude-code", Status: Warn, Detail: "sandbox and denies in place, but only in project or user settings", Hint: "--managed"}},
		},
		{
			name: "settings.local.json turns the sandbox off",
			files: func(t *testing.T, c *Containment) map[string]string {
				return map[string]string{".mcp.json": mcp, ".claude/settings.json": sandboxed(t, c, ""), ".claude/settings.local.json": `{"sandbox": {"enabled": false}}`}
			},
			want: []Check{{Name: "containment-claude-code", Status: Fail, Detail: "Claude Code's sandbox is not in place: sandbox.enabled is not true"}},
		},
		{
			name: "the user's settings add a deny, the project's lack it",
			files: func(t *testing.T, c *Containment) map[string]string {
				s := sandboxed(t, c, "")
				return map[string]string{
					".mcp.json":               mcp,
					".claude/settings.json":   strings.Replace(s, `"Read(/`+filepath.Join(c.Params.Home, ".aws")+`/**)",`, "", 1),
					"~/.claude/settings.json": `{"permissions": {"deny": ["Read(/` + filepath.Join(c.Params.Home, ".aws") + `/**)"]}}`,
				}
			},
			want: []Check{{Name: "containment-claude-code", Status: Warn, Detail: "sandbox and denies in place, but only"}},
		},
		{
			name: "managed settings hold it all and win",
			files: func(t *testing.T, c *Containment) map[string]string {
				return map[string]string{".mcp.json": mcp, "managed": sandboxed(t, c, ""), ".claude/settings.local.json": `{"sandbox": {"enabled": false, "allowUnsandboxedCommands": true}}`}
			},
			want: []Check{{Name: "containment-claude-code", Status: OK, Detail: "sandbox and denies in place, from the managed settings"}},
		},
		{
			name: "codex with the profile setup writes, in a trusted project",
			files: func(t *testing.T, c *Containment) map[string]string {
				return map[string]string{".codex/config.toml": codexed(t, c, ""), "~/.codex/config.toml": trusted(c)}
			},
			want: []Check{{Name: "containment-codex", Status: Warn, Detail: "Codex's permission profile is in place, but only in the project's .codex/config.toml", Hint: "under review"}},
		},
		{
			name: "codex in a project it does not trust",
			files: func(t *testing.T, c *Containment) map[string]string {
				return map[string]string{".codex/config.toml": codexed(t, c, "")}
			},
			want: []Check{{Name: "containment-codex", Status: Warn, Detail: "Codex reads that file only in a trusted project", Hint: `trust_level = "trusted"`}},
		},
		{
			name: "sandbox_mode in the user's config switches the profile off",
			files: func(t *testing.T, c *Containment) map[string]string {
				return map[string]string{".codex/config.toml": codexed(t, c, ""), "~/.codex/config.toml": "sandbox_mode = \"workspace-write\"\n" + trusted(c)}
			},
			want: []Check{{Name: "containment-codex", Status: Fail, Detail: "sets sandbox_mode, which switches permission profiles off", Hint: "remove sandbox_mode"}},
		},
		{
			name: "codex with the server but no profile",
			files: func(t *testing.T, c *Containment) map[string]string {
				return map[string]string{".codex/config.toml": "[mcp_servers.timebound-iam]\ncommand = \"/bin/timebound-iam\"\n", "~/.codex/config.toml": trusted(c)}
			},
			want: []Check{{Name: "containment-codex", Status: Fail, Detail: `Codex's permission profile is not in place: default_permissions is not "timebound-iam"; permissions.timebound-iam.filesystem lacks`, Hint: "setup agent codex --write"}},
		},
		{
			name: "kiro and cursor cannot be contained",
			files: func(*testing.T, *Containment) map[string]string {
				return map[string]string{".kiro/settings/mcp.json": mcp, ".cursor/mcp.json": mcp}
			},
			want: []Check{
				{Name: "containment-kiro", Status: Warn, Detail: "not contained: Kiro's permissions.yaml", Hint: "container or VM"},
				{Name: "containment-cursor", Status: Warn, Detail: "not contained: Cursor's sandbox.json", Hint: "container or VM"},
			},
		},
		{
			name:  "an MCP config that is not JSON",
			files: func(*testing.T, *Containment) map[string]string { return map[string]string{".mcp.json": "{"} },
			want:  []Check{{Name: "containment-claude-code", Status: Fail, Detail: ".mcp.json is not valid JSON", Hint: "fix the file"}},
		},
		{
			name: "settings that are not JSON",
			files: func(*testing.T, *Containment) map[string]string {
				return map[string]string{".mcp.json": mcp, ".claude/settings.local.json": "{,}"}
			},
			want: []Check{{Name: "containment-claude-code", Status: Fail, Detail: "settings.local.json is not valid JSON", Hint: "fix the file"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			c := &Containment{
				Project:     filepath.Join(root, "project"),
				ManagedPath: filepath.Join(root, "etc", "managed-settings.json"),
				Params:      agents.Params{Home: filepath.Join(root, "home"), StateDir: filepath.Join(root, "home", "state")},
			}
			for name, data := range tt.files(t, c) {
				path := filepath.Join(c.Project, name)
				if rest, ok := strings.CutPrefix(name, "~/"); ok {
					path = filepath.Join(c.Params.Home, rest)
				} else if name == "managed" {
					path = c.ManagedPath
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := c.checkContainment()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d checks, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Name != w.Name || g.Status != w.Status || !strings.Contains(g.Detail, w.Detail) || !strings.Contains(g.Hint, w.Hint) {
					t.Errorf("check %d:\n got %+v\nwant %+v (detail and hint as substrings)", i, g, w)
				}
				if g.Status == OK && g.Hint != "" {
					t.Errorf("ok check with a hint: %+v", g)
				}
			}
		})
	}
}

// TestRunContainment: Run appends the containment checks after the others.
func TestRunContainment(t *testing.T) {
	d := &Doctor{ConfigErr: os.ErrNotExist, Containment: &Containment{Project: t.TempDir()}}
	checks := d.Run(t.Context())
	if len(checks) != len(Names)+1 || checks[len(Names)].Name != ContainmentCheck {
		t.Errorf("checks: %+v", checks)
	}
}
