// Command timebound-iam gives AI coding agents short-lived, scoped AWS
// credentials that they never see as text. See the README for the whole story.
package main

import (
	// dbusguard must initialise before keyring dials D-Bus in its init; see
	// its package doc for why import-path order guarantees that.
	_ "github.com/timebound-iam/timebound-iam/keychain/dbusguard"

	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if a, ok := quickCredentialProcess(args); ok {
		if err := serveCredentials(stdout, a); err != nil {
			return report(stderr, err)
		}
		return 0
	}
	app := &cli.App{
		Name:      prog,
		Usage:     "short-lived, scoped AWS credentials for AI coding agents",
		UsageText: prog + " COMMAND [OPTIONS] [ARGUMENTS]",
		Version:   version,
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		// help is a command of its own, below, that works at every level;
		// urfave/cli adds --help only when it adds its own.
		HideHelpCommand:      true,
		Flags:                []cli.Flag{cli.HelpFlag},
		EnableBashCompletion: true,
		// Errors are printed once, by report, in the house format.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError,
		Action:         unknownCommand,
		Commands:       commands(),
	}
	app.BashComplete = completer(nil, args)
	wire(app.Commands, args)
	if err := app.Run(args); err != nil {
		return report(stderr, err)
	}
	return 0
}

func commands() []*cli.Command {
	return []*cli.Command{
		serveCommand(),
		grantCommand(),
		sessionsCommand(),
		revokeCommand(),
		auditCommand(),
		servicesCommand(),
		setupCommand(),
		doctorCommand(),
		execCommand(),
		credentialProcessCommand(),
		versionCommand(),
		completionCommand(),
		helpCommand(),
	}
}

// wire gives every command, at every depth, the house usage errors, help
// for an unknown subcommand, and shell completion from args.
func wire(cmds []*cli.Command, args []string) {
	for _, c := range cmds {
		c.OnUsageError = usageError
		c.BashComplete = completer(c, args)
		c.HideHelpCommand = true
		if len(c.Subcommands) > 0 {
			c.Action = unknownCommand
			wire(c.Subcommands, args)
		}
	}
}
