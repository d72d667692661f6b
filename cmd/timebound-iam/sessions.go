package main

import (
	"encoding/json"
	"fmt"
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
			live, err := m.List(c.Context)
			if err != nil {
				return err
			}
			now := m.Now()
			out := grant.SessionsOutput{Sessions: []grant.SessionOutput{}}
			for _, s := range live {
				out.Sessions = append(out.Sessions, s.Output(now))
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
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
