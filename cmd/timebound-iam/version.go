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
			fmt.Fprintf(c.App.Writer, "timebound-iam %s (%s, %s/%s; service catalog from %s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, catalog.Source)
			return nil
		},
	}
}
