package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"slices"
	"strings"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// method is one privilege-escalation method of a dataset: the actions that
// together complete it.
type method struct {
	id       string // "pathfinding.cloud ec2-002", "Cloudsplaining CreateAccessKey"
	category string // pathfinding.cloud's category; "" for Cloudsplaining's
	required []string
}

// The classes of denied actions.
const (
	classEscalation  = "escalation"
	classExposure    = "exposure"
	classCredentials = "credentials"
)

// service is one catalog service's denies, as rendered.
type service struct {
	prefix                   string
	full, readOnly, viewOnly []string
	minio                    []string
	abilities                []string
}

// derived is everything generation works out from the dataset.
type derived struct {
	methods     []method
	unreachable []string            // methods naming a service the catalog lacks
	unknown     []string            // dataset actions the access-level data lacks
	chosen      map[string][]method // escalation action to the methods it blocks
	classes     map[string][]string // action to its classes
	supplement  map[string]string   // action the supplement classes, to its ability
	services    []service
}

func runGenerate(dir, out string) error {
	d, err := readDataset(dir)
	if err != nil {
		return err
	}
	g, err := derive(d)
	if err != nil {
		return err
	}
	src, err := render(d, g)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

// spell returns action as the access-level data spells it, and whether the
// data has it.
func (d *dataset) spell(action string) (string, bool) {
	a, ok := d.spelled[strings.ToLower(action)]
	if !ok {
		return action, false
	}
	return a, true
}

func derive(d *dataset) (*derived, error) {
	g := &derived{chosen: map[string][]method{}, classes: map[string][]string{}}
	unknown := map[string]bool{}
	resolve := func(actions []string) []string {
		out := make([]string, len(actions))
		for i, a := range actions {
			s, ok := d.spell(a)
			if !ok {
				unknown[a] = true
			}
			out[i] = s
		}
		return out
	}
	for _, p := range d.pathfinding.Paths {
		g.methods = append(g.methods, method{"pathfinding.cloud " + p.ID, p.Category, resolve(p.Required)})
	}
	for _, name := range sortedKeys(d.cloudsplaining.PrivilegeEscalationMethods) {
		g.methods = append(g.methods, method{"Cloudsplaining " + name, "", resolve(d.cloudsplaining.PrivilegeEscalationMethods[name])})
	}

	// The methods a grant can complete: every service they need is in the
	// catalog, and so grantable.
	var open []method
	for _, m := range g.methods {
		if slices.ContainsFunc(m.required, func(a string) bool { _, ok := catalog.Lookup(prefixOf(a)); return !ok }) {
			g.unreachable = append(g.unreachable, m.id)
			continue
		}
		if len(d.candidates(m)) == 0 {
			return nil, fmt.Errorf("%s (%s) requires only reads: no deny can block it without breaking read-only grants; decide by hand what to do", m.id, strings.Join(m.required, ", "))
		}
		open = append(open, m)
	}
	choose := func(a string) {
		for _, m := range g.methods {
			if slices.Contains(m.required, a) && !slices.ContainsFunc(g.chosen[a], func(x method) bool { return x.id == m.id }) {
				g.chosen[a] = append(g.chosen[a], m)
			}
		}
	}
	blocked := func(m method) bool {
		return slices.ContainsFunc(m.required, func(a string) bool { _, ok := g.chosen[a]; return ok })
	}
	for _, m := range open {
		if c := d.candidates(m); len(c) == 1 {
			choose(c[0])
		}
	}
	for _, m := range open {
		if blocked(m) {
			continue
		}
		best, most := "", -1
		for _, c := range d.candidates(m) {
			n := 0
			for _, o := range open {
				if !blocked(o) && slices.Contains(o.required, c) {
					n++
				}
			}
			if n > most {
				best, most = c, n
			}
		}
		choose(best)
	}
	for a := range g.chosen {
		g.classes[a] = append(g.classes[a], classEscalation)
	}
	for a, level := range d.levels {
		if level == "Permissions management" || prefixOf(a) == "iam" && level == "Write" {
			g.classes[a] = append(g.classes[a], classExposure)
		}
	}
	for _, c := range d.cloudsplaining.ActionsThatReturnCredentials {
		a, ok := d.spell(c)
		if !ok {
			unknown[c] = true
			continue
		}
		if !slices.Contains(g.classes[a], classCredentials) {
			g.classes[a] = append(g.classes[a], classCredentials)
		}
	}
	// The supplement's actions, expanded against the access-level data; a
	// pattern that matches nothing is stale, and stops generation.
	g.supplement = map[string]string{}
	for _, e := range d.supplement.Entries {
		for _, p := range e.Actions {
			n := 0
			for _, a := range d.byPrefix[prefixOf(p)] {
				if !match(p, a) {
					continue
				}
				n++
				g.supplement[a] = e.Ability
				if !slices.Contains(g.classes[a], e.Class) {
					g.classes[a] = append(g.classes[a], e.Class)
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("%s: %s matches no action in %s; drop it or correct it", supplementFile, p, levelsFile)
			}
		}
	}
	g.unknown = sortedKeys(unknown)

	minio := map[string]bool{}
	for _, a := range d.minio {
		minio[strings.ToLower(a)] = true
	}
	for _, svc := range catalog.All() {
		var denied []string
		for _, a := range d.byPrefix[svc.Prefix] {
			if len(g.classes[a]) > 0 {
				denied = append(denied, a)
			}
		}
		if len(denied) == 0 {
			continue
		}
		slices.Sort(denied)
		s := service{prefix: svc.Prefix, full: compact(denied, d.byPrefix[svc.Prefix], g.classes)}
		s.readOnly = allowedOf(denied, slices.Concat(svc.ReadOnly, svc.ReadOnlyFitted(), conditionalActions(svc.ReadOnlyConditional)))
		s.viewOnly = allowedOf(denied, slices.Concat(svc.ViewOnly, svc.ViewOnlyFitted(), conditionalActions(svc.ViewOnlyConditional)))
		for _, a := range denied {
			if minio[strings.ToLower(a)] {
				s.minio = append(s.minio, a)
			}
		}
		s.abilities = g.abilities(denied)
		g.services = append(g.services, s)
	}
	return g, nil
}

// candidates returns the actions of m that a deny may block it by: those
// the access-level data knows and files under neither List nor Read, in the
// order m lists them.
func (d *dataset) candidates(m method) []string {
	var out []string
	for _, a := range m.required {
		if level, ok := d.levels[a]; ok && level != "List" && level != "Read" {
			out = append(out, a)
		}
	}
	return out
}

func conditionalActions(cs []catalog.Conditional) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Actions...)
	}
	return out
}

// allowedOf returns the actions of denied that patterns match.
func allowedOf(denied, patterns []string) []string {
	var out []string
	for _, a := range denied {
		if slices.ContainsFunc(patterns, func(p string) bool { return match(p, a) }) {
			out = append(out, a)
		}
	}
	return out
}

// compact writes denied, sorted actions of one service, as patterns: Stem*
// for a stem that ends where a word of the name ends, when every action of
// all (the service's every action) with that stem is denied and there are
// two or more; each action by name otherwise. Stems are tried shortest
// first, and a valid stem's longer stems are valid too, so no two patterns
// overlap.
func compact(denied, all []string, classes map[string][]string) []string {
	covered := map[string]bool{}
	var out []string
	for _, a := range denied {
		if covered[a] {
			continue
		}
		prefix, name, _ := strings.Cut(a, ":")
		pattern := a
		for k := 1; k < len(name); k++ {
			if !isUpper(name[k]) {
				continue
			}
			stem := strings.ToLower(prefix + ":" + name[:k])
			var under []string
			ok := true
			for _, b := range all {
				if strings.HasPrefix(strings.ToLower(b), stem) {
					if len(classes[b]) == 0 {
						ok = false
						break
					}
					under = append(under, b)
				}
			}
			if ok && len(under) >= 2 {
				pattern = prefix + ":" + name[:k] + "*"
				for _, b := range under {
					covered[b] = true
				}
				break
			}
			if ok {
				break
			}
		}
		covered[a] = true
		out = append(out, pattern)
	}
	// An action listed by name before a later, shorter stem took it in.
	return slices.DeleteFunc(out, func(p string) bool {
		return !strings.HasSuffix(p, "*") && slices.ContainsFunc(out, func(q string) bool { return q != p && match(q, p) })
	})
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// match reports whether IAM action pattern p, with * and ? wildcards,
// matches action a, ignoring case as IAM does.
func match(p, a string) bool {
	p, a = strings.ToLower(p), strings.ToLower(a)
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(a); i >= 0; i-- {
				if match(p[1:], a[i:]) {
					return true
				}
			}
			return false
		case '?':
			if a == "" {
				return false
			}
		default:
			if a == "" || a[0] != p[0] {
				return false
			}
		}
		p, a = p[1:], a[1:]
	}
	return a == ""
}

// categoryText says in plain words what a pathfinding.cloud category of
// method lets a principal do.
var categoryText = map[string]string{
	"existing-passrole": "run code as the roles its existing resources run as",
	"new-passrole":      "hand roles to new resources that then act as those roles",
	"self-escalation":   "give itself more permissions",
	"principal-access":  "act as other users or roles",
	"credential-access": "read credentials stored in its resources",
	"":                  "escalate privileges",
}

// categoryOrder is the order abilities are listed in.
var categoryOrder = []string{"existing-passrole", "new-passrole", "self-escalation", "principal-access", "credential-access", ""}

// abilities says in plain words what the denied actions of one service
// would let a grant do, by class, each with up to three actions.
func (g *derived) abilities(denied []string) []string {
	byText := map[string][]string{}
	var order []string
	add := func(text, action string) {
		if _, ok := byText[text]; !ok {
			order = append(order, text)
		}
		byText[text] = append(byText[text], action)
	}
	for _, c := range categoryOrder {
		for _, a := range denied {
			if ms, ok := g.chosen[a]; ok && categoryOf(a, ms) == c {
				add(categoryText[c], a)
			}
		}
	}
	for _, a := range denied {
		if text, ok := g.supplement[a]; ok {
			if _, chosen := g.chosen[a]; !chosen {
				add(text, a)
			}
		}
	}
	for _, a := range denied {
		if _, ok := g.supplement[a]; ok {
			continue
		}
		if slices.Contains(g.classes[a], classExposure) && !slices.Contains(g.classes[a], classEscalation) {
			add("change permissions and resource policies, which can open resources to other accounts or the public beyond the grant", a)
		}
	}
	for _, a := range denied {
		if slices.Contains(g.classes[a], classCredentials) && !slices.Contains(g.classes[a], classEscalation) && !slices.Contains(g.classes[a], classExposure) {
			add("get credentials that stay valid after the grant ends", a)
		}
	}
	out := make([]string, len(order))
	for i, text := range order {
		// The actions whose names say what they are about come first.
		actions := byText[text]
		slices.SortStableFunc(actions, func(a, b string) int { return telling(b) - telling(a) })
		list := strings.Join(actions[:min(3, len(actions))], ", ")
		if n := len(actions) - 3; n > 0 {
			list += fmt.Sprintf(" and %d more", n)
		}
		out[i] = text + " (" + list + ")"
	}
	return out
}

// telling ranks an action's name by how plainly it says that it changes
// who may use a resource, for the examples of an ability.
func telling(action string) int {
	for i, word := range []string{"PassRole", "Policy", "Permission", "Acl", "PublicAccess"} {
		if strings.Contains(action, word) {
			return 5 - i
		}
	}
	return 0
}

// categoryOf is the category of the first method with one that a blocks
// itself: a method that also passes a role is blocked by iam:PassRole, and
// counts for a only when no other method does. A method that passes a role
// and has no category is "new-passrole".
func categoryOf(a string, ms []method) string {
	for _, m := range ms {
		if m.category != "" && (a == "iam:PassRole" || !slices.Contains(m.required, "iam:PassRole")) {
			return m.category
		}
	}
	for _, m := range ms {
		if m.category != "" {
			return m.category
		}
	}
	for _, m := range ms {
		if slices.Contains(m.required, "iam:PassRole") {
			return "new-passrole"
		}
	}
	return ""
}

func render(d *dataset, g *derived) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/escgen from the data in internal/escgen/data; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package policy\n\n")
	fmt.Fprintf(&b, "// EscalationSource names the datasets the escalation denies were derived from.\n")
	fmt.Fprintf(&b, "const EscalationSource = %q\n\n", fmt.Sprintf("pathfinding.cloud %s; Cloudsplaining %s; Policy Sentry %s; and timebound-iam's supplement (%s, %d entries, each with AWS's documentation)", d.pathfinding.Source, d.cloudsplaining.Source, d.levelsSource, supplementFile, len(d.supplement.Entries)))
	fmt.Fprintf(&b, "// escalationMethods is how many escalation methods the datasets hold\n// (pathfinding.cloud's paths and Cloudsplaining's methods).\n")
	fmt.Fprintf(&b, "const escalationMethods = %d\n\n", len(g.methods))
	fmt.Fprintf(&b, "// Not blocked by any deny, because no grant can complete them: they need a\n// service the catalog does not have.\n")
	for _, m := range g.unreachable {
		fmt.Fprintf(&b, "//   - %s\n", m)
	}
	fmt.Fprintf(&b, "//\n// Dataset actions the access-level data does not know, left out:\n")
	for _, a := range g.unknown {
		fmt.Fprintf(&b, "//   - %s\n", a)
	}
	fmt.Fprintf(&b, "\n// escalationTable is sorted by Prefix; escalationOf's binary search depends on it.\n")
	fmt.Fprintf(&b, "var escalationTable = []serviceEscalation{\n")
	for _, s := range g.services {
		fmt.Fprintf(&b, "{\nPrefix: %q,\n", s.prefix)
		list := func(field string, l []string) {
			if len(l) == 0 {
				return
			}
			fmt.Fprintf(&b, "%s: []string{\n", field)
			for _, a := range l {
				fmt.Fprintf(&b, "%q,\n", a)
			}
			fmt.Fprintf(&b, "},\n")
		}
		list("Full", s.full)
		list("ReadOnly", s.readOnly)
		list("ViewOnly", s.viewOnly)
		list("MinIO", s.minio)
		list("Abilities", s.abilities)
		fmt.Fprintf(&b, "},\n")
	}
	fmt.Fprintf(&b, "}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated code: %w", err)
	}
	return src, nil
}
