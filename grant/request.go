package grant

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Level is how much of a service a grant allows.
type Level string

// The levels a grant can ask for.
const (
	ViewOnly Level = "view_only" // the service's slice of AWS's ViewOnlyAccess: metadata, no data reads
	ReadOnly Level = "read_only" // the service's slice of AWS's ReadOnlyAccess
	Full     Level = "full"      // <prefix>:*
)

// Levels lists the allowed values of a level, narrowest first, for error
// messages and schemas. Not every service offers every level: see
// [ServiceLevels].
var Levels = []Level{ViewOnly, ReadOnly, Full}

// ParseLevel accepts "view_only" (alias "vo"), "read_only" (alias "ro") and
// "full". field names the input in the error, e.g. "level".
func ParseLevel(field, s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "view_only", "vo":
		return ViewOnly, nil
	case "read_only", "ro":
		return ReadOnly, nil
	case "full":
		return Full, nil
	}
	return "", fmt.Errorf("%s %q is not allowed: use %s", field, s, levelChoice(Levels))
}

// ServiceLevels returns the levels the catalog offers for svc, narrowest
// first: view_only only where AWS's ViewOnlyAccess names the service.
func ServiceLevels(svc catalog.Service) []Level {
	if svc.HasViewOnly() {
		return Levels
	}
	return []Level{ReadOnly, Full}
}

// levelChoice writes levels as a choice: "a", "b" or "c".
func levelChoice(levels []Level) string {
	q := make([]string, len(levels))
	for i, l := range levels {
		q[i] = strconv.Quote(string(l))
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// levelError refuses a level that svc does not offer, naming the levels it
// does.
func levelError(svc catalog.Service, l Level) error {
	return fmt.Errorf("service %q has no %s level (AWS's ViewOnlyAccess names none of its actions): use %s", svc.Prefix, l, levelChoice(ServiceLevels(svc)))
}

// Access is one service at one level.
type Access struct {
	Service string
	Level   Level
}

// MinTTL is the shortest grant STS issues.
const MinTTL = 15 * time.Minute

// MaxReason bounds the free-text reason so a log line stays a line.
const MaxReason = 500

// Request is one grant, as asked for over MCP or the CLI.
type Request struct {
	Access []Access
	// TTL is how long the grant lives; zero means the configured default.
	TTL time.Duration
	// Reason is the agent's or user's stated reason; logged, never written to
	// the AWS config file.
	Reason string
	// Client names who asked: the MCP client's name, or "cli".
	Client string
	// Resources narrows the whole grant to these ARNs, or S3 bucket names;
	// empty means every resource. See [ResourceARNs].
	Resources []string
	// Approver is the channel a person approved the request through
	// ("elicitation", "terminal"), or "policy" when the config's approval
	// setting asked for no person.
	Approver string
}

// ParseTTL parses a Go duration such as "30m" or "1h30m" and checks it against
// [MinTTL] and max. An empty string gives def.
func ParseTTL(s string, def, max time.Duration) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		s = def.String()
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("ttl %q is not a duration: use a Go duration between %s and %s, e.g. \"30m\" or \"1h\"", s, ShortDuration(MinTTL), ShortDuration(max))
	}
	return d, checkTTL(d, max)
}

func checkTTL(d, max time.Duration) error {
	if d > max && d >= MinTTL {
		return fmt.Errorf("ttl %s is out of range: max_ttl is %s; use between %s and %s", ShortDuration(d), ShortDuration(max), ShortDuration(MinTTL), ShortDuration(max))
	}
	if d < MinTTL || d > max {
		return fmt.Errorf("ttl %s is out of range: use between %s and %s (max_ttl)", ShortDuration(d), ShortDuration(MinTTL), ShortDuration(max))
	}
	if d%time.Second != 0 {
		return fmt.Errorf("ttl %s is not a whole number of seconds", d)
	}
	return nil
}

// validate checks a request against the catalog and the configured
// allow-list, naming the offending field and the allowed values. It returns
// the request's resources as ARNs, as [ResourceARNs] expands them.
func (r Request) validate(cfg Config) ([]string, error) {
	if len(r.Access) == 0 {
		return nil, fmt.Errorf("services is empty: name at least one service, e.g. [\"s3\"]; list_services shows the allowed ones")
	}
	seen := map[string]bool{}
	for i, a := range r.Access {
		svc, ok := catalog.Lookup(a.Service)
		if !ok {
			if low := strings.ToLower(strings.TrimSpace(a.Service)); low != a.Service {
				if _, ok := catalog.Lookup(low); ok {
					return nil, fmt.Errorf("services[%d] %q is not a service prefix: prefixes are lowercase, use %q (list_services shows the allowed names)", i, a.Service, low)
				}
			}
			return nil, fmt.Errorf("services[%d] %q is not an AWS service prefix in the catalog; list_services shows the allowed names (e.g. \"s3\", \"ec2\", \"lambda\")", i, a.Service)
		}
		if !cfg.allows(a.Service) {
			return nil, fmt.Errorf("services[%d] %q is not allowed here; allowed: %s", i, a.Service, cfg.allowedText())
		}
		if seen[a.Service] {
			return nil, fmt.Errorf("services[%d] %q is listed twice; list each service once", i, a.Service)
		}
		seen[a.Service] = true
		if !slices.Contains(Levels, a.Level) {
			return nil, fmt.Errorf("level %q is not allowed: use %s", a.Level, levelChoice(Levels))
		}
		if !slices.Contains(ServiceLevels(svc), a.Level) {
			return nil, fmt.Errorf("services[%d]: %w", i, levelError(svc, a.Level))
		}
		if max, ok := cfg.maxLevel(a.Service); ok && !within(a.Level, max) {
			return nil, fmt.Errorf("services[%d] %q at %s is over this config's limit: %s is allowed up to %s (services in %s)", i, a.Service, a.Level, a.Service, max, cfg.ConfigFile())
		}
	}
	arns, err := ResourceARNs(r.Access, r.Resources)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(r.Reason); n > MaxReason {
		return nil, fmt.Errorf("reason is %d characters; at most %d", n, MaxReason)
	}
	if strings.IndexFunc(r.Reason, func(c rune) bool { return unicode.IsControl(c) && c != '\t' }) >= 0 {
		return nil, fmt.Errorf("reason contains control characters; use one line of plain text")
	}
	return arns, checkTTL(r.TTL, cfg.MaxTTL)
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

// MaxARN bounds one resource ARN, in characters. Long before it, the 2,048
// characters of the whole session policy bind.
const MaxARN = 1024

// partitions are the AWS partitions an ARN may name.
var partitions = []string{"aws", "aws-cn", "aws-us-gov"}

// ResourceARNs checks a grant's resources against its services and returns
// the ARNs the session policy scopes its Allow statements to, in order and
// without repeats. Each resource is an ARN,
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, whose SERVICE is one of the
// services in access; or, when s3 is granted, a bucket name, which stands
// for the bucket and its objects (arn:aws:s3:::NAME and arn:aws:s3:::NAME/*).
// An ARN may hold the wildcards * and ? outside its partition and service,
// as IAM allows, and only letters, digits and / : * ? . _ - + = , @ in all,
// at most [MaxARN] of them. The error names the first bad resource by its
// index.
func ResourceARNs(access []Access, resources []string) ([]string, error) {
	var out []string
	add := func(arn string) {
		if !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	granted := func(prefix string) bool {
		return slices.ContainsFunc(access, func(a Access) bool { return a.Service == prefix })
	}
	for i, res := range resources {
		if !strings.HasPrefix(res, "arn:") {
			if !validBucket(res) {
				return nil, fmt.Errorf("resources[%d] %q is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE) or an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)", i, res)
			}
			if !granted("s3") {
				return nil, fmt.Errorf("resources[%d] %q is an S3 bucket name but the grant has no s3: add s3 to services, or give the ARN of a granted service's resource", i, res)
			}
			add("arn:aws:s3:::" + res)
			add("arn:aws:s3:::" + res + "/*")
			continue
		}
		if err := checkARN(res); err != nil {
			return nil, fmt.Errorf("resources[%d] %q is not an ARN: %s", i, res, err)
		}
		service := strings.Split(res, ":")[2]
		if !granted(service) {
			return nil, fmt.Errorf("resources[%d] %q is a resource of service %q, which the grant does not include: add it to services, or drop the resource", i, res, service)
		}
		add(res)
	}
	return out, nil
}

// checkARN says what is wrong with arn, or returns nil.
func checkARN(arn string) error {
	if len(arn) > MaxARN {
		return fmt.Errorf("it is %d characters; at most %d", len(arn), MaxARN)
	}
	if !profiles.SafeResource(arn) {
		return errors.New("use only letters, digits and / : * ? . _ - + = , @ (no spaces, quotes or control characters)")
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[5] == "" {
		return errors.New("it needs six parts, arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, with a resource")
	}
	if !slices.Contains(partitions, parts[1]) {
		return fmt.Errorf("partition %q is not aws, aws-cn or aws-us-gov", parts[1])
	}
	if parts[2] == "" || !only(parts[2], func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }) {
		return fmt.Errorf("service %q is not a service prefix such as s3", parts[2])
	}
	return nil
}

// validBucket reports whether name follows S3's bucket naming rules: 3-63
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit, with no two dots in a row.
func validBucket(name string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	return len(name) >= 3 && len(name) <= 63 &&
		only(name, func(c byte) bool { return alnum(c) || c == '.' || c == '-' }) &&
		alnum(name[0]) && alnum(name[len(name)-1]) && !strings.Contains(name, "..")
}

// only reports whether every byte of s satisfies ok.
func only(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
