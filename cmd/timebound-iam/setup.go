package main

import "github.com/urfave/cli/v2"

func setupCommand() *cli.Command {
	return &cli.Command{
		Name:  "setup",
		Usage: "set up the broker role in AWS, or connect an AI agent",
		Subcommands: []*cli.Command{
			setupAWSCommand(),
			setupAgentCommand(),
		},
	}
}
