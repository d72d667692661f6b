package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/urfave/cli/v2"
)

func grantCommand() *cli.Command {
	return &cli.Command{
		Name:      "grant",
		Usage:     "grant short-lived access to AWS services and write profile tb-<id>",
		ArgsUsage: " ",
		Description: "Assumes the broker role with a session policy for the services, keeps the credentials in\n" +
			"the keychain and writes profile tb-<id> into the dedicated AWS config file.\n\n" +
			"Examples:\n" +
			"  timebound-iam grant -s s3 -t 30m\n" +
			"  timebound-iam grant -s s3:full -s logs:ro -s ec2:vo -t 1h --reason \"fix the upload job\"\n" +
			"  timebound-iam grant -s s3 -r agent-data -r arn:aws:s3:::logs-*/2026/* -t 30m\n\n" +
			"With --resource the grant covers only those resources; a narrowed s3 grant cannot list\n" +
			"all buckets (s3:ListAllMyBuckets works only on \"*\").\n\n" +
			approvalHelp,
		Flags: append(append(grantFlags(),
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON (the fields of grant_access's result)"},
		), configFlags()...),
		Action: grantAction,
	}
}

// approvalHelp is the part of grant's and exec's help on approval.
const approvalHelp = "When the config's approval setting asks for it (approval = full, the default: any service\n" +
	"at level full; approval = always: every grant; approval_services: those services at any\n" +
	"level), the request is shown on stderr and made only once you answer y, or a shorter ttl\n" +
	"such as 30m, on the terminal. Without a terminal on stdin such a grant is refused.\n" +
	"With mfa_serial set (setup aws --mfa-serial), such a grant goes to the MFA role, and you are\n" +
	"then asked for the code your MFA device shows, which is not echoed and is sent to AWS once."

// grantFlags are what a grant asks for, on grant and on exec.
func grantFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "service", Aliases: []string{"s"}, Usage: "`SERVICE[:LEVEL]` to grant; repeat or separate with commas; LEVEL is view_only (alias vo), read_only (alias ro) or full"},
		&cli.StringFlag{Name: "level", Aliases: []string{"l"}, Value: "read_only", Usage: "level for services given without one: view_only (vo), read_only (ro) or full"},
		&cli.StringFlag{Name: "ttl", Aliases: []string{"t"}, Usage: "lifetime, a Go duration from 15m to max_ttl (default: default_ttl, 1h)"},
		&cli.StringFlag{Name: "reason", Usage: "why the access is needed; logged, never written to the AWS config"},
		&cli.StringSliceFlag{Name: "resource", Aliases: []string{"r"}, Usage: "narrow the grant to `ARN`s of its services, or s3 bucket names (the bucket and its objects); repeat or separate with commas (default: every resource)"},
	}
}

// grantInput is a grant as given by grantFlags.
type grantInput struct {
	services, resources []string
	level, ttl, reason  string
}

func grantInputFrom(c *cli.Context) grantInput {
	return grantInput{services: c.StringSlice("service"), level: c.String("level"), ttl: c.String("ttl"), reason: c.String("reason"), resources: c.StringSlice("resource")}
}

// grantFrom checks in against m's configuration, has the person on the
// terminal (stdin, stderr) approve it when the configuration says so, and
// carries out the grant. It returns the request too: its TTL is the one
// asked for, the default, or the shorter one approved.
func grantFrom(ctx context.Context, m *grant.Manager, in grantInput, stdin io.Reader, stderr io.Writer) (grant.Session, grant.Request, error) {
	access, err := parseServices(in.services, in.level)
	if err != nil {
		return grant.Session{}, grant.Request{}, err
	}
	ttl, err := grant.ParseTTL(in.ttl, m.Config.DefaultTTL, m.Config.MaxTTL)
	err = m.Config.NoteLimit("max_ttl", err)
	if err != nil {
		return grant.Session{}, grant.Request{}, err
	}
	p, err := m.Ask(grant.Request{Access: access, TTL: ttl, Reason: in.reason, Client: "cli", Resources: in.resources})
	if err != nil {
		return grant.Session{}, grant.Request{}, err
	}
	if p.Needed {
		if err := approveOnTerminal(ctx, m, p, stdin, stderr); err != nil {
			return grant.Session{}, grant.Request{}, err
		}
	}
	s, err := p.Grant(ctx)
	return s, p.Request, err
}

func grantAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return withHint(fmt.Errorf("unexpected argument %q", c.Args().First()), "name services with -s, e.g. timebound-iam grant -s s3 -t 30m")
	}
	m, err := newManager(c, true, cliLogger(c))
	if err != nil {
		return err
	}
	s, r, err := grantFrom(c.Context, m, grantInputFrom(c), c.App.Reader, c.App.ErrWriter)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, m.Output(s))
	}
	printGrant(c.App.Writer, "", "granted", m, s, r.TTL)
	return nil
}

// printGrant describes grant s, made for ttl, in lines that each start with
// prefix: what it allows until when, the resources it is narrowed to if any,
// how much of STS's limits its session policy takes, and how to use it.
func printGrant(w io.Writer, prefix, verb string, m *grant.Manager, s grant.Session, ttl time.Duration) {
	out := m.Output(s)
	fmt.Fprintf(w, "%s%s %s: %s until %s (%s)\n", prefix, verb, out.Profile, grant.AccessText(s.Access), out.ExpiresAt, ttl)
	if len(out.Resources) > 0 {
		fmt.Fprintf(w, "%sresources: %s\n", prefix, strings.Join(out.Resources, " "))
	}
	if out.PolicyChars > 0 {
		packed := ""
		if out.PackedPolicySize != nil {
			packed = fmt.Sprintf(", packed %d%% of STS's limit", *out.PackedPolicySize)
		}
		fmt.Fprintf(w, "%spolicy: %d of %d characters%s\n", prefix, out.PolicyChars, policy.MaxSize, packed)
	}
	fmt.Fprintf(w, "%suse: %s\n", prefix, out.Usage)
}

// parseCeiling reads setup's -s values as [parseServices] does, refusing
// view_only: the config records no levels, and setup reads a ceiling back
// from its permission policy as read_only or full only, so a view_only
// ceiling would quietly widen on the next run.
func parseCeiling(values []string, def string) ([]policy.Access, error) {
	access, err := parseServices(values, def)
	if err != nil {
		return nil, err
	}
	for _, a := range access {
		if a.Level == policy.ViewOnly {
			return nil, withHint(fmt.Errorf("--service %s level %q cannot be a setup ceiling: use \"read_only\" or \"full\"", a.Service, a.Level),
				"view_only grants run under a read_only ceiling; set it up as -s %s", a.Service)
		}
	}
	return access, nil
}

// parseServices reads -s values: SERVICE or SERVICE:LEVEL, comma-separated or
// repeated; def is the level for a bare SERVICE.
func parseServices(values []string, def string) ([]policy.Access, error) {
	defLevel, err := policy.ParseLevel("--level", def)
	if err != nil {
		return nil, err
	}
	var access []policy.Access
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			svc, lvl, hasLevel := strings.Cut(item, ":")
			a := policy.Access{Service: strings.ToLower(svc), Level: defLevel}
			if hasLevel {
				if a.Level, err = policy.ParseLevel(fmt.Sprintf("--service %s level", svc), lvl); err != nil {
					return nil, err
				}
			}
			access = append(access, a)
		}
	}
	if len(access) == 0 {
		return nil, withHint(fmt.Errorf("no service given"), "name at least one with -s, e.g. -s s3; timebound-iam services lists them")
	}
	return access, nil
}
