package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

func revokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "end grants now",
		ArgsUsage: "ID... | --all",
		Description: "Deletes each grant's credentials from the keychain at once. Its profile stays for 24h so\n" +
			"that the AWS CLI shows why it refuses. IDs may be given as tb-<id> or <id>.\n\n" +
			"The temporary credentials themselves stay valid at AWS until they expire, should someone\n" +
			"have copied them. --aws also makes AWS refuse them: it adds a Deny of each grant's role\n" +
			"session to the broker role, in its inline policy " + awsiam.RevokedPolicyName + ", and drops the entries\n" +
			"of grants that have expired since. The base identity needs iam:GetRolePolicy and\n" +
			"iam:PutRolePolicy on the broker role for that. The local revoke happens first and stays\n" +
			"done when the AWS side fails; the error then says so. --aws also works on a grant revoked\n" +
			"earlier without it, until that grant's expiry. When sts_endpoint is not AWS, IAM's endpoint\n" +
			"must be set too (AWS_ENDPOINT_URL_IAM). With sts_dialect = minio there is no IAM to write\n" +
			"to, and --aws fails after the local revoke.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "revoke every live grant"},
			&cli.BoolFlag{Name: "aws", Usage: "also deny each grant's role session at AWS, so that copies of its credentials stop working (needs iam:GetRolePolicy and iam:PutRolePolicy on the broker role)"},
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
			var listErr error
			if c.Bool("all") {
				if res, err = m.RevokeAll(c.Context); errors.Is(err, grant.ErrUnlisted) {
					listErr, err = err, nil
				}
			} else {
				res, err = m.Revoke(c.Context, ids)
			}
			if err != nil {
				return err
			}
			if len(res) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "%s: no live grants to revoke\n", prog)
			}
			var errs []error
			for _, r := range res {
				switch {
				case r.Orphan != "":
					fmt.Fprintf(c.App.Writer, "revoked tb-%s (orphaned keychain item: %s)\n", r.ID, r.Orphan)
				case r.Revoked:
					fmt.Fprintf(c.App.Writer, "revoked tb-%s\n", r.ID)
				default:
					fmt.Fprintf(c.App.Writer, "tb-%s had already ended (%s)\n", r.ID, r.Status)
				}
				if r.AuditErr != nil {
					errs = append(errs, r.AuditErr)
				}
			}
			// A missing audit record must not keep the AWS-side deny from
			// happening: both run, and both failures are reported.
			var awsErr error
			switch {
			case c.Bool("aws") && c.Bool("all"):
				// Also the copies of grants no profile or item lists.
				awsErr = denyAllAtAWS(c, m, res)
			case c.Bool("aws") && len(res) > 0:
				awsErr = denyAtAWS(c, m, res)
			}
			if listErr != nil {
				if awsErr != nil {
					report(c.App.ErrWriter, awsErr)
				}
				return withHint(listErr, "the live grants above are revoked; fix the keychain, then run timebound-iam revoke --all again")
			}
			// The grants are ended either way; a missing record is still a
			// failure the user must hear about.
			if err := errors.Join(errs...); err != nil {
				if awsErr != nil {
					report(c.App.ErrWriter, awsErr)
				}
				return withHint(err, "make %s writable; timebound-iam audit --verify checks it", filepath.Join(m.Config.Home, audit.FileName))
			}
			return awsErr
		},
	}
}

// denyAllAtAWS runs the AWS side of revoke --aws --all, after the local
// revoke of res, and prints what it did.
func denyAllAtAWS(c *cli.Context, m *grant.Manager, res []grant.RevokeResult) error {
	d := m.DenyAllAtAWS(c.Context)
	if d.Err != nil {
		what := "nothing was live locally"
		if len(res) > 0 {
			what = "revoked " + strings.Join(profileNames(resultIDs(res)), ", ") + " locally"
		}
		err := fmt.Errorf("%s; %s", what, d.Failure())
		switch {
		case m.Config.STSDialect == policy.DialectMinIO:
			return withHint(err, "MinIO's admin API revoke-tokens (/minio/admin/v3/revoke-tokens/builtin) ends every STS session of the base user, these included")
		case errors.Is(d.Err, awsiam.ErrNotPermitted):
			return withHint(err, "give the base identity iam:GetRolePolicy and iam:PutRolePolicy on %s, then run timebound-iam revoke --aws --all again", rolesText(d.Role, d.MFARole))
		}
		return withHint(err, "once that is fixed, run timebound-iam revoke --aws --all again")
	}
	fmt.Fprintf(c.App.Writer, "denied every session of %s issued before %s at AWS (policy %s)\n", rolesText(d.Role, d.MFARole), d.All.UTC().Format(time.RFC3339), awsiam.RevokedPolicyName)
	if len(d.Pruned) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "%s: dropped the expired %s from %s\n", prog, strings.Join(profileNames(d.Pruned), ", "), awsiam.RevokedPolicyName)
	}
	return nil
}

func resultIDs(res []grant.RevokeResult) []string {
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids
}

// denyAtAWS runs the AWS side of revoke --aws, after the local revoke of res,
// and prints what it did. Its failure is the command's error, worded so that
// the local revoke is plainly done.
func denyAtAWS(c *cli.Context, m *grant.Manager, res []grant.RevokeResult) error {
	d := m.DenyAtAWS(c.Context, res)
	if d.Err != nil {
		var revoked, ended []string
		for _, r := range res {
			if r.Revoked {
				revoked = append(revoked, profiles.Prefix+r.ID)
			} else {
				ended = append(ended, profiles.Prefix+r.ID)
			}
		}
		var done []string
		if len(revoked) > 0 {
			done = append(done, "revoked "+strings.Join(revoked, ", ")+" locally")
		}
		if len(ended) > 0 {
			done = append(done, strings.Join(ended, ", ")+" had already ended locally")
		}
		what := strings.Join(done, "; ")
		err := fmt.Errorf("%s; %s", what, d.Failure())
		again := "timebound-iam revoke --aws " + strings.Join(profileNames(d.IDs), " ")
		switch {
		case m.Config.STSDialect == policy.DialectMinIO:
			return withHint(err, "MinIO's admin API revoke-tokens (/minio/admin/v3/revoke-tokens/builtin) ends every STS session of the base user, these included")
		case errors.Is(d.Err, awsiam.ErrNotPermitted):
			return withHint(err, "give the base identity iam:GetRolePolicy and iam:PutRolePolicy on %s, then run %s again", rolesText(d.Role, d.MFARole), again)
		case len(d.IDs) > 0:
			return withHint(err, "once that is fixed, run %s again", again)
		}
		return err
	}
	for _, id := range d.IDs {
		note := ""
		role := d.RoleOf(id)
		if slices.Contains(d.Orphans, id) {
			role = rolesText(d.Role, d.MFARole)
			note = "; it had no profile to name its role, so this is role_arn"
			if d.MFARole != "" {
				note += " and mfa_role_arn"
			}
		}
		fmt.Fprintf(c.App.Writer, "denied tb-%s at AWS (policy %s on %s%s)\n", id, awsiam.RevokedPolicyName, role, note)
	}
	if len(d.Pruned) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "%s: dropped the expired %s from %s\n", prog, strings.Join(profileNames(d.Pruned), ", "), awsiam.RevokedPolicyName)
	}
	return nil
}

// rolesText names the broker role, and the MFA role when there is one.
func rolesText(role, mfaRole string) string {
	if mfaRole == "" {
		return role
	}
	return role + " and " + mfaRole
}

func profileNames(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = profiles.Prefix + id
	}
	return out
}
