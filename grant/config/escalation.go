package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// allowEscalationNone is the allow_escalation value that names no service;
// in the managed policy it forbids opting in at all.
const allowEscalationNone = "none"

// escalationConfig is the allow_escalation key, read by loadEscalation.
type escalationConfig struct {
	// AllowEscalation names the services whose escalation denies
	// ([policy.EscalationDenied]) a grant does not carry: for a person who
	// means "run commands on my instances" by ssm full. A grant that reaches
	// a lifted deny always needs approval ([Config.NeedsApproval]), and the
	// broker's ceiling must lift them too (setup aws).
	AllowEscalation []string
	// EscalationCeiling is what the managed policy allows to be opted in,
	// when its allow_escalation key is set ("none": nothing); nil when the
	// policy leaves opting in to the user.
	EscalationCeiling []string
	// Warnings are things the config says that change nothing, to show the
	// person who wrote them.
	Warnings []string
}

// loadEscalation reads the allow_escalation key: service prefixes
// separated by commas or spaces, or "none". A service that is not in the
// catalog is an error naming it; one that has no escalation denies, or that
// services does not allow, is a warning: listing it changes nothing.
func (c *Config) loadEscalation(values map[string]string) error {
	names, err := parseAllowEscalation(values["allow_escalation"])
	if err != nil {
		return err
	}
	for _, s := range names {
		switch {
		case !policy.HasEscalation(s):
			c.Warnings = append(c.Warnings, fmt.Sprintf("allow_escalation: %q has no escalation denies at any level, so listing it lifts nothing", s))
		case len(c.Services) > 0 && !slices.Contains(c.Services, s):
			c.Warnings = append(c.Warnings, fmt.Sprintf("allow_escalation: %q is not in services, so no grant can reach it", s))
		}
	}
	c.AllowEscalation = names
	return nil
}

func parseAllowEscalation(value string) ([]string, error) {
	var names []string
	fields := strings.FieldsFunc(strings.ToLower(value), func(r rune) bool { return r == ',' || r == ' ' })
	if len(fields) == 1 && fields[0] == allowEscalationNone {
		return nil, nil
	}
	for _, s := range fields {
		if s == allowEscalationNone {
			return nil, fmt.Errorf("allow_escalation: %q cannot be listed with services; give it alone to name none", allowEscalationNone)
		}
		// A typo would otherwise lift nothing and say nothing.
		if _, ok := catalog.Lookup(s); !ok {
			return nil, fmt.Errorf("allow_escalation: %q is not an AWS service prefix in the catalog; timebound-iam services lists them", s)
		}
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return names, nil
}

// capEscalation applies the managed policy's allow_escalation, when it sets
// one, as a ceiling: every service the user opts in must be in it, and
// "none" forbids opting in at all. A service beyond it is an error naming
// the policy, not silently dropped: the person asked for it and must learn
// that their grants still deny it.
func (c *Config) capEscalation(p *Policy, pc Config, from string) error {
	if strings.TrimSpace(p.Values["allow_escalation"]) == "" {
		return nil
	}
	c.EscalationCeiling = pc.AllowEscalation
	if c.EscalationCeiling == nil {
		c.EscalationCeiling = []string{}
	}
	allowed := allowEscalationNone
	if len(pc.AllowEscalation) > 0 {
		allowed = strings.Join(pc.AllowEscalation, ", ")
	}
	for _, s := range c.AllowEscalation {
		if !slices.Contains(pc.AllowEscalation, s) {
			return fmt.Errorf("allow_escalation: %q (from %s) may not be opted in: the managed policy %s allows %s. Remove it from allow_escalation, or ask an administrator to change the policy", s, c.From("allow_escalation"), p.Path, allowed)
		}
	}
	if c.Sources["allow_escalation"] == "" {
		c.Sources["allow_escalation"] = from
	} else {
		c.Sources["allow_escalation"] += ", capped by " + from
	}
	return nil
}

// escalationLimit writes allow_escalation for [Config.Limits]: the
// services opted in, and what the managed policy allows when it caps them.
func (c Config) escalationLimit() string {
	v := strings.Join(c.AllowEscalation, ", ")
	if v == "" {
		v = allowEscalationNone
	}
	switch {
	case c.EscalationCeiling == nil:
	case len(c.EscalationCeiling) == 0:
		v += " (the managed policy allows none)"
	default:
		v += " (the managed policy allows at most " + strings.Join(c.EscalationCeiling, ", ") + ")"
	}
	return v
}

// liftsEscalation reports whether a grant of access would carry a deny
// that allow_escalation lifts: such a grant can do what the denies exist to
// stop, and a person must approve it.
func (c Config) liftsEscalation(access []policy.Access) bool {
	for _, a := range access {
		if slices.Contains(c.AllowEscalation, a.Service) && len(policy.EscalationDenied(a, c.STSDialect)) > 0 {
			return true
		}
	}
	return false
}

// LiftedEscalation says in plain words what each service of access whose
// escalation denies allow_escalation lifts may do at its level, one
// sentence a service, as "ssm full can run code as the roles its existing
// resources run as (ssm:SendCommand, ssm:StartSession)"; nil when the grant
// lifts nothing.
func (c Config) LiftedEscalation(access []policy.Access) []string {
	var out []string
	for _, a := range access {
		if !slices.Contains(c.AllowEscalation, a.Service) || len(policy.EscalationDenied(a, c.STSDialect)) == 0 {
			continue
		}
		if t := policy.EscalationText(a); t != "" {
			out = append(out, t)
		}
	}
	return out
}
