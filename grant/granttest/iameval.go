package granttest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The tests' IAM evaluation: enough of IAM's rules to decide unconditional
// statements, for the tests of session policies and the broker's ceiling.

// Decide is IAM's verdict on action from policy's statements without a
// condition: "deny", "allow" or "implicit deny".
func Decide(t testing.TB, policy, action string) string {
	t.Helper()
	switch {
	case StatementsMatch(t, policy, "Deny", action):
		return "deny"
	case StatementsMatch(t, policy, "Allow", action):
		return "allow"
	}
	return "implicit deny"
}

// StatementsMatch reports whether a statement of policy with effect and no
// condition covers action.
func StatementsMatch(t testing.TB, policy, effect, action string) bool {
	t.Helper()
	var doc struct {
		Statement []struct {
			Effect    string
			Action    []string
			Condition json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Statement {
		if s.Effect == effect && s.Condition == nil && slices.ContainsFunc(s.Action, func(p string) bool { return ActionCovers(p, action) }) {
			return true
		}
	}
	return false
}

// ActionCovers reports whether the IAM action pattern p matches every action
// the pattern q matches: p's wildcards match q's text, q's own wildcards
// included. IAM compares actions without regard to case.
func ActionCovers(p, q string) bool {
	p, q = strings.ToLower(p), strings.ToLower(q)
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(q); i >= 0; i-- {
				if ActionCovers(p[1:], q[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(q) == 0 || q[0] == '*' {
				return false
			}
		default:
			if len(q) == 0 || q[0] != p[0] {
				return false
			}
		}
		p, q = p[1:], q[1:]
	}
	return len(q) == 0
}
