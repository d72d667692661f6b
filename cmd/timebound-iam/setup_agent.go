package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

func setupAgentCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "write", Usage: "merge the entries into the agent's files instead of printing them"},
		&cli.StringFlag{Name: "project", Value: ".", Usage: "the project `DIR` whose agent files to print or write"},
		&cli.BoolFlag{Name: "json", Usage: "print what would be, or was, written as JSON: the files and their actions"},
		&cli.BoolFlag{Name: "managed", Usage: "claude-code only, as root: merge the sandbox and permission rules into Claude Code's managed settings, which no project or user setting can override"},
	}
	for _, f := range configFlags() {
		if f.Names()[0] == "home" {
			flags = append(flags, f)
		}
	}
	names := strings.Join(agents.Names(), "|")
	return &cli.Command{
		Name:      "agent",
		Usage:     "connect an AI agent: its MCP server entry, rules file, shell environment and sandbox",
		ArgsUsage: "<" + names + ">",
		Description: "Prints, or with --write merges into the project's files, what the agent needs:\n" +
			"  - the MCP server entry \"timebound-iam\" that runs this binary's serve command;\n" +
			"  - the rules file that tells the agent to use grant_access and --profile tb-<id>, and\n" +
			"    never to fall back to other credentials;\n" +
			"  - the environment of the agent's shell commands (AWS_CONFIG_FILE, an empty\n" +
			"    AWS_SHARED_CREDENTIALS_FILE, AWS_EC2_METADATA_DISABLED), in the agent's settings where\n" +
			"    it has one (Claude Code), else as lines for your shell profile;\n" +
			"  - for Claude Code, its sandbox and permission rules in .claude/settings.json: the sandbox on\n" +
			"    and required, no unsandboxed commands, no reads of ~/.aws or the keyring, no writes to the\n" +
			"    state directory or to the agent's own settings, MCP and rules files, the base-credential\n" +
			"    variables unset, the network limited to AWS and sts_endpoint; the same paths denied to\n" +
			"    Claude's own file tools under permissions.deny. A contradicting setting is overwritten,\n" +
			"    and the output names it. Kiro, Cursor and generic agents cannot be contained this way,\n" +
			"    and the output says so.\n" +
			"Merging keeps every other entry and byte; a second run changes nothing.\n\n" +
			"--managed writes only the sandbox and permission rules, into Claude Code's managed settings\n" +
			"(" + agents.ManagedSettingsPath("linux") + " on Linux), which the agent cannot edit\n" +
			"and no project or user setting can override. It needs root; run --write as yourself first.\n\n" +
			"Files, relative to --project:\n" +
			"  claude-code  .mcp.json, CLAUDE.md (a marked block), .claude/settings.json\n" +
			"  cursor       .cursor/mcp.json, .cursor/rules/timebound-iam.mdc\n" +
			"  kiro         .kiro/settings/mcp.json, .kiro/steering/timebound-iam.md\n" +
			"  codex        .codex/config.toml (the server, a permission profile that denies reads of\n" +
			"               ~/.aws and writes to the state directory, shell_environment_policy),\n" +
			"               AGENTS.md (a marked block)\n" +
			"  gemini       .gemini/settings.json (the server, tools.sandbox), GEMINI.md (a marked block)\n" +
			"  generic      AGENTS.md (a marked block); prints the \"mcpServers\" entry for your client's\n" +
			"               MCP config\n\n" +
			"Example:\n" +
			"  timebound-iam setup agent claude-code --write\n" +
			"  sudo HOME=$HOME timebound-iam setup agent claude-code --managed --project .",
		Flags:  flags,
		Action: setupAgent,
	}
}

// setupAgentOutput is the --json result.
type setupAgentOutput struct {
	Agent     string         `json:"agent"`
	Project   string         `json:"project"`
	Written   bool           `json:"written"`
	MCPServer agents.Server  `json:"mcp_server"`
	Files     []agentFileOut `json:"files"`
	// ShellEnv is the environment for the agent's shell commands;
	// ShellEnvFile the agent setting that carries it, or empty when the user
	// sets it in the shell that starts the agent.
	ShellEnv     map[string]string `json:"shell_env"`
	ShellEnvFile string            `json:"shell_env_file,omitempty"`
	// Contained says whether the agent's shell commands are kept from the
	// base credentials by a sandbox setup agent configures; ContainedReason
	// says how, or why not.
	Contained       bool   `json:"contained"`
	ContainedReason string `json:"contained_reason"`
	// Sandbox is what the sandbox denies and allows, for a contained agent.
	Sandbox *agents.Sandbox `json:"sandbox,omitempty"`
}

type agentFileOut struct {
	Path    string        `json:"path"`
	Kind    agents.Kind   `json:"kind"`
	Action  agents.Action `json:"action"`
	Content string        `json:"content"`
	// Overrides are the user's settings that contradicted timebound-iam's
	// and were, or would be, overwritten.
	Overrides []agents.Override `json:"overrides,omitempty"`
}

func setupAgent(c *cli.Context) error {
	all := strings.Join(agents.Names(), ", ")
	args, err := trailingFlags(c)
	if err != nil {
		return withHint(err, "run timebound-iam setup agent --help")
	}
	if len(args) == 0 {
		return withHint(errors.New("no agent named"), "name one of %s, e.g. timebound-iam setup agent claude-code", all)
	}
	if len(args) > 1 {
		return withHint(fmt.Errorf("unexpected argument %q", args[1]), "name one agent: %s", all)
	}
	a, ok := agents.Lookup(args[0])
	if !ok {
		return withHint(fmt.Errorf("unknown agent %q", args[0]), "use one of %s", all)
	}
	write, managed := c.Bool("write"), c.Bool("managed")
	if managed && !a.ClaudeSandbox() {
		why := a.ContainedReason
		if a.Contained {
			why = "timebound-iam writes no managed settings for " + a.Title
		}
		return withHint(fmt.Errorf("--managed is for claude-code only: %s", why), "run timebound-iam setup agent %s --write without --managed", a.Name)
	}
	if managed && write {
		return withHint(errors.New("--write and --managed go in separate runs"),
			"run --write as yourself, for the project's files, then --managed as root, for the managed settings")
	}
	dir, err := filepath.Abs(c.String("project"))
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return withHint(fmt.Errorf("project directory %s does not exist", dir), "pass the project's directory with --project, or run from it")
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	exe, err := selfPath()
	if err != nil {
		return err
	}
	p, err := agentParams(cfg, exe)
	if err != nil {
		return err
	}
	if missing := a.MissingSandbox(runtime.GOOS, exec.LookPath); len(missing) > 0 {
		err := fmt.Errorf("%s's sandbox needs %s, and PATH has no %s: without it %s would not start, or would run its commands uncontained",
			a.Title, strings.Join(a.SandboxNeeds, " and "), strings.Join(missing, " and "), a.Title)
		if write || managed {
			return withHint(err, "install them (Debian and Ubuntu: sudo apt-get install bubblewrap socat; Fedora: sudo dnf install bubblewrap socat), then run this again; nothing was written")
		}
		fmt.Fprintf(c.App.ErrWriter, "%s: warning: %v\n", prog, err)
	}
	if managed {
		return setupManaged(c, a, dir, p)
	}

	// Every file is planned, and so checked, before any is written.
	changes, err := agents.Plan(a, dir, p, os.ReadFile)
	if err != nil {
		return planError(err)
	}
	if write {
		for _, ch := range changes {
			if err := agents.Write(ch); err != nil {
				return withHint(err, "check the permissions of %s", filepath.Dir(ch.Path))
			}
		}
	}

	w := c.App.Writer
	if c.Bool("json") {
		out := setupAgentOutput{
			Agent:     a.Name,
			Project:   dir,
			Written:   write,
			MCPServer: agents.Entry(p),
			Files:     []agentFileOut{},
			ShellEnv:  agents.ShellEnv(p),

			Contained:       a.Contained,
			ContainedReason: a.ContainedReason,
		}
		if a.ClaudeSandbox() {
			s := agents.ClaudeSandbox(dir, p)
			out.Sandbox = &s
		}
		for _, ch := range changes {
			out.Files = append(out.Files, agentFileOut{Path: ch.Path, Kind: ch.Kind, Action: ch.Action, Content: string(ch.Content), Overrides: ch.Overrides})
			if ch.Kind == agents.KindSettings || ch.Kind == agents.KindMCP && a.SettingsFile == a.MCPFile {
				out.ShellEnvFile = ch.Path
			}
		}
		return printJSON(w, out)
	}
	if write {
		for _, ch := range changes {
			fmt.Fprintf(w, "%-9s  %s\n", ch.Action, display(dir, ch.Path))
			printOverrides(w, "changed", ch.Overrides)
		}
		printContained(w, a)
		if a.MCPFile == "" {
			// Where an MCP client keeps its servers differs by client: the
			// entry is the one part left to the user.
			fmt.Fprintf(w, "\n# Your agent's MCP config: add this server (the file and its key vary by client)\n%s", agents.Snippet(p))
		}
		if a.SettingsFile == "" {
			fmt.Fprintln(w)
			printShellEnv(w, a, p)
		}
		return nil
	}
	printAgentFiles(w, a, dir, p, changes)
	if a.SettingsFile == "" {
		printShellEnv(w, a, p)
	}
	printContained(w, a)
	if a.MCPFile != "" {
		fmt.Fprintf(w, "\n# timebound-iam setup agent --write %s writes the files above.\n", a.Name)
	} else {
		fmt.Fprintf(w, "\n# timebound-iam setup agent --write %s writes %s and the empty credentials file; add the server to your agent's MCP config yourself.\n", a.Name, a.RulesFile)
	}
	return nil
}

// trailingFlags parses the flags given after the agent, as in
// `setup agent claude-code --write`, which urfave/cli leaves as arguments,
// into c. It returns the arguments without them.
func trailingFlags(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	if len(args) < 2 {
		return args, nil
	}
	set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range c.Command.Flags {
		if err := f.Apply(set); err != nil {
			return nil, err
		}
	}
	if err := set.Parse(args[1:]); err != nil {
		return nil, err
	}
	var err error
	set.Visit(func(f *flag.Flag) {
		if err == nil {
			err = c.Set(f.Name, f.Value.String())
		}
	})
	return append(args[:1:1], set.Args()...), err
}

// planError adds what to do to an error from agents.Plan.
func planError(err error) error {
	var fe *agents.FileError
	if !errors.As(err, &fe) {
		return err
	}
	var se *agents.SyntaxError
	if errors.As(err, &se) {
		return withHint(fmt.Errorf("%s is not valid JSON: %w", fe.Path, fe.Err), "fix the file at line %d, or move it aside; nothing was written", se.Line)
	}
	var te *agents.TOMLSyntaxError
	if errors.As(err, &te) {
		return withHint(fmt.Errorf("%s is not valid TOML: %w", fe.Path, fe.Err), "fix the file at line %d, or move it aside; nothing was written", te.Line)
	}
	if errors.Is(err, agents.ErrMarkers) {
		return withHint(err, "keep one %s ... %s pair in the file, or remove both markers; nothing was written", agents.BeginMarker, agents.EndMarker)
	}
	return withHint(err, "fix the file, or move it aside; nothing was written")
}

// printAgentFiles shows timebound-iam's part of each file and what --write
// would do with it.
func printAgentFiles(w io.Writer, a agents.Agent, dir string, p agents.Params, changes []agents.Change) {
	would := map[agents.Action]string{agents.Added: "would add", agents.Updated: "would update", agents.Unchanged: "unchanged"}
	if a.MCPFile == "" {
		fmt.Fprintf(w, "# Your agent's MCP config: add this server (the file and its key vary by client)\n%s\n", agents.Snippet(p))
	}
	for _, ch := range changes {
		name := display(dir, ch.Path)
		switch ch.Kind {
		case agents.KindMCP:
			fmt.Fprintf(w, "# %s (%s): %s\n%s\n", name, would[ch.Action], a.MCPPart(), ch.Part)
		case agents.KindRules:
			if strings.HasPrefix(ch.Part, agents.BeginMarker) {
				fmt.Fprintf(w, "# %s (%s): this block; text outside the markers stays as it is\n%s\n", name, would[ch.Action], ch.Part)
			} else {
				fmt.Fprintf(w, "# %s (%s): the whole file\n%s\n", name, would[ch.Action], ch.Part)
			}
		case agents.KindSettings:
			if a.ClaudeSandbox() {
				fmt.Fprintf(w, "# %s (%s): the environment of %s's shell commands, under \"env\";\n", name, would[ch.Action], a.Title)
				fmt.Fprintf(w, "# its sandbox, under \"sandbox\"; and the same paths denied to its file tools, under \"permissions\"\n")
				printOverrides(w, "would change", ch.Overrides)
				fmt.Fprintf(w, "%s\n", ch.Part)
			} else {
				fmt.Fprintf(w, "# %s (%s): the environment of %s's shell commands, under \"env\"\n%s\n", name, would[ch.Action], a.Title, ch.Part)
			}
		case agents.KindCredentials:
			if a.MCPFile == "" {
				if ch.Action != agents.Unchanged {
					fmt.Fprintf(w, "# %s: create it empty for the shell environment below:\ninstall -m 600 /dev/null %s\n\n", name, shellWord(ch.Path))
				}
				continue
			}
			fmt.Fprintf(w, "# %s (%s): an empty credentials file, mode 0600\n\n", name, would[ch.Action])
		}
	}
}

// printShellEnv tells the user how to give the agent's shell commands the
// environment, for agents without a setting for it.
func printShellEnv(w io.Writer, a agents.Agent, p agents.Params) {
	env := agents.ShellEnv(p)
	names := []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"}
	if a.MCPFile == "" {
		fmt.Fprintf(w, "# Your shell profile (~/.bashrc, ~/.zshrc): unless your agent has a setting for the\n")
		fmt.Fprintf(w, "# environment of its shell commands, set it in the shell that starts the agent.\n")
	} else {
		fmt.Fprintf(w, "# Your shell profile (~/.bashrc, ~/.zshrc): %s has no setting for the environment of its\n", a.Title)
		fmt.Fprintf(w, "# shell commands, so set it in the shell that starts it.\n")
	}
	fmt.Fprintf(w, "# Its shell commands then have no long-lived credentials to fall back on, while the\n")
	fmt.Fprintf(w, "# MCP server keeps its own: its entry sets its AWS files back.\n")
	var inline []string
	for _, k := range names {
		fmt.Fprintf(w, "export %s=%s\n", k, shellWord(env[k]))
		inline = append(inline, k+"="+shellWord(env[k]))
	}
	fmt.Fprintf(w, "# These apply to your own aws commands in that shell too. To keep them to the agent,\n")
	fmt.Fprintf(w, "# start it with them instead:\n#   %s %s\n", strings.Join(inline, " "), a.Launch)
}

// display names a project file relative to the project, and anything else
// in full.
func display(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:@,") == "" {
		return s
	}
	return profiles.Quote(s)
}
