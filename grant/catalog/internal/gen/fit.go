package main

import (
	"fmt"
	"slices"
	"strings"
)

// The fitting below shortens a service's pattern list so that more of a
// grant fits in STS's 2,048 characters, and it must never widen the grant.
//
// The data files list, for every wildcard pattern of the two policies, every
// action that AWS's Service Authorization Reference held for it when the data
// was published (effective_actions). They do not list a service's other
// actions: nothing says which write actions exist. So a new, wider pattern is
// sound only inside a "region": a trailing-wildcard pattern Y* of either
// policy, whose full expansion is known. There, X* (X starting with Y) matches
// exactly the region's actions that start with X, and may replace the
// patterns it covers when every one of those actions is already allowed. Two
// more steps never change what is allowed: a pattern matched by another
// pattern of the list is dropped, and a replacement is made only when it
// merges two patterns or more into a shorter one. The result is checked against the known actions before it is
// kept.

// region is one wildcard pattern's complete expansion.
type region struct {
	stem    string   // the pattern without its trailing "*", lowercased
	actions []string // the actions it expands to, as AWS spells them
}

// fitPatterns returns patterns (one service's unconditional list at one
// level) minimised: sorted, each pattern costing its length plus 3 (two
// quotes and a comma), with fewer characters in all, allowing exactly the
// known actions that patterns allow. known holds every action of the service
// the data files name; regions the service's complete expansions.
func fitPatterns(patterns, known []string, regions []region) ([]string, error) {
	allowed := map[string]bool{}
	for _, a := range known {
		if matchesAny(patterns, a) {
			allowed[strings.ToLower(a)] = true
		}
	}
	// Candidate stems: for every allowed action of a region, the shortest
	// stem at or below the region's whose region actions are all allowed.
	type cand struct{ stem, spelled string }
	var cands []cand
	seen := map[string]bool{}
	for _, r := range regions {
		lower := make([]string, len(r.actions))
		for i, a := range r.actions {
			lower[i] = strings.ToLower(a)
		}
		for i, a := range lower {
			if !allowed[a] {
				continue
			}
			for k := len(r.stem); k <= len(a); k++ {
				// A stem ends where a word of the action's name does (the
				// region's own stem and whole names aside), as in
				// s3:GetBucket*: such a wildcard reads as what it covers,
				// and one that stopped mid-word would be first to take
				// in an action AWS adds later.
				if k > len(r.stem) && k < len(a) && !isUpper(r.actions[i][k]) {
					continue
				}
				x := a[:k]
				if seen[x] {
					break
				}
				if !slices.ContainsFunc(lower, func(b string) bool { return strings.HasPrefix(b, x) && !allowed[b] }) {
					seen[x] = true
					cands = append(cands, cand{x, r.actions[i][:k]})
					break
				}
			}
		}
	}
	// Shorter stems first: each covers every longer one under it.
	slices.SortFunc(cands, func(a, b cand) int {
		if d := len(a.stem) - len(b.stem); d != 0 {
			return d
		}
		return strings.Compare(a.stem, b.stem)
	})
	out := slices.Clone(patterns)
	for _, c := range cands {
		var covered []string
		cost := 0
		for _, p := range out {
			if strings.HasPrefix(literalPrefix(p), c.stem) {
				covered = append(covered, p)
				cost += len(p) + 3
			}
		}
		// One pattern for one is no merge: it would shorten a name by a few
		// characters and read worse.
		if len(covered) < 2 || len(c.spelled)+1+3 >= cost {
			continue
		}
		out = slices.DeleteFunc(out, func(p string) bool { return slices.Contains(covered, p) })
		out = append(out, c.spelled+"*")
	}
	out = dropCovered(out)
	// The proof, for every known action, before the list is written.
	for _, a := range known {
		if matchesAny(out, a) != allowed[strings.ToLower(a)] {
			return nil, fmt.Errorf("fitting %q changed whether %s is allowed; fitted to %q", patterns, a, out)
		}
	}
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?") && !matchesAny(out, p) {
			return nil, fmt.Errorf("fitting %q lost %s; fitted to %q", patterns, p, out)
		}
	}
	return out, nil
}

// dropCovered sorts patterns and removes each one another pattern matches
// (ignoring case, as IAM does), so that of two equal ones the first stays.
func dropCovered(patterns []string) []string {
	s := slices.Clone(patterns)
	slices.Sort(s)
	s = slices.Compact(s)
	var out []string
	for i, p := range s {
		dup := false
		for j, q := range s {
			// q drops p when it matches more, or when the two are equal but
			// for case and q comes first.
			if j != i && match(q, p) && (!match(p, q) || j < i) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// literalPrefix is p up to its first wildcard, lowercased: every action p
// matches starts with it.
func literalPrefix(p string) string {
	if i := strings.IndexAny(p, "*?"); i >= 0 {
		p = p[:i]
	}
	return strings.ToLower(p)
}

func matchesAny(patterns []string, action string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, action) })
}

// match reports whether IAM action pattern p (with * and ?) matches s,
// ignoring case. When s is itself a pattern, its wildcards are plain
// characters that only p's * can match, so match(p, q) means p matches
// every action q does.
func match(p, s string) bool {
	p, s = strings.ToLower(p), strings.ToLower(s)
	// Iterative glob with one backtrack point: linear enough for action names.
	px, sx, star, mark := 0, 0, -1, 0
	for sx < len(s) {
		switch {
		case px < len(p) && p[px] == '*':
			star, mark = px, sx
			px++
		case px < len(p) && (p[px] == s[sx] || p[px] == '?' && s[sx] != '*'):
			px++
			sx++
		case star >= 0:
			mark++
			px, sx = star+1, mark
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}

// regionsOf returns the complete expansions of prefix's trailing-wildcard
// patterns in the policies, each widened by the known actions it matches (so
// that two data files of different dates cannot hide an action).
func regionsOf(prefix string, known []string, policies ...*policy) []region {
	byStem := map[string]map[string]bool{}
	for _, p := range policies {
		for pattern, actions := range p.expansions {
			name, ok := strings.CutPrefix(pattern, prefix+":")
			if !ok || !strings.HasSuffix(name, "*") || strings.ContainsAny(name[:len(name)-1], "*?") {
				continue
			}
			stem := strings.ToLower(strings.TrimSuffix(pattern, "*"))
			set := byStem[stem]
			if set == nil {
				set = map[string]bool{}
				byStem[stem] = set
			}
			for _, a := range actions {
				set[a] = true
			}
		}
	}
	var out []region
	for stem, set := range byStem {
		for _, a := range known {
			if strings.HasPrefix(strings.ToLower(a), stem) {
				set[a] = true
			}
		}
		r := region{stem: stem}
		for a := range set {
			r.actions = append(r.actions, a)
		}
		slices.Sort(r.actions)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b region) int { return strings.Compare(a.stem, b.stem) })
	return out
}
