package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func sessionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "sessions",
		Usage: "list live grants",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print {\"sessions\": [...]} with the fields of list_active_sessions"},
		}, configFlags()...),
		Action: func(c *cli.Context) error {
			m, err := newManager(c, false, cliLogger(c))
			if err != nil {
				return err
			}
			out, err := m.Sessions(c.Context)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, out)
			}
			if len(out.Sessions) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "%s: no live grants\n", prog)
				return nil
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROFILE\tSERVICES\tLEVEL\tEXPIRES\tREMAINING")
			for _, s := range out.Sessions {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Profile, strings.Join(s.Services, ","), s.Level, s.ExpiresAt, s.Remaining)
			}
			return tw.Flush()
		},
	}
}
