// Package policy is the policy language of a grant: services at levels
// ([Access]), the session policy STS receives for them ([Build]), fitted to
// STS's 2,048 characters or split when it cannot be ([TooLargeError]), and
// the escalation denies every grant carries ([EscalationDenied]).
package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// MaxSize is STS's limit on an inline session policy, in characters.
const MaxSize = 2048

// The policy dialects, as the sts_dialect config key names them.
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

// TooLargeError reports a session policy over [MaxSize] even
// once fitted, with a split of the request into grants that fit.
type TooLargeError struct {
	Size     int
	Services []string // every service asked for, largest policy alone first
	// Oversize holds the services whose policy alone is over the limit at
	// the level asked for, largest first.
	Oversize []OversizeService
	// Groups splits the other services into grants that each fit: packed
	// first-fit, largest policy first, each group's services then sorted by
	// name. Every group's policy has been built and measured.
	Groups [][]Access
	mixed  bool // the request's levels differ
}

// OversizeService is a service whose session policy alone is over
// [MaxSize] at the level asked for.
type OversizeService struct {
	Access Access
	Size   int
	// Fits lists the service's other levels whose policy alone fits,
	// narrowest first; full always does.
	Fits []Level
}

// Error says how large the policy is and how to split the request: the
// levels an oversize service fits at, and the groups for the rest.
func (e *TooLargeError) Error() string {
	if len(e.Oversize) == 0 && len(e.Groups) == 0 {
		return fmt.Sprintf("the session policy for %s is %d characters; STS allows %d: ask for fewer services", strings.Join(sorted(e.Services), ", "), e.Size, MaxSize)
	}
	var parts []string
	for _, o := range e.Oversize {
		fix := "ask for level " + levelChoice(o.Fits) + " for it"
		if len(o.Fits) == 0 {
			fix = "no level of it fits with these resources: name fewer"
		}
		parts = append(parts, fmt.Sprintf("the %s session policy for %s alone is %d characters; STS allows %d: %s",
			o.Access.Level, o.Access.Service, o.Size, MaxSize, fix))
	}
	groups := make([]string, len(e.Groups))
	for i, g := range e.Groups {
		groups[i] = e.groupText(g)
	}
	switch {
	case len(e.Oversize) == 0:
		var names []string
		for _, g := range e.Groups {
			for _, a := range g {
				names = append(names, e.AccessText(a))
			}
		}
		slices.Sort(names)
		at := ""
		if !e.mixed {
			at = " at " + string(e.Groups[0][0].Level)
		}
		return fmt.Sprintf("the session policy for %s%s is %d characters; STS allows %d: split it into grants that fit, e.g. %s",
			strings.Join(names, ", "), at, e.Size, MaxSize, strings.Join(groups, " and then "))
	case len(groups) == 1:
		parts = append(parts, "grant the others on their own: "+groups[0])
	case len(groups) > 1:
		parts = append(parts, "grant the others as "+strings.Join(groups, " and then "))
	}
	return strings.Join(parts, "; ")
}

// groupText writes a suggested grant as a JSON list, the form grant_access
// takes its services in; with mixed levels each entry carries its level as
// the CLI's SERVICE:LEVEL does.
func (e *TooLargeError) groupText(g []Access) string {
	q := make([]string, len(g))
	for i, a := range g {
		q[i] = strconv.Quote(e.AccessText(a))
	}
	return "[" + strings.Join(q, ",") + "]"
}

func (e *TooLargeError) AccessText(a Access) string {
	if e.mixed {
		return a.Service + ":" + string(a.Level)
	}
	return a.Service
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

// Build returns the compact JSON session policy that allows exactly access
// on every resource: [BuildWith] with no resources and no denies lifted.
func Build(access []Access, dialect string) (string, error) {
	return BuildWith(access, nil, dialect, nil)
}

// BuildScoped is [BuildWith] with no denies lifted.
func BuildScoped(access []Access, resources []string, dialect string) (string, error) {
	return BuildWith(access, resources, dialect, nil)
}

// BuildWith returns the compact JSON session policy that allows exactly
// access: a view_only service gets its slice of AWS's ViewOnlyAccess, a
// read_only one its slice of ReadOnlyAccess, a full one <prefix>:*. The Allow
// statements cover resources, ARNs as [ResourceARNs] returns them, or every
// resource ("*") when there are none. A last Deny statement holds the
// escalation denies ([EscalationDenied]) of the services in access at their
// levels, on every resource, so that no narrowing can make it miss; the
// services named in allowEscalation get none, and a grant with nothing to
// deny has no Deny. Services must be in the catalog. dialect is
// [DialectAWS], or [DialectMinIO] to leave out what MinIO cannot parse.
//
// The policy is fitted to STS's limit: under [DialectAWS] each service's
// slice is the catalog's fitted one ([catalog.Service.ReadOnlyFitted]), and
// the unconditional actions go in one merged statement or in one statement
// per service, whichever makes the shorter document. A policy still over
// [MaxSize] is a [*TooLargeError] that says how to split the
// request, or, when resources make it so, an error that says to name fewer.
func BuildWith(access []Access, resources []string, dialect string, allowEscalation []string) (string, error) {
	var scope any = "*"
	if len(resources) > 0 {
		scope = resources
	}
	b := builder{dialect, allowEscalation}
	out, err := b.compose(access, scope)
	if err != nil {
		return "", err
	}
	if len(out) > MaxSize {
		if len(resources) > 0 {
			if unscoped, err := b.compose(access, "*"); err == nil && len(unscoped) <= MaxSize {
				return "", fmt.Errorf("resources make the session policy %d characters (%d without them); STS allows %d: name fewer resources, or cover several with one wildcard ARN such as arn:aws:s3:::logs-*",
					len(out), len(unscoped), MaxSize)
			}
		}
		return "", b.tooLarge(access, scope, len(out))
	}
	return string(out), nil
}

// part is one service's unconditional actions.
type part struct {
	service string
	actions []string
}

// builder is how a session policy is built: in which dialect, and with
// which services' escalation denies lifted.
type builder struct {
	dialect         string
	allowEscalation []string
}

// compose returns the session policy for access on scope in the shorter of
// its two layouts, whatever its size.
func (b builder) compose(access []Access, scope any) ([]byte, error) {
	dialect := b.dialect
	var parts []part
	var all []string
	var conditional []statement
	for _, a := range access {
		svc, err := lookup(a.Service)
		if err != nil {
			return nil, err
		}
		actions, conds, err := slice(svc, a.Level, dialect)
		if err != nil {
			return nil, err
		}
		if len(actions) > 0 {
			parts = append(parts, part{svc.Prefix, actions})
			all = append(all, actions...)
		}
		for _, c := range conds {
			conditional = append(conditional, statement{Effect: "Allow", Action: c.Actions, Resource: scope, Condition: json.RawMessage(c.Condition)})
		}
	}
	var deny []statement
	if d := Denied(access, dialect, b.allowEscalation); len(d) > 0 {
		deny = append(deny, statement{Effect: "Deny", Action: d, Resource: "*"})
	}
	layout := func(allow []statement) ([]byte, error) {
		doc := document{Version: "2012-10-17", Statement: slices.Concat(allow, conditional, deny)}
		return json.Marshal(doc)
	}
	// One merged statement: service prefixes differ, so no pattern of one
	// service covers another's, and sorting is all the merge needs.
	slices.Sort(all)
	var merged []statement
	if len(all) > 0 {
		merged = []statement{{Effect: "Allow", Action: slices.Compact(all), Resource: scope}}
	}
	out, err := layout(merged)
	if err != nil || len(parts) < 2 {
		return out, err
	}
	// A statement per service repeats Effect and Resource, so with the one
	// scope all Allow statements share it comes out longer by that much per
	// extra service, and the merged document stands. It is measured, cheaply,
	// rather than assumed, so that a change to the statements cannot make
	// the merged layout the longer one unseen.
	if perServiceLen(len(out), merged[0].Action, parts, scope) >= len(out) {
		return out, nil
	}
	slices.SortFunc(parts, func(a, b part) int { return strings.Compare(a.service, b.service) })
	per := make([]statement, len(parts))
	for i, p := range parts {
		per[i] = statement{Effect: "Allow", Action: p.actions, Resource: scope}
	}
	return layout(per)
}

// perServiceLen returns the length the document of length mergedLen, whose
// one unconditional Allow statement holds merged, would have with a
// statement per part instead. Catalog actions need no JSON escaping, so an
// Allow statement's length is its fixed text, its quoted actions with commas
// between, and the scope's.
func perServiceLen(mergedLen int, merged []string, parts []part, scope any) int {
	scopeLen := len(`"*"`)
	if scope != "*" {
		s, _ := json.Marshal(scope)
		scopeLen = len(s)
	}
	stmt := func(actions []string) int {
		n := len(`{"Effect":"Allow","Action":[],"Resource":}`) + scopeLen + len(actions) - 1
		for _, a := range actions {
			n += len(a) + 2
		}
		return n
	}
	n := mergedLen - stmt(merged) - 1 // the one statement and a comma
	for _, p := range parts {
		n += stmt(p.actions) + 1
	}
	return n
}

// tooLarge explains why access does not fit on scope and splits it: each
// service's policy is measured alone; those over the limit are named with
// the levels that would fit, and the rest are packed first-fit, largest
// first, into groups whose policies are each built and measured.
func (b builder) tooLarge(access []Access, scope any, size int) *TooLargeError {
	type sized struct {
		a Access
		n int
	}
	items := make([]sized, len(access))
	e := &TooLargeError{Size: size}
	for i, a := range access {
		doc, _ := b.compose([]Access{a}, scope)
		items[i] = sized{a, len(doc)}
		if a.Level != access[0].Level {
			e.mixed = true
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].n > items[j].n })
	for _, it := range items {
		e.Services = append(e.Services, it.a.Service)
		if it.n > MaxSize {
			e.Oversize = append(e.Oversize, OversizeService{Access: it.a, Size: it.n, Fits: b.fitsAlone(it.a, scope)})
			continue
		}
		placed := false
		for i, g := range e.Groups {
			trial := append(slices.Clone(g), it.a)
			if doc, err := b.compose(trial, scope); err == nil && len(doc) <= MaxSize {
				e.Groups[i], placed = trial, true
				break
			}
		}
		if !placed {
			e.Groups = append(e.Groups, []Access{it.a})
		}
	}
	for _, g := range e.Groups {
		slices.SortFunc(g, func(a, b Access) int { return strings.Compare(a.Service, b.Service) })
	}
	return e
}

// fitsAlone returns a's service's levels other than a's whose policy alone
// fits on scope.
func (b builder) fitsAlone(a Access, scope any) []Level {
	svc, _ := catalog.Lookup(a.Service)
	var out []Level
	for _, l := range ServiceLevels(svc) {
		if l == a.Level {
			continue
		}
		if doc, err := b.compose([]Access{{a.Service, l}}, scope); err == nil && len(doc) <= MaxSize {
			out = append(out, l)
		}
	}
	return out
}

// Allowed returns what access allows: the unconditional actions, sorted and
// without repeats, and the conditional read-only slices, to be kept with
// their conditions. Setup's ceiling builds on it, from the same fitted
// slices a session policy sends, so the ceiling always covers the grants
// made under it.
func Allowed(access []Access, dialect string) ([]string, []catalog.Conditional, error) {
	var actions []string
	var conditional []catalog.Conditional
	for _, a := range access {
		svc, err := lookup(a.Service)
		if err != nil {
			return nil, nil, err
		}
		patterns, conds, err := slice(svc, a.Level, dialect)
		if err != nil {
			return nil, nil, err
		}
		actions = append(actions, patterns...)
		conditional = append(conditional, conds...)
	}
	slices.Sort(actions)
	return slices.Compact(actions), conditional, nil
}

// slice returns svc's unconditional patterns and conditional statements at
// level l under dialect: <prefix>:* at full; below it the catalog's fitted
// slice, or under [DialectMinIO] the slice as AWS writes it less what MinIO
// rejects. MinIO takes a pattern only when it matches an action MinIO
// implements, which AWS's own patterns are tested to do and merged ones are
// not; its s3 slices fit unfitted anyway.
func slice(svc catalog.Service, l Level, dialect string) ([]string, []catalog.Conditional, error) {
	if l == Full {
		return []string{svc.Prefix + ":*"}, nil, nil
	}
	patterns, conds, err := levelSlice(svc, l)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case dialect == DialectMinIO:
		patterns = slices.DeleteFunc(slices.Clone(patterns), func(a string) bool { return minioUnsupported[a] })
	case l == ReadOnly:
		patterns = svc.ReadOnlyFitted()
	default:
		patterns = svc.ViewOnlyFitted()
	}
	return patterns, conds, nil
}

// levelSlice returns the catalog's patterns, as AWS writes them, and
// conditional statements for svc at a level below full, or an error naming
// the levels svc offers.
func levelSlice(svc catalog.Service, l Level) ([]string, []catalog.Conditional, error) {
	switch {
	case l == ReadOnly:
		return svc.ReadOnly, svc.ReadOnlyConditional, nil
	case l == ViewOnly && svc.HasViewOnly():
		return svc.ViewOnly, svc.ViewOnlyConditional, nil
	case l == ViewOnly:
		return nil, nil, levelError(svc, l)
	}
	return nil, nil, CheckLevel(l)
}

// Denied returns the escalation denies of the services in access at their
// levels ([EscalationDenied]), less those of the services allowEscalation
// names, sorted. Those of other services are left out: a policy that allows
// nothing of theirs needs none, and each would cost characters.
func Denied(access []Access, dialect string, allowEscalation []string) []string {
	var out []string
	for _, a := range access {
		if !lifted(allowEscalation, a.Service) {
			out = append(out, EscalationDenied(a, dialect)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
