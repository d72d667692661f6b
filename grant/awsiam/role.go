package awsiam

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// CeilingPolicyName names the broker role's inline permission policy.
const CeilingPolicyName = "timebound-iam-ceiling"

// MaxRolePolicySize is IAM's limit on a role's inline policies, in
// characters without white space.
const MaxRolePolicySize = 10240

// TrustPolicy lets only principal assume the broker, and set the source
// identity and session tags that make grants attributable in CloudTrail.
func TrustPolicy(principal string) string {
	return indent(roleDocument{Version: "2012-10-17", Statement: []roleStatement{{
		Sid:       "TimeboundIamBaseIdentity",
		Effect:    "Allow",
		Principal: map[string]string{"AWS": principal},
		Action:    []string{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"},
	}}})
}

// MFATrustPolicy is the MFA role's trust policy: [TrustPolicy]'s principal
// and actions, allowed only when the AssumeRole request was authenticated
// with MFA. The condition is "Bool", not "BoolIfExists": a request that
// carries no MFA information at all, such as one signed with the base
// access keys alone, has no aws:MultiFactorAuthPresent key, and
// BoolIfExists would let it through.
func MFATrustPolicy(principal string) string {
	return indent(roleDocument{Version: "2012-10-17", Statement: []roleStatement{{
		Sid:       "TimeboundIamBaseIdentityWithMFA",
		Effect:    "Allow",
		Principal: map[string]string{"AWS": principal},
		Action:    []string{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"},
		Condition: json.RawMessage(`{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`),
	}}})
}

// BaseCeiling is the base role's ceiling when an MFA role holds the full
// one: each service of ceiling at most at read_only, so that the base
// access keys alone reach no service at full.
func BaseCeiling(ceiling []policy.Access) []policy.Access {
	out := make([]policy.Access, len(ceiling))
	for i, a := range ceiling {
		out[i] = a
		if a.Level == policy.Full {
			out[i].Level = policy.ReadOnly
		}
	}
	return out
}

// roleDocument keeps IAM's conventional key order in what setup prints.
type roleDocument struct {
	Version   string          `json:"Version"`
	Statement []roleStatement `json:"Statement"`
}

type roleStatement struct {
	Sid       string            `json:"Sid"`
	Effect    string            `json:"Effect"`
	Principal map[string]string `json:"Principal,omitempty"`
	Action    []string          `json:"Action"`
	Resource  string            `json:"Resource,omitempty"`
	Condition json.RawMessage   `json:"Condition,omitempty"`
}

// PermissionPolicy is the broker's ceiling: each service at its level, from
// the same catalog entries a grant's session policy ([policy.BuildWith])
// sends, the conditional read-only statements included with their
// conditions, plus an explicit Deny of the escalation denies of those
// services at those levels ([policy.Denied]), less those of the services
// allowEscalation names. Effective permissions are the role's AND the
// session's, so an action the ceiling left out would be one a grant asks for
// and never gets; and a service whose denies it keeps cannot have them
// lifted by any grant.
func PermissionPolicy(ceiling []policy.Access, allowEscalation []string) (string, error) {
	// A read_only ceiling must also hold the service's view_only grants,
	// and ViewOnlyAccess names a few actions ReadOnlyAccess does not (such
	// as bedrock:ListTagsForResource).
	var both []policy.Access
	for _, a := range ceiling {
		both = append(both, a)
		if svc, ok := catalog.Lookup(a.Service); ok && a.Level == policy.ReadOnly && svc.HasViewOnly() {
			both = append(both, policy.Access{Service: a.Service, Level: policy.ViewOnly})
		}
	}
	actions, conds, err := policy.Allowed(both, policy.DialectAWS)
	if err != nil {
		return "", err
	}
	allow := roleStatement{Sid: "TimeboundIamCeiling", Effect: "Allow", Action: actions, Resource: "*"}
	var conditional []roleStatement
	for _, c := range conds {
		conditional = append(conditional, roleStatement{Effect: "Allow", Action: c.Actions, Resource: "*", Condition: json.RawMessage(c.Condition)})
	}
	var statements []roleStatement
	if len(allow.Action) > 0 {
		statements = append(statements, allow)
	}
	// IAM wants every Sid in a policy distinct.
	for i := range conditional {
		conditional[i].Sid = fmt.Sprintf("TimeboundIamCeilingConditional%d", i+1)
	}
	statements = append(statements, conditional...)
	if deny := policy.Denied(both, policy.DialectAWS, allowEscalation); len(deny) > 0 {
		statements = append(statements, roleStatement{Sid: "TimeboundIamNoEscalation", Effect: "Deny", Action: deny, Resource: "*"})
	}
	text := indent(roleDocument{Version: "2012-10-17", Statement: statements})
	if n := compactLen(text); n > MaxRolePolicySize {
		return "", fmt.Errorf("the permission policy for these services is %d characters; IAM allows %d for a role's inline policies: allow fewer services, or give large ones the full level", n, MaxRolePolicySize)
	}
	return text, nil
}

// FullServices returns the services a permission policy from
// [PermissionPolicy] allows at the full level: those whose "<prefix>:*" it
// allows. Setup reads them back to offer the ceiling it wrote last time,
// since the config's services name no levels. A document it cannot read
// has none.
func FullServices(permissionPolicy string) map[string]bool {
	var doc struct {
		Statement []struct {
			Effect    string
			Action    []string
			Condition json.RawMessage
		}
	}
	full := map[string]bool{}
	if json.Unmarshal([]byte(permissionPolicy), &doc) != nil {
		return full
	}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" || len(st.Condition) > 0 {
			continue
		}
		for _, a := range st.Action {
			if prefix, ok := strings.CutSuffix(a, ":*"); ok {
				full[prefix] = true
			}
		}
	}
	return full
}

// CheckRoleName refuses a name IAM would refuse for a role: it must be 1 to
// 64 ASCII letters, digits and the characters + = , . @ _ -.
func CheckRoleName(name string) error {
	if len(name) < 1 || len(name) > 64 || !config.IAMNameChars(name) {
		return fmt.Errorf("role name %q is not valid in IAM: use 1 to 64 letters, digits and + = , . @ _ -", name)
	}
	return nil
}

// RoleNameOf is the name of the role a role ARN names, without its path; ""
// when arn names no role.
func RoleNameOf(arn string) string {
	_, rest, ok := strings.Cut(arn, ":role/")
	if !ok || !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	return rest[strings.LastIndex(rest, "/")+1:]
}

// RoleARN builds the broker's ARN from the account of an identity ARN.
func RoleARN(identityARN, roleName string) (string, error) {
	parts := strings.SplitN(identityARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[4] == "" {
		return "", fmt.Errorf("%q is not an ARN with an account", identityARN)
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], roleName), nil
}

// TrustPrincipal is the principal a trust policy names for the identity that
// called GetCallerIdentity: the user or role itself, never the account. An
// assumed-role session becomes its role; chained reports whether TTLs are
// then capped at 1h. roleARN resolves a role name to its full ARN with path,
// since the session ARN omits the path; it may be nil.
func TrustPrincipal(identityARN string, roleARN func(name string) (string, error)) (principal string, chained bool, err error) {
	parts := strings.SplitN(identityARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false, fmt.Errorf("%q is not an ARN", identityARN)
	}
	resource := parts[5]
	switch {
	case resource == "root":
		return "", false, errors.New("the base credentials are the account's root user: use an IAM user or an SSO role instead")
	case strings.HasPrefix(resource, "assumed-role/"):
		name, _, _ := strings.Cut(strings.TrimPrefix(resource, "assumed-role/"), "/")
		if roleARN != nil {
			if arn, err := roleARN(name); err == nil {
				return arn, true, nil
			}
		}
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], name), true, nil
	case strings.HasPrefix(resource, "user/"), strings.HasPrefix(resource, "role/"):
		// Users and roles live in IAM; some emulators report them under sts.
		return fmt.Sprintf("arn:%s:iam::%s:%s", parts[1], parts[4], resource), false, nil
	}
	return "", false, fmt.Errorf("cannot trust %q: it is neither an IAM user nor a role session", identityARN)
}
