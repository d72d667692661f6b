package grant

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// MaxReason bounds the free-text reason so a log line stays a line.
const MaxReason = 500

// Request is one grant, as asked for over MCP or the CLI.
type Request struct {
	Access []policy.Access
	// TTL is how long the grant lives; zero means the configured default.
	TTL time.Duration
	// Reason is the agent's or user's stated reason; logged, never written to
	// the AWS config file.
	Reason string
	// Client names who asked: the MCP client's name, or "cli".
	Client string
	// Resources narrows the whole grant to these ARNs, or S3 bucket names;
	// empty means every resource. See [policy.ResourceARNs].
	Resources []string
	// Approver is the channel a person approved the request through
	// ("elicitation", "terminal"), or "policy" when the config's approval
	// setting asked for no person.
	Approver string
}

// ParseTTL parses a Go duration such as "30m" or "1h30m" and checks it against
// [config.MinTTL] and max. An empty string gives def.
func ParseTTL(s string, def, max time.Duration) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		s = def.String()
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("ttl %q is not a duration: use a Go duration between %s and %s, e.g. \"30m\" or \"1h\"", s, config.ShortDuration(config.MinTTL), config.ShortDuration(max))
	}
	return d, checkTTL(d, max)
}

func checkTTL(d, max time.Duration) error {
	if d > max && d >= config.MinTTL {
		return fmt.Errorf("ttl %s is out of range: max_ttl is %s; use between %s and %s", config.ShortDuration(d), config.ShortDuration(max), config.ShortDuration(config.MinTTL), config.ShortDuration(max))
	}
	if d < config.MinTTL || d > max {
		return fmt.Errorf("ttl %s is out of range: use between %s and %s (max_ttl)", config.ShortDuration(d), config.ShortDuration(config.MinTTL), config.ShortDuration(max))
	}
	if d%time.Second != 0 {
		return fmt.Errorf("ttl %s is not a whole number of seconds", d)
	}
	return nil
}

// validate checks a request against the catalog and the configured
// allow-list, naming the offending field and the allowed values. It returns
// the request's resources as ARNs, as [policy.ResourceARNs] expands them.
func (r Request) validate(cfg config.Config) ([]string, error) {
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
		if !cfg.Allows(a.Service) {
			return nil, cfg.NoteLimit("services", fmt.Errorf("services[%d] %q is not allowed here; allowed: %s", i, a.Service, cfg.AllowedText()))
		}
		if seen[a.Service] {
			return nil, fmt.Errorf("services[%d] %q is listed twice; list each service once", i, a.Service)
		}
		seen[a.Service] = true
		if err := policy.CheckLevel(a.Level); err != nil {
			return nil, err
		}
		if err := policy.CheckServiceLevel(svc, a.Level); err != nil {
			return nil, fmt.Errorf("services[%d]: %w", i, err)
		}
		if max, ok := cfg.MaxLevel(a.Service); ok && !a.Level.AtMost(max) {
			return nil, fmt.Errorf("services[%d] %q at %s is over this config's limit: %s is allowed up to %s (services, from %s)", i, a.Service, a.Level, a.Service, max, cfg.From("services"))
		}
	}
	arns, err := policy.ResourceARNs(r.Access, r.Resources)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(r.Reason); n > MaxReason {
		return nil, fmt.Errorf("reason is %d characters; at most %d", n, MaxReason)
	}
	if strings.IndexFunc(r.Reason, func(c rune) bool { return unicode.IsControl(c) && c != '\t' }) >= 0 {
		return nil, fmt.Errorf("reason contains control characters; use one line of plain text")
	}
	return arns, cfg.NoteLimit("max_ttl", checkTTL(r.TTL, cfg.MaxTTL))
}
