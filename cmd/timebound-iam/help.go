package main

import (
	"slices"

	"github.com/urfave/cli/v2"
)

func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the commands, or a command's help",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		// urfave/cli would answer "help --help" with the program's help.
		HideHelp:        true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			if first := c.Args().First(); first == "-h" || first == "--help" {
				cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
				return nil
			}
			// The help of "help setup aws" is the help of "setup aws --help",
			// and an unknown command is reported as it would be there.
			args := slices.Concat([]string{c.App.Name}, c.Args().Slice(), []string{"--help"})
			return c.App.RunContext(c.Context, args)
		},
	}
}
