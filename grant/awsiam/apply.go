package awsiam

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/timebound-iam/timebound-iam/grant/config"
)

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
	// Description is the new role's description; empty gives
	// [BrokerDescription].
	Description string
}

// Descriptions of the roles setup creates.
const (
	BrokerDescription = "timebound-iam broker: the ceiling of every short-lived grant"
	MFADescription    = "timebound-iam MFA broker: the ceiling of grants a person approved with an MFA code"
)

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
			Description:              aws.String(cmp.Or(spec.Description, BrokerDescription)),
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
