// Package catalog lists the AWS services a grant can name, keyed by IAM
// action prefix, with the slice of AWS's managed policy ReadOnlyAccess that a
// "read_only" grant for each one expands to.
//
// The table is generated from AWS's published policy (see Source) rather than
// written by hand, so that "read only" means exactly what AWS means by it for
// that policy version, including AWS's own choices about data access (for
// example s3:Get* covers reading object contents).
//
// The credential-process hot path links this package, so the table is a
// static composite literal: the package has no init work, parses nothing and
// never reads the policy file at run time. To pick up a newer policy version,
// update the shared data and run go generate.
package catalog

import (
	"slices"
	"strings"
)

//go:generate go run ./internal/gen -in ../../../shared/aws-policies/ReadOnlyAccess.json -view ../../../shared/aws-policies/ViewOnlyAccess.json -out catalog_gen.go -known ../policy/testdata/known_actions.txt

// Service is one AWS service in the catalog, keyed by its IAM action prefix.
// Its slices are shared with the catalog and must not be modified.
type Service struct {
	// Prefix is the IAM service prefix, e.g. "s3"; always lowercase.
	Prefix string
	// Name is AWS's official service name, e.g. "Amazon S3". Services without
	// a hand-written entry get "AWS " + Prefix.
	Name string
	// Description is one short line an AI agent can act on, e.g. "object
	// storage: buckets and objects". Services without a hand-written entry
	// get a generic line naming the prefix.
	Description string
	// ReadOnly holds the unconditional action patterns ReadOnlyAccess grants
	// for this prefix, sorted, deduplicated and spelled exactly as AWS
	// writes them (e.g. "s3:Get*"). Every pattern starts with Prefix + ":".
	ReadOnly []string
	// ReadOnlyFit is ReadOnly minimised for STS's 2,048-character session
	// policies, or nil when that saves nothing; use [Service.ReadOnlyFitted].
	// It allows exactly the actions ReadOnly does among those the data
	// files name (see internal/gen/fit.go for why that is every action it
	// can match): patterns another one matches are dropped, and a run of
	// patterns becomes one wider wildcard only inside a wildcard of either
	// policy whose every action it then matches is allowed.
	ReadOnlyFit []string
	// ReadOnlyConditional holds the ReadOnlyAccess statements for this prefix
	// that carry a Condition. They are kept apart from ReadOnly because
	// granting their actions without the condition would allow more than
	// AWS's read-only policy does. Empty for most services.
	ReadOnlyConditional []Conditional
	// ViewOnly holds the unconditional action patterns of AWS's
	// ViewOnlyAccess for this prefix, sorted, deduplicated and spelled as AWS
	// writes them (e.g. "s3:ListBucket"). ViewOnlyAccess lists metadata but
	// reads no data: no s3:GetObject, secretsmanager:GetSecretValue or
	// kms:Decrypt. It is not a subset of ReadOnly: AWS puts a few actions in
	// ViewOnlyAccess only. ViewOnlyAccess statements scoped to resources
	// other than "*" are left out (see catalog_gen.go).
	ViewOnly []string
	// ViewOnlyFit is ViewOnly minimised as ReadOnlyFit is ReadOnly, or nil;
	// use [Service.ViewOnlyFitted].
	ViewOnlyFit []string
	// ViewOnlyConditional holds ViewOnlyAccess's statements for this prefix
	// that carry a Condition, kept apart for the reason given at
	// ReadOnlyConditional.
	ViewOnlyConditional []Conditional
}

// HasViewOnly reports whether s offers a view-only level: whether
// ViewOnlyAccess grants anything for its prefix.
func (s Service) HasViewOnly() bool {
	return len(s.ViewOnly) > 0 || len(s.ViewOnlyConditional) > 0
}

// ReadOnlyFitted returns ReadOnlyFit, or ReadOnly when fitting left it as
// it was.
func (s Service) ReadOnlyFitted() []string {
	if s.ReadOnlyFit != nil {
		return s.ReadOnlyFit
	}
	return s.ReadOnly
}

// ViewOnlyFitted returns ViewOnlyFit, or ViewOnly when fitting left it as it
// was.
func (s Service) ViewOnlyFitted() []string {
	if s.ViewOnlyFit != nil {
		return s.ViewOnlyFit
	}
	return s.ViewOnly
}

// Conditional is a ReadOnlyAccess statement whose actions are allowed only
// under a condition; a session policy must reproduce the condition verbatim
// or leave the actions out.
type Conditional struct {
	// Actions are the statement's actions for one prefix, sorted and
	// deduplicated.
	Actions []string
	// Condition is the statement's Condition object as compact JSON with
	// sorted keys, e.g. {"StringEquals":{"s3express:SessionMode":"ReadOnly"}},
	// ready to be embedded in a policy statement.
	Condition string
}

// All returns every service in the catalog, sorted by Prefix with no
// duplicates. The returned slice is the catalog itself, returned without
// copying so that the hot path stays allocation-free; callers must not
// modify it or the slices inside it.
func All() []Service {
	return services
}

// Lookup returns the service whose Prefix equals prefix exactly. Matching is
// case-sensitive because IAM prefixes are lowercase: "S3" is not found.
// It binary-searches the sorted table instead of using a map so that no map
// has to be built at init. The returned Service shares its slices with the
// catalog; callers must not modify them.
func Lookup(prefix string) (Service, bool) {
	i, ok := slices.BinarySearchFunc(services, prefix, func(s Service, p string) int {
		return strings.Compare(s.Prefix, p)
	})
	if !ok {
		return Service{}, false
	}
	return services[i], true
}
