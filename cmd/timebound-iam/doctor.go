package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/doctor"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check the config, keychain, base credentials, broker role, MFA role, clock and the agents' containment",
		ArgsUsage: " ",
		Description: "Runs each check and prints one line per check: ok, warn or fail, then a hint for what to do.\n" +
			"The role check makes a real 15m read_only grant for the first allowed service and revokes it\n" +
			"at once. The mfa check says whether grants that need approval go to the MFA role (mfa_serial,\n" +
			"mfa_role_arn), from the config alone. Then, for each agent whose MCP config in --project names the timebound-iam server, a\n" +
			"containment-<agent> check: for Claude Code, whether its settings turn on the sandbox with the\n" +
			"denies setup agent writes, and whether they come from managed settings; other agents cannot be\n" +
			"contained and warn. Exits 1 when any check fails; warnings alone exit 0.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: `print {"checks": [{"name", "status", "detail", "hint"}], "ok": true|false}`},
			&cli.StringFlag{Name: "project", Value: ".", Usage: "the project `DIR` whose agents' containment to check"},
		}, configFlags()...),
		Action: doctorAction,
	}
}

func doctorAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return withHint(fmt.Errorf("unexpected argument %q", c.Args().First()), "run timebound-iam doctor without arguments")
	}
	checks := newDoctor(c).Run(c.Context)
	rep := doctor.NewReport(checks)
	if c.Bool("json") {
		if err := printJSON(c.App.Writer, rep); err != nil {
			return err
		}
	} else {
		printChecks(c.App.Writer, checks)
	}
	if n := rep.Failures(); n > 0 {
		s := "s"
		if n == 1 {
			s = ""
		}
		return fmt.Errorf("doctor found %d failing check%s", n, s)
	}
	return nil
}

// newDoctor wires the checks to the real keychain, AWS clients and files.
func newDoctor(c *cli.Context) *doctor.Doctor {
	cfg, err := loadConfig(c)
	home, _ := os.UserHomeDir() // without one, only the environment is checked for keys
	d := &doctor.Doctor{Config: cfg, ConfigErr: err, Getenv: os.Getenv, UserHome: home, Now: time.Now}
	if err != nil {
		return d
	}
	if dir, err := filepath.Abs(c.String("project")); err == nil && home != "" {
		if p, err := agentParams(cfg, ""); err == nil {
			d.Containment = &doctor.Containment{Project: dir, Params: p, ManagedPath: agents.ManagedSettingsPath(runtime.GOOS)}
		}
	}
	// One STS client for the identity check and the clock, so both see the
	// endpoint the SDK resolved (sts_endpoint, AWS_ENDPOINT_URL_STS, ...).
	base := sync.OnceValues(func() (*sts.Client, error) { return grant.NewSTS(c.Context, cfg) })
	d.ClockURL = doctor.STSURL(cfg)
	if client, err := base(); err == nil && client.Options().BaseEndpoint != nil {
		d.ClockURL = *client.Options().BaseEndpoint
	}
	d.Keys = func() (*keychain.Store, error) {
		return keychain.Open(keychain.Options{Backend: cfg.KeyringBackend, Dir: cfg.Home, Passphrase: cfg.FilePassphrase})
	}
	d.Profiles = &profiles.File{Path: cfg.AWSConfigFile(), Home: cfg.Home}
	d.STS = func(context.Context) (doctor.Identity, error) {
		client, err := base()
		if err != nil {
			return nil, err
		}
		return client, nil
	}
	d.IAM = func(ctx context.Context) (doctor.RoleGetter, error) {
		client, err := awsiam.NewClient(ctx, cfg)
		if err != nil {
			return nil, err
		}
		// Behind MinIO or a stand-in, AWS's IAM would only see keys it does
		// not know; ask it only when told where IAM is.
		if !client.Custom() && !doctor.IsAWS(d.ClockURL) {
			return nil, fmt.Errorf("the STS endpoint %s is not AWS, and no IAM endpoint is set (AWS_ENDPOINT_URL_IAM)", d.ClockURL)
		}
		return client, nil
	}
	d.Granter = func(context.Context) (doctor.Granter, error) {
		// loadConfig above has shown the config's warnings already.
		m, err := newManagerWarn(c, true, cliLogger(c), plainWarning(c), func(string) {})
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return d
}

// printChecks writes one line per check, then its hint under the detail:
//
//	ok    keyring               keyctl: a test item round-tripped
//	warn  fallback-credentials  AWS_ACCESS_KEY_ID (****MPLE) is set in this environment
//	                            hint: run the agent with ...
func printChecks(w io.Writer, checks []doctor.Check) {
	width := 0
	for _, c := range checks {
		width = max(width, len(c.Name))
	}
	for _, c := range checks {
		fmt.Fprintf(w, "%-4s  %-*s  %s\n", c.Status, width, c.Name, c.Detail)
		if c.Hint != "" {
			fmt.Fprintf(w, "%-4s  %-*s  hint: %s\n", "", width, "", c.Hint)
		}
	}
}
