// Package doctor checks that timebound-iam can work on this machine, for
// `timebound-iam doctor`.
//
// # Checks
//
// [Doctor.Run] returns one [Check] per name in [Names], in that order, each
// ok, warn or fail, with a one-line detail and, unless ok, a hint that says
// what to do next:
//
//   - config: the config loads and role_arn is a role ARN
//   - keyring: the keychain backend opens and a test item round-trips
//   - base-credentials: STS GetCallerIdentity with the base credentials
//   - role: a real 15m read_only grant through the broker role, revoked at once
//   - mfa: whether grants that need approval go to an MFA role, and that
//     mfa_role_arn is set when mfa_serial is (no network)
//   - max-session-duration: the role's MaxSessionDuration against max_ttl
//   - clock-skew: the local clock against the Date header of the STS endpoint
//   - fallback-credentials: long-lived keys an agent running as the user could use
//   - stale-profiles: tb- profiles that a prune or a revoke should clean up
//
// Then, with [Doctor.Containment] set, one containment check per agent whose
// MCP config in the project names the timebound-iam server: for Claude
// Code, whether its effective settings hold the sandbox and denies that
// [agents.ClaudeSandbox] requires, and whether they come from managed
// settings, which the agent cannot edit; for an agent that cannot be
// contained, a warning with the reason.
//
// A check that depends on a failed one is reported as warn, "not checked".
// Checks that reach the network run concurrently, each bounded by
// [Doctor.Timeout]. No detail ever holds a secret; access key ids are masked.
package doctor

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Status is the outcome of one check.
type Status string

// The outcomes of a check. Only [Fail] makes the doctor exit non-zero.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// The check names, as printed and as in --json.
const (
	ConfigCheck      = "config"
	LimitsCheck      = "limits"
	KeyringCheck     = "keyring"
	CredentialsCheck = "base-credentials"
	RoleCheck        = "role"
	MFACheck         = "mfa"
	DurationCheck    = "max-session-duration"
	ClockCheck       = "clock-skew"
	FallbackCheck    = "fallback-credentials"
	ProfilesCheck    = "stale-profiles"
)

// Names lists the checks in the order [Doctor.Run] reports them.
var Names = []string{ConfigCheck, LimitsCheck, KeyringCheck, CredentialsCheck, RoleCheck, MFACheck, DurationCheck, ClockCheck, FallbackCheck, ProfilesCheck}

// Check is the result of one check. Hint is empty when Status is [OK].
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Hint   string `json:"hint"`
}

// Report is the doctor's --json output.
type Report struct {
	Checks []Check `json:"checks"`
	// OK is true when no check failed; warnings do not count.
	OK bool `json:"ok"`
}

// NewReport wraps checks into a [Report].
func NewReport(checks []Check) Report {
	r := Report{Checks: checks}
	r.OK = r.Failures() == 0
	return r
}

// Failures counts the checks with status [Fail].
func (r Report) Failures() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == Fail {
			n++
		}
	}
	return n
}

// Identity is the STS call the base-credentials check makes; *sts.Client
// satisfies it.
type Identity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// IdentityFunc adapts a function to [Identity], for fakes.
type IdentityFunc func(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)

// GetCallerIdentity calls f.
func (f IdentityFunc) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return f(ctx, in, optFns...)
}

// RoleGetter is the IAM call the max-session-duration check makes;
// *awsiam.Client satisfies it.
type RoleGetter interface {
	GetRole(ctx context.Context, name string) (awsiam.Role, error)
}

// RoleGetterFunc adapts a function to [RoleGetter], for fakes.
type RoleGetterFunc func(ctx context.Context, name string) (awsiam.Role, error)

// GetRole calls f.
func (f RoleGetterFunc) GetRole(ctx context.Context, name string) (awsiam.Role, error) {
	return f(ctx, name)
}

// Granter makes and revokes the role check's grant; *grant.Manager
// satisfies it.
type Granter interface {
	Grant(ctx context.Context, r grant.Request) (grant.Session, error)
	Revoke(ctx context.Context, ids []string) ([]grant.RevokeResult, error)
}

// DefaultTimeout bounds each check that reaches the network.
const DefaultTimeout = 10 * time.Second

// Doctor holds what the checks inspect. Keys, Profiles, STS, IAM, Granter and
// ClockURL are required unless ConfigErr is set: then only the config and
// fallback-credentials checks run. Each constructor function is called by the
// one check that needs it, so that its error lands on that check.
type Doctor struct {
	// Config is the configuration after file, environment and flags.
	Config config.Config
	// ConfigErr is why the configuration could not be loaded, if it could not.
	ConfigErr error
	// Keys opens the configured keychain.
	Keys func() (*keychain.Store, error)
	// Profiles is the dedicated AWS config file.
	Profiles *profiles.File
	// STS returns a client signed with the base credentials.
	STS func(ctx context.Context) (Identity, error)
	// IAM returns a client signed with the base credentials; an error means
	// IAM cannot be reached, and the check warns with it.
	IAM func(ctx context.Context) (RoleGetter, error)
	// Granter returns the grant use cases for the role check.
	Granter func(ctx context.Context) (Granter, error)
	// ClockURL is the STS endpoint whose Date header the clock is compared
	// with; see [STSURL].
	ClockURL string
	// HTTP fetches ClockURL; nil means a client that does not follow redirects.
	HTTP *http.Client
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// UserHome is the user's home directory, for ~/.aws/credentials.
	UserHome string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Timeout bounds each network check; zero means [DefaultTimeout].
	Timeout time.Duration
	// Containment is the project whose agents' containment is checked; nil
	// skips those checks.
	Containment *Containment
}

// Run runs every check and returns them in the order of [Names], then the
// containment checks.
func (d *Doctor) Run(ctx context.Context) []Check {
	res := d.run(ctx)
	if d.Containment != nil {
		for _, c := range d.Containment.checkContainment() {
			c.Detail, c.Hint = oneLine(c.Detail), oneLine(c.Hint)
			res = append(res, c)
		}
	}
	return res
}

func (d *Doctor) run(ctx context.Context) []Check {
	res := make([]Check, len(Names))
	// Each check writes its own element, so concurrent checks need no lock.
	put := func(c Check) {
		c.Detail, c.Hint = oneLine(c.Detail), oneLine(c.Hint)
		res[slices.Index(Names, c.Name)] = c
	}
	put(d.checkConfig())
	put(d.checkFallback())
	if d.ConfigErr != nil {
		for _, name := range []string{LimitsCheck, KeyringCheck, CredentialsCheck, RoleCheck, MFACheck, DurationCheck, ClockCheck, ProfilesCheck} {
			put(skipped(name, "the config did not load", ConfigCheck))
		}
		return res
	}
	put(d.checkLimits())
	put(d.checkMFA())
	var wg sync.WaitGroup
	wg.Go(func() {
		keys, c := d.checkKeyring()
		put(c)
		// Before the role check: its grant prunes, which would hide what
		// this check is looking for.
		put(d.checkProfiles(keys))
		put(d.checkRole(ctx, keys != nil))
	})
	wg.Go(func() { put(d.checkIdentity(ctx)) })
	wg.Go(func() { put(d.checkDuration(ctx)) })
	wg.Go(func() { put(d.checkClock(ctx)) })
	wg.Wait()
	return res
}

func ok(name, detail string) Check { return Check{Name: name, Status: OK, Detail: detail} }

func warn(name, detail, hint string) Check {
	return Check{Name: name, Status: Warn, Detail: detail, Hint: hint}
}

func fail(name, detail, hint string) Check {
	return Check{Name: name, Status: Fail, Detail: detail, Hint: hint}
}

// skipped reports a check that cannot run because check first failed.
func skipped(name, why, first string) Check {
	return warn(name, "not checked: "+why, "fix the "+first+" check first")
}

func (d *Doctor) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Doctor) getenv(key string) string {
	if d.Getenv == nil {
		return os.Getenv(key)
	}
	return d.Getenv(key)
}

func (d *Doctor) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d *Doctor) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout())
}

// oneLine folds the line breaks some errors carry, so that each check stays
// one line of output.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
