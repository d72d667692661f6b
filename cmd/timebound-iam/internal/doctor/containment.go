package doctor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
)

// ContainmentCheck is the name of the containment check of a project no
// agent in which uses timebound-iam; each agent that does gets its own,
// named ContainmentCheck + "-" + the agent's name.
const ContainmentCheck = "containment"

// Containment is what the containment checks inspect: the agents configured
// in one project, and Claude Code's settings.
type Containment struct {
	// Project is the project directory.
	Project string
	// Params are the paths the agents' files point at; the required sandbox
	// comes from [agents.ClaudeSandbox] with them, as setup agent writes it.
	Params agents.Params
	// ManagedPath is Claude Code's managed settings file; empty when the
	// platform has none.
	ManagedPath string
	// ReadFile reads a file; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

func (c *Containment) read(path string) ([]byte, error) {
	if c.ReadFile == nil {
		return os.ReadFile(path)
	}
	return c.ReadFile(path)
}

// checkContainment returns one check per agent whose MCP config in the
// project names the timebound-iam server, or one saying there is none.
func (c *Containment) checkContainment() []Check {
	var checks []Check
	for _, name := range agents.Names() {
		a, _ := agents.Lookup(name)
		if a.MCPFile == "" {
			continue // where a generic agent keeps its servers is unknown
		}
		check := ContainmentCheck + "-" + a.Name
		path := filepath.Join(c.Project, filepath.FromSlash(a.MCPFile))
		on, err := c.usesServer(path)
		switch {
		case err != nil:
			checks = append(checks, fail(check, err.Error(), "fix the file, or move it aside, then run timebound-iam setup agent "+a.Name+" --write"))
		case !on:
		case !a.Contained:
			checks = append(checks, warn(check, "not contained: "+a.ContainedReason,
				"run the agent in a container or VM without your AWS credentials, or use an agent timebound-iam can contain (claude-code)"))
		case !a.ClaudeSandbox():
			checks = append(checks, c.checkCodex(check, a))
		default:
			checks = append(checks, c.checkClaude(check, a))
		}
	}
	if len(checks) == 0 {
		return []Check{ok(ContainmentCheck, fmt.Sprintf("no agent's MCP config in %s names the %s server", c.Project, agents.ServerName))}
	}
	return checks
}

// usesServer reports whether the MCP config at path names timebound-iam's
// server.
func (c *Containment) usesServer(path string) (bool, error) {
	data, err := c.read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if strings.HasSuffix(path, ".toml") {
		// Codex: the server's own table.
		return bytes.Contains(data, []byte("[mcp_servers."+agents.ServerName+"]")), nil
	}
	// "servers" is VS Code's; the rest say "mcpServers".
	var cfg struct {
		MCPServers map[string]json.RawMessage `json:"mcpServers"`
		Servers    map[string]json.RawMessage `json:"servers"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return false, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	_, ok := cfg.MCPServers[agents.ServerName]
	_, vscode := cfg.Servers[agents.ServerName]
	return ok || vscode, nil
}

// claudeSettings is the part of Claude Code's settings the check reads.
type claudeSettings struct {
	Sandbox struct {
		Enabled                  *bool `json:"enabled"`
		FailIfUnavailable        *bool `json:"failIfUnavailable"`
		AllowUnsandboxedCommands *bool `json:"allowUnsandboxedCommands"`
		Filesystem               struct {
			DenyRead  []string `json:"denyRead"`
			DenyWrite []string `json:"denyWrite"`
		} `json:"filesystem"`
		Credentials struct {
			EnvVars []struct {
				Name string `json:"name"`
				Mode string `json:"mode"`
			} `json:"envVars"`
		} `json:"credentials"`
	} `json:"sandbox"`
	Permissions struct {
		Deny []string `json:"deny"`
	} `json:"permissions"`
}

// merge lays s over c: a later file's scalar wins, lists are joined.
func (c *claudeSettings) merge(s claudeSettings) {
	for _, p := range []struct{ to, from **bool }{
		{&c.Sandbox.Enabled, &s.Sandbox.Enabled},
		{&c.Sandbox.FailIfUnavailable, &s.Sandbox.FailIfUnavailable},
		{&c.Sandbox.AllowUnsandboxedCommands, &s.Sandbox.AllowUnsandboxedCommands},
	} {
		if *p.from != nil {
			*p.to = *p.from
		}
	}
	c.Sandbox.Filesystem.DenyRead = append(c.Sandbox.Filesystem.DenyRead, s.Sandbox.Filesystem.DenyRead...)
	c.Sandbox.Filesystem.DenyWrite = append(c.Sandbox.Filesystem.DenyWrite, s.Sandbox.Filesystem.DenyWrite...)
	c.Sandbox.Credentials.EnvVars = append(c.Sandbox.Credentials.EnvVars, s.Sandbox.Credentials.EnvVars...)
	c.Permissions.Deny = append(c.Permissions.Deny, s.Permissions.Deny...)
}

// missing lists what c lacks of the sandbox want.
func (c claudeSettings) missing(want agents.Sandbox) []string {
	var out []string
	for _, b := range []struct {
		key  string
		have *bool
		want bool
	}{
		{"sandbox.enabled", c.Sandbox.Enabled, true},
		{"sandbox.failIfUnavailable", c.Sandbox.FailIfUnavailable, true},
		{"sandbox.allowUnsandboxedCommands", c.Sandbox.AllowUnsandboxedCommands, false},
	} {
		if b.have == nil || *b.have != b.want {
			out = append(out, fmt.Sprintf("%s is not %t", b.key, b.want))
		}
	}
	lack := func(key string, have, want []string) {
		for _, w := range want {
			if !slices.Contains(have, w) {
				out = append(out, fmt.Sprintf("%s lacks %s", key, w))
			}
		}
	}
	lack("sandbox.filesystem.denyRead", c.Sandbox.Filesystem.DenyRead, want.DenyRead)
	lack("sandbox.filesystem.denyWrite", c.Sandbox.Filesystem.DenyWrite, want.DenyWrite)
	var denied []string
	for _, e := range c.Sandbox.Credentials.EnvVars {
		if e.Mode == "deny" {
			denied = append(denied, e.Name)
		}
	}
	lack("sandbox.credentials.envVars (mode deny)", denied, want.EnvVars)
	lack("permissions.deny", c.Permissions.Deny, want.Deny)
	return out
}

// checkClaude checks Claude Code's effective sandbox in the project against
// the one setup agent writes.
func (c *Containment) checkClaude(check string, a agents.Agent) Check {
	want := agents.ClaudeSandbox(c.Project, c.Params)
	fix := fmt.Sprintf("run timebound-iam setup agent claude-code --write --project %s", c.Project)
	load := func(path string) (claudeSettings, bool, error) {
		var s claudeSettings
		data, err := c.read(path)
		if errors.Is(err, fs.ErrNotExist) {
			return s, false, nil
		}
		if err != nil {
			return s, false, err
		}
		if err := json.Unmarshal(data, &s); err != nil {
			return s, false, fmt.Errorf("%s is not valid JSON: %w", path, err)
		}
		return s, true, nil
	}
	// Claude Code's order, lowest first; managed settings win over all.
	var eff claudeSettings
	for _, path := range []string{
		filepath.Join(c.Params.Home, ".claude", "settings.json"),
		filepath.Join(c.Project, filepath.FromSlash(a.SettingsFile)),
		filepath.Join(c.Project, ".claude", "settings.local.json"),
	} {
		s, _, err := load(path)
		if err != nil {
			return fail(check, err.Error(), "fix the file, or move it aside, then "+fix)
		}
		eff.merge(s)
	}
	var managed claudeSettings
	hasManaged := false
	if c.ManagedPath != "" {
		var err error
		if managed, hasManaged, err = load(c.ManagedPath); err != nil {
			return fail(check, err.Error(), "fix the managed settings as root, then "+fix)
		}
		eff.merge(managed)
	}
	if miss := eff.missing(want); len(miss) > 0 {
		detail := fmt.Sprintf("Claude Code's sandbox is not in place: %s", strings.Join(miss[:min(3, len(miss))], "; "))
		if len(miss) > 3 {
			detail += fmt.Sprintf("; and %d more", len(miss)-3)
		}
		return fail(check, detail, fix)
	}
	if hasManaged && len(managed.missing(want)) == 0 {
		return ok(check, fmt.Sprintf("sandbox and denies in place, from the managed settings %s, which the agent cannot edit", c.ManagedPath))
	}
	hint := "put them in Claude Code's managed settings, which no project or user setting overrides: " +
		fmt.Sprintf("sudo HOME=%s timebound-iam setup agent claude-code --managed --project %s", c.Params.Home, c.Project)
	if c.ManagedPath == "" {
		hint = "keep the project's .claude directory under review: this platform has no managed settings file"
	}
	return warn(check, "sandbox and denies in place, but only in project or user settings, which the agent can edit before the sandbox starts", hint)
}
