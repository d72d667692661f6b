package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// policyFile is the subset of the data file the catalog depends on; the
// file's other keys (per-action annotations) are ignored on purpose.
type policyFile struct {
	Version    string `json:"version"`
	UpdateDate string `json:"updatedate"`
	// EffectiveActions lists what each action pattern of the document
	// expands to in AWS's Service Authorization Reference.
	EffectiveActions []struct {
		Action          string `json:"action"`
		EffectiveAction string `json:"effective_action"`
	} `json:"effective_actions"`
	Document struct {
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
	// expansions maps each pattern of the document to the actions it
	// expands to, as AWS spells them; the fitting's only source of which
	// actions exist.
	expansions map[string][]string
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
	p := &policy{version: f.Version, date: updated.UTC().Format(time.DateOnly), expansions: map[string][]string{}}
	for _, e := range f.EffectiveActions {
		if err := checkAction(e.Action); err != nil {
			return nil, fmt.Errorf("effective_actions: %w", err)
		}
		if err := checkAction(e.EffectiveAction); err != nil || strings.ContainsAny(e.EffectiveAction, "*?") || prefixOf(e.EffectiveAction) != prefixOf(e.Action) {
			return nil, fmt.Errorf("effective_actions: %q expands to %q: want an action of the same prefix", e.Action, e.EffectiveAction)
		}
		p.expansions[e.Action] = append(p.expansions[e.Action], e.EffectiveAction)
	}
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
