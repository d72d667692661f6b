package main

import (
	"fmt"
	"runtime"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, versionText())
			return nil
		},
	}
}

// versionText is what both version and --version print.
func versionText() string {
	return fmt.Sprintf("%s %s (%s, %s/%s; service catalog from %s)", prog, version, runtime.Version(), runtime.GOOS, runtime.GOARCH, catalog.Source)
}
