package grant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
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
// the same catalog entries a grant's session policy ([Policy]) sends, the
// conditional read-only statements included with their conditions, plus an
// explicit Deny of [policy.EscalationActions]. Effective permissions are the role's
// AND the session's, so an action the ceiling left out would be one a grant
// asks for and never gets.
func PermissionPolicy(ceiling []policy.Access) (string, error) {
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
	deny := append([]string(nil), policy.EscalationActions...)
	sort.Strings(deny)
	statements = append(statements, roleStatement{Sid: "TimeboundIamNoEscalation", Effect: "Deny", Action: deny, Resource: "*"})
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

// IAMAPI is what applying the setup needs from IAM; *iam.Client satisfies it.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	UpdateRole(ctx context.Context, in *iam.UpdateRoleInput, optFns ...func(*iam.Options)) (*iam.UpdateRoleOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
}

// RoleSpec is the broker role as setup wants it.
type RoleSpec struct {
	Name               string
	TrustPolicy        string
	PermissionPolicy   string
	MaxSessionDuration time.Duration
}

// ApplyReport is what [ApplyRole] did to the broker role and what it found
// there besides.
type ApplyReport struct {
	// ARN is the role's ARN, with its path.
	ARN string
	// Changes lists what ApplyRole changed; empty when the role matched.
	Changes []string
	// Others lists the role's policies other than [CeilingPolicyName], each
	// a warning: grants get the role's policies AND their session policy,
	// so every other policy widens the ceiling, and a full grant can do what
	// it allows. ApplyRole never deletes them: they may be there on purpose.
	Others []string
	// Notes are further warnings: a permissions boundary, which caps every
	// grant below its level, or policies that could not be listed.
	Notes []string
}

// Warnings are [ApplyReport.Others] then [ApplyReport.Notes].
func (r ApplyReport) Warnings() []string {
	return append(slices.Clone(r.Others), r.Notes...)
}

// ApplyRole creates or updates the broker role so that it matches spec, and
// reports what it changed (nothing when the role already matches) and what
// else on the role bears on grants. It reads the role's other policies but
// never changes them.
func ApplyRole(ctx context.Context, api IAMAPI, spec RoleSpec) (ApplyReport, error) {
	var r ApplyReport
	maxSecs := aws.Int32(int32(spec.MaxSessionDuration / time.Second))
	got, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(spec.Name)})
	var missing *iamtypes.NoSuchEntityException
	existed := err == nil
	switch {
	case errors.As(err, &missing):
		out, err := api.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(spec.Name),
			AssumeRolePolicyDocument: aws.String(spec.TrustPolicy),
			MaxSessionDuration:       maxSecs,
			Description:              aws.String("timebound-iam broker: the ceiling of every short-lived grant"),
		})
		if err != nil {
			return ApplyReport{}, fmt.Errorf("creating role %q: %w", spec.Name, err)
		}
		r.ARN = aws.ToString(out.Role.Arn)
		r.Changes = append(r.Changes, "created role "+spec.Name)
	case err != nil:
		return ApplyReport{}, fmt.Errorf("reading role %q: %w", spec.Name, err)
	default:
		r.ARN = aws.ToString(got.Role.Arn)
		if !sameJSON(decodeDoc(aws.ToString(got.Role.AssumeRolePolicyDocument)), spec.TrustPolicy) {
			if _, err := api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(spec.Name), PolicyDocument: aws.String(spec.TrustPolicy)}); err != nil {
				return ApplyReport{}, fmt.Errorf("updating the trust policy of role %q: %w", spec.Name, err)
			}
			r.Changes = append(r.Changes, "updated trust policy")
		}
		if aws.ToInt32(got.Role.MaxSessionDuration) != *maxSecs {
			if _, err := api.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(spec.Name), MaxSessionDuration: maxSecs}); err != nil {
				return ApplyReport{}, fmt.Errorf("updating the maximum session duration of role %q: %w", spec.Name, err)
			}
			r.Changes = append(r.Changes, fmt.Sprintf("set max session duration to %s", config.ShortDuration(spec.MaxSessionDuration)))
		}
		if b := got.Role.PermissionsBoundary; b != nil && aws.ToString(b.PermissionsBoundaryArn) != "" {
			r.Notes = append(r.Notes, fmt.Sprintf("role %q has permissions boundary %q: no grant can do more than it allows, whatever its level", spec.Name, aws.ToString(b.PermissionsBoundaryArn)))
		}
	}
	pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(spec.Name), PolicyName: aws.String(CeilingPolicyName)})
	put := true
	switch {
	case errors.As(err, &missing):
		r.Changes = append(r.Changes, "added permission policy "+CeilingPolicyName)
	case err != nil:
		return ApplyReport{}, fmt.Errorf("reading policy %q of role %q: %w", CeilingPolicyName, spec.Name, err)
	case sameJSON(decodeDoc(aws.ToString(pol.PolicyDocument)), spec.PermissionPolicy):
		put = false
	default:
		r.Changes = append(r.Changes, "updated permission policy "+CeilingPolicyName)
	}
	if put {
		if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(spec.Name), PolicyName: aws.String(CeilingPolicyName), PolicyDocument: aws.String(spec.PermissionPolicy)}); err != nil {
			return ApplyReport{}, fmt.Errorf("writing policy %q of role %q: %w", CeilingPolicyName, spec.Name, err)
		}
	}
	if existed {
		otherPolicies(ctx, api, spec.Name, &r)
	}
	return r, nil
}

// otherPolicies adds the role's inline policies other than the ceiling, and
// its managed policies, to r.Others. A role setup just created has none. When
// IAM refuses to list them, r.Notes says so rather than failing the apply:
// the role is right either way, and the user can look.
func otherPolicies(ctx context.Context, api IAMAPI, role string, r *ApplyReport) {
	const widens = "it widens the ceiling, since a grant may do what any of the role's policies allows within its session policy"
	inline := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("listing the inline policies of role %q: %v; check that it holds only %s", role, err, CeilingPolicyName))
			break
		}
		for _, name := range page.PolicyNames {
			if name == CeilingPolicyName {
				continue
			}
			r.Others = append(r.Others, fmt.Sprintf("role %q also has inline policy %q: %s; unless grants should have it, remove it: aws iam delete-role-policy --role-name %s --policy-name %s",
				role, name, widens, role, name))
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("listing the managed policies attached to role %q: %v; check that it has none", role, err))
			break
		}
		for _, p := range page.AttachedPolicies {
			r.Others = append(r.Others, fmt.Sprintf("role %q also has managed policy %q attached: %s; unless grants should have it, detach it: aws iam detach-role-policy --role-name %s --policy-arn %s",
				role, aws.ToString(p.PolicyName), widens, role, aws.ToString(p.PolicyArn)))
		}
	}
}

// decodeDoc undoes the URL encoding IAM applies to policy documents it
// returns.
func decodeDoc(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// sameJSON compares two policy documents by meaning, not by spacing.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func indent(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}

func compactLen(doc string) int {
	var v any
	_ = json.Unmarshal([]byte(doc), &v)
	b, _ := json.Marshal(v)
	return len(b)
}
