package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/urfave/cli/v2"
)

func servicesCommand() *cli.Command {
	return &cli.Command{
		Name:  "services",
		Usage: "list the AWS services a grant may name",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print {\"services\": [...]} with the fields of list_services"},
		}, configFlags()...),
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			out := grant.ServicesOutput{Services: grant.ServiceList(cfg), Limits: cfg.Limits()}
			if c.Bool("json") {
				return printJSON(c.App.Writer, out)
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLEVELS\tTITLE")
			for _, s := range out.Services {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, strings.Join(s.Levels, ","), s.Title)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer)
			fmt.Fprintln(tw, "LIMIT\tVALUE\tSOURCE")
			for _, l := range out.Limits {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Key, l.Value, l.Source)
			}
			return tw.Flush()
		},
	}
}
