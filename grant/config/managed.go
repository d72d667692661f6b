package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// The managed policy is a root-owned file that caps what any grant on the
// machine may be. It has the config's syntax and takes only the limit keys
// ([PolicyKeys]); [Load] applies it over the config, the environment and the
// flags as a ceiling: they may tighten a limit, never loosen it. Nothing a
// process running as the user can change moves it: not TIMEBOUND_IAM_HOME,
// not the config, not an environment variable.

// managedPolicyPath overrides [ManagedPolicyPath] when set at link time, for
// packagers who keep /etc elsewhere and for the tests that run the binary as
// another user:
//
//	-ldflags "-X github.com/timebound-iam/timebound-iam/grant/config.managedPolicyPath=/opt/etc/timebound-iam/policy"
//
// It is a link-time constant, not a setting: no file, environment variable or
// flag moves it.
var managedPolicyPath string

// ManagedPolicyPath is where the managed policy lives:
// /etc/timebound-iam/policy, or /Library/Application Support/timebound-iam/policy
// on macOS.
func ManagedPolicyPath() string {
	if managedPolicyPath != "" {
		return managedPolicyPath
	}
	if runtime.GOOS == "darwin" {
		return "/Library/Application Support/timebound-iam/policy"
	}
	return "/etc/timebound-iam/policy"
}

// PolicyKeys are the keys a managed policy may hold: the limits, and the
// broker role it may pin.
var PolicyKeys = []string{"services", "max_ttl", "max_grants", "approval", "approval_services", "role_arn", "allow_escalation"}

// Policy is a managed policy as read from its file.
type Policy struct {
	// Path is the file it came from.
	Path string
	// Values are the keys it sets, as written.
	Values map[string]string
}

// ReadPolicy reads the managed policy at path. A missing file is no policy:
// nil and no error. A file that root does not own, that group or others may
// write, or that sits in a directory a user other than root may change, is
// refused rather than ignored: a ceiling anyone could rewrite caps nothing,
// and silently dropping it would loosen every limit it sets.
func ReadPolicy(path string) (*Policy, error) {
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("managed policy %s: %w", path, err)
	}
	info, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("managed policy %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("managed policy %s is not a regular file; an administrator can rewrite it with sudo timebound-iam setup policy", path)
	}
	if real != path {
		if err := rootOnly(real, info, false); err != nil {
			return nil, fmt.Errorf("%s is a link to a file that is not trusted: %w", path, err)
		}
	} else if err := rootOnly(real, info, false); err != nil {
		return nil, err
	}
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		di, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("managed policy %s: %w", path, err)
		}
		if err := rootOnly(dir, di, true); err != nil {
			return nil, fmt.Errorf("managed policy %s: %w", path, err)
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("reading managed policy %s: %w; it must be readable by every user (sudo chmod 0644 %s)", path, err, path)
	}
	values, err := parseINI(path, data, PolicyKeys)
	if err != nil {
		return nil, fmt.Errorf("managed policy %w", err)
	}
	return &Policy{Path: path, Values: values}, nil
}

// rootOnly refuses a file or directory that a user other than root may
// change: not owned by root, or writable by group or others. A directory
// with the sticky bit, such as /tmp, passes: there only an entry's owner may
// remove or rename it.
func rootOnly(path string, info fs.FileInfo, dir bool) error {
	uid, ok := ownerOf(info)
	if !ok {
		return fmt.Errorf("managed policy %s: this system does not report file owners, so the policy cannot be trusted", path)
	}
	what := "managed policy"
	if dir {
		what = "directory"
	}
	if uid != 0 {
		return fmt.Errorf("%s %s is owned by uid %d, not root: a policy its owner can rewrite caps nothing. Make it root's (sudo chown root:root %s), or remove it", what, path, uid, path)
	}
	mode := info.Mode()
	if mode.Perm()&0o022 != 0 && !(dir && mode&fs.ModeSticky != 0) {
		return fmt.Errorf("%s %s has mode %04o: group or others can write it. Make it writable by root only (sudo chmod go-w %s)", what, path, mode.Perm(), path)
	}
	return nil
}

// approvalRank orders the approval values from loosest to strictest.
var approvalRank = map[string]int{ApprovalNever: 0, ApprovalFull: 1, ApprovalAlways: 2}

// applyPolicy caps c by the managed policy p, whose keys parsed into pc.
// Each limit becomes the stricter of the two, and Sources names the policy
// for every limit it decided.
func (c *Config) applyPolicy(p *Policy, pc Config) error {
	from := "managed policy " + p.Path
	c.PolicyFile = p.Path
	// An empty value sets nothing: "services =" would otherwise read as
	// "every service".
	set := func(key string) bool { return strings.TrimSpace(p.Values[key]) != "" }
	if set("role_arn") {
		if err := pc.CheckRole(); err != nil {
			return fmt.Errorf("managed policy %s: %w", p.Path, err)
		}
		if c.RoleARN != "" && c.RoleARN != pc.RoleARN {
			return fmt.Errorf("role_arn %q (from %s) is not the role the managed policy %s pins, %q: remove role_arn from %s, or ask an administrator to change the policy", c.RoleARN, c.Sources["role_arn"], p.Path, pc.RoleARN, c.Sources["role_arn"])
		}
		c.RoleARN, c.Sources["role_arn"] = pc.RoleARN, from
	}
	if set("services") {
		if err := c.capServices(pc, from); err != nil {
			return err
		}
	}
	if set("max_ttl") && pc.MaxTTL < c.MaxTTL {
		c.MaxTTL, c.Sources["max_ttl"] = pc.MaxTTL, from
		if c.DefaultTTL > c.MaxTTL {
			c.DefaultTTL = c.MaxTTL
		}
	}
	if set("max_grants") && (c.MaxGrants == 0 || pc.MaxGrants < c.MaxGrants) {
		c.MaxGrants, c.Sources["max_grants"] = pc.MaxGrants, from
	}
	if set("approval") && approvalRank[pc.Approval] > approvalRank[c.ApprovalSetting()] {
		c.Approval, c.Sources["approval"] = pc.Approval, from
	}
	for _, s := range pc.ApprovalServices {
		if !slices.Contains(c.ApprovalServices, s) {
			c.ApprovalServices = append(c.ApprovalServices, s)
			c.Sources["approval_services"] = from
		}
	}
	return c.capEscalation(p, pc, from)
}

// capServices narrows the allow-list to the policy's services, each at the
// lower of the two levels. A config that lists none of them is an error:
// an empty allow-list would read as the whole catalog.
func (c *Config) capServices(pc Config, from string) error {
	if len(c.Services) == 0 {
		c.Services, c.MaxLevels, c.Sources["services"] = pc.Services, pc.MaxLevels, from
		return nil
	}
	var kept []string
	levels := map[string]policy.Level{}
	for _, s := range c.Services {
		if !slices.Contains(pc.Services, s) {
			continue
		}
		kept = append(kept, s)
		mine, hasMine := c.MaxLevels[s]
		theirs, hasTheirs := pc.MaxLevels[s]
		switch {
		case hasMine && hasTheirs && !mine.AtMost(theirs):
			levels[s] = theirs
		case hasMine:
			levels[s] = mine
		case hasTheirs:
			levels[s] = theirs
		}
	}
	if len(kept) == 0 {
		return fmt.Errorf("services: none of %s (from %s) is allowed by the managed policy %s, which allows %s: list some of those in services, or leave services out", c.ServicesText(), c.Sources["services"], strings.TrimPrefix(from, "managed policy "), pc.ServicesText())
	}
	if len(levels) == 0 {
		levels = nil
	}
	c.Services, c.MaxLevels = kept, levels
	c.Sources["services"] = c.Sources["services"] + ", capped by " + from
	return nil
}

// Limit is one limit every grant must fit, with where its value came from.
type Limit struct {
	Key    string `json:"key" jsonschema:"the config key: services, max_ttl, max_grants, approval, approval_services, role_arn or allow_escalation"`
	Value  string `json:"value"`
	Source string `json:"source" jsonschema:"where the value came from: the config file, an environment variable, a flag, the managed policy (which no user setting can loosen), or default"`
}

// Limits lists the limits in effect and where each came from, for doctor,
// services and list_services.
func (c Config) Limits() []Limit {
	or := func(v, none string) string {
		if v == "" {
			return none
		}
		return v
	}
	maxGrants := "no limit"
	if c.MaxGrants > 0 {
		maxGrants = fmt.Sprint(c.MaxGrants)
	}
	limits := []Limit{
		{Key: "services", Value: or(c.ServicesText(), "all catalog services")},
		{Key: "max_ttl", Value: ShortDuration(c.MaxTTL)},
		{Key: "max_grants", Value: maxGrants},
		{Key: "approval", Value: c.ApprovalSetting()},
		{Key: "approval_services", Value: or(strings.Join(c.ApprovalServices, ", "), "none")},
		{Key: "role_arn", Value: or(c.RoleARN, "not set")},
		{Key: "allow_escalation", Value: c.escalationLimit()},
	}
	for i := range limits {
		limits[i].Source = c.From(limits[i].Key)
	}
	return limits
}

// From says where key's value came from: a path, an environment variable,
// "a flag", "managed policy <path>", or "default".
func (c Config) From(key string) string {
	if s := c.Sources[key]; s != "" {
		return s
	}
	return "default"
}

// Capped reports whether the managed policy decided key's value.
func (c Config) Capped(key string) bool {
	return c.PolicyFile != "" && strings.Contains(c.Sources[key], "managed policy ")
}

// NoteLimit adds to err, a refusal by key's limit, that the managed policy
// set that limit, when it did: raising it in the config would change nothing.
func (c Config) NoteLimit(key string, err error) error {
	if err == nil || !c.Capped(key) {
		return err
	}
	return fmt.Errorf("%w (%s is capped by the managed policy %s, which no user setting can raise)", err, key, c.PolicyFile)
}

// ChangeHint tells a person how to change key: in the config file, or, when
// the managed policy set it, through an administrator.
func (c Config) ChangeHint(key, now string) string {
	if c.Capped(key) {
		return fmt.Sprintf("ask an administrator: %s (now %q) is set by the managed policy %s", key, now, c.PolicyFile)
	}
	return fmt.Sprintf("change %s (now %q) in %s", key, now, c.ConfigFile())
}

// PolicyText checks values, managed policy keys and their values, as [Load]
// would read them from the policy file, and writes them as that file: the
// keys in the order of [PolicyKeys], under a comment saying what the file is.
func PolicyText(values map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("# timebound-iam managed policy: a ceiling on every grant made on this machine.\n" +
		"# A user's config, environment or flags may tighten these limits, never loosen them.\n" +
		"# Written by timebound-iam setup policy; keep it owned by root and writable by root only.\n")
	for k, v := range values {
		if !slices.Contains(PolicyKeys, k) {
			return "", fmt.Errorf("%q is not a managed policy key; known keys: %s", k, strings.Join(PolicyKeys, ", "))
		}
		if strings.ContainsAny(v, "\n\r") {
			return "", fmt.Errorf("%s: the value holds a line break; give it on one line", k)
		}
	}
	for _, k := range PolicyKeys {
		if v := strings.TrimSpace(values[k]); v != "" {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
	}
	text := b.String()
	parsed, err := parseINI("the policy", []byte(text), PolicyKeys)
	if err != nil {
		return "", err
	}
	pc, err := parse("", parsed, func(string) string { return "" })
	if err != nil {
		return "", err
	}
	if parsed["role_arn"] != "" {
		if err := pc.CheckRole(); err != nil {
			return "", err
		}
	}
	return text, nil
}
