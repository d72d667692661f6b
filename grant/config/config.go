// Package config is timebound-iam's configuration: the INI file in the state
// directory, the environment and flags over it ([Load]), the keys' syntax
// and limits, and the state directory itself ([Home], [SecureHome]).
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/keychain"
	"gopkg.in/ini.v1"
)

// Files inside the state directory.
const (
	FileName      = "config"     // this tool's INI config
	AWSConfigName = "aws-config" // the dedicated AWS config file
	// EmptyCredentialsName is the empty credentials file an agent's shell
	// points AWS_SHARED_CREDENTIALS_FILE at, so it has nothing to fall back on.
	EmptyCredentialsName = "empty-credentials"
)

// Config is the tool's configuration after file, environment and flags.
type Config struct {
	// Home is the state directory.
	Home string
	// RoleARN is the broker role every grant assumes.
	RoleARN string
	// Region goes into every profile and signs STS calls.
	Region string
	// SourceProfile names the AWS profile with the base credentials; empty
	// means the standard AWS credential chain.
	SourceProfile string
	// STSEndpoint overrides the STS endpoint URL (MinIO, a VPC endpoint).
	STSEndpoint string
	// STSDialect is whose STS and policy language the endpoint speaks:
	// [policy.DialectAWS] (default) or [policy.DialectMinIO].
	STSDialect string
	// DefaultTTL applies when a request names no ttl.
	DefaultTTL time.Duration
	// MaxTTL caps every ttl; at most 12h, STS's own limit.
	MaxTTL time.Duration
	// Services is the allow-list of service prefixes; empty allows the whole
	// catalog.
	Services []string
	// MaxLevels caps the level of a service in Services, from entries such
	// as "s3:read_only"; a service without one may be granted at any level.
	MaxLevels map[string]policy.Level
	// MaxGrants caps the grants live at once; 0 means no limit.
	MaxGrants int
	// KeyringBackend is the keychain backend; empty means the OS default.
	KeyringBackend string
	// FilePassphrase unlocks the file backend; environment only, never read
	// from the config file.
	FilePassphrase string
	// STSTimeout bounds each AssumeRole call, retries included.
	STSTimeout time.Duration
	// MFASerial is the ARN of the person's MFA device; with it, grants that
	// need approval assume MFARoleARN with a code from it. See [Config.RoleFor].
	MFASerial, MFARoleARN string
	// SourceIdentity is sent as AssumeRole's SourceIdentity, which CloudTrail
	// records on every call a grant makes and which no one can change
	// afterwards; for example "alice@build-07". Empty sends none.
	SourceIdentity string
	// Approval says which grants a person must approve: [ApprovalNever],
	// [ApprovalFull] (default) or [ApprovalAlways]. ApprovalServices always
	// need approval. See [Config.NeedsApproval].
	Approval         string
	ApprovalServices []string
	// ApprovalTimeout is how long a person has to answer an approval
	// request; not a config key.
	ApprovalTimeout time.Duration
	// Sources says where each key's value came from: the config file's
	// path, an environment variable, "a flag", or the managed policy. A key
	// it does not name has its default. See [Config.Limits].
	Sources map[string]string
	// PolicyFile is the managed policy's path when one is in effect.
	PolicyFile string
	escalationConfig
}

// MinTTL is the shortest grant STS issues.
const MinTTL = 15 * time.Minute

// Defaults for keys the config leaves out.
const (
	DefaultRegion     = "us-east-1"
	DefaultDefaultTTL = time.Hour
	DefaultMaxTTL     = 12 * time.Hour
	// DefaultSTSTimeout leaves room for the SDK's three attempts and their
	// backoff while an agent is still waiting for its tool call.
	DefaultSTSTimeout = 10 * time.Second
)

// Bounds of sts_timeout: below a second a healthy STS on a slow link fails;
// above five minutes an agent's tool call has long timed out.
const (
	MinSTSTimeout = time.Second
	MaxSTSTimeout = 5 * time.Minute
)

// configKeys are the keys the config file may hold, in documentation order.
var configKeys = []string{"role_arn", "region", "source_profile", "sts_endpoint", "sts_dialect", "sts_timeout", "default_ttl", "max_ttl", "max_grants", "services", "keyring_backend", "source_identity", "approval", "approval_services", "allow_escalation", "mfa_serial", "mfa_role_arn"}

// envKeys maps environment variables to the config keys they override.
var envKeys = map[string]string{
	"TIMEBOUND_IAM_ROLE_ARN":        "role_arn",
	"TIMEBOUND_IAM_REGION":          "region",
	"TIMEBOUND_IAM_STS_ENDPOINT":    "sts_endpoint",
	"TIMEBOUND_IAM_STS_DIALECT":     "sts_dialect",
	"TIMEBOUND_IAM_KEYRING_BACKEND": "keyring_backend",
	// One config shared by several users or machines can still name each.
	"TIMEBOUND_IAM_SOURCE_IDENTITY": "source_identity",
}

// Home returns the state directory: $TIMEBOUND_IAM_HOME, else
// $XDG_CONFIG_HOME/timebound-iam, else ~/.config/timebound-iam.
func Home(getenv func(string) string) (string, error) {
	if h := getenv("TIMEBOUND_IAM_HOME"); h != "" {
		return filepath.Abs(h)
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Abs(filepath.Join(x, "timebound-iam"))
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the state directory: %w; set TIMEBOUND_IAM_HOME", err)
	}
	return filepath.Join(u, ".config", "timebound-iam"), nil
}

// Load reads home/config (a missing file is an empty config), applies
// the environment, then overrides (flag values by config key; empty values
// are ignored). Precedence: overrides, then environment, then file. Over all
// of them, the managed policy at [ManagedPolicyPath] caps the limits; see
// [ReadPolicy].
func Load(home string, getenv func(string) string, overrides map[string]string) (Config, error) {
	return load(home, getenv, overrides, ManagedPolicyPath())
}

// load is [Load] with the managed policy at policyPath.
func load(home string, getenv func(string) string, overrides map[string]string, policyPath string) (Config, error) {
	path := filepath.Join(home, FileName)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("reading %s: %w", path, err)
	}
	values, err := parseINI(path, data, configKeys)
	if err != nil {
		return Config{}, err
	}
	sources := map[string]string{}
	for k := range values {
		sources[k] = path
	}
	for env, key := range envKeys {
		if v := getenv(env); v != "" {
			values[key], sources[key] = v, env
		}
	}
	for k, v := range overrides {
		if v != "" {
			values[k], sources[k] = v, "a flag"
		}
	}
	cfg, err := parse(home, values, getenv)
	if err != nil {
		return Config{}, err
	}
	cfg.Sources = sources
	pol, err := ReadPolicy(policyPath)
	if err != nil || pol == nil {
		return cfg, err
	}
	pc, err := parse(home, pol.Values, func(string) string { return "" })
	if err != nil {
		return Config{}, fmt.Errorf("managed policy %s: %w", pol.Path, err)
	}
	if err := cfg.applyPolicy(pol, pc); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parseINI reads data, the config file at path, as the keys it sets; only
// keys in known are allowed, at the top level.
func parseINI(path string, data []byte, known []string) (map[string]string, error) {
	values := map[string]string{}
	if len(data) == 0 {
		return values, nil
	}
	f, err := ini.LoadSources(ini.LoadOptions{Insensitive: false}, data)
	if err != nil {
		// ini.v1 names no line; checkSyntax finds the one it refused.
		if serr := checkSyntax(path, data); serr != nil {
			return nil, serr
		}
		return nil, fmt.Errorf("%s is not valid INI: %w", path, err)
	}
	for _, s := range f.Sections() {
		if s.Name() != ini.DefaultSection && len(s.Keys()) > 0 {
			return nil, fmt.Errorf("%s: section [%s]: put keys at the top level, without a section", path, s.Name())
		}
	}
	for _, k := range f.Section(ini.DefaultSection).Keys() {
		if !slices.Contains(known, k.Name()) {
			return nil, fmt.Errorf("%s: unknown key %q; known keys: %s", path, k.Name(), strings.Join(known, ", "))
		}
		values[k.Name()] = k.String()
	}
	return values, nil
}

// parse turns the keys' values into a Config, checking each.
func parse(home string, values map[string]string, getenv func(string) string) (Config, error) {
	var err error
	cfg := Config{
		Home:           home,
		RoleARN:        values["role_arn"],
		Region:         values["region"],
		SourceProfile:  values["source_profile"],
		STSEndpoint:    values["sts_endpoint"],
		STSDialect:     values["sts_dialect"],
		KeyringBackend: values["keyring_backend"],
		SourceIdentity: values["source_identity"],
		FilePassphrase: getenv(keychain.PassphraseEnv),
		DefaultTTL:     DefaultDefaultTTL,
		MaxTTL:         DefaultMaxTTL,
		STSTimeout:     DefaultSTSTimeout,
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	switch cfg.STSDialect {
	case "":
		cfg.STSDialect = policy.DialectAWS
	case policy.DialectAWS, policy.DialectMinIO:
	default:
		return Config{}, fmt.Errorf("sts_dialect %q is not %q or %q", cfg.STSDialect, policy.DialectAWS, policy.DialectMinIO)
	}
	// STS would refuse a bad one only at the first grant.
	if v := cfg.SourceIdentity; v != "" && (len(v) < 2 || len(v) > 64 || !IAMNameChars(v)) {
		return Config{}, fmt.Errorf("source_identity %q is not valid in STS: use 2 to 64 letters, digits and + = , . @ _ -, such as alice@build-07", v)
	}
	if cfg.Services, cfg.MaxLevels, err = parseServices(values["services"]); err != nil {
		return Config{}, err
	}
	if v := values["max_grants"]; v != "" {
		if cfg.MaxGrants, err = strconv.Atoi(v); err != nil || cfg.MaxGrants < 1 {
			return Config{}, fmt.Errorf("max_grants %q is not a positive whole number such as 5; leave it out for no limit", v)
		}
	}
	if err := cfg.loadApproval(values); err != nil {
		return Config{}, err
	}
	if err := cfg.loadEscalation(values); err != nil {
		return Config{}, err
	}
	if err := cfg.loadMFA(values); err != nil {
		return Config{}, err
	}
	for key, dst := range map[string]*time.Duration{"max_ttl": &cfg.MaxTTL, "default_ttl": &cfg.DefaultTTL, "sts_timeout": &cfg.STSTimeout} {
		if v := values[key]; v != "" {
			if *dst, err = time.ParseDuration(v); err != nil {
				return Config{}, fmt.Errorf("%s %q is not a Go duration such as \"1h\" or \"30m\"", key, v)
			}
		}
	}
	if cfg.MaxTTL < MinTTL || cfg.MaxTTL > DefaultMaxTTL {
		return Config{}, fmt.Errorf("max_ttl %s is out of range: use between %s and %s", ShortDuration(cfg.MaxTTL), ShortDuration(MinTTL), ShortDuration(DefaultMaxTTL))
	}
	if cfg.STSTimeout < MinSTSTimeout || cfg.STSTimeout > MaxSTSTimeout {
		return Config{}, fmt.Errorf("sts_timeout %s is out of range: use between %s and %s", ShortDuration(cfg.STSTimeout), ShortDuration(MinSTSTimeout), ShortDuration(MaxSTSTimeout))
	}
	if cfg.DefaultTTL > cfg.MaxTTL {
		cfg.DefaultTTL = cfg.MaxTTL
	}
	if cfg.DefaultTTL < MinTTL {
		return Config{}, fmt.Errorf("default_ttl %s is below the minimum of %s", ShortDuration(cfg.DefaultTTL), ShortDuration(MinTTL))
	}
	return cfg, nil
}

// ConfigFile is the path of the tool's own config.
func (c Config) ConfigFile() string { return filepath.Join(c.Home, FileName) }

// AWSConfigFile is the path of the dedicated AWS config file.
func (c Config) AWSConfigFile() string { return filepath.Join(c.Home, AWSConfigName) }

// CheckRole reports a missing or malformed role_arn with how to set it.
func (c Config) CheckRole() error {
	if c.RoleARN == "" {
		return fmt.Errorf("no broker role configured: set role_arn in %s, or TIMEBOUND_IAM_ROLE_ARN, or pass --role-arn", c.ConfigFile())
	}
	return checkRoleARN("role_arn", c.RoleARN, "timebound-iam-broker")
}

// IAMNameChars reports whether s holds only the characters IAM and STS allow
// in names (roles, session names, source identities): ASCII letters, digits
// and + = , . @ _ -. It is written out rather than a regexp: this package is
// linked into the credential_process helper, and compiling `^[\w+=,.@-]*$`
// at start-up costs every AWS CLI call a quarter of a millisecond.
func IAMNameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+=,.@_-", c) >= 0) {
			return false
		}
	}
	return true
}

// parseServices reads the services key: prefixes separated by commas or
// spaces, each optionally with its highest level, "s3:read_only".
func parseServices(value string) ([]string, map[string]policy.Level, error) {
	var names []string
	var max map[string]policy.Level
	for _, s := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, level, hasLevel := strings.Cut(strings.ToLower(s), ":")
		// A typo here would otherwise allow nothing and say nothing.
		svc, ok := catalog.Lookup(name)
		if !ok {
			return nil, nil, fmt.Errorf("services: %q is not an AWS service prefix in the catalog; timebound-iam services lists them", name)
		}
		if slices.Contains(names, name) {
			return nil, nil, fmt.Errorf("services: %q is listed twice; list each service once", name)
		}
		names = append(names, name)
		if !hasLevel {
			continue
		}
		l, err := policy.ParseLevel("services: "+name+" level", level)
		if err != nil {
			return nil, nil, err
		}
		if err := policy.CheckServiceLevel(svc, l); err != nil {
			return nil, nil, fmt.Errorf("services: %w", err)
		}
		if max == nil {
			max = map[string]policy.Level{}
		}
		max[name] = l
	}
	return names, max, nil
}

// MaxLevel is the highest level the config allows for service; ok is false
// when it sets none.
func (c Config) MaxLevel(service string) (l policy.Level, ok bool) {
	l, ok = c.MaxLevels[service]
	return l, ok
}

// Allows reports whether a grant may name service: the allow-list has it,
// or there is none; under the MinIO dialect only s3.
func (c Config) Allows(service string) bool {
	if c.STSDialect == policy.DialectMinIO && service != "s3" {
		return false
	}
	return len(c.Services) == 0 || slices.Contains(c.Services, service)
}

// AllowedText lists what [Config.Allows] admits, for error messages.
func (c Config) AllowedText() string {
	if c.STSDialect == policy.DialectMinIO {
		return "s3 only (sts_dialect = minio)"
	}
	return c.ServicesText()
}

// ServicesText writes the allowed services as the services key takes them,
// each with its highest level when it has one: "s3:read_only, lambda".
// It is empty when the whole catalog is allowed.
func (c Config) ServicesText() string {
	parts := make([]string, len(c.Services))
	for i, s := range c.Services {
		parts[i] = s
		if l, ok := c.MaxLevel(s); ok {
			parts[i] += ":" + string(l)
		}
	}
	return strings.Join(parts, ", ")
}

// ShortDuration prints a duration without zero units: 15m, 1h, 1h30m.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
