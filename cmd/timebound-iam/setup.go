package main

import "github.com/urfave/cli/v2"

func setupCommand() *cli.Command {
	return &cli.Command{
		Name:  "setup",
		Usage: "set up the broker role in AWS, connect an AI agent, or cap every grant on this machine",
		Subcommands: []*cli.Command{
			setupAWSCommand(),
			setupAgentCommand(),
			setupPolicyCommand(),
		},
	}
}
