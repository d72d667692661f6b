package grant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// EscalationActions are the IAM and STS actions that mint long-lived access,
// widen a principal's rights or hop to another role. The broker role's
// permission policy denies them explicitly, so no grant can ever turn into
// permanent access, whatever else the ceiling allows.
var EscalationActions = []string{
	// New identities and credentials.
	"iam:CreateUser", "iam:CreateAccessKey", "iam:UpdateAccessKey",
	"iam:CreateLoginProfile", "iam:UpdateLoginProfile",
	"iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential",
	"iam:UploadSSHPublicKey", "iam:UploadSigningCertificate",
	// Policies on users, groups and roles.
	"iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:AttachRolePolicy",
	"iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:PutRolePolicy",
	"iam:DetachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachRolePolicy",
	"iam:DeleteUserPolicy", "iam:DeleteGroupPolicy", "iam:DeleteRolePolicy",
	"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
	"iam:PutUserPermissionsBoundary", "iam:PutRolePermissionsBoundary",
	"iam:DeleteUserPermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
	"iam:AddUserToGroup",
	// Trust policies, and passing or assuming other roles.
	"iam:UpdateAssumeRolePolicy", "iam:CreateRole", "iam:PassRole",
	"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
	"sts:GetFederationToken", "sts:GetSessionToken",
}

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
}

// PermissionPolicy is the broker's ceiling: each service at its level, the
// same action lists a grant sends, plus an explicit Deny of
// [EscalationActions].
func PermissionPolicy(ceiling []Access) (string, error) {
	var allow []string
	for _, a := range ceiling {
		svc, err := lookup(a.Service)
		if err != nil {
			return "", err
		}
		if a.Level == Full {
			allow = append(allow, svc.Prefix+":*")
		} else {
			allow = append(allow, svc.ReadOnly...)
		}
	}
	sort.Strings(allow)
	deny := append([]string(nil), EscalationActions...)
	sort.Strings(deny)
	text := indent(roleDocument{Version: "2012-10-17", Statement: []roleStatement{
		{Sid: "TimeboundIamCeiling", Effect: "Allow", Action: allow, Resource: "*"},
		{Sid: "TimeboundIamNoEscalation", Effect: "Deny", Action: deny, Resource: "*"},
	}})
	if n := compactLen(text); n > MaxRolePolicySize {
		return "", fmt.Errorf("the permission policy for these services is %d characters; IAM allows %d for a role's inline policies: allow fewer services, or give large ones the full level", n, MaxRolePolicySize)
	}
	return text, nil
}

func lookup(service string) (catalog.Service, error) {
	s, ok := catalog.Lookup(service)
	if !ok {
		return catalog.Service{}, fmt.Errorf("service %q is not an AWS service prefix in the catalog; timebound-iam services lists them", service)
	}
	return s, nil
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
}

// RoleSpec is the broker role as setup wants it.
type RoleSpec struct {
	Name               string
	TrustPolicy        string
	PermissionPolicy   string
	MaxSessionDuration time.Duration
}

// ApplyRole creates or updates the broker role so that it matches spec, and
// returns what it changed; nothing when the role already matches.
func ApplyRole(ctx context.Context, api IAMAPI, spec RoleSpec) (arn string, changes []string, err error) {
	maxSecs := aws.Int32(int32(spec.MaxSessionDuration / time.Second))
	got, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(spec.Name)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &missing):
		out, err := api.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(spec.Name),
			AssumeRolePolicyDocument: aws.String(spec.TrustPolicy),
			MaxSessionDuration:       maxSecs,
			Description:              aws.String("timebound-iam broker: the ceiling of every short-lived grant"),
		})
		if err != nil {
			return "", nil, fmt.Errorf("creating role %s: %w", spec.Name, err)
		}
		arn = aws.ToString(out.Role.Arn)
		changes = append(changes, "created role "+spec.Name)
	case err != nil:
		return "", nil, fmt.Errorf("reading role %s: %w", spec.Name, err)
	default:
		arn = aws.ToString(got.Role.Arn)
		if !sameJSON(decodeDoc(aws.ToString(got.Role.AssumeRolePolicyDocument)), spec.TrustPolicy) {
			if _, err := api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(spec.Name), PolicyDocument: aws.String(spec.TrustPolicy)}); err != nil {
				return "", nil, fmt.Errorf("updating the trust policy of %s: %w", spec.Name, err)
			}
			changes = append(changes, "updated trust policy")
		}
		if aws.ToInt32(got.Role.MaxSessionDuration) != *maxSecs {
			if _, err := api.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(spec.Name), MaxSessionDuration: maxSecs}); err != nil {
				return "", nil, fmt.Errorf("updating the maximum session duration of %s: %w", spec.Name, err)
			}
			changes = append(changes, fmt.Sprintf("set max session duration to %s", ShortDuration(spec.MaxSessionDuration)))
		}
	}
	pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(spec.Name), PolicyName: aws.String(CeilingPolicyName)})
	switch {
	case errors.As(err, &missing):
		changes = append(changes, "added permission policy "+CeilingPolicyName)
	case err != nil:
		return "", nil, fmt.Errorf("reading policy %s of %s: %w", CeilingPolicyName, spec.Name, err)
	case sameJSON(decodeDoc(aws.ToString(pol.PolicyDocument)), spec.PermissionPolicy):
		return arn, changes, nil
	default:
		changes = append(changes, "updated permission policy "+CeilingPolicyName)
	}
	if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(spec.Name), PolicyName: aws.String(CeilingPolicyName), PolicyDocument: aws.String(spec.PermissionPolicy)}); err != nil {
		return "", nil, fmt.Errorf("writing policy %s of %s: %w", CeilingPolicyName, spec.Name, err)
	}
	return arn, changes, nil
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
