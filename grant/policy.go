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
	Resource  string          `json:"Resource"`
	Condition json.RawMessage `json:"Condition,omitempty"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// Policy returns the compact JSON session policy that allows exactly access:
// a read_only service gets its slice of AWS's ReadOnlyAccess, a full one
// <prefix>:*. Services must be in the catalog. dialect is [DialectAWS], or
// [DialectMinIO] to leave out what MinIO cannot parse. A policy over
// [MaxPolicySize] is a [*PolicyTooLargeError].
func Policy(access []Access, dialect string) (string, error) {
	actions, conds, err := allowed(access, dialect)
	if err != nil {
		return "", err
	}
	allow := statement{Effect: "Allow", Action: actions, Resource: "*"}
	var conditional []statement
	for _, c := range conds {
		conditional = append(conditional, statement{Effect: "Allow", Action: c.Actions, Resource: "*", Condition: json.RawMessage(c.Condition)})
	}
	doc := document{Version: "2012-10-17"}
	if len(allow.Action) > 0 {
		doc.Statement = append(doc.Statement, allow)
	}
	doc.Statement = append(doc.Statement, conditional...)
	out, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	if len(out) > MaxPolicySize {
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
		for _, a := range svc.ReadOnly {
			if dialect != DialectMinIO || !minioUnsupported[a] {
				actions = append(actions, a)
			}
		}
		conditional = append(conditional, svc.ReadOnlyConditional...)
	}
	slices.Sort(actions)
	return slices.Compact(actions), conditional, nil
}

// bySize orders services by how many characters they add to a policy.
func bySize(access []Access) []string {
	size := map[string]int{}
	var names []string
	for _, a := range access {
		n := len(a.Service) + 4
		if a.Level != Full {
			svc, _ := catalog.Lookup(a.Service)
			n = 0
			for _, p := range svc.ReadOnly {
				n += len(p) + 3
			}
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
