package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestEscalationDenied evaluates session policies as IAM would, for actions
// with no condition: an explicit Deny wins, then an Allow. Each action that
// mints or widens access must be denied at every level, and at full the
// Allow must match it too, so that the Deny is what stops it. The controls
// show that the rest of the service stays granted.
func TestEscalationDenied(t *testing.T) {
	denied := map[string][]string{
		"iam": {
			"iam:CreateUser", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
			"iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential", "iam:UploadSSHPublicKey",
			"iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:AttachRolePolicy",
			"iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary",
			"iam:DetachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachRolePolicy",
			"iam:DeleteRolePolicy", "iam:DeleteUserPermissionsBoundary", "iam:AddUserToGroup", "iam:AddRoleToInstanceProfile",
			"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:TagRole", "iam:UntagUser",
			"iam:UpdateAssumeRolePolicy", "iam:CreateRole", "iam:PassRole",
			"iam:CreateSAMLProvider", "iam:UpdateSAMLProvider", "iam:CreateOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
			"iam:AddClientIDToOpenIDConnectProvider", "iam:AcceptDelegationRequest", "iam:EnableOrganizationsRootSessions",
		},
		"sts":              {"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoot"},
		"organizations":    {"organizations:AttachPolicy", "organizations:DetachPolicy", "organizations:UpdatePolicy", "organizations:DisablePolicyType", "organizations:CreateAccount", "organizations:CreateGovCloudAccount", "organizations:InviteAccountToOrganization", "organizations:LeaveOrganization", "organizations:MoveAccount", "organizations:RegisterDelegatedAdministrator"},
		"account":          {"account:StartPrimaryEmailUpdate", "account:AcceptPrimaryEmailUpdate"},
		"sso":              {"sso:CreateAccountAssignment", "sso:PutInlinePolicyToPermissionSet", "sso:AttachManagedPolicyToPermissionSet", "sso:DeletePermissionsBoundaryFromPermissionSet", "sso:CreateTrustedTokenIssuer"},
		"sso-directory":    {"sso-directory:CreateUser", "sso-directory:CreateBearerToken", "sso-directory:AddMemberToGroup"},
		"identitystore":    {"identitystore:CreateUser", "identitystore:CreateGroupMembership", "identitystore:UpdateUser"},
		"cognito-identity": {"cognito-identity:GetOpenIdTokenForDeveloperIdentity", "cognito-identity:SetIdentityPoolRoles", "cognito-identity:UpdateIdentityPool"},
		"rolesanywhere":    {"rolesanywhere:CreateTrustAnchor", "rolesanywhere:UpdateTrustAnchor", "rolesanywhere:EnableProfile"},
		"ds":               {"ds:ResetUserPassword"},
	}
	allowedAtFull := map[string][]string{
		"iam":              {"iam:GetRole", "iam:ListRoles", "iam:CreatePolicy", "iam:CreateGroup", "iam:DeleteAccessKey", "iam:DeleteUser", "iam:UploadServerCertificate"},
		"sts":              {"sts:GetCallerIdentity", "sts:DecodeAuthorizationMessage"},
		"organizations":    {"organizations:DescribePolicy", "organizations:CreatePolicy", "organizations:CreateOrganizationalUnit"},
		"account":          {"account:GetPrimaryEmail", "account:PutAlternateContact"},
		"sso":              {"sso:DescribePermissionSet", "sso:CreatePermissionSet", "sso:DeleteAccountAssignment"},
		"identitystore":    {"identitystore:DeleteUser", "identitystore:ListUsers"},
		"cognito-identity": {"cognito-identity:GetCredentialsForIdentity", "cognito-identity:DescribeIdentityPool"},
		"rolesanywhere":    {"rolesanywhere:DisableTrustAnchor", "rolesanywhere:ListProfiles"},
		"ds":               {"ds:DescribeDirectories"},
	}
	for service, actions := range denied {
		svc, ok := catalog.Lookup(service)
		if !ok {
			t.Fatalf("%s not in the catalog", service)
		}
		for _, level := range ServiceLevels(svc) {
			t.Run(service+"/"+string(level), func(t *testing.T) {
				// Another service beside it must not change what is denied.
				p, err := Build([]Access{{"s3", ReadOnly}, {service, level}}, DialectAWS)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range actions {
					if got := granttest.Decide(t, p, a); got != "deny" {
						t.Errorf("%s: %s, want deny; policy %s", a, got, p)
					}
					if level == Full && !granttest.StatementsMatch(t, p, "Allow", a) {
						t.Errorf("%s: full allows it not, so the Deny proves nothing; policy %s", a, p)
					}
				}
				if level != Full {
					return
				}
				for _, a := range allowedAtFull[service] {
					if got := granttest.Decide(t, p, a); got != "allow" {
						t.Errorf("%s: %s, want allow: the Deny is wider than escalation; policy %s", a, got, p)
					}
				}
			})
		}
	}
}

// TestEscalationActionsSpareReadOnly: a Deny that matched a read-only action
// would break read_only grants of that service, so no escalation pattern may
// share a single action name with a pattern of its service's read-only slice,
// wildcards included. The one exception is deliberate (see
// [EscalationActions]). Every pattern must also name a catalog service, or it
// would deny nothing in any grant.
func TestEscalationActionsSpareReadOnly(t *testing.T) {
	exempt := map[string]bool{"cognito-identity:GetOpenIdTokenForDeveloperIdentity": true}
	seen := map[string]bool{}
	for _, p := range EscalationActions {
		if seen[p] {
			t.Errorf("%s is listed twice", p)
		}
		seen[p] = true
		prefix, name, _ := strings.Cut(p, ":")
		svc, ok := catalog.Lookup(prefix)
		if !ok {
			t.Errorf("%s: %q is not a catalog service", p, prefix)
			continue
		}
		if name == "" || !strings.ContainsAny(name[:1], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("%s does not start with a verb", p)
		}
		read := slices.Clone(svc.ReadOnly)
		for _, c := range svc.ReadOnlyConditional {
			read = append(read, c.Actions...)
		}
		for _, r := range read {
			if actionsOverlap(p, r) && !exempt[p] {
				t.Errorf("escalation pattern %s matches actions of read-only %s", p, r)
			}
		}
	}
	for p := range exempt {
		if !seen[p] {
			t.Errorf("exempt %s is no longer in EscalationActions", p)
		}
	}
}

// actionsOverlap reports whether some action name matches both IAM action
// patterns p and q, each with * and ? wildcards, ignoring case as IAM does.
func actionsOverlap(p, q string) bool {
	return overlap(strings.ToLower(p), strings.ToLower(q))
}

func overlap(p, q string) bool {
	switch {
	case p == "" && q == "":
		return true
	case p != "" && p[0] == '*':
		return overlap(p[1:], q) || q != "" && overlap(p, q[1:])
	case q != "" && q[0] == '*':
		return overlap(p, q[1:]) || p != "" && overlap(p[1:], q)
	case p == "" || q == "":
		return false
	case p[0] == '?' || q[0] == '?' || p[0] == q[0]:
		return overlap(p[1:], q[1:])
	}
	return false
}

func TestActionsOverlap(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"iam:Get*", "iam:GetRole", true},
		{"iam:Get*", "iam:List*", false},
		{"iam:*AccessKey", "iam:Get*", true}, // "iam:GetAccessKey" matches both
		{"iam:Create*Provider", "iam:Get*", false},
		{"iam:Put*", "iam:*Policy", true},
		{"iam:Put*", "iam:put*", true},
		{"sts:Assume*", "sts:GetCallerIdentity", false},
		{"iam:Update*Key", "iam:UpdateAccessKey", true},
		{"iam:Update*Key", "iam:UpdateAccessKeys", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"a*", "", false},
	}
	for _, tt := range tests {
		if got := actionsOverlap(tt.p, tt.q); got != tt.want {
			t.Errorf("actionsOverlap(%q, %q) = %v, want %v", tt.p, tt.q, got, tt.want)
		}
		if got := actionsOverlap(tt.q, tt.p); got != tt.want {
			t.Errorf("actionsOverlap(%q, %q) = %v, want %v", tt.q, tt.p, got, tt.want)
		}
	}
}
