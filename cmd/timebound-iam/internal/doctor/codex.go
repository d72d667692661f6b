package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
)

// codexConfig is the part of a Codex config.toml the check reads.
type codexConfig struct {
	SandboxMode        string `toml:"sandbox_mode"`
	DefaultPermissions string `toml:"default_permissions"`
	Permissions        map[string]struct {
		Filesystem map[string]string `toml:"filesystem"`
	} `toml:"permissions"`
	ShellEnvironmentPolicy struct {
		Exclude []string `toml:"exclude"`
	} `toml:"shell_environment_policy"`
	Projects map[string]struct {
		TrustLevel string `toml:"trust_level"`
	} `toml:"projects"`
}

// checkCodex checks the project's Codex config, and the user's, against the
// permission profile setup agent writes.
func (c *Containment) checkCodex(check string, a agents.Agent) Check {
	fix := "run timebound-iam setup agent codex --write --project " + c.Project
	load := func(path string) (codexConfig, error) {
		var cfg codexConfig
		data, err := c.read(path)
		if errors.Is(err, fs.ErrNotExist) {
			return cfg, nil
		}
		if err != nil {
			return cfg, err
		}
		if _, err := toml.Decode(string(data), &cfg); err != nil {
			return cfg, fmt.Errorf("%s is not valid TOML: %w", path, err)
		}
		return cfg, nil
	}
	userPath := filepath.Join(c.Params.Home, ".codex", "config.toml")
	user, err := load(userPath)
	if err != nil {
		return fail(check, err.Error(), "fix the file, or move it aside")
	}
	project, err := load(filepath.Join(c.Project, filepath.FromSlash(a.MCPFile)))
	if err != nil {
		return fail(check, err.Error(), "fix the file, or move it aside, then "+fix)
	}

	var miss []string
	for _, cfg := range []struct {
		path string
		c    codexConfig
	}{{userPath, user}, {a.MCPFile, project}} {
		if cfg.c.SandboxMode != "" {
			miss = append(miss, fmt.Sprintf("%s sets sandbox_mode, which switches permission profiles off", cfg.path))
		}
	}
	if project.DefaultPermissions != agents.CodexProfile {
		miss = append(miss, fmt.Sprintf("default_permissions is not %q", agents.CodexProfile))
	}
	want := agents.CodexFilesystem(c.Project, c.Params)
	have := project.Permissions[agents.CodexProfile].Filesystem
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if have[p] != want[p] {
			miss = append(miss, fmt.Sprintf("permissions.%s.filesystem lacks %q = %q", agents.CodexProfile, p, want[p]))
		}
	}
	for _, v := range agents.CredentialEnvVars {
		if !slices.Contains(project.ShellEnvironmentPolicy.Exclude, v) {
			miss = append(miss, "shell_environment_policy.exclude lacks "+v)
		}
	}
	if len(miss) > 0 {
		detail := "Codex's permission profile is not in place: " + strings.Join(miss[:min(3, len(miss))], "; ")
		if len(miss) > 3 {
			detail += fmt.Sprintf("; and %d more", len(miss)-3)
		}
		return fail(check, detail, "remove sandbox_mode where it is set, then "+fix)
	}
	if user.Projects[c.Project].TrustLevel != "trusted" {
		return warn(check, fmt.Sprintf("Codex's permission profile is in %s, but Codex reads that file only in a trusted project, and %s does not trust %s", a.MCPFile, userPath, c.Project),
			"trust the project in Codex (it asks when you first start it there), or add [projects."+fmt.Sprintf("%q", c.Project)+"] trust_level = \"trusted\" to "+userPath)
	}
	return warn(check, "Codex's permission profile is in place, but only in the project's "+a.MCPFile+", which the agent can edit before its sandbox starts",
		"keep the project's .codex directory under review")
}
