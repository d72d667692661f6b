// Package agents connects AI coding agents to timebound-iam: it renders and
// merges the MCP server entry, the rules file and the shell environment that
// `timebound-iam setup agent` prints or writes.
//
// # Files
//
// Each [Agent] names the files it reads in a project. The merges are pure
// functions over bytes ([MergeServer], [MergeEnv], [MergeBlock]); [Plan]
// applies them to one project and [Write] puts a [Change] on disk.
//
// Merging never clobbers: only timebound-iam's own keys are set, every other
// server, key and byte stays as it was, and a second run changes nothing.
//
// # Environments
//
// The agent's shell commands should see no long-lived credentials
// ([ShellEnv]), while the MCP server keeps its own ([ServerEnv]). Claude Code
// hands the env of its settings to every process it starts, MCP servers
// included, so the server entry sets its AWS files back explicitly.
//
// # Containment
//
// Only Claude Code can be contained: [ClaudeSandbox] lists what its sandbox
// and permission rules must deny, and [MergeClaudeSandbox] puts that into its
// project settings ([Plan]) or its managed settings ([PlanManaged]). Other
// agents say why not in [Agent.ContainedReason].
package agents

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/config"

	"github.com/timebound-iam/timebound-iam/profiles"
)

// EmptyCredentialsName is the empty file, in the state directory, that the
// agent's shell gets as AWS_SHARED_CREDENTIALS_FILE.
const EmptyCredentialsName = config.EmptyCredentialsName

// Agent is one AI agent's project files.
type Agent struct {
	// Name is how the command line names the agent.
	Name string
	// Title is how people name it.
	Title string
	// MCPFile is its MCP config, relative to the project; empty when
	// timebound-iam cannot know where the agent keeps it.
	MCPFile string
	// RulesFile holds the instructions the agent reads on every request.
	RulesFile string
	// SettingsFile sets the environment of the agent's shell commands under
	// "env"; empty when the agent has no documented setting for that.
	SettingsFile string
	// Launch is the command that starts the agent from a shell.
	Launch string
	// Contained says whether setup agent can keep the agent's shell commands
	// from the base credentials and from what decides a grant, with a
	// sandbox the agent's own settings turn on; ContainedReason says how, or
	// why not.
	Contained       bool
	ContainedReason string
	// SandboxNeeds are the programs the agent's sandbox needs on Linux; a
	// contained agent without them refuses to start, or runs uncontained.
	SandboxNeeds []string

	// rules is the whole rules file, for a file timebound-iam owns; empty
	// for a shared file, which gets a marked block.
	rules string
	// merge merges into MCPFile; nil for [MergeServer]'s "mcpServers".
	merge mergeMCP
	// mcpPart is [Agent.MCPPart] when it is not the "mcpServers" entry.
	mcpPart string
}

var all = []Agent{
	{Name: "kiro", Title: "Kiro", MCPFile: ".kiro/settings/mcp.json", RulesFile: ".kiro/steering/timebound-iam.md", Launch: "kiro-cli", rules: kiroSteering,
		ContainedReason: "Kiro's permissions.yaml has no confirmed rule that denies its shell commands reads of ~/.aws, so the agent can still read your base credentials"},
	{Name: "claude-code", Title: "Claude Code", MCPFile: ".mcp.json", RulesFile: "CLAUDE.md", SettingsFile: claudeSettingsFile, Launch: "claude", Contained: true,
		SandboxNeeds:    []string{"bwrap", "socat"},
		ContainedReason: "Claude Code's sandbox denies its shell commands reads of ~/.aws and writes to the state directory and to its own settings, and unsets credential variables"},
	{Name: "cursor", Title: "Cursor", MCPFile: ".cursor/mcp.json", RulesFile: ".cursor/rules/timebound-iam.mdc", Launch: "cursor", rules: cursorRule,
		ContainedReason: "Cursor's sandbox.json has no confirmed key that denies reads of a path, so the agent can still read your base credentials in ~/.aws"},
	{Name: "vscode", Title: "VS Code", MCPFile: ".vscode/mcp.json", RulesFile: ".github/copilot-instructions.md", Launch: "code .",
		merge: mergeVSCode, mcpPart: `the "` + ServerName + `" server under "servers"`,
		ContainedReason: "VS Code has no confirmed setting that denies its agent's terminal commands reads of ~/.aws, so the agent can still read your base credentials"},
	{Name: "generic", Title: "your agent", RulesFile: "AGENTS.md", Launch: "<agent>",
		ContainedReason: "timebound-iam does not know your agent's sandbox, so the agent can still read your base credentials in ~/.aws unless you contain it yourself"},
	codex,
	gemini,
}

// ClaudeSandbox reports whether a is contained by Claude Code's sandbox,
// whose settings [ClaudeSandbox] lists and [MergeClaudeSandbox] writes.
func (a Agent) ClaudeSandbox() bool { return a.Contained && a.SettingsFile == claudeSettingsFile }

// MissingSandbox lists the programs of [Agent.SandboxNeeds] that look cannot
// find, on goos; none but on Linux, where the sandboxes are bubblewrap.
func (a Agent) MissingSandbox(goos string, look func(string) (string, error)) []string {
	if goos != "linux" {
		return nil
	}
	var missing []string
	for _, name := range a.SandboxNeeds {
		if _, err := look(name); err != nil {
			missing = append(missing, name)
		}
	}
	return missing
}

// claudeSettingsFile is Claude Code's project settings file.
const claudeSettingsFile = ".claude/settings.json"

// Names lists the agents, in the order the help text gives them.
func Names() []string {
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.Name
	}
	return names
}

// Lookup finds an agent by name.
func Lookup(name string) (Agent, bool) {
	for _, a := range all {
		if a.Name == name {
			return a, true
		}
	}
	return Agent{}, false
}

// Params is what the files point at.
type Params struct {
	// Exe is the absolute path of the timebound-iam binary.
	Exe string
	// AWSConfigFile is the dedicated AWS config file with the tb-* profiles.
	AWSConfigFile string
	// EmptyCredentials is the path of the empty credentials file.
	EmptyCredentials string
	// ServerEnv is the MCP server's environment; see [ServerEnv].
	ServerEnv map[string]string
	// Home is the user's home directory.
	Home string
	// StateDir is timebound-iam's state directory: the config, the dedicated
	// AWS config file, the audit log and the file keyring.
	StateDir string
	// STSEndpoint is the configured sts_endpoint, if any.
	STSEndpoint string
	// PinStateDir makes the server entry name StateDir (serve --home): an
	// MCP client starts the server with an environment of its own, so a
	// state directory chosen by TIMEBOUND_IAM_HOME or XDG_CONFIG_HOME in the
	// user's shell would otherwise not be the server's.
	PinStateDir bool
}

// ShellEnv is the environment for the agent's shell commands: the dedicated
// config file, a credentials file with nothing in it, and no instance
// metadata. With it the AWS CLI finds only the tb-* profiles, so the agent
// has no long-lived credentials to fall back on.
func ShellEnv(p Params) map[string]string {
	return map[string]string{
		"AWS_CONFIG_FILE":             p.AWSConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE": p.EmptyCredentials,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

// ServerEnv is the environment of the MCP server entry: the AWS config and
// credentials files the server reads its base credentials from, and
// instance metadata back on, undoing [ShellEnv] for an agent that passes its
// own environment to the servers it starts. The files are those getenv
// names, unless they are the ones ShellEnv sets (the user's shell already
// carries them), then the AWS defaults under home. Paths only; never a
// secret.
func ServerEnv(getenv func(string) string, home string, p Params) map[string]string {
	pick := func(name, ours, def string) string {
		v := getenv(name)
		if v == "" || SameFile(v, ours) {
			return filepath.Join(home, ".aws", def)
		}
		if abs, err := filepath.Abs(v); err == nil && !strings.HasPrefix(v, "~") {
			return abs
		}
		return v
	}
	return map[string]string{
		"AWS_CONFIG_FILE":             pick("AWS_CONFIG_FILE", p.AWSConfigFile, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": pick("AWS_SHARED_CREDENTIALS_FILE", p.EmptyCredentials, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "false",
	}
}

// SameFile reports whether a and b name one file or directory: the same
// clean path, or one the file system says is the same.
func SameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(x, y)
}

// Entry is the MCP server entry for p: `<Exe> serve`, with [Params.ServerEnv],
// and `--home <StateDir>` when [Params.PinStateDir] says so.
func Entry(p Params) Server {
	args := []string{"serve"}
	if p.PinStateDir {
		args = append(args, "--home", p.StateDir)
	}
	return Server{Command: p.Exe, Args: args, Env: p.ServerEnv}
}

// Snippet is an MCP config holding only timebound-iam's server entry, in the
// "mcpServers" form Claude Code, Cursor, Kiro and most MCP clients read.
func Snippet(p Params) string {
	out, _, err := MergeServer(nil, Entry(p))
	if err != nil {
		panic(err) // an empty document always takes the entry
	}
	return string(out)
}

// Kind says which of an agent's files a [Change] is.
type Kind string

// The kinds of file setup agent handles.
const (
	KindMCP         Kind = "mcp_config"  // the MCP server entry
	KindRules       Kind = "rules"       // the instructions for the agent
	KindSettings    Kind = "settings"    // the environment of the agent's shell, and its sandbox
	KindCredentials Kind = "credentials" // the empty credentials file
	KindManaged     Kind = "managed"     // Claude Code's managed settings: the sandbox alone
)

// Change is one file as setup agent leaves it.
type Change struct {
	// Path is the file's absolute path.
	Path string
	Kind Kind
	// Action is what happens to timebound-iam's part of the file.
	Action Action
	// Content is the whole file after the change.
	Content []byte
	// Part is timebound-iam's part alone, as it would stand in an empty file:
	// what to show when printing rather than writing.
	Part string
	// Private files are always written 0600. Others keep an existing file's
	// mode, or get 0644: they are the user's project files.
	Private bool
	// Overrides are the user's settings that contradicted timebound-iam's
	// and are overwritten.
	Overrides []Override
}

// Plan works out the changes setup agent makes for agent a in the project
// directory dir: the MCP config (none for an agent without a known file), the
// rules file, the shell settings where the agent has them, and the empty
// credentials file. read returns a file's contents, or an error matching
// [fs.ErrNotExist] for a missing file, which counts as empty. Nothing is
// written. An error names the file it is about.
func Plan(a Agent, dir string, p Params, read func(path string) ([]byte, error)) ([]Change, error) {
	load := func(rel string) (string, []byte, error) {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		data, err := read(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil, nil
		}
		if err != nil {
			return path, nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return path, data, nil
	}
	var changes []Change

	if a.MCPFile != "" {
		path, data, err := load(a.MCPFile)
		if err != nil {
			return nil, err
		}
		merge := a.merge
		if merge == nil {
			merge = mergeServers
		}
		part, _, err := merge(nil, dir, p)
		if err != nil {
			return nil, err
		}
		out, act, err := merge(data, dir, p)
		if err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
		changes = append(changes, Change{Path: path, Kind: KindMCP, Action: act, Content: out, Part: string(part)})
	}

	path, data, err := load(a.RulesFile)
	if err != nil {
		return nil, err
	}
	c := Change{Path: path, Kind: KindRules}
	if a.rules != "" {
		c.Content, c.Part = []byte(a.rules), a.rules
		switch {
		case data == nil:
			c.Action = Added
		case string(data) == a.rules:
			c.Action = Unchanged
		default:
			c.Action = Updated
		}
	} else {
		c.Part = Block(Rules) + "\n"
		if c.Content, c.Action, err = MergeBlock(data, Rules); err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
	}
	changes = append(changes, c)

	// An agent whose MCP file is its settings file gets the environment
	// from its merge.
	if a.SettingsFile != "" && a.SettingsFile != a.MCPFile {
		path, data, err := load(a.SettingsFile)
		if err != nil {
			return nil, err
		}
		merge := func(data []byte) ([]byte, Action, []Override, error) {
			out, act, err := MergeEnv(data, ShellEnv(p))
			if err != nil || !a.ClaudeSandbox() {
				return out, act, nil, err
			}
			out, act2, over, err := MergeClaudeSandbox(out, ClaudeSandbox(dir, p))
			return out, act.and(act2), over, err
		}
		part, _, _, err := merge(nil)
		if err != nil {
			return nil, err
		}
		out, act, over, err := merge(data)
		if err != nil {
			return nil, &FileError{Path: path, Err: err}
		}
		changes = append(changes, Change{Path: path, Kind: KindSettings, Action: act, Content: out, Part: string(part), Overrides: over})
	}

	// The shell environment names the empty credentials file whether a
	// settings file or the user's shell profile carries it.
	data, err = read(p.EmptyCredentials)
	c = Change{Path: p.EmptyCredentials, Kind: KindCredentials, Content: []byte{}, Private: true}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Action = Added
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", p.EmptyCredentials, err)
	case len(data) == 0:
		c.Action = Unchanged
	default:
		c.Action = Updated // it must stay empty
	}
	return append(changes, c), nil
}

// FileError is a file setup agent cannot merge into.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Write puts c on disk, atomically, creating its directory. An unchanged file
// is not touched. A symlink is followed, so a linked config file stays a
// link.
func Write(c Change) error {
	if c.Action == Unchanged || c.Path == "" {
		return nil
	}
	path := c.Path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	perm := fs.FileMode(0o644)
	if c.Private {
		perm = 0o600
	} else if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the directory for %s: %w", c.Path, err)
	}
	return profiles.WriteFileAtomic(path, c.Content, perm)
}
