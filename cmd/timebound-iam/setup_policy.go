package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

// policyFlags maps setup policy's limit flags to the managed policy keys
// they set.
var policyFlags = []struct{ flag, key string }{
	{"service", "services"},
	{"max-ttl", "max_ttl"},
	{"max-grants", "max_grants"},
	{"approval", "approval"},
	{"approval-service", "approval_services"},
	{"role-arn", "role_arn"},
	{"allow-escalation", "allow_escalation"},
}

func setupPolicyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "write the managed policy: limits no user setting on this machine can loosen (run with sudo)",
		Description: "Prints the managed policy " + config.ManagedPolicyPath() + " built from the flags, or from\n" +
			"the limits in your config with --from-config, then with --write installs it, owned by root,\n" +
			"mode 0644. Every grant on this machine must then fit it: a user's config, environment or flags\n" +
			"may tighten a limit, never loosen it, and a policy file that is not root's, or that group or\n" +
			"others can write, is refused. Writing it needs root.\n\n" +
			"Examples:\n" +
			"  timebound-iam setup policy -s s3,logs:read_only --max-ttl 1h --approval full\n" +
			"  sudo timebound-iam setup policy --from-config --write",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "service", Aliases: []string{"s"}, Usage: "`SERVICE[:LEVEL]` a grant may name, at most at LEVEL (view_only, read_only or full); repeat or separate with commas"},
			&cli.StringFlag{Name: "max-ttl", Usage: "longest grant, a `DURATION` from 15m to 12h"},
			&cli.StringFlag{Name: "max-grants", Usage: "most grants live at once, a positive `NUMBER`"},
			&cli.StringFlag{Name: "approval", Usage: "which grants a person must approve: never, full or always"},
			&cli.StringSliceFlag{Name: "approval-service", Usage: "`SERVICE` whose grants always need approval; repeat or separate with commas"},
			&cli.StringFlag{Name: "role-arn", Usage: "pin the broker role every grant must assume, an `ARN`"},
			&cli.StringSliceFlag{Name: "allow-escalation", Usage: "`SERVICE` whose escalation denies a user may lift with allow_escalation, and no other; none forbids it; repeat or separate with commas"},
			&cli.BoolFlag{Name: "from-config", Usage: "start from the limits in your config (under sudo, the invoking user's); flags override them"},
			&cli.StringFlag{Name: "home", Usage: "state `DIR` whose config --from-config reads (default: yours, or under sudo the invoking user's)"},
			&cli.BoolFlag{Name: "write", Usage: "install the policy at " + config.ManagedPolicyPath() + " (needs root)"},
		},
		Action: setupPolicy,
	}
}

func setupPolicy(c *cli.Context) error {
	values := map[string]string{}
	if c.Bool("from-config") {
		home, err := invokingHome(c.String("home"))
		if err != nil {
			return err
		}
		file, err := config.FileValues(home)
		if err != nil {
			return err
		}
		for _, k := range config.PolicyKeys {
			if v := file[k]; v != "" {
				values[k] = v
			}
		}
		if len(values) == 0 {
			return withHint(fmt.Errorf("%s sets no limit (%s)", filepath.Join(home, config.FileName), strings.Join(config.PolicyKeys, ", ")),
				"give the limits as flags, e.g. -s s3,logs:read_only --max-ttl 1h")
		}
	} else if c.IsSet("home") {
		return withHint(errors.New("--home is only read with --from-config"), "add --from-config, or leave --home out")
	}
	for _, f := range policyFlags {
		if !c.IsSet(f.flag) {
			continue
		}
		v := c.String(f.flag)
		if f.flag == "service" || f.flag == "approval-service" || f.flag == "allow-escalation" {
			v = strings.Join(c.StringSlice(f.flag), ", ")
		}
		// Checked alone first, so that the error names the flag.
		if _, err := config.PolicyText(map[string]string{f.key: v}); err != nil {
			return withHint(fmt.Errorf("--%s: %w", f.flag, err), "run timebound-iam setup policy --help")
		}
		values[f.key] = v
	}
	if len(values) == 0 {
		return withHint(errors.New("no limit given"), "name at least one with -s, --max-ttl, --max-grants, --approval, --approval-service, --role-arn or --allow-escalation, or take your config's with --from-config")
	}
	text, err := config.PolicyText(values)
	if err != nil {
		return err
	}
	path := config.ManagedPolicyPath()
	fmt.Fprintf(c.App.ErrWriter, "%s: managed policy for %s:\n", prog, path)
	fmt.Fprint(c.App.Writer, text)
	if !c.Bool("write") {
		fmt.Fprintf(c.App.ErrWriter, "%s: not written; run it again with sudo and --write to install it\n", prog)
		return nil
	}
	if os.Geteuid() != 0 {
		return withHint(fmt.Errorf("writing %s needs root: the policy must be root's, so that no user process can change it", path),
			"run it again with sudo")
	}
	if err := writePolicy(path, text); err != nil {
		return err
	}
	// Read back as every command will read it.
	if _, err := config.ReadPolicy(path); err != nil {
		return fmt.Errorf("wrote %s, but it does not read back: %w", path, err)
	}
	fmt.Fprintf(c.App.ErrWriter, "%s: wrote %s (root, 0644); every grant on this machine must fit it now (timebound-iam doctor shows the limits)\n", prog, path)
	return nil
}

// writePolicy installs text at path as root's, mode 0644, atomically, in a
// directory only root can change: one another user could write would let
// them swap the file.
func writePolicy(path, text string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chown(dir, 0, 0); err != nil {
		return fmt.Errorf("making %s root's: %w", dir, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm()&0o022 != 0 {
		if err := os.Chmod(dir, info.Mode().Perm()&^0o022); err != nil {
			return fmt.Errorf("making %s writable by root only: %w", dir, err)
		}
	}
	if err := profiles.WriteFileAtomic(path, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Chown(path, 0, 0)
}

// invokingHome is the state directory whose config --from-config reads:
// home when given; under sudo, the invoking user's default one, since sudo
// makes $HOME root's; else this user's.
func invokingHome(home string) (string, error) {
	if home != "" {
		return filepath.Abs(home)
	}
	if name := os.Getenv("SUDO_USER"); name != "" && os.Geteuid() == 0 {
		u, err := user.Lookup(name)
		if err != nil {
			return "", withHint(fmt.Errorf("finding the home of %s, who ran sudo: %w", name, err), "pass --home with your state directory")
		}
		if uid, _ := strconv.Atoi(u.Uid); uid != 0 {
			return filepath.Join(u.HomeDir, ".config", "timebound-iam"), nil
		}
	}
	return config.Home(os.Getenv)
}
