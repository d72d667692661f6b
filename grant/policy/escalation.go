package policy

// EscalationActions are the action patterns that mint access outliving a
// grant, widen a principal's rights or hop to another identity. Every grant's
// session policy ([Build]) denies those of the services it names, at every
// level, full included; the broker's ceiling (awsiam.PermissionPolicy) denies them
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
