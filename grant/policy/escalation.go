package policy

import (
	"slices"
	"strings"
)

//go:generate go run ./internal/escgen -data internal/escgen/data -out escalation_gen.go

// The escalation denies. A grant at full on a service could otherwise act
// as another role, give itself or others new permissions, open resources
// to other principals or the public, or take credentials that outlive the
// grant. Every session policy ([BuildWith]) and the broker's ceiling
// (awsiam.PermissionPolicy) deny, for each service they name, the
// service's actions in three classes, derived by internal/escgen from
// public datasets kept in internal/escgen/data ([EscalationSource]):
//
//   - privilege escalation: for every method DataDog's pathfinding.cloud
//     or Cloudsplaining publishes, an action the method needs that is not
//     a read, such as iam:PassRole, lambda:UpdateFunctionCode,
//     ssm:SendCommand or ec2:ModifyInstanceAttribute;
//   - resource exposure: the actions AWS files under "Permissions
//     management" (s3:PutBucketPolicy, s3:PutBucketAcl, lambda:AddPermission)
//     and IAM's "Write" actions, as Policy Sentry defines the class;
//   - credentials exposure: the actions Cloudsplaining lists as returning
//     credentials (sts:AssumeRole, ecr:GetAuthorizationToken).
//
// At full a service's denies may be written as wildcards, each proved by
// the generator to match only class actions of the Service Authorization
// Reference; an action AWS adds later under such a stem is denied too.
// Below full only the class actions the level's slice allows are denied:
// the credentials AWS files under Read. A Deny beats any Allow, so the
// ceiling's holds for every grant whatever else is attached to the role.
//
// A person may lift a service's denies with the config key
// allow_escalation; every grant that then reaches them needs approval.

// serviceEscalation is one catalog service's denies.
type serviceEscalation struct {
	Prefix string
	// Full holds the patterns denied at full.
	Full []string
	// ReadOnly and ViewOnly hold the denied actions the level's slice
	// allows, by name.
	ReadOnly, ViewOnly []string
	// MinIO holds the actions denied at full that MinIO's policy parser
	// accepts, by name; MinIO refuses a whole policy over one it does not.
	MinIO []string
	// Abilities say in plain words what the denied actions would allow.
	Abilities []string
}

func escalationOf(service string) (serviceEscalation, bool) {
	i, ok := slices.BinarySearchFunc(escalationTable, service, func(e serviceEscalation, s string) int {
		return strings.Compare(e.Prefix, s)
	})
	if !ok {
		return serviceEscalation{}, false
	}
	return escalationTable[i], true
}

// HasEscalation reports whether any level of service has escalation
// denies that allow_escalation could lift.
func HasEscalation(service string) bool {
	_, ok := escalationOf(service)
	return ok
}

// EscalationDenied returns the patterns a session policy denies for a at
// dialect, sorted: empty when the service has none at that level.
func EscalationDenied(a Access, dialect string) []string {
	e, ok := escalationOf(a.Service)
	if !ok {
		return nil
	}
	var out []string
	switch {
	case dialect == DialectMinIO && a.Level == Full:
		out = e.MinIO
	case dialect == DialectMinIO:
		for _, x := range levelDenies(e, a.Level) {
			if slices.Contains(e.MinIO, x) {
				out = append(out, x)
			}
		}
	default:
		out = levelDenies(e, a.Level)
	}
	return slices.Clone(out)
}

func levelDenies(e serviceEscalation, l Level) []string {
	switch l {
	case Full:
		return e.Full
	case ReadOnly:
		return e.ReadOnly
	case ViewOnly:
		return e.ViewOnly
	}
	return nil
}

// EscalationText says in plain words what lifting a's denies allows, as
// "ssm full can run code as the roles its existing resources run as
// (ssm:SendCommand, ssm:StartSession); ..."; empty when a's level has no
// denies.
func EscalationText(a Access) string {
	e, ok := escalationOf(a.Service)
	if !ok || len(levelDenies(e, a.Level)) == 0 {
		return ""
	}
	if a.Level != Full {
		return a.Service + " " + string(a.Level) + " can get credentials that stay valid after the grant ends (" + strings.Join(levelDenies(e, a.Level), ", ") + ")"
	}
	return a.Service + " full can " + strings.Join(e.Abilities, "; ")
}

// lifted reports whether allow names service.
func lifted(allow []string, service string) bool {
	return slices.Contains(allow, service)
}
