package policy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// loadKnown reads testdata/known_actions.txt, which the catalog generator
// writes: every action of the catalog's services that AWS's policy data
// names, by prefix.
func loadKnown(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("testdata/known_actions.txt")
	if err != nil {
		t.Fatalf("%v (make generate writes it)", err)
	}
	defer f.Close()
	known := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		prefix, _, _ := strings.Cut(line, ":")
		known[prefix] = append(known[prefix], line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return known
}

// unfitted is the session policy as it was before fitting: the catalog's
// slices as AWS writes them, in one statement, with the same conditional
// and Deny statements.
func unfitted(t *testing.T, access []Access) string {
	t.Helper()
	var actions []string
	var stmts []statement
	for _, a := range access {
		svc, _ := catalog.Lookup(a.Service)
		if a.Level == Full {
			actions = append(actions, svc.Prefix+":*")
			continue
		}
		patterns, conds, err := levelSlice(svc, a.Level)
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, patterns...)
		for _, c := range conds {
			stmts = append(stmts, statement{Effect: "Allow", Action: c.Actions, Resource: "*", Condition: json.RawMessage(c.Condition)})
		}
	}
	slices.Sort(actions)
	if len(actions) > 0 {
		stmts = append([]statement{{Effect: "Allow", Action: slices.Compact(actions), Resource: "*"}}, stmts...)
	}
	if d := Denied(access, DialectAWS, nil); len(d) > 0 {
		stmts = append(stmts, statement{Effect: "Deny", Action: d, Resource: "*"})
	}
	out, err := json.Marshal(document{Version: "2012-10-17", Statement: stmts})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// conditionalStatements returns a policy's statements with a Condition.
func conditionalStatements(t *testing.T, policy string) []string {
	t.Helper()
	var doc document
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range doc.Statement {
		if s.Condition != nil {
			out = append(out, fmt.Sprintf("%s %v %s", s.Effect, s.Action, s.Condition))
		}
	}
	return out
}

// checkSameVerdicts evaluates every known action of access's services, and
// every plain action the catalog names, against the fitted and the
// unfitted policy, as IAM would: the verdicts (allow, deny, implicit deny)
// must all agree, and the conditional statements must be the same. It
// returns how many actions were checked.
func checkSameVerdicts(t *testing.T, known map[string][]string, access []Access) int {
	t.Helper()
	b, err := builder{dialect: DialectAWS}.compose(access, "*")
	if err != nil {
		t.Fatal(err)
	}
	fitted, before := string(b), unfitted(t, access)
	if len(fitted) > len(before) {
		t.Errorf("%v: fitted to %d characters, from %d", access, len(fitted), len(before))
	}
	var actions []string
	for _, a := range access {
		actions = append(actions, known[a.Service]...)
		svc, _ := catalog.Lookup(a.Service)
		for _, p := range slices.Concat(svc.ReadOnly, svc.ViewOnly, EscalationDenied(Access{a.Service, Full}, DialectAWS)) {
			if strings.HasPrefix(p, a.Service+":") && !strings.ContainsAny(p, "*?") {
				actions = append(actions, p)
			}
		}
	}
	for _, action := range actions {
		if got, want := granttest.Decide(t, fitted, action), granttest.Decide(t, before, action); got != want {
			t.Errorf("%v: %s is %s fitted, %s unfitted\nfitted   %s\nunfitted %s", access, action, got, want, fitted, before)
		}
	}
	if diff := cmp.Diff(conditionalStatements(t, before), conditionalStatements(t, fitted)); diff != "" {
		t.Errorf("%v: conditional statements (-unfitted +fitted):\n%s", access, diff)
	}
	return len(actions)
}

// TestFittedPolicyAllowsTheSame is the proof that fitting never changes a
// grant: for every catalog service at every level, and for mixed requests,
// the fitted policy gives every known action the verdict the unfitted one
// does. The known actions are all the policies' data names; the generator
// merges patterns only where that is every action a merged pattern can
// match (see grant/catalog/internal/gen/fit.go).
func TestFittedPolicyAllowsTheSame(t *testing.T) {
	known := loadKnown(t)
	checked, shrunk := 0, 0
	for _, svc := range catalog.All() {
		if len(known[svc.Prefix]) == 0 {
			t.Errorf("%s: no known actions", svc.Prefix)
		}
		for _, level := range ServiceLevels(svc) {
			access := []Access{{svc.Prefix, level}}
			checked += checkSameVerdicts(t, known, access)
			b, _ := builder{dialect: DialectAWS}.compose(access, "*")
			if len(b) < len(unfitted(t, access)) {
				shrunk++
			}
		}
	}
	all := catalog.All()
	for seed := range 100 {
		var access []Access
		for i := range 1 + seed%6 {
			svc := all[(seed*131+i*977)%len(all)]
			if slices.ContainsFunc(access, func(a Access) bool { return a.Service == svc.Prefix }) {
				continue
			}
			access = append(access, Access{svc.Prefix, ServiceLevels(svc)[(seed+i)%len(ServiceLevels(svc))]})
		}
		checked += checkSameVerdicts(t, known, access)
	}
	t.Logf("%d verdicts compared; fitting shortened %d single-service policies", checked, shrunk)
	if checked < 10000 || shrunk < 10 {
		t.Errorf("%d verdicts compared and %d policies shortened: the proof covers too little", checked, shrunk)
	}
}

// TestFittedPolicyViewOnlyStaysMetadata: merged view_only patterns still
// miss the data reads AWS leaves out of ViewOnlyAccess.
func TestFittedPolicyViewOnlyStaysMetadata(t *testing.T) {
	for _, tt := range []struct{ service, action string }{
		{"dynamodb", "dynamodb:GetItem"}, {"dynamodb", "dynamodb:DescribeExport"},
		{"ec2", "ec2:GetPasswordData"}, {"ec2", "ec2:GetConsoleOutput"},
		{"s3", "s3:GetObject"}, {"kms", "kms:Decrypt"},
	} {
		p, err := Build([]Access{{tt.service, ViewOnly}}, DialectAWS)
		if err != nil {
			t.Fatal(err)
		}
		if got := granttest.Decide(t, p, tt.action); got != "implicit deny" {
			t.Errorf("%s view_only: %s is %s; policy %s", tt.service, tt.action, got, p)
		}
	}
}

// TestPolicyMergedLayout: the document holds one statement per service when
// that is shorter; perServiceLen, which decides it, must measure that
// layout exactly, and with one shared scope it is longer.
func TestPolicyMergedLayout(t *testing.T) {
	for _, tc := range []struct {
		access []Access
		scope  any
	}{
		{[]Access{{"s3", ReadOnly}, {"ec2", ReadOnly}}, "*"},
		{[]Access{{"lambda", ReadOnly}, {"logs", ViewOnly}, {"iam", Full}}, "*"},
		{[]Access{{"s3", ReadOnly}, {"s3express", ReadOnly}}, []string{"arn:aws:s3:::a", "arn:aws:s3:::a/*"}},
	} {
		merged, err := builder{dialect: DialectAWS}.compose(tc.access, tc.scope)
		if err != nil {
			t.Fatal(err)
		}
		var doc document
		if err := json.Unmarshal(merged, &doc); err != nil {
			t.Fatal(err)
		}
		var parts []part
		var per []statement
		for _, a := range tc.access {
			svc, _ := catalog.Lookup(a.Service)
			actions, _, _ := slice(svc, a.Level, DialectAWS)
			parts = append(parts, part{a.Service, actions})
			per = append(per, statement{Effect: "Allow", Action: actions, Resource: tc.scope})
		}
		alt, _ := json.Marshal(document{Version: "2012-10-17", Statement: append(per, doc.Statement[1:]...)})
		if got := perServiceLen(len(merged), doc.Statement[0].Action, parts, tc.scope); got != len(alt) {
			t.Errorf("%v: perServiceLen = %d, the document is %d:\n%s", tc.access, got, len(alt), alt)
		}
		if len(alt) <= len(merged) {
			t.Errorf("%v: per-service layout %d characters, merged %d, yet merged was chosen", tc.access, len(alt), len(merged))
		}
	}
}
