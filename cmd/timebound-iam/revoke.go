package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/urfave/cli/v2"
)

func revokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "end grants now",
		ArgsUsage: "ID... | --all",
		Description: "Deletes each grant's credentials from the keychain at once. Its profile stays for 24h so\n" +
			"that the AWS CLI shows why it refuses. IDs may be given as tb-<id> or <id>.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "revoke every live grant"},
		}, configFlags()...),
		Action: func(c *cli.Context) error {
			ids := c.Args().Slice()
			if c.Bool("all") == (len(ids) > 0) {
				return withHint(errors.New("name the grants to revoke, or pass --all"), "timebound-iam sessions lists them")
			}
			m, err := newManager(c, false, cliLogger(c))
			if err != nil {
				return err
			}
			var res []grant.RevokeResult
			if c.Bool("all") {
				res, err = m.RevokeAll(c.Context)
			} else {
				res, err = m.Revoke(c.Context, ids)
			}
			if err != nil {
				return err
			}
			if len(res) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "%s: no live grants to revoke\n", prog)
			}
			var auditErrs []error
			for _, r := range res {
				if r.Revoked {
					fmt.Fprintf(c.App.Writer, "revoked tb-%s\n", r.ID)
				} else {
					fmt.Fprintf(c.App.Writer, "tb-%s had already ended (%s)\n", r.ID, r.Status)
				}
				if r.AuditErr != nil {
					auditErrs = append(auditErrs, r.AuditErr)
				}
			}
			// The grants are ended either way; a missing record is still a
			// failure the user must hear about.
			if err := errors.Join(auditErrs...); err != nil {
				return withHint(err, "make %s writable; timebound-iam audit --verify checks it", filepath.Join(m.Config.Home, audit.FileName))
			}
			return nil
		},
	}
}
