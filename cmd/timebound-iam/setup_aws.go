package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/cmd/timebound-iam/internal/agents"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

const defaultRoleName = "timebound-iam-broker"

func setupAWSCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "service", Aliases: []string{"s"}, Usage: "`SERVICE[:LEVEL]` the broker may reach, at most at LEVEL (read_only, the default, or full); repeat or separate with commas (default: the config's services, at the levels setup last gave them)"},
		&cli.StringFlag{Name: "role-name", Usage: "`NAME` of the broker role (default: the role of the config's role_arn, else " + defaultRoleName + ")"},
		&cli.DurationFlag{Name: "max-session-duration", Usage: "the role's MaxSessionDuration, 1h to 12h; max_ttl follows it (default: the config's max_ttl, else 12h)"},
		&cli.StringFlag{Name: "principal", Usage: "`ARN` of the identity that will run timebound-iam (default: detected with STS GetCallerIdentity)"},
		&cli.StringFlag{Name: "mfa-serial", Usage: "`ARN` of the base identity's MFA device, arn:aws:iam::<account>:mfa/<name>: also set up the MFA role, which alone holds full and requires a code from the device, and cap the broker at read_only (default: the config's mfa_serial)"},
		&cli.StringFlag{Name: "mfa-role-name", Usage: "`NAME` of the MFA role (default: the role of the config's mfa_role_arn, else the broker's name with -mfa)"},
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
			"With --mfa-serial (or mfa_serial in the config) it sets up two roles: the broker, capped at\n" +
			"read_only, and the MFA role <role-name>-mfa, which holds the full ceiling and whose trust\n" +
			"policy requires aws:MultiFactorAuthPresent; grants that need approval then go to the MFA role\n" +
			"with the code you type. It writes mfa_serial and mfa_role_arn too.\n\n" +
			"The base identity needs sts:AssumeRole on the role (the trust policy allows it), and for\n" +
			"revoke --aws also iam:GetRolePolicy and iam:PutRolePolicy on the role, which setup does not\n" +
			"grant: --apply needs them itself, so an identity that ran it has them.\n\n" +
			"Examples:\n" +
			"  timebound-iam setup aws -s s3,logs,lambda -s cloudwatch:full --apply\n" +
			"  timebound-iam setup aws -s s3:full,logs --mfa-serial arn:aws:iam::123456789012:mfa/alice --apply",
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

// ask returns the answer, or def when there is no terminal or the answer is
// empty; answered says whether the user typed one.
func (p *prompter) ask(question, def string) (answer string, answered bool, err error) {
	if !p.tty {
		return def, false, nil
	}
	if def != "" {
		fmt.Fprintf(p.out, "%s [%s]: ", question, def)
	} else {
		fmt.Fprintf(p.out, "%s: ", question)
	}
	line, err := p.in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", false, fmt.Errorf("reading the answer: %w", err)
	}
	if line = strings.TrimSpace(line); line == "" {
		return def, false, nil
	}
	return line, true, nil
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
	// What the config file itself holds, without the environment: the values
	// the user set earlier, which this run keeps unless a flag or an answer
	// changes them.
	prev, err := config.FileValues(cfg.Home)
	if err != nil {
		return err
	}
	errw := c.App.ErrWriter
	p := &prompter{in: bufio.NewReader(c.App.Reader), out: errw, tty: isTerminal(c.App.Reader)}
	// overwrite names the config keys this run was told about.
	overwrite := map[string]bool{"region": c.IsSet("region")}

	// Who will call STS: the trust policy names exactly this identity.
	identity := c.String("principal")
	if identity == "" {
		client, err := grant.NewSTS(ctx, cfg)
		if err != nil {
			return err
		}
		who, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		var creds *config.CredentialsError
		if errors.As(err, &creds) {
			return withHint(creds, "%s; or pass --principal ARN", credentialsHint(creds))
		}
		if err != nil {
			return withHint(fmt.Errorf("detecting the base identity with STS GetCallerIdentity: %w", err), "make AWS credentials available (aws configure, aws sso login, or source_profile), or pass --principal ARN")
		}
		identity = aws.ToString(who.Arn)
		fmt.Fprintf(errw, "%s: base identity %s (account %s)\n", prog, identity, aws.ToString(who.Account))
	}
	var iamClient *awsiam.Client
	roleARNOf := func(name string) (string, error) {
		if iamClient == nil {
			return "", errors.New("no IAM client")
		}
		role, err := iamClient.GetRole(ctx, name)
		return role.ARN, err
	}
	if c.Bool("apply") || c.String("principal") == "" {
		if iamClient, err = awsiam.NewClient(ctx, cfg); err != nil {
			return err
		}
	}
	principal, chained, err := awsiam.TrustPrincipal(identity, roleARNOf)
	if err != nil {
		return err
	}
	if chained {
		fmt.Fprintf(errw, "%s: warning: the base credentials are a role session; STS caps every grant at 1h (role chaining), so max_ttl will be 1h\n", prog)
	}

	before := previousCeiling(cfg)
	var ceiling []policy.Access
	switch {
	case c.IsSet("service"):
		if ceiling, err = parseCeiling(c.StringSlice("service"), "read_only"); err != nil {
			return err
		}
		overwrite["services"] = true
	case p.tty:
		if ceiling, overwrite["services"], err = askServices(p, before); err != nil {
			return err
		}
	case len(before) > 0:
		ceiling = before
		fmt.Fprintf(errw, "%s: services from %s: %s\n", prog, cfg.ConfigFile(), AccessText(before))
	default:
		return withHint(errors.New("no service given"), "name the services the broker may reach with -s, e.g. -s s3,logs -s lambda:full")
	}
	for _, a := range ceiling {
		if _, ok := catalog.Lookup(a.Service); !ok {
			return withHint(fmt.Errorf("service %q is not an AWS service prefix in the catalog", a.Service), "timebound-iam services lists them")
		}
	}

	roleName := defaultRoleName
	if name := awsiam.RoleNameOf(prev["role_arn"]); awsiam.CheckRoleName(name) == nil {
		roleName = name
	}
	if c.IsSet("role-name") {
		roleName, overwrite["role_arn"] = c.String("role-name"), true
	} else if roleName, overwrite["role_arn"], err = p.ask("Role name", roleName); err != nil {
		return err
	}
	if err := awsiam.CheckRoleName(roleName); err != nil {
		return withHint(err, "pick another --role-name, e.g. %s", defaultRoleName)
	}

	maxSession := 12 * time.Hour
	if d, err := time.ParseDuration(prev["max_ttl"]); err == nil && validSessionDuration(d) {
		maxSession = d
	}
	if c.IsSet("max-session-duration") {
		maxSession, overwrite["max_ttl"] = c.Duration("max-session-duration"), true
	} else {
		answer, answered, err := p.ask("Maximum session duration (1h to 12h)", config.ShortDuration(maxSession))
		if err != nil {
			return err
		}
		if answered {
			if maxSession, err = time.ParseDuration(answer); err != nil {
				return fmt.Errorf("maximum session duration %q is not a duration such as 12h", answer)
			}
			overwrite["max_ttl"] = true
		}
	}
	if !validSessionDuration(maxSession) {
		return fmt.Errorf("--max-session-duration %s is out of range: IAM allows 1h to 12h", config.ShortDuration(maxSession))
	}
	maxTTL := maxSession
	if chained {
		maxTTL = time.Hour
		// STS refuses longer grants whatever the config says, so a longer
		// max_ttl set earlier cannot stand.
		if d, err := time.ParseDuration(prev["max_ttl"]); err != nil || d > maxTTL {
			overwrite["max_ttl"] = true
		}
	}

	mfa, err := mfaSetup(c, cfg, prev, principal, roleName, chained)
	if err != nil {
		return err
	}
	base := &roleSetup{name: roleName, trust: awsiam.TrustPolicy(principal), ceiling: ceiling,
		trustNote:      "only " + principal + " may assume the broker",
		permissionNote: "the ceiling of every grant, escalation denied"}
	roles := []*roleSetup{base}
	if mfa != nil {
		// The base keys alone must reach no service at full.
		base.ceiling = awsiam.BaseCeiling(ceiling)
		base.permissionNote = "the ceiling of every grant without MFA, read_only at most, escalation denied"
		// The MFA role first: should the base role's update then fail, the
		// base role still has the ceiling it had.
		mfa.ceiling = ceiling
		roles = []*roleSetup{mfa, base}
	}
	for _, r := range roles {
		if r.permission, err = awsiam.PermissionPolicy(r.ceiling, cfg.AllowEscalation); err != nil {
			return err
		}
		if r.arn, err = awsiam.RoleARN(principal, r.name); err != nil {
			return err
		}
	}
	names := make([]string, len(ceiling))
	for i, a := range ceiling {
		names[i] = a.Service
		// A limit the user set stays, as far as the new ceiling reaches:
		// a grant above the ceiling could only be quietly narrowed.
		if max, ok := cfg.MaxLevels[a.Service]; ok {
			names[i] += ":" + string(lowerLevel(max, a.Level))
		}
	}
	dir := filepath.Join(cfg.Home, "setup")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if mfa == nil {
		// Documents of an MFA role set up earlier would be read back as
		// this setup's ceiling (see previousCeiling).
		for _, name := range []string{"mfa-trust-policy.json", "mfa-permission-policy.json"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	for _, r := range roles {
		r.trustFile = filepath.Join(dir, r.file+"trust-policy.json")
		r.permFile = filepath.Join(dir, r.file+"permission-policy.json")
		for path, doc := range map[string]string{r.trustFile: r.trust, r.permFile: r.permission} {
			if err := profiles.WriteFileAtomic(path, []byte(doc), 0o600); err != nil {
				return err
			}
		}
	}

	w := c.App.Writer
	for _, r := range []*roleSetup{base, mfa} {
		if r == nil {
			continue
		}
		heading := func(doc string) string {
			if r.kind == "" {
				return strings.ToUpper(doc[:1]) + doc[1:]
			}
			return r.kind + " " + doc
		}
		fmt.Fprintf(w, "# %s (%s): %s\n%s\n", heading("trust policy"), r.trustFile, r.trustNote, r.trust)
		fmt.Fprintf(w, "# %s (%s): %s\n%s\n", heading("permission policy"), r.permFile, r.permissionNote, r.permission)
	}
	if c.Bool("apply") {
		for _, r := range roles {
			if err := r.apply(ctx, c, iamClient, maxSession); err != nil {
				return err
			}
		}
	} else {
		secs := int(maxSession / time.Second)
		for _, r := range []*roleSetup{base, mfa} {
			if r == nil {
				continue
			}
			trustArg, permArg := shellWord("file://"+r.trustFile), shellWord("file://"+r.permFile)
			fmt.Fprintf(w, "# Create the %s (or run again with --apply):\n", cmp.Or(r.kind, "role"))
			fmt.Fprintf(w, "aws iam create-role --role-name %s --max-session-duration %d --assume-role-policy-document %s\n", r.name, secs, trustArg)
			fmt.Fprintf(w, "aws iam put-role-policy --role-name %s --policy-name %s --policy-document %s\n", r.name, awsiam.CeilingPolicyName, permArg)
			fmt.Fprintf(w, "# If the %s exists already:\n", cmp.Or(r.kind, "role"))
			fmt.Fprintf(w, "aws iam update-assume-role-policy --role-name %s --policy-document %s\n", r.name, trustArg)
			fmt.Fprintf(w, "aws iam update-role --role-name %s --max-session-duration %d\n", r.name, secs)
		}
	}

	values := map[string]string{
		"role_arn": base.arn,
		"region":   cfg.Region,
		"services": strings.Join(names, ", "),
		"max_ttl":  config.ShortDuration(maxTTL),
	}
	if mfa != nil {
		values["mfa_serial"], values["mfa_role_arn"] = mfa.serial, mfa.arn
		overwrite["mfa_serial"], overwrite["mfa_role_arn"] = c.IsSet("mfa-serial"), c.IsSet("mfa-role-name")
	}
	report, err := config.Update(cfg.Home, values, overwrite)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# Config (%s):\n", cfg.ConfigFile())
	for _, line := range report {
		fmt.Fprintf(w, "#   %s\n", line)
	}
	if have := prev["role_arn"]; have != "" && have != base.arn && !overwrite["role_arn"] {
		fmt.Fprintf(errw, "%s: warning: the config keeps role_arn %q, set earlier, not %q, the role this run set up; pass --role-name %s to point the config at it\n", prog, have, base.arn, roleName)
	}
	if mfa != nil {
		if have := prev["mfa_role_arn"]; have != "" && have != mfa.arn && !overwrite["mfa_role_arn"] {
			fmt.Fprintf(errw, "%s: warning: the config keeps mfa_role_arn %q, set earlier, not %q, the MFA role this run set up; pass --mfa-role-name %s to point the config at it\n", prog, have, mfa.arn, mfa.name)
		}
		if have := prev["mfa_serial"]; have != "" && have != mfa.serial && !overwrite["mfa_serial"] {
			fmt.Fprintf(errw, "%s: warning: the config keeps mfa_serial %q, set earlier, not %q; pass --mfa-serial to change it\n", prog, have, mfa.serial)
		}
	}
	fmt.Fprintf(errw, "%s: next: timebound-iam setup agent <%s>\n", prog, strings.Join(agents.Names(), "|"))
	return nil
}

// roleSetup is one role setup aws produces: the broker, or the MFA role.
type roleSetup struct {
	// kind is "" for the broker, "MFA role" for the other, in headings.
	kind, name, arn string
	// file prefixes its documents' file names in the setup directory.
	file                      string
	trust, permission         string
	trustFile, permFile       string
	trustNote, permissionNote string
	ceiling                   []policy.Access
	description               string
	// serial is the MFA device, for the MFA role.
	serial string
}

// apply creates or updates r through IAM and prints what it did; r.arn
// becomes the role's ARN with its path.
func (r *roleSetup) apply(ctx context.Context, c *cli.Context, client awsiam.IAMAPI, maxSession time.Duration) error {
	w, errw := c.App.Writer, c.App.ErrWriter
	rep, err := awsiam.ApplyRole(ctx, client, awsiam.RoleSpec{Name: r.name, TrustPolicy: r.trust, PermissionPolicy: r.permission, MaxSessionDuration: maxSession, Description: r.description})
	if err != nil {
		return withHint(err, "the base identity needs iam:GetRole, iam:CreateRole, iam:UpdateAssumeRolePolicy, iam:UpdateRole, iam:GetRolePolicy, iam:PutRolePolicy, iam:ListRolePolicies and iam:ListAttachedRolePolicies; or run without --apply and have an administrator run the printed commands")
	}
	r.arn = rep.ARN
	if len(rep.Changes) == 0 {
		fmt.Fprintf(w, "# %s %s already matches: no changes\n", cmp.Or(r.kind, "Role"), r.arn)
	}
	for _, ch := range rep.Changes {
		fmt.Fprintf(w, "# %s\n", ch)
	}
	for _, warning := range rep.Warnings() {
		fmt.Fprintf(w, "# warning: %s\n", warning)
	}
	if n := len(rep.Others); n > 0 {
		fmt.Fprintf(errw, "%s: warning: role %q has %d %s besides %s: grants can do what they allow; see the \"# warning:\" lines\n",
			prog, r.name, n, plural(n, "policy", "policies"), awsiam.CeilingPolicyName)
	}
	return nil
}

// mfaSetup is the MFA role this run sets up, from --mfa-serial or the
// config's mfa_serial; nil when neither names a device.
func mfaSetup(c *cli.Context, cfg config.Config, prev map[string]string, principal, roleName string, chained bool) (*roleSetup, error) {
	serial := cfg.MFASerial
	if c.IsSet("mfa-serial") {
		serial = strings.TrimSpace(c.String("mfa-serial"))
		if err := config.CheckMFASerial("--mfa-serial", serial); err != nil {
			return nil, withHint(err, "the IAM console shows your device's ARN under Security credentials, or run aws iam list-mfa-devices")
		}
	}
	if serial == "" {
		if c.IsSet("mfa-role-name") {
			return nil, withHint(errors.New("--mfa-role-name names the MFA role, and no MFA device is set"), "pass --mfa-serial ARN as well")
		}
		return nil, nil
	}
	switch {
	case cfg.Approval == config.ApprovalNever:
		return nil, withHint(fmt.Errorf("--mfa-serial needs approval %q or %q, and %s has approval = %q: no grant would go to the MFA role", config.ApprovalFull, config.ApprovalAlways, cfg.ConfigFile(), config.ApprovalNever),
			"set approval = full in %s, then run setup again", cfg.ConfigFile())
	case cfg.STSDialect == policy.DialectMinIO:
		return nil, fmt.Errorf("--mfa-serial needs sts_dialect %q: MinIO's STS takes no MFA code", policy.DialectAWS)
	case chained:
		return nil, withHint(fmt.Errorf("--mfa-serial needs base credentials of an IAM user, and %s is a role: STS takes an MFA code on AssumeRole only from the IAM user the device belongs to", principal),
			"run timebound-iam with that user's keys (source_profile), or leave out --mfa-serial")
	}
	if device, identity := accountOf(serial), accountOf(principal); device != identity {
		return nil, withHint(fmt.Errorf("--mfa-serial %s is in account %s, and the base identity %s in account %s: the device must be the base identity's own", serial, device, principal, identity),
			"aws iam list-mfa-devices lists the base identity's devices")
	}
	name := roleName + "-mfa"
	if n := awsiam.RoleNameOf(prev["mfa_role_arn"]); awsiam.CheckRoleName(n) == nil {
		name = n
	}
	if c.IsSet("mfa-role-name") {
		name = c.String("mfa-role-name")
	}
	if err := awsiam.CheckRoleName(name); err != nil {
		return nil, withHint(fmt.Errorf("MFA %w", err), "pick another --mfa-role-name, e.g. %s-mfa", defaultRoleName)
	}
	if name == roleName {
		return nil, withHint(fmt.Errorf("the MFA role and the broker are both %q: they must be two roles", name), "pick another --mfa-role-name, e.g. %s-mfa", roleName)
	}
	return &roleSetup{kind: "MFA role", name: name, file: "mfa-", serial: serial, description: awsiam.MFADescription,
		trust:          awsiam.MFATrustPolicy(principal),
		trustNote:      "only " + principal + ", with a code from its MFA device, may assume the MFA role",
		permissionNote: "the ceiling of grants a person approved with an MFA code, escalation denied"}, nil
}

// accountOf is the account id in an ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// validSessionDuration is IAM's range for a role's MaxSessionDuration.
func validSessionDuration(d time.Duration) bool {
	return d >= time.Hour && d <= 12*time.Hour && d%time.Second == 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// previousCeiling is the ceiling an earlier run set up: the config's
// services (which neither the environment nor a flag overrides), at their
// levels there (view_only runs under a read_only ceiling), or, for a service
// the config gives no level, at the level of the permission policy that run
// wrote: offering read_only for a service that was full would quietly
// narrow it.
func previousCeiling(cfg config.Config) []policy.Access {
	if len(cfg.Services) == 0 {
		return nil
	}
	// With an MFA role, the full services are in its policy.
	full := map[string]bool{}
	for _, name := range []string{"permission-policy.json", "mfa-permission-policy.json"} {
		doc, _ := os.ReadFile(filepath.Join(cfg.Home, "setup", name))
		maps.Copy(full, awsiam.FullServices(string(doc)))
	}
	access := make([]policy.Access, len(cfg.Services))
	for i, s := range cfg.Services {
		access[i] = policy.Access{Service: s, Level: policy.ReadOnly}
		max, ok := cfg.MaxLevels[s]
		if ok && max == policy.Full || !ok && full[s] {
			access[i].Level = policy.Full
		}
	}
	return access
}

// lowerLevel is the narrower of two levels.
func lowerLevel(a, b policy.Level) policy.Level {
	if slices.Index(policy.Levels, a) < slices.Index(policy.Levels, b) {
		return a
	}
	return b
}

// accessText writes a ceiling as -s takes it: "s3, logs, lambda:full".
func AccessText(access []policy.Access) string {
	parts := make([]string, len(access))
	for i, a := range access {
		parts[i] = a.Service
		if a.Level == policy.Full {
			parts[i] += ":full"
		}
	}
	return strings.Join(parts, ", ")
}

// askServices asks for the services, with search: "?text" lists matches. An
// empty answer takes def when there is one; answered says whether the user
// typed the services.
func askServices(p *prompter, def []policy.Access) ([]policy.Access, bool, error) {
	for {
		answer, answered, err := p.ask("Services the broker may reach (e.g. s3,logs,lambda:full; ?text searches)", AccessText(def))
		if err != nil {
			return nil, false, err
		}
		if !answered && len(def) > 0 {
			return def, false, nil
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
		access, err := parseCeiling([]string{answer}, "read_only")
		if err != nil {
			fmt.Fprintf(p.out, "%s\n", err)
			continue
		}
		for _, a := range access {
			if _, ok := catalog.Lookup(a.Service); !ok {
				fmt.Fprintf(p.out, "%q is not a service prefix; try ?%s\n", a.Service, a.Service)
				access = nil
				break
			}
		}
		if len(access) > 0 {
			return access, true, nil
		}
	}
}
