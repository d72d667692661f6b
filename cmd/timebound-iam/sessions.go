package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/urfave/cli/v2"
)

func sessionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "sessions",
		Usage: "list live grants",
		Description: "Lists the live grants from the profiles file, and the keychain items of this state directory\n" +
			"whose profile was removed or edited, as orphaned (revoke deletes them). Unlike\n" +
			"list_active_sessions, it reads the keychain for those.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print {\"sessions\": [...]} with the fields of list_active_sessions, and \"orphaned\": [...] for keychain items whose profile is gone"},
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
			// Unlike list_active_sessions, this reads the keychain: items
			// whose profile is gone are shown, so that they can be revoked.
			orphans, err := m.Orphans()
			if err != nil {
				fmt.Fprintf(c.App.ErrWriter, "%s: warning: orphaned keychain items are not shown: %v\n", prog, err)
			}
			if c.Bool("json") {
				full := sessionsJSON{SessionsOutput: out}
				now := m.Now()
				for _, o := range orphans {
					full.Orphaned = append(full.Orphaned, orphanJSON{SessionID: o.ID, Profile: "tb-" + o.ID, Status: "orphaned", Why: o.Why,
						ExpiresAt: o.Expires.UTC().Format(time.RFC3339), Remaining: o.Expires.Sub(now).Truncate(time.Second).String()})
				}
				return printJSON(c.App.Writer, full)
			}
			if len(out.Sessions) == 0 && len(orphans) == 0 {
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
			now := m.Now()
			for _, o := range orphans {
				fmt.Fprintf(tw, "tb-%s\torphaned\t-\t%s\t%s\n", o.ID, o.Expires.UTC().Format(time.RFC3339), o.Expires.Sub(now).Truncate(time.Second))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, o := range orphans {
				fmt.Fprintf(c.App.ErrWriter, "%s: tb-%s is an orphaned keychain item: %s; timebound-iam revoke tb-%s (or --all) deletes it\n", prog, o.ID, o.Why, o.ID)
			}
			return nil
		},
	}
}

// sessionsJSON is `sessions --json`: list_active_sessions's fields, and the
// orphaned keychain items, which that tool does not look for.
type sessionsJSON struct {
	grant.SessionsOutput
	Orphaned []orphanJSON `json:"orphaned,omitempty"`
}

// orphanJSON is a keychain item of this state directory whose grant has no
// live profile; status is always "orphaned".
type orphanJSON struct {
	SessionID string `json:"session_id"`
	Profile   string `json:"profile"`
	Status    string `json:"status"`
	Why       string `json:"why"`
	ExpiresAt string `json:"expires_at"`
	Remaining string `json:"remaining"`
}
