package agents

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
)

// The keys below are those of Claude Code's settings schema in npm
// @anthropic-ai/claude-code 2.1.328 (the zod schema in its native binary,
// @anthropic-ai/claude-code-linux-x64): sandbox.enabled, failIfUnavailable,
// allowUnsandboxedCommands, filesystem.denyRead and denyWrite,
// network.allowedDomains, and credentials.envVars, whose entries are
// {"name", "mode"} objects with mode "deny" or "mask". Its sandbox.filesystem
// paths are "absolute, ~ expanded, or relative to the settings file root";
// permission rules write an absolute path with a leading "//"
// (https://code.claude.com/docs/en/permissions, "Read and Edit").

// Sandbox is what Claude Code's sandbox and permission rules must hold for an
// agent that uses timebound-iam: its shell commands cannot read the base
// credentials or write what decides a grant, and its file tools are denied
// the same paths. [ClaudeSandbox] is the one place these lists are made;
// setup agent writes them and doctor checks them.
type Sandbox struct {
	// DenyRead are the absolute paths sandboxed commands cannot read:
	// ~/.aws, the MCP server's AWS files when they are outside it, and the
	// file keyring's items.
	DenyRead []string `json:"deny_read"`
	// DenyWrite are the absolute paths sandboxed commands cannot write: the
	// state directory, and the agent's own settings, MCP and rules files.
	DenyWrite []string `json:"deny_write"`
	// EnvVars are the environment variables that carry or point at base
	// credentials; the sandbox unsets them for the agent's commands.
	EnvVars []string `json:"env_vars"`
	// AllowedDomains are the hosts sandboxed commands may reach: AWS, and the
	// configured STS endpoint.
	AllowedDomains []string `json:"allowed_domains"`
	// Deny are the permissions.deny rules for Claude's own file tools:
	// Read(...) for each DenyRead path, Edit(...) and Write(...) for each
	// DenyWrite path.
	Deny []string `json:"permissions_deny"`
}

// CredentialEnvVars are the variables through which the AWS SDKs and CLI
// find credentials other than a profile's (aws-sdk-go-v2 config's env_config.go
// and resolve_credentials.go, plus botocore's AWS_SECURITY_TOKEN).
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE are not among them: the
// agent's environment sets those to the dedicated files.
var CredentialEnvVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY",
	"AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY",
	"AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
}

// AWSDomains are the hosts of AWS's endpoints, as a sandbox allow-list entry.
var AWSDomains = []string{"*.amazonaws.com"}

// KeyringDirName is the file keyring's directory in the state directory.
const KeyringDirName = "keyring"

// ClaudeSandbox returns the sandbox for Claude Code in the project directory
// project, with p's Home, StateDir, ServerEnv and STSEndpoint. Every path is
// absolute.
func ClaudeSandbox(project string, p Params) Sandbox {
	type path struct {
		name string
		dir  bool
	}
	awsDir := filepath.Join(p.Home, ".aws")
	read := []path{{awsDir, true}}
	for _, k := range []string{"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
		f := p.ServerEnv[k]
		if rest, ok := strings.CutPrefix(f, "~/"); ok {
			f = filepath.Join(p.Home, rest)
		}
		if f != "" && filepath.IsAbs(f) && !within(f, awsDir) && !within(f, p.StateDir) {
			read = append(read, path{filepath.Clean(f), false})
		}
	}
	read = append(read, path{filepath.Join(p.StateDir, KeyringDirName), true})
	write := []path{
		{p.StateDir, true},
		{filepath.Join(project, ".claude"), true},
		{filepath.Join(project, ".mcp.json"), false},
		{filepath.Join(project, "CLAUDE.md"), false},
		{filepath.Join(p.Home, ".claude"), true},
		{filepath.Join(p.Home, ".claude.json"), false},
	}
	var s Sandbox
	seen := map[path]bool{} // a project in the home directory has one .claude
	rule := func(tool string, x path) string {
		r := tool + "(/" + filepath.ToSlash(x.name)
		if x.dir {
			r += "/**"
		}
		return r + ")"
	}
	for _, x := range read {
		if seen[x] {
			continue
		}
		seen[x] = true
		s.DenyRead = append(s.DenyRead, x.name)
		s.Deny = append(s.Deny, rule("Read", x))
	}
	for _, x := range write {
		if seen[x] {
			continue
		}
		seen[x] = true
		s.DenyWrite = append(s.DenyWrite, x.name)
		s.Deny = append(s.Deny, rule("Edit", x), rule("Write", x))
	}
	s.EnvVars = append(s.EnvVars, CredentialEnvVars...)
	s.AllowedDomains = append(s.AllowedDomains, AWSDomains...)
	if u, err := url.Parse(p.STSEndpoint); err == nil && u.Hostname() != "" && !strings.HasSuffix(u.Hostname(), ".amazonaws.com") {
		s.AllowedDomains = append(s.AllowedDomains, u.Hostname())
	}
	return s
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Override is a setting the user had that contradicted timebound-iam's, and
// that a merge overwrote.
type Override struct {
	// Key is the setting's path, dotted: "sandbox.enabled", or
	// "sandbox.credentials.envVars[AWS_PROFILE]" for one entry of a list.
	Key string `json:"key"`
	// Was is the JSON it held.
	Was string `json:"was"`
	// Now is the JSON it holds after the merge.
	Now string `json:"now"`
}

// envVarEntry is one sandbox.credentials.envVars entry.
type envVarEntry struct {
	Name string `json:"name"`
	Mode string `json:"mode"`
}

// MergeClaudeSandbox sets s in Claude Code settings: sandbox.enabled,
// failIfUnavailable and allowUnsandboxedCommands false, and adds each path,
// variable, domain and rule to its list (sandbox.filesystem.denyRead and
// denyWrite, sandbox.credentials.envVars in mode "deny",
// sandbox.network.allowedDomains, permissions.deny), keeping the user's own
// entries and every other key and byte. A setting that contradicts s, such
// as sandbox.enabled false or a variable in mode "mask", which lets the
// sandbox's proxy sign requests with the real credentials, is overwritten
// and returned as an [Override]. Empty settings are an empty object; invalid
// JSON is a [*SyntaxError].
func MergeClaudeSandbox(settings []byte, s Sandbox) ([]byte, Action, []Override, error) {
	d, err := parseDoc(settings)
	if err != nil {
		return nil, "", nil, err
	}
	var over []Override
	had, changed := false, false
	for _, kv := range []struct {
		key   string
		value bool
	}{{"enabled", true}, {"failIfUnavailable", true}, {"allowUnsandboxedCommands", false}} {
		path := []string{"sandbox", kv.key}
		have, ok, err := d.get(path...)
		if err != nil {
			return nil, "", nil, err
		}
		had = had || ok
		if ok && have != kv.value {
			was, _ := json.Marshal(have)
			over = append(over, Override{Key: strings.Join(path, "."), Was: string(was), Now: fmt.Sprint(kv.value)})
		}
		c, err := d.set(kv.value, path...)
		if err != nil {
			return nil, "", nil, err
		}
		changed = changed || c
	}
	envVars := make([]any, len(s.EnvVars))
	for i, name := range s.EnvVars {
		envVars[i] = envVarEntry{Name: name, Mode: "deny"}
	}
	lists := []struct {
		path []string
		want []any
		key  func(any) string
	}{
		{[]string{"sandbox", "filesystem", "denyRead"}, strs(s.DenyRead), stringKey},
		{[]string{"sandbox", "filesystem", "denyWrite"}, strs(s.DenyWrite), stringKey},
		{[]string{"sandbox", "network", "allowedDomains"}, strs(s.AllowedDomains), stringKey},
		{[]string{"sandbox", "credentials", "envVars"}, envVars, envVarName},
		{[]string{"permissions", "deny"}, strs(s.Deny), stringKey},
	}
	for _, l := range lists {
		c, present, replaced, err := d.mergeArray(l.want, l.key, l.path...)
		if err != nil {
			return nil, "", nil, err
		}
		changed = changed || c
		had = had || len(present) > 0
		for _, r := range replaced {
			var now []byte
			for _, w := range l.want {
				if l.key(w) == r.key {
					now, _ = json.Marshal(w)
				}
			}
			over = append(over, Override{Key: strings.Join(l.path, ".") + "[" + r.key + "]", Was: r.was, Now: string(now)})
		}
	}
	switch {
	case !changed:
		return settings, Unchanged, nil, nil
	case had:
		return d.bytes(), Updated, over, nil
	default:
		return d.bytes(), Added, over, nil
	}
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// envVarName keys a credentials.envVars entry by its name.
func envVarName(v any) string {
	switch e := v.(type) {
	case envVarEntry:
		return e.Name
	case map[string]any:
		name, _ := e["name"].(string)
		return name
	}
	return ""
}

// ManagedSettingsPath is where Claude Code reads its managed settings on
// goos: settings the user and the agent cannot override, in a root-owned
// file. It is empty on a system Claude Code has no such file for.
func ManagedSettingsPath(goos string) string {
	switch goos {
	case "linux":
		return "/etc/claude-code/managed-settings.json"
	case "darwin":
		return "/Library/Application Support/ClaudeCode/managed-settings.json"
	case "windows":
		return `C:\Program Files\ClaudeCode\managed-settings.json`
	}
	return ""
}

// PlanManaged works out the change that puts s into the managed settings
// file at path: the sandbox and permission rules of [MergeClaudeSandbox],
// and no environment, which would reach every project on the machine. read
// is as for [Plan]. Nothing is written.
func PlanManaged(path string, s Sandbox, read func(string) ([]byte, error)) (Change, error) {
	data, err := read(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Change{}, fmt.Errorf("reading %s: %w", path, err)
	}
	part, _, _, err := MergeClaudeSandbox(nil, s)
	if err != nil {
		return Change{}, err
	}
	out, act, over, err := MergeClaudeSandbox(data, s)
	if err != nil {
		return Change{}, &FileError{Path: path, Err: err}
	}
	return Change{Path: path, Kind: KindManaged, Action: act, Content: out, Part: string(part), Overrides: over}, nil
}
