package grant

import (
	"context"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// GrantOutput is the result of grant_access and of `grant --json`.
type GrantOutput struct {
	SessionID  string            `json:"session_id" jsonschema:"the grant's id"`
	Profile    string            `json:"profile" jsonschema:"the AWS profile to pass with --profile"`
	Services   []string          `json:"services" jsonschema:"the services granted"`
	Level      string            `json:"level" jsonschema:"view_only, read_only, full, or mixed (see levels)"`
	Levels     map[string]string `json:"levels" jsonschema:"each service's level"`
	ExpiresAt  string            `json:"expires_at" jsonschema:"RFC 3339 time the credentials stop working"`
	ConfigFile string            `json:"config_file" jsonschema:"the AWS config file holding the profile; set AWS_CONFIG_FILE to it"`
	Usage      string            `json:"usage" jsonschema:"how to run the AWS CLI with this grant"`
	Resources  []string          `json:"resources,omitempty" jsonschema:"the ARNs the grant is narrowed to; absent when it covers every resource"`
	// PolicyChars and PackedPolicySize say how close the grant came to
	// STS's limits, so that an agent can tell how much more one grant holds.
	PolicyChars      int    `json:"policy_chars,omitempty" jsonschema:"the session policy's length in characters; STS allows 2048"`
	PackedPolicySize *int32 `json:"packed_policy_size,omitempty" jsonschema:"STS's PackedPolicySize: the packed session policy and tags as a percentage of STS's limit; absent when STS does not report it"`
	// Lifted is what the grant may do because allow_escalation lifts its
	// escalation denies; see [config.Config.LiftedEscalation].
	Lifted []string `json:"escalation_lifted,omitempty" jsonschema:"what this grant may do that a default grant at its levels may not, because the person's allow_escalation lifts those denies: act as other roles, open resources to others, or get credentials that outlive the grant; absent when nothing is lifted"`
}

// SessionOutput is one entry of list_active_sessions and of `sessions --json`.
type SessionOutput struct {
	SessionID string            `json:"session_id"`
	Profile   string            `json:"profile"`
	Services  []string          `json:"services"`
	Level     string            `json:"level"`
	Levels    map[string]string `json:"levels"`
	ExpiresAt string            `json:"expires_at"`
	Remaining string            `json:"remaining" jsonschema:"time left, e.g. 29m12s"`
	Resources []string          `json:"resources,omitempty" jsonschema:"the ARNs the grant is narrowed to; absent when it covers every resource"`
}

// ServiceOutput is one entry of list_services and of `services --json`.
type ServiceOutput struct {
	Name        string   `json:"name" jsonschema:"the service prefix to pass in services"`
	Title       string   `json:"title" jsonschema:"AWS's name for the service"`
	Description string   `json:"description"`
	Levels      []string `json:"levels" jsonschema:"the levels a grant may ask for this service, narrowest first; view_only only where AWS's ViewOnlyAccess covers the service"`
}

// SessionsOutput is list_active_sessions's result.
type SessionsOutput struct {
	Sessions []SessionOutput `json:"sessions"`
}

// ServicesOutput is list_services's result.
type ServicesOutput struct {
	Services []ServiceOutput `json:"services"`
	// Limits are the limits every grant must fit, with where each came from.
	Limits []config.Limit `json:"limits" jsonschema:"the limits every grant must fit (services, max_ttl, max_grants, approval, approval_services, role_arn, allow_escalation) and where each came from; one set by the managed policy cannot be raised by any user setting"`
}

// Usage is the command line an agent runs with a grant.
func Usage(configFile, profile string) string {
	return "AWS_CONFIG_FILE=" + quoteShell(configFile) + " aws --profile " + profile + " <command>"
}

// quoteShell quotes s for a POSIX shell when it needs it.
func quoteShell(s string) string {
	plain := strings.IndexFunc(s, func(c rune) bool {
		return !(c == '/' || c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) < 0
	if plain {
		return s
	}
	return profiles.Quote(s)
}

// Output describes s as a grant result.
func (m *Manager) Output(s Session) GrantOutput {
	return GrantOutput{
		SessionID:  s.ID,
		Profile:    s.Profile(),
		Services:   s.Services(),
		Level:      s.Level(),
		Levels:     s.Levels(),
		ExpiresAt:  s.Expires.UTC().Format(time.RFC3339),
		ConfigFile: m.Config.AWSConfigFile(),
		Usage:      Usage(m.Config.AWSConfigFile(), s.Profile()),
		Resources:  s.Resources,

		PolicyChars:      s.PolicyChars,
		PackedPolicySize: s.PackedPolicySize,
		Lifted:           m.Config.LiftedEscalation(s.Access),
	}
}

// Sessions describes the live grants as list_active_sessions does.
func (m *Manager) Sessions(ctx context.Context) (SessionsOutput, error) {
	live, err := m.List(ctx)
	if err != nil {
		return SessionsOutput{}, err
	}
	out := SessionsOutput{Sessions: []SessionOutput{}}
	now := m.Now()
	for _, s := range live {
		out.Sessions = append(out.Sessions, s.Output(now))
	}
	return out, nil
}

// SessionOutput describes s as a live session at now.
func (s Session) Output(now time.Time) SessionOutput {
	return SessionOutput{
		SessionID: s.ID,
		Profile:   s.Profile(),
		Services:  s.Services(),
		Level:     s.Level(),
		Levels:    s.Levels(),
		ExpiresAt: s.Expires.UTC().Format(time.RFC3339),
		Remaining: s.Expires.Sub(now).Truncate(time.Second).String(),
		Resources: s.Resources,
	}
}

// ServiceList lists the catalog services c allows, each
// with the levels it offers ([policy.ServiceLevels]: view_only only where AWS's
// ViewOnlyAccess names it) up to the config's limit for it, whose session
// policy fits STS's limit on its own (a few services' read-only slices are
// larger than that).
func ServiceList(c config.Config) []ServiceOutput {
	out := []ServiceOutput{}
	for _, svc := range catalog.All() {
		if !c.Allows(svc.Prefix) {
			continue
		}
		var levels []string
		for _, l := range policy.ServiceLevels(svc) {
			if max, ok := c.MaxLevel(svc.Prefix); ok && !l.AtMost(max) {
				continue
			}
			if _, err := policy.BuildWith([]policy.Access{{Service: svc.Prefix, Level: l}}, nil, c.STSDialect, c.AllowEscalation); err == nil {
				levels = append(levels, string(l))
			}
		}
		out = append(out, ServiceOutput{Name: svc.Prefix, Title: svc.Name, Description: svc.Description, Levels: levels})
	}
	return out
}
