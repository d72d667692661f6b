package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/urfave/cli/v2"
)

// agentParams is what an agent's files point at, for cfg and the binary exe.
// setup agent and doctor both use it, so that the paths they write and check
// are the same.
func agentParams(cfg config.Config, exe string) (agents.Params, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return agents.Params{}, withHint(fmt.Errorf("finding your home directory, where the MCP server's AWS files are: %w", err), "set HOME")
	}
	p := agents.Params{
		Exe:              exe,
		AWSConfigFile:    cfg.AWSConfigFile(),
		EmptyCredentials: filepath.Join(cfg.Home, agents.EmptyCredentialsName),
		Home:             home,
		StateDir:         cfg.Home,
		STSEndpoint:      cfg.STSEndpoint,
		// The server finds ~/.config/timebound-iam by itself.
		PinStateDir: !agents.SameFile(cfg.Home, filepath.Join(home, ".config", "timebound-iam")),
	}
	p.ServerEnv = agents.ServerEnv(os.Getenv, home, p)
	return p, nil
}

// setupManaged merges Claude Code's sandbox and permission rules for the
// project dir into the managed settings file.
func setupManaged(c *cli.Context, a agents.Agent, dir string, p agents.Params) error {
	path := agents.ManagedSettingsPath(runtime.GOOS)
	if path == "" {
		return withHint(fmt.Errorf("claude code has no managed settings file on %s", runtime.GOOS), "run timebound-iam setup agent claude-code --write for the project's settings")
	}
	ch, err := agents.PlanManaged(path, agents.ClaudeSandbox(dir, p), os.ReadFile)
	if err != nil {
		return planError(err)
	}
	if ch.Action != agents.Unchanged {
		if err := checkWritable(path); err != nil {
			return withHint(fmt.Errorf("cannot write Claude Code's managed settings %s: %w", path, err),
				"run it as root, keeping your home and state directory: sudo HOME=%s timebound-iam setup agent claude-code --managed --home %s --project %s; nothing was written",
				shellWord(p.Home), shellWord(p.StateDir), shellWord(dir))
		}
		if err := agents.Write(ch); err != nil {
			return withHint(err, "check the permissions of %s", filepath.Dir(path))
		}
	}
	w := c.App.Writer
	if c.Bool("json") {
		s := agents.ClaudeSandbox(dir, p)
		return printJSON(w, setupAgentOutput{
			Agent: a.Name, Project: dir, Written: true, MCPServer: agents.Entry(p),
			Files:    []agentFileOut{{Path: ch.Path, Kind: ch.Kind, Action: ch.Action, Content: string(ch.Content), Overrides: ch.Overrides}},
			ShellEnv: agents.ShellEnv(p), Contained: a.Contained, ContainedReason: a.ContainedReason, Sandbox: &s,
		})
	}
	fmt.Fprintf(w, "%-9s  %s\n", ch.Action, path)
	printOverrides(w, "changed", ch.Overrides)
	printContained(w, a)
	return nil
}

// checkWritable finds out, before anything is written, whether path can be
// written: it creates and removes a file in the nearest directory on the way
// that exists.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	f, err := os.CreateTemp(dir, ".timebound-iam-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// printOverrides names each of the user's settings a merge overwrote, or
// would: verb is "changed" or "would change".
func printOverrides(w io.Writer, verb string, over []agents.Override) {
	for _, o := range over {
		fmt.Fprintf(w, "# %s %s from %s to %s\n", verb, o.Key, o.Was, o.Now)
	}
}

// printContained says plainly whether the agent is contained.
func printContained(w io.Writer, a agents.Agent) {
	if a.Contained {
		fmt.Fprintf(w, "# contained: %s\n", a.ContainedReason)
	} else {
		fmt.Fprintf(w, "# not contained: %s\n", a.ContainedReason)
	}
}
