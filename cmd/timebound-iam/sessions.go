package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/timebound-iam/timebound-iam/grant"
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
			// The column appears only when a grant is narrowed; "*" is every
			// resource, as in a policy.
			narrowed := slices.ContainsFunc(out.Sessions, func(s grant.SessionOutput) bool { return len(s.Resources) > 0 })
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			header := "PROFILE\tSERVICES\tLEVEL\tEXPIRES\tREMAINING"
			if narrowed {
				header += "\tRESOURCES"
			}
			fmt.Fprintln(tw, header)
			for _, s := range out.Sessions {
				line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", s.Profile, strings.Join(s.Services, ","), s.Level, s.ExpiresAt, s.Remaining)
				if narrowed {
					res := "*"
					if len(s.Resources) > 0 {
						res = strings.Join(s.Resources, " ")
					}
					line += "\t" + res
				}
				fmt.Fprintln(tw, line)
			}
			return tw.Flush()
		},
	}
}
