package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the MCP server on stdin/stdout for an AI agent",
		Description: "Speaks MCP (JSON-RPC) on stdin/stdout with the tools grant_access, list_active_sessions,\n" +
			"list_services and revoke_access. Logs go to stderr. Add it to the agent's MCP config as\n" +
			"the command \"timebound-iam\" with the argument \"serve\" (use the absolute path).\n\n" +
			"A grant that needs approval (config approval; by default any grant at level full) is shown\n" +
			"to the user as a form through the MCP client's elicitation; it is made only if they accept,\n" +
			"and refused when they decline or cancel, nobody answers within 5 minutes, or the client\n" +
			"cannot show forms.\n\n" +
			"While it runs it deletes each grant's keychain item at the grant's expiry (the kernel keyring\n" +
			"does that by itself), and at least once a minute it looks for grants other processes made.",
		Flags:  configFlags(),
		Action: serve,
	}
}

func serve(c *cli.Context) error {
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	m, err := newManagerWarn(c, true, log, logWarning(log), logNote(log))
	if err != nil {
		return err
	}
	if err := m.Config.CheckRole(); err != nil {
		// Serve anyway: list_services works, and grant_access repeats this
		// message to the agent, who can pass it on.
		log.Warn("grants will fail until the broker role is set", "err", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Items end at their grant's expiry, not at the next grant: the kernel
	// keyring ends them by itself, the other backends need this prune.
	wake := make(chan struct{}, 1)
	m.Changed = func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	pruned := make(chan struct{})
	defer func() { <-pruned }()
	go func() { defer close(pruned); m.PruneAtExpiry(ctx, wake, time.After) }()
	// Deferred calls run last first: this stop ends the timer's loop before
	// the wait above, once the server returns.
	defer stop()
	return mcpserver.NewServer(m, version).Run(ctx, &mcp.StdioTransport{})
}
