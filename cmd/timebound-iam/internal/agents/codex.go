package agents

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// The keys below are those of Codex CLI 0.169.0 (npm @openai/codex), checked
// with its `codex sandbox -P <profile>`: a permission profile is
// [permissions.<name>] with extends = ":workspace" (a profile without a base
// cannot even start its sandbox helper), and [permissions.<name>.filesystem]
// maps absolute paths to "none" (no reads) or "read" (no writes); the most
// specific path wins. default_permissions picks the profile, and sandbox_mode
// anywhere turns profiles off. Codex reads a project's .codex/config.toml only
// when the project is trusted; an untrusted one fails with "default_permissions
// requires a `[permissions]` table". shell_environment_policy's exclude and set
// apply to the sandboxed commands; MCP servers run outside the sandbox.

// CodexProfile is the permission profile setup agent writes for Codex.
const CodexProfile = "timebound-iam"

// CodexFilesystem is the filesystem table of Codex's permission profile for
// the project directory project, with p's Home, StateDir and ServerEnv: every
// path absolute, mapped to "none" for no reads (~/.aws, the MCP server's AWS
// files, the file keyring) or "read" for no writes (the state directory, the
// project's and the user's .codex, AGENTS.md).
func CodexFilesystem(project string, p Params) map[string]string {
	awsDir := filepath.Join(p.Home, ".aws")
	fs := map[string]string{
		awsDir: "none",
		filepath.Join(p.StateDir, KeyringDirName): "none",
		p.StateDir:                          "read",
		filepath.Join(project, ".codex"):    "read",
		filepath.Join(p.Home, ".codex"):     "read",
		filepath.Join(project, "AGENTS.md"): "read",
	}
	for _, k := range []string{"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
		f := p.ServerEnv[k]
		if rest, ok := strings.CutPrefix(f, "~/"); ok {
			f = filepath.Join(p.Home, rest)
		}
		if f != "" && filepath.IsAbs(f) && !within(f, awsDir) && !within(f, p.StateDir) {
			fs[filepath.Clean(f)] = "none"
		}
	}
	return fs
}

// codexWant is what timebound-iam's parts of a Codex config hold.
type codexWant struct {
	server Server
	fs     map[string]string
	env    map[string]string
}

// MergeCodex sets, in a Codex config.toml for the project directory project:
// the "timebound-iam" MCP server (command, args and the env keys of
// [Entry]), the permission profile [CodexProfile] with [CodexFilesystem] and
// default_permissions naming it, and shell_environment_policy with the
// credential variables excluded and [ShellEnv] set. Other tables, keys,
// comments and bytes stay as they were; the profile's tables are
// timebound-iam's whole. Invalid TOML is a [*TOMLSyntaxError]. sandbox_mode is
// an error: it would switch the profile off.
func MergeCodex(config []byte, project string, p Params) ([]byte, Action, error) {
	d, err := parseTOML(config)
	if err != nil {
		return nil, "", err
	}
	if line := d.topKeyLine("sandbox_mode"); line > 0 {
		return nil, "", fmt.Errorf("line %d: sandbox_mode switches off Codex's permission profiles, which keep its commands from your AWS credentials; remove it", line)
	}
	w := codexWant{server: Entry(p), fs: CodexFilesystem(project, p), env: ShellEnv(p)}
	if codexHas(d, w) {
		return config, Unchanged, nil
	}
	_, had := d.lookup("mcp_servers", ServerName)

	d.setTopKey("default_permissions", tomlString(CodexProfile))

	srv := []string{"mcp_servers", ServerName}
	if !had {
		d.setTable(srv, "[mcp_servers."+tomlKey(ServerName)+"]\n")
	}
	d.setKey(srv, "command", tomlString(w.server.Command))
	d.setKey(srv, "args", tomlStrings(w.server.Args))
	d.setKey(srv, "env", tomlInline(union(stringMap(d, append(srv, "env")...), w.server.Env)))

	var prof strings.Builder
	fmt.Fprintf(&prof, "[permissions.%s]\nextends = \":workspace\"\n\n[permissions.%[1]s.filesystem]\n", tomlKey(CodexProfile))
	for _, path := range sortedKeys(w.fs) {
		fmt.Fprintf(&prof, "%s = %s\n", tomlString(path), tomlString(w.fs[path]))
	}
	d.setTable([]string{"permissions", CodexProfile}, prof.String())

	pol := []string{"shell_environment_policy"}
	exclude := stringList(d, "shell_environment_policy", "exclude")
	for _, v := range CredentialEnvVars {
		if !slices.Contains(exclude, v) {
			exclude = append(exclude, v)
		}
	}
	set := union(stringMap(d, "shell_environment_policy", "set"), w.env)
	d.setKey(pol, "exclude", tomlStrings(exclude))
	d.setKey(pol, "set", tomlInline(set))

	out := d.b
	check, err := parseTOML(out)
	if err != nil || !codexHas(check, w) {
		return nil, "", fmt.Errorf("timebound-iam's Codex settings are defined here in a form setup agent cannot edit (a dotted key or an inline table): make [mcp_servers.%s], [permissions] and [shell_environment_policy] tables, or remove them", ServerName)
	}
	if had {
		return out, Updated, nil
	}
	return out, Added, nil
}

// codexHas reports whether d holds everything w says.
func codexHas(d *tomlDoc, w codexWant) bool {
	if v, _ := d.lookup("default_permissions"); v != CodexProfile {
		return false
	}
	if v, _ := d.lookup("mcp_servers", ServerName, "command"); v != w.server.Command {
		return false
	}
	if !sameJSON(d, w.server.Args, "mcp_servers", ServerName, "args") {
		return false
	}
	if !hasAll(w.server.Env, stringMap(d, "mcp_servers", ServerName, "env")) {
		return false
	}
	want := map[string]any{"extends": ":workspace", "filesystem": w.fs}
	if !sameJSON(d, want, "permissions", CodexProfile) {
		return false
	}
	exclude := stringList(d, "shell_environment_policy", "exclude")
	for _, v := range CredentialEnvVars {
		if !slices.Contains(exclude, v) {
			return false
		}
	}
	return hasAll(w.env, stringMap(d, "shell_environment_policy", "set"))
}

// sameJSON reports whether the value at key encodes as want does.
func sameJSON(d *tomlDoc, want any, key ...string) bool {
	v, ok := d.lookup(key...)
	if !ok {
		return false
	}
	a, err1 := json.Marshal(v)
	b, err2 := json.Marshal(want)
	return err1 == nil && err2 == nil && string(a) == string(b)
}

// hasAll reports whether every key of want has its value in have.
func hasAll(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// union is have with want's keys set.
func union(have, want map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range have {
		out[k] = v
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}

// stringMap is the table at key, its string values only.
func stringMap(d *tomlDoc, key ...string) map[string]string {
	out := map[string]string{}
	v, _ := d.lookup(key...)
	m, _ := v.(map[string]any)
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// stringList is the array at key, its strings only.
func stringList(d *tomlDoc, key ...string) []string {
	var out []string
	v, _ := d.lookup(key...)
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// codex is OpenAI's Codex CLI: one config.toml holds its MCP servers, its
// sandbox and the environment of its shell commands.
var codex = Agent{
	Name: "codex", Title: "Codex", MCPFile: ".codex/config.toml", RulesFile: "AGENTS.md",
	SettingsFile: ".codex/config.toml", Launch: "codex", Contained: true, SandboxNeeds: []string{"bwrap"},
	ContainedReason: "Codex's permission profile denies its shell commands reads of ~/.aws and the file keyring and writes to the state directory, " +
		"its own config and AGENTS.md, and its shell_environment_policy drops credential variables; " +
		"Codex reads the project's .codex/config.toml only once you trust the project",
	merge:   MergeCodex,
	mcpPart: `the "` + ServerName + `" server under [mcp_servers], the permission profile "` + CodexProfile + `" (default_permissions), and shell_environment_policy`,
}
