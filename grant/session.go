package grant

import (
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/policy"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// Session describes a live or ended grant; it never holds a secret.
type Session struct {
	ID      string
	Access  []policy.Access
	Region  string
	Created time.Time
	Expires time.Time
	Status  profiles.Status
	Revoked time.Time
	// Resources are the ARNs the grant is narrowed to; nil means every
	// resource.
	Resources []string
	// PolicyChars is the session policy's length, of STS's 2,048, and
	// PackedPolicySize STS's PackedPolicySize for it: the packed policy and
	// session tags as a percentage of STS's packed limit, nil when STS sent
	// none. Only [Manager.Grant] sets them; the profile file does not keep
	// them.
	PolicyChars      int
	PackedPolicySize *int32
	// Role is the broker role the grant assumed: role_arn, or mfa_role_arn
	// for one approved with an MFA code. Empty for a grant whose profile
	// predates the record.
	Role string
}

// Profile is the AWS profile name of the grant.
func (s Session) Profile() string { return profiles.Prefix + s.ID }

// Services lists the service prefixes in request order.
func (s Session) Services() []string {
	out := make([]string, len(s.Access))
	for i, a := range s.Access {
		out[i] = a.Service
	}
	return out
}

// Level is the common level, or "mixed" when services differ.
func (s Session) Level() string {
	if len(s.Access) == 0 {
		return ""
	}
	for _, a := range s.Access[1:] {
		if a.Level != s.Access[0].Level {
			return "mixed"
		}
	}
	return string(s.Access[0].Level)
}

// Levels maps each service to its level.
func (s Session) Levels() map[string]string {
	m := make(map[string]string, len(s.Access))
	for _, a := range s.Access {
		m[a.Service] = string(a.Level)
	}
	return m
}

func levelsText(access []policy.Access) string {
	parts := make([]string, len(access))
	for i, a := range access {
		parts[i] = a.Service + ":" + string(a.Level)
	}
	return strings.Join(parts, ",")
}

func (m *Manager) entry(s Session) profiles.Entry {
	access := make([]profiles.Access, len(s.Access))
	for i, a := range s.Access {
		access[i] = profiles.Access{Service: a.Service, Level: string(a.Level)}
	}
	return profiles.Entry{
		ID: s.ID, Region: s.Region, Access: access, Status: s.Status,
		Helper:  profiles.Helper{Exe: m.Exe, Home: m.Config.Home, Backend: m.Keys.Backend()},
		Created: s.Created, Expires: s.Expires, Revoked: s.Revoked, Resources: s.Resources,
		Role: s.Role,
	}
}

func session(e profiles.Entry) Session {
	access := make([]policy.Access, len(e.Access))
	for i, a := range e.Access {
		access[i] = policy.Access{Service: a.Service, Level: policy.Level(a.Level)}
	}
	return Session{ID: e.ID, Access: access, Region: e.Region, Created: e.Created, Expires: e.Expires, Status: e.Status, Revoked: e.Revoked, Resources: e.Resources, Role: e.Role}
}
