package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// The values of the approval config key: which grants a person must approve
// before they are made.
const (
	ApprovalNever  = "never"  // none, except approval_services
	ApprovalFull   = "full"   // those with any service at level full (the default)
	ApprovalAlways = "always" // every grant
)

// DefaultApprovalTimeout is how long a person has to answer an approval
// request before it counts as declined.
const DefaultApprovalTimeout = 5 * time.Minute

// loadApproval reads the approval and approval_services keys.
func (c *Config) loadApproval(values map[string]string) error {
	switch v := strings.ToLower(strings.TrimSpace(values["approval"])); v {
	case "":
		c.Approval = ApprovalFull
	case ApprovalNever, ApprovalFull, ApprovalAlways:
		c.Approval = v
	default:
		return fmt.Errorf("approval %q is not allowed: use %q, %q or %q", values["approval"], ApprovalNever, ApprovalFull, ApprovalAlways)
	}
	for _, s := range strings.FieldsFunc(values["approval_services"], func(r rune) bool { return r == ',' || r == ' ' }) {
		s = strings.ToLower(s)
		// A typo would otherwise leave the service it meant unguarded.
		if _, ok := catalog.Lookup(s); !ok {
			return fmt.Errorf("approval_services: %q is not an AWS service prefix in the catalog; timebound-iam services lists them", s)
		}
		if !slices.Contains(c.ApprovalServices, s) {
			c.ApprovalServices = append(c.ApprovalServices, s)
		}
	}
	c.ApprovalTimeout = DefaultApprovalTimeout
	return nil
}

// ApprovalWait is how long a person has to answer: ApprovalTimeout, or
// [DefaultApprovalTimeout] for a Config that Load did not fill in.
func (c Config) ApprovalWait() time.Duration {
	if c.ApprovalTimeout <= 0 {
		return DefaultApprovalTimeout
	}
	return c.ApprovalTimeout
}

// ApprovalSetting is the approval key's value as [Config.NeedsApproval]
// applies it: [ApprovalFull] when unset.
func (c Config) ApprovalSetting() string {
	if c.Approval == "" {
		return ApprovalFull
	}
	return c.Approval
}

// NeedsApproval reports whether a person must approve a grant of access:
// always with approval = always; with approval = full (or unset) when any
// service is at level full; and whatever approval says, when any service is
// one of approval_services, or when the grant reaches an escalation deny
// that allow_escalation lifts.
func (c Config) NeedsApproval(access []policy.Access) bool {
	if c.liftsEscalation(access) {
		return true
	}
	for _, a := range access {
		if slices.Contains(c.ApprovalServices, a.Service) {
			return true
		}
		switch c.Approval {
		case ApprovalNever:
		case ApprovalAlways:
			return true
		default: // full, and any value Load did not set: fail closed
			if a.Level == policy.Full {
				return true
			}
		}
	}
	return false
}
