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
	app := &cli.App{
		Name:            "timebound-iam",
		Usage:           "short-lived, scoped AWS credentials for AI coding agents",
		Version:         version,
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// Errors are printed once, by report, in the house format.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError,
		Commands: []*cli.Command{
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
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	if err := app.Run(args); err != nil {
		return report(stderr, err)
	}
	return 0
}
