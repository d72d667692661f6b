package awsiam

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/config"
)

// IAMAPI is what applying the setup needs from IAM; [*Client] satisfies it.
type IAMAPI interface {
	RolePolicyAPI
	GetRole(ctx context.Context, name string) (Role, error)
	CreateRole(ctx context.Context, r NewRole) (Role, error)
	UpdateAssumeRolePolicy(ctx context.Context, name, doc string) error
	UpdateRole(ctx context.Context, name string, maxSession time.Duration) error
	ListRolePolicies(ctx context.Context, role string) ([]string, error)
	ListAttachedRolePolicies(ctx context.Context, role string) ([]AttachedPolicy, error)
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
	got, err := api.GetRole(ctx, spec.Name)
	existed := err == nil
	switch {
	case IsNoSuchEntity(err):
		out, err := api.CreateRole(ctx, NewRole{
			Name:               spec.Name,
			TrustPolicy:        spec.TrustPolicy,
			MaxSessionDuration: spec.MaxSessionDuration,
			Description:        cmp.Or(spec.Description, BrokerDescription),
		})
		if err != nil {
			return ApplyReport{}, fmt.Errorf("creating role %q: %w", spec.Name, err)
		}
		r.ARN = out.ARN
		r.Changes = append(r.Changes, "created role "+spec.Name)
	case err != nil:
		return ApplyReport{}, fmt.Errorf("reading role %q: %w", spec.Name, err)
	default:
		r.ARN = got.ARN
		if !sameJSON(got.TrustPolicy, spec.TrustPolicy) {
			if err := api.UpdateAssumeRolePolicy(ctx, spec.Name, spec.TrustPolicy); err != nil {
				return ApplyReport{}, fmt.Errorf("updating the trust policy of role %q: %w", spec.Name, err)
			}
			r.Changes = append(r.Changes, "updated trust policy")
		}
		if got.MaxSessionDuration != spec.MaxSessionDuration.Truncate(time.Second) {
			if err := api.UpdateRole(ctx, spec.Name, spec.MaxSessionDuration); err != nil {
				return ApplyReport{}, fmt.Errorf("updating the maximum session duration of role %q: %w", spec.Name, err)
			}
			r.Changes = append(r.Changes, fmt.Sprintf("set max session duration to %s", config.ShortDuration(spec.MaxSessionDuration)))
		}
		if b := got.PermissionsBoundary; b != "" {
			r.Notes = append(r.Notes, fmt.Sprintf("role %q has permissions boundary %q: no grant can do more than it allows, whatever its level", spec.Name, b))
		}
	}
	pol, err := api.GetRolePolicy(ctx, spec.Name, CeilingPolicyName)
	put := true
	switch {
	case IsNoSuchEntity(err):
		r.Changes = append(r.Changes, "added permission policy "+CeilingPolicyName)
	case err != nil:
		return ApplyReport{}, fmt.Errorf("reading policy %q of role %q: %w", CeilingPolicyName, spec.Name, err)
	case sameJSON(pol, spec.PermissionPolicy):
		put = false
	default:
		r.Changes = append(r.Changes, "updated permission policy "+CeilingPolicyName)
	}
	if put {
		if err := api.PutRolePolicy(ctx, spec.Name, CeilingPolicyName, spec.PermissionPolicy); err != nil {
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
	inline, err := api.ListRolePolicies(ctx, role)
	if err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("listing the inline policies of role %q: %v; check that it holds only %s", role, err, CeilingPolicyName))
	}
	for _, name := range inline {
		if name == CeilingPolicyName {
			continue
		}
		r.Others = append(r.Others, fmt.Sprintf("role %q also has inline policy %q: %s; unless grants should have it, remove it: aws iam delete-role-policy --role-name %s --policy-name %s",
			role, name, widens, role, name))
	}
	attached, err := api.ListAttachedRolePolicies(ctx, role)
	if err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("listing the managed policies attached to role %q: %v; check that it has none", role, err))
	}
	for _, p := range attached {
		r.Others = append(r.Others, fmt.Sprintf("role %q also has managed policy %q attached: %s; unless grants should have it, detach it: aws iam detach-role-policy --role-name %s --policy-arn %s",
			role, p.Name, widens, role, p.ARN))
	}
}
