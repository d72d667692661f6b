package grant

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// MaxPolicySize is STS's limit on an inline session policy, in characters.
const MaxPolicySize = 2048

// The policy dialects of [Config.STSDialect].
const (
	DialectAWS   = "aws"
	DialectMinIO = "minio"
)

// minioUnsupported holds the catalog actions MinIO's policy parser rejects.
// MinIO accepts an action only when it matches one it implements; of the
// catalog's s3 read-only patterns, s3:DescribeJob (S3 Batch Operations)
// matches none, and AssumeRole fails with "unsupported action". The
// end-to-end tests prove the rest against a real MinIO.
var minioUnsupported = map[string]bool{"s3:DescribeJob": true}

// EscalationActions are the action patterns that mint access outliving a
// grant, widen a principal's rights or hop to another identity. Every grant's
// session policy ([Policy]) denies those of the services it names, at every
// level, full included; the broker's ceiling ([PermissionPolicy]) denies them
// all. An explicit Deny beats any Allow: the ceiling's holds for every grant
// whatever else is attached to the role, and a grant's own holds on a broker
// made by hand without the ceiling. It is one list for both, so the two
// cannot drift apart. The MinIO dialect serves s3 only, which mints nothing,
// so its policies never carry a Deny.
//
// What it covers, by service:
//   - iam: new users, access keys, login profiles (console passwords),
//     service-specific credentials, SSH keys and signing certificates, and
//     reactivating them; attaching, putting, detaching or deleting policies
//     and permissions boundaries on users, groups and roles; adding users to
//     groups and roles to instance profiles; new managed-policy versions;
//     tags, which ABAC conditions read; trust policies, new roles, SAML and
//     OIDC providers; passing roles to services; accepting delegation
//     requests and enabling root sessions.
//   - sts: every onward Assume* call (AssumeRole, AssumeRoleWithSAML,
//     AssumeRoleWithWebIdentity, AssumeRoot). GetFederationToken and
//     GetSessionToken are left out: STS refuses both to role sessions,
//     which grants and the broker's own sessions always are.
//   - organizations: attaching, detaching and editing SCPs, or turning a
//     policy type off; new accounts (each comes with an admin role);
//     inviting, removing, moving or leaving accounts, which puts them under
//     other SCPs or inside org-wide trust; delegating administration.
//   - account: changing the root user's email, which hands over the root
//     user through a password reset.
//   - sso, sso-directory, identitystore (IAM Identity Center): account and
//     application assignments, permission-set policies and boundaries,
//     trusted token issuers, and creating or changing users, groups and
//     memberships.
//   - cognito-identity: changing an identity pool's roles or providers, and
//     GetOpenIdTokenForDeveloperIdentity, which AWS files under read-only
//     but which mints a token, valid for up to a day, that Cognito and STS
//     trade for the pool's role credentials.
//   - rolesanywhere: creating, changing or enabling trust anchors and
//     profiles, through which an X.509 certificate becomes role credentials.
//   - ds: resetting a directory user's password.
//
// Each pattern starts with a verb, never a wildcard, so that it cannot match
// a read-only action of its service (GetOpenIdTokenForDeveloperIdentity
// apart, on purpose); tests hold it to that. Left out on purpose: resource
// sharing and resource policies (ram, s3 bucket policies), which expose
// data rather than mint identities, and running code under a role that
// already exists (lambda:UpdateFunctionCode, ssm:SendCommand), which is what
// full on a compute service means; narrow those grants instead.
var EscalationActions = []string{
	// New identities and credentials.
	"iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
	"iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential", "iam:UpdateServiceSpecificCredential",
	"iam:UploadSSHPublicKey", "iam:UploadSigningCertificate", "iam:UpdateSigningCertificate",
	"iam:Update*Key", // UpdateAccessKey and UpdateSSHPublicKey reactivate a key
	// Policies and boundaries on users, groups and roles; group membership.
	"iam:Attach*", "iam:Put*", "iam:Detach*", "iam:Delete*Policy", "iam:Delete*PermissionsBoundary",
	"iam:Add*", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
	"iam:Tag*", "iam:Untag*",
	// Trust, federation, and passing or assuming other roles.
	"iam:UpdateAssumeRolePolicy", "iam:CreateRole", "iam:PassRole",
	"iam:Create*Provider", "iam:Update*Provider*", // SAML and OIDC
	"iam:AcceptDelegationRequest", "iam:EnableOrganizationsRoot*",
	"sts:Assume*",
	// Organizations: SCPs, accounts in and out, delegated administration.
	"organizations:AttachPolicy", "organizations:DetachPolicy", "organizations:UpdatePolicy", "organizations:DisablePolicyType",
	"organizations:Create*Account", "organizations:InviteAccountToOrganization", "organizations:RemoveAccountFromOrganization",
	"organizations:LeaveOrganization", "organizations:MoveAccount",
	"organizations:RegisterDelegatedAdministrator", "organizations:PutResourcePolicy",
	"account:StartPrimaryEmailUpdate", "account:AcceptPrimaryEmailUpdate",
	// IAM Identity Center.
	"sso:Create*Assignment", "sso:Attach*", "sso:Put*", "sso:Detach*", "sso:Delete*FromPermissionSet",
	"sso:CreateTrustedTokenIssuer", "sso:UpdateTrustedTokenIssuer",
	"sso-directory:Create*", "sso-directory:Update*", "sso-directory:AddMemberToGroup", "sso-directory:EnableUser",
	"identitystore:Create*", "identitystore:Update*",
	// Other ways to credentials.
	"cognito-identity:GetOpenIdTokenForDeveloperIdentity", "cognito-identity:SetIdentityPoolRoles", "cognito-identity:UpdateIdentityPool",
	"rolesanywhere:CreateTrustAnchor", "rolesanywhere:UpdateTrustAnchor", "rolesanywhere:EnableTrustAnchor",
	"rolesanywhere:EnableProfile", "rolesanywhere:UpdateProfile",
	"ds:ResetUserPassword",
}

// PolicyTooLargeError reports a session policy over [MaxPolicySize].
type PolicyTooLargeError struct {
	Size     int
	Services []string // largest contributions first
}

func (e *PolicyTooLargeError) Error() string {
	if len(e.Services) == 1 {
		return fmt.Sprintf("the read_only session policy for %s alone is %d characters; STS allows %d: ask for level \"full\" for it, or use another grant's services", e.Services[0], e.Size, MaxPolicySize)
	}
	return fmt.Sprintf("the session policy for %s is %d characters; STS allows %d: ask for fewer services in one grant (largest first: %s) or split them across grants",
		strings.Join(sorted(e.Services), ", "), e.Size, MaxPolicySize, strings.Join(e.Services, ", "))
}

type statement struct {
	Effect    string          `json:"Effect"`
	Action    []string        `json:"Action"`
	Resource  any             `json:"Resource"` // "*" or a list of ARNs
	Condition json.RawMessage `json:"Condition,omitempty"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// Policy returns the compact JSON session policy that allows exactly access
// on every resource: [ScopedPolicy] with no resources.
func Policy(access []Access, dialect string) (string, error) {
	return ScopedPolicy(access, nil, dialect)
}

// ScopedPolicy returns the compact JSON session policy that allows exactly
// access: a view_only service gets its slice of AWS's ViewOnlyAccess, a
// read_only one its slice of ReadOnlyAccess, a full one <prefix>:*. The Allow
// statements cover resources, ARNs as [ResourceARNs] returns them, or every
// resource ("*") when there are none. A last Deny statement holds the
// [EscalationActions] of the services in access, whatever their level, on
// every resource, so that no narrowing can make it miss; a grant of none of
// those services has no Deny. Services must be in the catalog. dialect is
// [DialectAWS], or [DialectMinIO] to leave out what MinIO cannot parse. A
// policy over [MaxPolicySize] is a [*PolicyTooLargeError], or, when
// resources make it so, an error that says to name fewer.
func ScopedPolicy(access []Access, resources []string, dialect string) (string, error) {
	actions, conds, err := allowed(access, dialect)
	if err != nil {
		return "", err
	}
	var scope any = "*"
	if len(resources) > 0 {
		scope = resources
	}
	allow := statement{Effect: "Allow", Action: actions, Resource: scope}
	var conditional []statement
	for _, c := range conds {
		conditional = append(conditional, statement{Effect: "Allow", Action: c.Actions, Resource: scope, Condition: json.RawMessage(c.Condition)})
	}
	doc := document{Version: "2012-10-17"}
	if len(allow.Action) > 0 {
		doc.Statement = append(doc.Statement, allow)
	}
	doc.Statement = append(doc.Statement, conditional...)
	if deny := denied(access); len(deny) > 0 {
		doc.Statement = append(doc.Statement, statement{Effect: "Deny", Action: deny, Resource: "*"})
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	if len(out) > MaxPolicySize {
		if len(resources) > 0 {
			if unscoped, err := Policy(access, dialect); err == nil {
				return "", fmt.Errorf("resources make the session policy %d characters (%d without them); STS allows %d: name fewer resources, or cover several with one wildcard ARN such as arn:aws:s3:::logs-*",
					len(out), len(unscoped), MaxPolicySize)
			}
		}
		return "", &PolicyTooLargeError{Size: len(out), Services: bySize(access)}
	}
	return string(out), nil
}

// allowed returns what access allows: the unconditional actions, sorted and
// without repeats, and the conditional read-only slices, to be kept with
// their conditions. Session policies and setup's ceiling both build on it, so
// the ceiling always covers the grants made under it.
func allowed(access []Access, dialect string) ([]string, []catalog.Conditional, error) {
	var actions []string
	var conditional []catalog.Conditional
	for _, a := range access {
		svc, err := lookup(a.Service)
		if err != nil {
			return nil, nil, err
		}
		if a.Level == Full {
			actions = append(actions, svc.Prefix+":*")
			continue
		}
		patterns, conds, err := levelSlice(svc, a.Level)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range patterns {
			if dialect != DialectMinIO || !minioUnsupported[a] {
				actions = append(actions, a)
			}
		}
		conditional = append(conditional, conds...)
	}
	slices.Sort(actions)
	return slices.Compact(actions), conditional, nil
}

// levelSlice returns the catalog's patterns and conditional statements for
// svc at a level below full, or an error naming the levels svc offers.
func levelSlice(svc catalog.Service, l Level) ([]string, []catalog.Conditional, error) {
	switch {
	case l == ReadOnly:
		return svc.ReadOnly, svc.ReadOnlyConditional, nil
	case l == ViewOnly && svc.HasViewOnly():
		return svc.ViewOnly, svc.ViewOnlyConditional, nil
	case l == ViewOnly:
		return nil, nil, levelError(svc, l)
	}
	return nil, nil, fmt.Errorf("level %q is not allowed: use %s", l, levelChoice(Levels))
}

// denied returns the [EscalationActions] of the services in access, sorted.
// Those of other services are left out: the session policy allows nothing of
// theirs, and each would cost characters of the 2,048.
func denied(access []Access) []string {
	var out []string
	for _, p := range EscalationActions {
		prefix, _, _ := strings.Cut(p, ":")
		if slices.ContainsFunc(access, func(a Access) bool { return a.Service == prefix }) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// bySize orders services by how many characters they add to a policy.
func bySize(access []Access) []string {
	size := map[string]int{}
	var names []string
	for _, a := range access {
		n := len(a.Service) + 4
		if a.Level != Full {
			svc, _ := catalog.Lookup(a.Service)
			patterns, _, _ := levelSlice(svc, a.Level)
			n = 0
			for _, p := range patterns {
				n += len(p) + 3
			}
		}
		for _, p := range denied([]Access{a}) {
			n += len(p) + 3
		}
		size[a.Service] = n
		names = append(names, a.Service)
	}
	sort.SliceStable(names, func(i, j int) bool { return size[names[i]] > size[names[j]] })
	return names
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
