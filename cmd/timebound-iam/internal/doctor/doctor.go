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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/awsiam"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
	"gopkg.in/ini.v1"
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
	KeyringCheck     = "keyring"
	CredentialsCheck = "base-credentials"
	RoleCheck        = "role"
	DurationCheck    = "max-session-duration"
	ClockCheck       = "clock-skew"
	FallbackCheck    = "fallback-credentials"
	ProfilesCheck    = "stale-profiles"
)

// Names lists the checks in the order [Doctor.Run] reports them.
var Names = []string{ConfigCheck, KeyringCheck, CredentialsCheck, RoleCheck, DurationCheck, ClockCheck, FallbackCheck, ProfilesCheck}

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
// *iam.Client satisfies it.
type RoleGetter interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
}

// RoleGetterFunc adapts a function to [RoleGetter], for fakes.
type RoleGetterFunc func(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)

// GetRole calls f.
func (f RoleGetterFunc) GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	return f(ctx, in, optFns...)
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
		for _, name := range []string{KeyringCheck, CredentialsCheck, RoleCheck, DurationCheck, ClockCheck, ProfilesCheck} {
			put(skipped(name, "the config did not load", ConfigCheck))
		}
		return res
	}
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

func (d *Doctor) checkConfig() Check {
	if d.ConfigErr != nil {
		return fail(ConfigCheck, d.ConfigErr.Error(),
			"fix the value named above in the config file, the environment or the flags; timebound-iam setup aws writes a working config")
	}
	cfg := d.Config
	if err := cfg.CheckRole(); err != nil {
		return fail(ConfigCheck, err.Error(), "timebound-iam setup aws creates the broker role and writes role_arn")
	}
	path := cfg.ConfigFile()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return warn(ConfigCheck,
			fmt.Sprintf("%s does not exist; role_arn %s comes from the environment or a flag", path, cfg.RoleARN),
			fmt.Sprintf("run timebound-iam setup aws to write it, or create it with the line role_arn = %s", cfg.RoleARN))
	}
	services := "all catalog services"
	if len(cfg.Services) > 0 {
		services = cfg.ServicesText()
	}
	return ok(ConfigCheck, fmt.Sprintf("%s: role %s, region %s, max_ttl %s, services %s",
		path, cfg.RoleARN, cfg.Region, config.ShortDuration(cfg.MaxTTL), services))
}

// checkKeyring returns the opened store when a test item round-tripped.
func (d *Doctor) checkKeyring() (*keychain.Store, Check) {
	backendHint := fmt.Sprintf("choose a backend with keyring_backend in %s (one of %s)",
		d.Config.ConfigFile(), strings.Join(keychain.Backends, ", "))
	keys, err := d.Keys()
	if err != nil {
		return nil, fail(KeyringCheck, err.Error(), backendHint)
	}
	backend := keys.Backend()
	if err := roundTrip(keys, d.now()); err != nil {
		return nil, fail(KeyringCheck, err.Error(),
			fmt.Sprintf("check that the %s keyring is reachable and unlocked, or %s", backend, backendHint))
	}
	detail := backend + ": a test item round-tripped"
	if backend == keychain.File {
		return keys, warn(KeyringCheck, detail,
			"the file keyring's passphrase (TIMEBOUND_IAM_FILE_PASSPHRASE) must be in the environment of every process that reads it, "+
				"the agent's AWS CLI included, so the agent can read the keyring too; use it for CI, and keyctl or the OS keychain elsewhere")
	}
	return keys, ok(KeyringCheck, detail)
}

// roundTrip puts, reads back and deletes a throwaway item. Its values are
// made up: nothing real is ever written.
func roundTrip(keys *keychain.Store, now time.Time) error {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	id := "doctor" + hex.EncodeToString(b[:])
	want := aws.Credentials{
		AccessKeyID:     "AKIADOCTORTESTITEM00",
		SecretAccessKey: "not-a-secret-" + id,
		SessionToken:    "not-a-token-" + id,
		CanExpire:       true,
		Expires:         now.Add(time.Minute).UTC().Truncate(time.Second),
	}
	if err := keys.Put(id, want); err != nil {
		return err
	}
	got, err := keys.Get(id)
	if err != nil {
		_ = keys.Delete(id) // best effort; the Get error is the news
		return err
	}
	if err := keys.Delete(id); err != nil {
		return err
	}
	if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey ||
		got.SessionToken != want.SessionToken || !got.Expires.Equal(want.Expires) {
		return fmt.Errorf("test item tb-%s came back from the %s keyring changed", id, keys.Backend())
	}
	if _, err := keys.Get(id); !errors.Is(err, keychain.ErrNotFound) {
		if err == nil {
			return fmt.Errorf("test item tb-%s is still in the %s keyring after its delete", id, keys.Backend())
		}
		return err
	}
	return nil
}

func (d *Doctor) credentialsHint() string {
	if d.Config.SourceProfile != "" {
		return fmt.Sprintf("check profile %q (source_profile) in ~/.aws/config and ~/.aws/credentials; aws sts get-caller-identity --profile %s shows what it resolves to",
			d.Config.SourceProfile, d.Config.SourceProfile)
	}
	return fmt.Sprintf("set up base credentials in the standard AWS chain (aws configure, AWS_PROFILE, aws sso login), or name a profile with source_profile in %s",
		d.Config.ConfigFile())
}

const roleCheckTells = "the role check shows whether the base credentials can assume the broker role"

func (d *Doctor) checkIdentity(ctx context.Context) Check {
	if d.Config.STSDialect == policy.DialectMinIO {
		return warn(CredentialsCheck, "cannot check: MinIO's STS has no GetCallerIdentity (sts_dialect = minio)", roleCheckTells)
	}
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	client, err := d.STS(ctx)
	if err != nil {
		return fail(CredentialsCheck, err.Error(), d.credentialsHint())
	}
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	switch {
	case unsupported(err):
		return warn(CredentialsCheck, fmt.Sprintf("cannot check: the STS endpoint does not serve GetCallerIdentity (%s)", apiText(err)), roleCheckTells)
	case errors.Is(err, context.DeadlineExceeded):
		return fail(CredentialsCheck, fmt.Sprintf("STS GetCallerIdentity got no answer within %s", config.ShortDuration(d.timeout())),
			"check the network, region and sts_endpoint")
	case unreachable(err):
		return fail(CredentialsCheck, "cannot reach STS: "+apiText(err), "check the network, region and sts_endpoint")
	case err != nil:
		return fail(CredentialsCheck, "STS GetCallerIdentity failed: "+apiText(err), d.credentialsHint())
	}
	arn := aws.ToString(out.Arn)
	detail := fmt.Sprintf("account %s, %s", aws.ToString(out.Account), arn)
	if !strings.Contains(arn, ":assumed-role/") {
		return ok(CredentialsCheck, detail)
	}
	const chainCap = time.Hour
	if d.Config.MaxTTL > chainCap {
		return warn(CredentialsCheck,
			fmt.Sprintf("%s: a role session, so STS caps every grant at 1h (role chaining), below max_ttl %s", detail, config.ShortDuration(d.Config.MaxTTL)),
			fmt.Sprintf("use base credentials that are not a role session (an IAM user's, through source_profile), or lower max_ttl to 1h in %s", d.Config.ConfigFile()))
	}
	return ok(CredentialsCheck, detail+": a role session; max_ttl "+config.ShortDuration(d.Config.MaxTTL)+" fits its 1h role-chaining cap")
}

// unsupported reports an endpoint that does not implement the operation, such
// as MinIO or a stand-in that serves only AssumeRole.
func unsupported(err error) bool {
	if err == nil {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "InvalidAction", "NotImplemented", "UnknownOperationException", "UnsupportedOperation":
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			return true
		}
	}
	return false
}

// unreachable reports a request that never got an answer.
func unreachable(err error) bool {
	var send *smithyhttp.RequestSendError
	return errors.As(err, &send)
}

// apiText is "Code: message" for an AWS API error, the transport's own error
// for a request that got no answer, else the whole error.
func apiText(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) && send.Err != nil {
		return send.Err.Error()
	}
	return err.Error()
}

const roleHint = "the error above says what to fix; timebound-iam setup aws prints the broker role's trust and permission policies"

func (d *Doctor) checkRole(ctx context.Context, keyringOK bool) Check {
	if d.Config.CheckRole() != nil {
		return skipped(RoleCheck, "no valid role_arn", ConfigCheck)
	}
	if !keyringOK {
		return skipped(RoleCheck, "grants need a working keyring", KeyringCheck)
	}
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	g, err := d.Granter(ctx)
	if err != nil {
		return fail(RoleCheck, err.Error(), roleHint)
	}
	svc := d.probeService()
	// The config may allow the service no higher than view_only.
	level := policy.ReadOnly
	if d.Config.MaxLevels[svc] == policy.ViewOnly {
		level = policy.ViewOnly
	}
	access := []policy.Access{{Service: svc, Level: level}}
	// A probe is a grant like any other: where it would need a person's
	// approval, doctor does not make it.
	if d.Config.NeedsApproval(access) {
		return warn(RoleCheck, fmt.Sprintf("not probed: a %s %s grant needs a person's approval here (approval = %s)", svc, level, d.Config.ApprovalSetting()),
			fmt.Sprintf("test the role in a terminal: timebound-iam grant -s %s:%s -t 15m, then timebound-iam revoke it", svc, level))
	}
	s, err := g.Grant(ctx, grant.Request{
		Access: access,
		TTL:    config.MinTTL,
		Reason: "timebound-iam doctor: can the broker role be assumed",
		Client: "doctor",
	})
	if err != nil {
		return fail(RoleCheck, err.Error(), roleHint)
	}
	// The revoke touches only local files: let it finish even when the grant
	// used up the time.
	if _, err := g.Revoke(context.WithoutCancel(ctx), []string{s.ID}); err != nil {
		return fail(RoleCheck, fmt.Sprintf("granted %s, then could not revoke it: %v", s.Profile(), err),
			"run timebound-iam revoke "+s.Profile())
	}
	d.dropTombstone(s.ID)
	return ok(RoleCheck, fmt.Sprintf("assumed %s for a 15m %s %s grant and revoked it (its keys stay valid at AWS until %s)",
		d.Config.RoleARN, svc, level, s.Expires.UTC().Format(time.RFC3339)))
}

// probeService is the service of the role check's grant: the first allowed.
func (d *Doctor) probeService() string {
	if d.Config.STSDialect == policy.DialectMinIO || len(d.Config.Services) == 0 {
		return "s3"
	}
	return d.Config.Services[0]
}

// dropTombstone removes the role check's revoked profile, which nobody will
// ever run. A failure is harmless: prune removes it after a day.
func (d *Doctor) dropTombstone(id string) {
	if d.Profiles == nil {
		return
	}
	_ = d.Profiles.Update(func(set *profiles.Set) error {
		if e, ok := set.Get(id); ok && e.Status == profiles.Revoked {
			set.Remove(id)
		}
		return nil
	})
}

// RoleName is the IAM role name in a role ARN, without its path.
func RoleName(arn string) string {
	_, rest, _ := strings.Cut(arn, ":role/")
	return rest[strings.LastIndex(rest, "/")+1:]
}

func (d *Doctor) checkDuration(ctx context.Context) Check {
	cfg := d.Config
	if cfg.CheckRole() != nil {
		return skipped(DurationCheck, "no valid role_arn", ConfigCheck)
	}
	name := RoleName(cfg.RoleARN)
	compare := fmt.Sprintf("compare the role's maximum session duration (aws iam get-role --role-name %s) with max_ttl %s", name, config.ShortDuration(cfg.MaxTTL))
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	client, err := d.IAM(ctx)
	if err != nil {
		return warn(DurationCheck, "cannot check: "+err.Error(), compare)
	}
	out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "AccessDenied" {
			return warn(DurationCheck, fmt.Sprintf("cannot check: the base credentials may not call iam:GetRole on %s", name),
				"allow iam:GetRole on the broker role to the base identity, or "+compare)
		}
		return warn(DurationCheck, fmt.Sprintf("cannot check: iam:GetRole on %s failed: %s", name, apiText(err)), compare)
	}
	// AWS's default when a role was created without one.
	limit := time.Hour
	if out.Role != nil && aws.ToInt32(out.Role.MaxSessionDuration) > 0 {
		limit = time.Duration(aws.ToInt32(out.Role.MaxSessionDuration)) * time.Second
	}
	if cfg.MaxTTL > limit {
		return warn(DurationCheck,
			fmt.Sprintf("role %s allows sessions up to %s, below max_ttl %s: longer grants will fail", name, config.ShortDuration(limit), config.ShortDuration(cfg.MaxTTL)),
			fmt.Sprintf("lower max_ttl to %s in %s, or raise the role's limit: aws iam update-role --role-name %s --max-session-duration %d",
				config.ShortDuration(limit), cfg.ConfigFile(), name, int(cfg.MaxTTL/time.Second)))
	}
	return ok(DurationCheck, fmt.Sprintf("role %s allows sessions up to %s; max_ttl %s fits", name, config.ShortDuration(limit), config.ShortDuration(cfg.MaxTTL)))
}

// Clock skew limits: SigV4 rejects requests signed more than 5 minutes off.
const (
	SkewWarn = time.Minute
	SkewFail = 5 * time.Minute
)

func (d *Doctor) checkClock(ctx context.Context) Check {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	host := d.ClockURL
	if u, err := url.Parse(d.ClockURL); err == nil && u.Host != "" {
		host = u.Host
	}
	reach := fmt.Sprintf("check that %s is reachable (region, sts_endpoint)", d.ClockURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.ClockURL, nil)
	if err != nil {
		return warn(ClockCheck, "cannot check: "+err.Error(), reach)
	}
	client := d.HTTP
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	before := d.now()
	resp, err := client.Do(req)
	after := d.now()
	if err != nil {
		return warn(ClockCheck, "cannot check: "+err.Error(), reach)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return warn(ClockCheck, fmt.Sprintf("cannot check: %s sent no usable Date header", host), reach)
	}
	// Date has whole seconds, truncated: the server's clock read somewhere
	// in the second after it, and ours somewhere during the round trip.
	local := before.Add(after.Sub(before) / 2)
	skew := local.Sub(date.Add(500 * time.Millisecond)).Round(time.Second)
	off := skew.Abs()
	way := "ahead of"
	if skew < 0 {
		way = "behind"
	}
	detail := fmt.Sprintf("the local clock is %s %s STS (%s)", config.ShortDuration(off), way, host)
	switch {
	case off > SkewFail:
		return fail(ClockCheck, detail, "sync the clock with NTP (e.g. sudo timedatectl set-ntp true): AWS rejects requests signed more than 5 minutes off")
	case off > SkewWarn:
		return warn(ClockCheck, detail, "sync the clock with NTP (e.g. sudo timedatectl set-ntp true) before it drifts past 5 minutes, when AWS rejects every signed request")
	case off <= time.Second:
		return ok(ClockCheck, fmt.Sprintf("the local clock is within 1s of STS (%s)", host))
	}
	return ok(ClockCheck, detail)
}

// STSURL is the STS endpoint of cfg: sts_endpoint, else AWS's regional one.
func STSURL(cfg config.Config) string {
	if cfg.STSEndpoint != "" {
		return cfg.STSEndpoint
	}
	ep, err := sts.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(),
		sts.EndpointParameters{Region: aws.String(cfg.Region)}.WithDefaults())
	if err != nil {
		return "https://sts." + cfg.Region + ".amazonaws.com"
	}
	return ep.URI.String()
}

// IsAWS reports whether an endpoint URL is AWS's own (a VPC endpoint
// included), rather than MinIO, an emulator or a stand-in. Empty means AWS.
func IsAWS(endpoint string) bool { return awsiam.IsAWSEndpoint(endpoint) }

func (d *Doctor) checkFallback() Check {
	var found []string
	if id := d.getenv("AWS_ACCESS_KEY_ID"); id != "" {
		found = append(found, fmt.Sprintf("AWS_ACCESS_KEY_ID (%s) is set in this environment", grant.MaskKey(id)))
	}
	path := d.getenv("AWS_SHARED_CREDENTIALS_FILE")
	if path == "" && d.UserHome != "" {
		path = filepath.Join(d.UserHome, ".aws", "credentials")
	}
	keys, err := keyProfiles(path)
	if err != nil {
		return warn(FallbackCheck, fmt.Sprintf("cannot check %s: %v", path, err), "make it readable, or check it by hand for aws_access_key_id")
	}
	if len(keys) > 0 {
		found = append(found, fmt.Sprintf("%s holds aws_access_key_id in %s", path, strings.Join(keys, ", ")))
	}
	if len(found) > 0 {
		return warn(FallbackCheck, strings.Join(found, "; "),
			"an agent running as you could fall back on these keys after a refused grant: run the agent with AWS_SHARED_CREDENTIALS_FILE "+
				"pointing to an empty file and without AWS_ACCESS_KEY_ID in its environment (timebound-iam setup agent writes that environment)")
	}
	if path == "" {
		return ok(FallbackCheck, "no AWS_ACCESS_KEY_ID in the environment")
	}
	return ok(FallbackCheck, fmt.Sprintf("no AWS_ACCESS_KEY_ID in the environment and no aws_access_key_id in %s", path))
}

// keyProfiles lists the profiles of a shared credentials file that hold an
// access key id, as "name (****WXYZ)". A missing file holds none.
func keyProfiles(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// botocore lowercases option names, so AWS_ACCESS_KEY_ID counts too.
	f, err := ini.LoadSources(ini.LoadOptions{InsensitiveKeys: true, IgnoreInlineComment: true}, data)
	if err != nil {
		return nil, fmt.Errorf("not valid INI: %w", err)
	}
	var out []string
	for _, s := range f.Sections() {
		if id := strings.TrimSpace(s.Key("aws_access_key_id").String()); id != "" {
			out = append(out, fmt.Sprintf("%s (%s)", s.Name(), grant.MaskKey(id)))
		}
	}
	return out, nil
}

// checkProfiles looks for tb- sections a prune, a revoke or an edit should
// clean up. keys is nil when the keyring check failed; live grants' items are
// then not looked for.
func (d *Doctor) checkProfiles(keys *keychain.Store) Check {
	set, err := d.Profiles.Read()
	if err != nil {
		return warn(ProfilesCheck, "cannot check: "+err.Error(), "check the permissions of "+d.Profiles.Path)
	}
	now := d.now()
	var live, recent int
	var old, expired, missing []string
	for _, e := range set.Entries() {
		switch {
		case e.Live(now):
			live++
			// Items of grants made under another backend are that backend's
			// business; this run cannot see them.
			if keys != nil && (e.Helper.Backend == "" || e.Helper.Backend == keys.Backend()) {
				if _, err := keys.Get(e.ID); err != nil {
					missing = append(missing, e.Name())
				}
			}
		case e.Status == profiles.Active:
			expired = append(expired, e.Name())
		case now.Sub(e.Ended()) > grant.TombstoneTTL:
			old = append(old, e.Name())
		default:
			recent++
		}
	}
	problems := set.Problems()
	var found, hints []string
	if n := len(problems); n > 0 {
		texts := make([]string, n)
		for i, p := range problems {
			texts[i] = p.Error()
		}
		found = append(found, fmt.Sprintf("%d unreadable %s (%s)", n, plural(n, "section"), strings.Join(texts, "; ")))
	}
	if n := len(expired); n > 0 {
		found = append(found, fmt.Sprintf("%d expired %s not yet pruned (%s)", n, plural(n, "grant"), strings.Join(expired, ", ")))
	}
	if n := len(old); n > 0 {
		found = append(found, fmt.Sprintf("%d %s ended over 24h ago (%s)", n, plural(n, "tombstone"), strings.Join(old, ", ")))
	}
	if len(expired)+len(old) > 0 {
		hints = append(hints, "timebound-iam sessions prunes expired grants and old tombstones")
	}
	if n := len(missing); n > 0 {
		found = append(found, fmt.Sprintf("%d live %s without a readable keychain item (%s)", n, plural(n, "grant"), strings.Join(missing, ", ")))
		hints = append(hints, "timebound-iam revoke "+strings.Join(missing, " ")+" ends them")
	}
	if len(problems) > 0 {
		hints = append(hints, "fix or delete the unreadable sections in "+d.Profiles.Path)
	}
	if len(found) > 0 {
		return warn(ProfilesCheck, strings.Join(found, "; "), strings.Join(hints, "; "))
	}
	if live+recent == 0 {
		return ok(ProfilesCheck, "no tb- profiles in "+d.Profiles.Path)
	}
	return ok(ProfilesCheck, fmt.Sprintf("%d live %s, %d recent %s; nothing stale",
		live, plural(live, "grant"), recent, plural(recent, "tombstone")))
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
