// Command gen writes catalog_gen.go, the static service table of package
// catalog, from AWS's managed policies ReadOnlyAccess and ViewOnlyAccess.
//
// It runs only at development time (go generate). The product must never read
// the policy file: the credential-process hot path links package catalog, so
// the table is emitted as a plain composite literal that the compiler lays out
// statically, with nothing to decode or build at init.
//
// The generator is deliberately strict. Anything in the policy that the
// catalog's model cannot represent faithfully (a Deny, NotAction, a Resource
// other than "*", an unknown statement key, a malformed action) stops
// generation, because silently dropping or widening a statement would change
// what a "read_only" grant allows.
//
// ViewOnlyAccess is read under one relaxation, because leaving things out can
// only narrow a "view_only" grant: a statement scoped to resources other than
// "*" (AWS scopes apigateway:GET that way) is omitted, as are prefixes that
// ReadOnlyAccess does not name and so have no catalog entry. Both are listed
// in the generated file, so nothing is dropped unseen.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	in := flag.String("in", "", "path to ReadOnlyAccess.json (AWS managed policy with its metadata)")
	view := flag.String("view", "", "path to ViewOnlyAccess.json (AWS managed policy with its metadata)")
	out := flag.String("out", "", "path of the Go file to write")
	pkg := flag.String("pkg", "catalog", "package name of the generated file")
	flag.Parse()
	if *in == "" || *view == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -in ReadOnlyAccess.json -view ViewOnlyAccess.json -out catalog_gen.go [-pkg catalog]")
		os.Exit(2)
	}
	if err := run(*in, *view, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, view, out, pkg string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	p, err := parsePolicy(raw, false)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	services, err := buildServices(p, knownServices)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	raw, err = os.ReadFile(view)
	if err != nil {
		return err
	}
	v, err := parsePolicy(raw, true)
	if err != nil {
		return fmt.Errorf("%s: %w", view, err)
	}
	orphans := addViewOnly(services, v)
	src, err := render(pkg, p, v, orphans, services)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// policyFile is the subset of the data file the catalog depends on; the
// file's other keys (per-action annotations) are ignored on purpose.
type policyFile struct {
	Version    string `json:"version"`
	UpdateDate string `json:"updatedate"`
	Document   struct {
		Version   string            `json:"Version"`
		Statement []json.RawMessage `json:"Statement"`
	} `json:"document"`
}

// statement lists every key IAM allows in a policy statement, so that an
// unexpected one fails decoding instead of being ignored.
type statement struct {
	Sid          string          `json:"Sid"`
	Effect       string          `json:"Effect"`
	Action       json.RawMessage `json:"Action"`
	NotAction    json.RawMessage `json:"NotAction"`
	Resource     json.RawMessage `json:"Resource"`
	NotResource  json.RawMessage `json:"NotResource"`
	Condition    json.RawMessage `json:"Condition"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
}

type policy struct {
	version string // e.g. "v188"
	date    string // e.g. "2026-07-21"
	// unconditional holds every action pattern of statements without a
	// Condition, in document order, duplicates included.
	unconditional []string
	conditional   []conditional
	// scoped holds the Sids of statements omitted because their Resource is
	// not "*"; only a policy parsed with omitScoped has any.
	scoped []string
}

type conditional struct {
	sid       string
	actions   []string
	condition string // compact JSON, sorted keys
}

var (
	versionRE = regexp.MustCompile(`^v[0-9]+$`)
	// prefixRE matches IAM service prefixes as AWS spells them. Requiring
	// lowercase here is what lets Lookup be an exact, case-sensitive match.
	prefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	// actionRE matches an action name or wildcard pattern after the colon.
	actionRE = regexp.MustCompile(`^[A-Za-z0-9*?]+$`)
	// sidRE guards the Sid before it is copied into a comment.
	sidRE = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// parsePolicy decodes a managed policy file. With omitScoped, a statement
// whose Resource is not "*" is left out and its Sid recorded, instead of
// failing; only a caller for which less is safe may ask for that.
func parsePolicy(raw []byte, omitScoped bool) (*policy, error) {
	var f policyFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	if !versionRE.MatchString(f.Version) {
		return nil, fmt.Errorf("version %q: want v<number>", f.Version)
	}
	updated, err := time.Parse(time.RFC3339, f.UpdateDate)
	if err != nil {
		return nil, fmt.Errorf("updatedate: %w", err)
	}
	if f.Document.Version != "2012-10-17" {
		return nil, fmt.Errorf("document Version %q: want 2012-10-17", f.Document.Version)
	}
	if len(f.Document.Statement) == 0 {
		return nil, errors.New("document has no statements")
	}
	p := &policy{version: f.Version, date: updated.UTC().Format(time.DateOnly)}
	for i, rs := range f.Document.Statement {
		var s statement
		dec := json.NewDecoder(bytes.NewReader(rs))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		where := fmt.Sprintf("statement %d (Sid %q)", i, s.Sid)
		if s.Effect != "Allow" {
			return nil, fmt.Errorf("%s: Effect %q: only Allow is supported", where, s.Effect)
		}
		for name, v := range map[string]json.RawMessage{
			"NotAction": s.NotAction, "NotResource": s.NotResource,
			"Principal": s.Principal, "NotPrincipal": s.NotPrincipal,
		} {
			if v != nil {
				return nil, fmt.Errorf("%s: %s is not supported", where, name)
			}
		}
		actions, err := stringOrList(s.Action)
		if err != nil || len(actions) == 0 {
			return nil, fmt.Errorf("%s: Action must be a non-empty string or list of strings", where)
		}
		for _, a := range actions {
			if err := checkAction(a); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		res, err := stringOrList(s.Resource)
		if err != nil || len(res) == 0 {
			return nil, fmt.Errorf("%s: Resource must be a non-empty string or list of strings", where)
		}
		if len(res) != 1 || res[0] != "*" {
			if !omitScoped {
				return nil, fmt.Errorf("%s: Resource must be \"*\"", where)
			}
			sid := s.Sid
			if !sidRE.MatchString(sid) {
				sid = fmt.Sprintf("statement %d", i)
			}
			p.scoped = append(p.scoped, sid+" ("+strings.Join(actions, ", ")+")")
			continue
		}
		if s.Condition == nil {
			p.unconditional = append(p.unconditional, actions...)
			continue
		}
		cond, err := canonicalJSON(s.Condition)
		if err != nil {
			return nil, fmt.Errorf("%s: Condition: %w", where, err)
		}
		if cond == "{}" || cond == "null" {
			return nil, fmt.Errorf("%s: empty Condition", where)
		}
		p.conditional = append(p.conditional, conditional{sid: s.Sid, actions: actions, condition: cond})
	}
	if len(p.unconditional) == 0 {
		return nil, errors.New("no unconditional actions")
	}
	return p, nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, errors.New("missing")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

func checkAction(a string) error {
	prefix, name, ok := strings.Cut(a, ":")
	if !ok || !prefixRE.MatchString(prefix) || !actionRE.MatchString(name) {
		return fmt.Errorf("malformed action %q: want lowercase-prefix:Name", a)
	}
	return nil
}

func prefixOf(action string) string {
	prefix, _, _ := strings.Cut(action, ":")
	return prefix
}

// canonicalJSON re-encodes a JSON value compactly with object keys sorted
// (encoding/json sorts map keys), so equal conditions compare equal as
// strings. Numbers keep their original spelling.
func canonicalJSON(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// service mirrors catalog.Service; the generator cannot import the package it
// generates.
type service struct {
	prefix, name, description string
	readOnly                  []string
	conditional               []conditional
	viewOnly                  []string
	viewConditional           []conditional
}

func buildServices(p *policy, known map[string]info) ([]service, error) {
	byPrefix := map[string]*service{}
	get := func(prefix string) *service {
		s := byPrefix[prefix]
		if s == nil {
			s = &service{prefix: prefix}
			byPrefix[prefix] = s
		}
		return s
	}
	for _, a := range p.unconditional {
		s := get(prefixOf(a))
		s.readOnly = append(s.readOnly, a)
	}
	// A conditional statement is split by prefix so that each service carries
	// exactly the conditional actions a session policy for it may include.
	for _, c := range p.conditional {
		groups := map[string][]string{}
		for _, a := range c.actions {
			groups[prefixOf(a)] = append(groups[prefixOf(a)], a)
		}
		for prefix, actions := range groups {
			slices.Sort(actions)
			s := get(prefix)
			s.conditional = append(s.conditional, conditional{sid: c.sid, actions: slices.Compact(actions), condition: c.condition})
		}
	}

	var missing []string
	for prefix := range known {
		if byPrefix[prefix] == nil {
			missing = append(missing, prefix)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("hand-written service table names prefixes not in the policy (renamed or removed by AWS?): %s", strings.Join(missing, ", "))
	}

	out := make([]service, 0, len(byPrefix))
	for prefix, s := range byPrefix {
		slices.Sort(s.readOnly)
		s.readOnly = slices.Compact(s.readOnly)
		sortConditionals(s.conditional)
		if k, ok := known[prefix]; ok {
			if k.name == "" || k.description == "" {
				return nil, fmt.Errorf("hand-written entry %q: name and description are required", prefix)
			}
			if k.name == fallbackName(prefix) {
				return nil, fmt.Errorf("hand-written entry %q: name %q is indistinguishable from the fallback", prefix, k.name)
			}
			s.name, s.description = k.name, k.description
		} else {
			s.name, s.description = fallbackName(prefix), fmt.Sprintf("AWS service with IAM prefix %q", prefix)
		}
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b service) int { return strings.Compare(a.prefix, b.prefix) })
	return out, nil
}

// addViewOnly fills in the view-only slices of services (sorted by prefix)
// from v, split by prefix as buildServices does for read-only. It returns the
// prefixes v names that services lack, sorted: they get no entry, since the
// catalog is keyed by ReadOnlyAccess's prefixes.
func addViewOnly(services []service, v *policy) []string {
	byPrefix := map[string]*service{}
	for i := range services {
		byPrefix[services[i].prefix] = &services[i]
	}
	orphan := map[string]bool{}
	for _, a := range v.unconditional {
		s := byPrefix[prefixOf(a)]
		if s == nil {
			orphan[prefixOf(a)] = true
			continue
		}
		s.viewOnly = append(s.viewOnly, a)
	}
	for _, c := range v.conditional {
		groups := map[string][]string{}
		for _, a := range c.actions {
			groups[prefixOf(a)] = append(groups[prefixOf(a)], a)
		}
		for prefix, actions := range groups {
			s := byPrefix[prefix]
			if s == nil {
				orphan[prefix] = true
				continue
			}
			slices.Sort(actions)
			s.viewConditional = append(s.viewConditional, conditional{sid: c.sid, actions: slices.Compact(actions), condition: c.condition})
		}
	}
	for i := range services {
		s := &services[i]
		slices.Sort(s.viewOnly)
		s.viewOnly = slices.Compact(s.viewOnly)
		sortConditionals(s.viewConditional)
	}
	var out []string
	for prefix := range orphan {
		out = append(out, prefix)
	}
	slices.Sort(out)
	return out
}

func sortConditionals(cs []conditional) {
	slices.SortFunc(cs, func(a, b conditional) int {
		return strings.Compare(a.condition+"\x00"+strings.Join(a.actions, ","), b.condition+"\x00"+strings.Join(b.actions, ","))
	})
}

// goString quotes s for Go source, preferring a raw string so that JSON stays
// readable in the generated file.
func goString(s string) string {
	if strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

func fallbackName(prefix string) string { return "AWS " + prefix }

func render(pkg string, p, v *policy, orphans []string, services []service) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/gen from AWS ReadOnlyAccess %s and ViewOnlyAccess %s; DO NOT EDIT.\n\n", p.version, v.version)
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	fmt.Fprintf(&b, "// Source names the AWS policy version the catalog was generated from; it\n")
	fmt.Fprintf(&b, "// changes only when the catalog is regenerated from newer AWS data.\n")
	fmt.Fprintf(&b, "const Source = %q\n\n", fmt.Sprintf("ReadOnlyAccess %s (%s)", p.version, p.date))
	fmt.Fprintf(&b, "// ViewOnlySource names the AWS policy version the view-only slices were\n")
	fmt.Fprintf(&b, "// generated from.\n")
	fmt.Fprintf(&b, "const ViewOnlySource = %q\n\n", fmt.Sprintf("ViewOnlyAccess %s (%s)", v.version, v.date))
	if len(v.scoped) > 0 || len(orphans) > 0 {
		fmt.Fprintf(&b, "// Left out of the view-only slices, which only narrows them:\n")
		for _, sc := range v.scoped {
			fmt.Fprintf(&b, "//   - statement scoped to resources: %s\n", sc)
		}
		if len(orphans) > 0 {
			fmt.Fprintf(&b, "//   - prefixes not in ReadOnlyAccess: %s\n", strings.Join(orphans, ", "))
		}
		fmt.Fprintf(&b, "\n")
	}
	fmt.Fprintf(&b, "// services is sorted by Prefix; Lookup's binary search depends on it.\n")
	fmt.Fprintf(&b, "var services = []Service{\n")
	for _, s := range services {
		fmt.Fprintf(&b, "{\nPrefix: %q,\nName: %q,\nDescription: %q,\n", s.prefix, s.name, s.description)
		renderList(&b, "ReadOnly", s.readOnly, true)
		renderConditionals(&b, "ReadOnlyConditional", s.conditional)
		renderList(&b, "ViewOnly", s.viewOnly, false)
		renderConditionals(&b, "ViewOnlyConditional", s.viewConditional)
		fmt.Fprintf(&b, "},\n")
	}
	fmt.Fprintf(&b, "}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated code: %w", err)
	}
	return src, nil
}

// renderList writes field as a one-pattern-per-line string slice; an empty
// list is written only when always is set.
func renderList(b *bytes.Buffer, field string, patterns []string, always bool) {
	if len(patterns) == 0 && !always {
		return
	}
	fmt.Fprintf(b, "%s: []string{\n", field)
	for _, a := range patterns {
		fmt.Fprintf(b, "%q,\n", a)
	}
	fmt.Fprintf(b, "},\n")
}

func renderConditionals(b *bytes.Buffer, field string, cs []conditional) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(b, "%s: []Conditional{\n", field)
	for _, c := range cs {
		fmt.Fprintf(b, "{\n")
		if sidRE.MatchString(c.sid) {
			fmt.Fprintf(b, "// Sid %s\n", c.sid)
		}
		fmt.Fprintf(b, "Actions: []string{")
		for _, a := range c.actions {
			fmt.Fprintf(b, "%q,", a)
		}
		fmt.Fprintf(b, "},\nCondition: %s,\n},\n", goString(c.condition))
	}
	fmt.Fprintf(b, "},\n")
}
