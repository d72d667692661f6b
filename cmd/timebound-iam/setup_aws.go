package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

const defaultRoleName = "timebound-iam-broker"

func setupAWSCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "service", Aliases: []string{"s"}, Usage: "`SERVICE[:LEVEL]` the broker may reach, at most at LEVEL (read_only, the default, or full); repeat or separate with commas"},
		&cli.StringFlag{Name: "role-name", Value: defaultRoleName, Usage: "name of the broker role"},
		&cli.DurationFlag{Name: "max-session-duration", Value: 12 * time.Hour, Usage: "the role's MaxSessionDuration, 1h to 12h; max_ttl follows it"},
		&cli.StringFlag{Name: "principal", Usage: "`ARN` of the identity that will run timebound-iam (default: detected with STS GetCallerIdentity)"},
		&cli.BoolFlag{Name: "apply", Usage: "create or update the role through the IAM API instead of printing the commands"},
	}
	for _, f := range configFlags() {
		if n := f.Names()[0]; n == "home" || n == "region" {
			flags = append(flags, f)
		}
	}
	return &cli.Command{
		Name:  "aws",
		Usage: "produce the broker role for your AWS account, and this tool's config",
		Description: "Detects who you are, asks which services the broker may reach (every answer is also a flag),\n" +
			"then prints the trust policy, the permission policy and the aws iam commands that create\n" +
			"the role, or with --apply creates or updates it itself. It writes role_arn, region,\n" +
			"services and max_ttl into the config, keeping values you set earlier unless you pass them.\n\n" +
			"Example:\n" +
			"  timebound-iam setup aws -s s3,logs,lambda -s cloudwatch:full --apply",
		Flags:  flags,
		Action: setupAWS,
	}
}

// prompter asks on a terminal; without one it answers nothing.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
	tty bool
}

func (p *prompter) ask(question, def string) (string, error) {
	if !p.tty {
		return def, nil
	}
	if def != "" {
		fmt.Fprintf(p.out, "%s [%s]: ", question, def)
	} else {
		fmt.Fprintf(p.out, "%s: ", question)
	}
	line, err := p.in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	if line = strings.TrimSpace(line); line == "" {
		return def, nil
	}
	return line, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func setupAWS(c *cli.Context) error {
	ctx, cancel := context.WithTimeout(c.Context, 2*time.Minute)
	defer cancel()
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	errw := c.App.ErrWriter
	p := &prompter{in: bufio.NewReader(c.App.Reader), out: errw, tty: isTerminal(c.App.Reader)}
	explicit := map[string]bool{"region": c.IsSet("region")}

	// Who will call STS: the trust policy names exactly this identity.
	identity := c.String("principal")
	if identity == "" {
		client, err := grant.NewSTS(ctx, cfg)
		if err != nil {
			return err
		}
		who, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return withHint(fmt.Errorf("detecting the base identity with STS GetCallerIdentity: %w", err), "make AWS credentials available (aws configure, aws sso login, or source_profile), or pass --principal ARN")
		}
		identity = aws.ToString(who.Arn)
		fmt.Fprintf(errw, "%s: base identity %s (account %s)\n", prog, identity, aws.ToString(who.Account))
	}
	var iamClient *iam.Client
	roleARNOf := func(name string) (string, error) {
		if iamClient == nil {
			return "", errors.New("no IAM client")
		}
		out, err := iamClient.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Role.Arn), nil
	}
	if c.Bool("apply") || c.String("principal") == "" {
		if iamClient, err = grant.NewIAM(ctx, cfg); err != nil {
			return err
		}
	}
	principal, chained, err := grant.TrustPrincipal(identity, roleARNOf)
	if err != nil {
		return err
	}
	if chained {
		fmt.Fprintf(errw, "%s: warning: the base credentials are a role session; STS caps every grant at 1h (role chaining), so max_ttl will be 1h\n", prog)
	}

	ceiling, err := parseServices(c.StringSlice("service"), "read_only")
	if err != nil {
		if !p.tty {
			return withHint(errors.New("no service given"), "name the services the broker may reach with -s, e.g. -s s3,logs -s lambda:full")
		}
		if ceiling, err = askServices(p); err != nil {
			return err
		}
	}
	for _, a := range ceiling {
		if _, ok := catalog.Lookup(a.Service); !ok {
			return withHint(fmt.Errorf("service %q is not an AWS service prefix in the catalog", a.Service), "timebound-iam services lists them")
		}
	}
	roleName := c.String("role-name")
	if !c.IsSet("role-name") {
		if roleName, err = p.ask("Role name", defaultRoleName); err != nil {
			return err
		}
	}
	maxSession := c.Duration("max-session-duration")
	if !c.IsSet("max-session-duration") {
		answer, err := p.ask("Maximum session duration (1h to 12h)", "12h")
		if err != nil {
			return err
		}
		if maxSession, err = time.ParseDuration(answer); err != nil {
			return fmt.Errorf("maximum session duration %q is not a duration such as 12h", answer)
		}
	}
	if maxSession < time.Hour || maxSession > 12*time.Hour || maxSession%time.Second != 0 {
		return fmt.Errorf("--max-session-duration %s is out of range: IAM allows 1h to 12h", grant.ShortDuration(maxSession))
	}

	trust := grant.TrustPolicy(principal)
	permission, err := grant.PermissionPolicy(ceiling)
	if err != nil {
		return err
	}
	roleARN, err := grant.RoleARN(principal, roleName)
	if err != nil {
		return err
	}
	maxTTL := maxSession
	if chained {
		maxTTL = time.Hour
	}
	names := make([]string, len(ceiling))
	for i, a := range ceiling {
		names[i] = a.Service
	}
	dir := filepath.Join(cfg.Home, "setup")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	trustFile, permFile := filepath.Join(dir, "trust-policy.json"), filepath.Join(dir, "permission-policy.json")
	for path, doc := range map[string]string{trustFile: trust, permFile: permission} {
		if err := profiles.WriteFileAtomic(path, []byte(doc), 0o600); err != nil {
			return err
		}
	}

	w := c.App.Writer
	fmt.Fprintf(w, "# Trust policy (%s): only %s may assume the broker\n%s\n", trustFile, principal, trust)
	fmt.Fprintf(w, "# Permission policy (%s): the ceiling of every grant, escalation denied\n%s\n", permFile, permission)
	if c.Bool("apply") {
		arn, changes, err := grant.ApplyRole(ctx, iamClient, grant.RoleSpec{Name: roleName, TrustPolicy: trust, PermissionPolicy: permission, MaxSessionDuration: maxSession})
		if err != nil {
			return withHint(err, "the base identity needs iam:GetRole, iam:CreateRole, iam:UpdateAssumeRolePolicy, iam:UpdateRole, iam:GetRolePolicy and iam:PutRolePolicy; or run without --apply and have an administrator run the printed commands")
		}
		roleARN = arn
		if len(changes) == 0 {
			fmt.Fprintf(w, "# Role %s already matches: no changes\n", roleARN)
		}
		for _, ch := range changes {
			fmt.Fprintf(w, "# %s\n", ch)
		}
	} else {
		secs := int(maxSession / time.Second)
		fmt.Fprintf(w, "# Create the role (or run again with --apply):\n")
		fmt.Fprintf(w, "aws iam create-role --role-name %s --max-session-duration %d --assume-role-policy-document file://%s\n", roleName, secs, trustFile)
		fmt.Fprintf(w, "aws iam put-role-policy --role-name %s --policy-name %s --policy-document file://%s\n", roleName, grant.CeilingPolicyName, permFile)
		fmt.Fprintf(w, "# If the role exists already:\n")
		fmt.Fprintf(w, "aws iam update-assume-role-policy --role-name %s --policy-document file://%s\n", roleName, trustFile)
		fmt.Fprintf(w, "aws iam update-role --role-name %s --max-session-duration %d\n", roleName, secs)
	}

	values := map[string]string{
		"role_arn": roleARN,
		"region":   cfg.Region,
		"services": strings.Join(names, ", "),
		"max_ttl":  grant.ShortDuration(maxTTL),
	}
	for k := range values {
		explicit[k] = explicit[k] || k != "region"
	}
	report, err := grant.UpdateConfig(cfg.Home, values, explicit)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# Config (%s):\n", cfg.ConfigFile())
	for _, line := range report {
		fmt.Fprintf(w, "#   %s\n", line)
	}
	fmt.Fprintf(errw, "%s: next: timebound-iam setup agent <kiro|claude-code|cursor|generic>\n", prog)
	return nil
}

// askServices asks for the services, with search: "?text" lists matches.
func askServices(p *prompter) ([]grant.Access, error) {
	for {
		answer, err := p.ask("Services the broker may reach (e.g. s3,logs,lambda:full; ?text searches)", "")
		if err != nil {
			return nil, err
		}
		if q, ok := strings.CutPrefix(answer, "?"); ok {
			q = strings.ToLower(strings.TrimSpace(q))
			for _, s := range catalog.All() {
				if strings.Contains(s.Prefix, q) || strings.Contains(strings.ToLower(s.Name+" "+s.Description), q) {
					fmt.Fprintf(p.out, "  %-24s %s\n", s.Prefix, s.Name)
				}
			}
			continue
		}
		access, err := parseServices([]string{answer}, "read_only")
		if err != nil {
			fmt.Fprintf(p.out, "%s\n", err)
			continue
		}
		for i, a := range access {
			if _, ok := catalog.Lookup(a.Service); !ok {
				fmt.Fprintf(p.out, "%q is not a service prefix; try ?%s\n", a.Service, a.Service)
				access = nil
				break
			}
			if !slices.Contains([]string{"read_only", "full"}, string(a.Level)) {
				access[i].Level = grant.ReadOnly
			}
		}
		if len(access) > 0 {
			return access, nil
		}
	}
}
