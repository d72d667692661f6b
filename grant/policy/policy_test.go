package policy

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestPolicyGolden(t *testing.T) {
	tests := []struct {
		name   string
		access []Access
	}{
		{"s3_read_only", []Access{{"s3", ReadOnly}}},
		{"s3_full", []Access{{"s3", Full}}},
		{"lambda_logs_read_only", []Access{{"lambda", ReadOnly}, {"logs", ReadOnly}}},
		{"mixed_s3_full_ec2_read_only", []Access{{"s3", Full}, {"ec2", ReadOnly}}},
		{"s3express_conditional", []Access{{"s3express", ReadOnly}}},
		{"order_independent", []Access{{"logs", ReadOnly}, {"lambda", ReadOnly}}},
		// The escalation denies: at every level, only the named services'.
		{"iam_read_only", []Access{{"iam", ReadOnly}}},
		{"iam_full", []Access{{"iam", Full}}},
		{"sts_full", []Access{{"sts", Full}}},
		{"mixed_s3_read_only_iam_full_sts_read_only", []Access{{"s3", ReadOnly}, {"iam", Full}, {"sts", ReadOnly}}},
		{"cognito_identity_read_only", []Access{{"cognito-identity", ReadOnly}}},
		// view_only: metadata only, so no s3:Get* and no s3:GetObject.
		{"s3_view_only", []Access{{"s3", ViewOnly}}},
		{"iam_view_only", []Access{{"iam", ViewOnly}}},
		// Fitted: patterns merged inside AWS's own wildcards (ec2:Describe*,
		// dynamodb:List*, ...), each allowing only view-only actions.
		{"ec2_view_only", []Access{{"ec2", ViewOnly}}},
		{"dynamodb_view_only", []Access{{"dynamodb", ViewOnly}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(tt.access, DialectAWS)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, got)
		})
	}
}

// checkGolden compares policy with testdata/policy/NAME.json, or rewrites
// that file under -update.
func checkGolden(t *testing.T, name, policy string) {
	t.Helper()
	granttest.Golden(t, filepath.Join("testdata", "policy", name+".json"), policy, *update, "go test ./grant/policy -run TestPolicyGolden -update")
}

// TestScopedPolicyGolden pins narrowed grants: the Allow statements, the
// conditional ones included, cover only the resources; the escalation Deny
// still covers "*".
func TestScopedPolicyGolden(t *testing.T) {
	tests := []struct {
		name      string
		access    []Access
		resources []string
	}{
		{"s3_read_only_one_bucket", []Access{{"s3", ReadOnly}}, []string{"agent-data"}},
		{"s3express_conditional_narrowed", []Access{{"s3express", ReadOnly}}, []string{"arn:aws:s3express:us-east-1:123456789012:bucket/data--use1-az4--x-s3"}},
		{"iam_full_narrowed", []Access{{"iam", Full}}, []string{"arn:aws:iam::123456789012:role/app-*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arns, err := ResourceARNs(tt.access, tt.resources)
			if err != nil {
				t.Fatal(err)
			}
			got, err := BuildScoped(tt.access, arns, DialectAWS)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, got)
			var doc document
			if err := json.Unmarshal([]byte(got), &doc); err != nil {
				t.Fatal(err)
			}
			for _, st := range doc.Statement {
				want := any(toAny(arns))
				if st.Effect == "Deny" {
					want = "*"
				}
				if !cmp.Equal(st.Resource, want) {
					t.Errorf("%s statement on %v, want %v", st.Effect, st.Resource, want)
				}
			}
		})
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestScopedPolicyTooManyResources: resources count against the 2,048
// characters, and the error says to name fewer of them, not fewer services.
func TestScopedPolicyTooManyResources(t *testing.T) {
	var arns []string
	for i := range 80 {
		arns = append(arns, fmt.Sprintf("arn:aws:s3:::bucket-number-%02d/*", i))
	}
	_, err := BuildScoped([]Access{{"s3", Full}}, arns, DialectAWS)
	if err == nil || !strings.Contains(err.Error(), "name fewer resources") || !strings.Contains(err.Error(), "STS allows 2048") {
		t.Fatalf("err = %v, want one that says to name fewer resources", err)
	}
	if _, err := BuildScoped([]Access{{"s3", Full}}, arns[:10], DialectAWS); err != nil {
		t.Fatalf("10 resources: %v", err)
	}
}

// TestPolicyShape checks what every policy must be, whatever the services:
// compact JSON, Version 2012-10-17, within the size limit, Allow statements
// with exactly the catalog's fitted actions, and a last Deny statement exactly when
// the service can escalate, holding its escalation actions only.
func TestPolicyShape(t *testing.T) {
	for _, svc := range catalog.All() {
		for _, level := range ServiceLevels(svc) {
			p, err := Build([]Access{{svc.Prefix, level}}, DialectAWS)
			var tooLarge *TooLargeError
			if errors.As(err, &tooLarge) {
				if tooLarge.Size <= MaxSize {
					t.Errorf("%s %s: refused at %d characters, within the limit", svc.Prefix, level, tooLarge.Size)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", svc.Prefix, level, err)
			}
			if len(p) > MaxSize {
				t.Errorf("%s %s: %d characters", svc.Prefix, level, len(p))
			}
			var doc struct {
				Version   string
				Statement []struct {
					Effect    string
					Action    []string
					Resource  string
					Condition map[string]any
				}
			}
			if err := json.Unmarshal([]byte(p), &doc); err != nil {
				t.Fatalf("%s %s: not JSON: %v", svc.Prefix, level, err)
			}
			compact, _ := json.Marshal(json.RawMessage(p))
			if string(compact) != p || strings.ContainsAny(p, "\n\t") {
				t.Errorf("%s %s: not compact", svc.Prefix, level)
			}
			if doc.Version != "2012-10-17" {
				t.Errorf("%s %s: Version %q", svc.Prefix, level, doc.Version)
			}
			statements := doc.Statement
			wantDeny := EscalationDenied(Access{svc.Prefix, level}, DialectAWS)
			slices.Sort(wantDeny)
			if n := len(statements); n > 0 && statements[n-1].Effect == "Deny" {
				last := statements[n-1]
				statements = statements[:n-1]
				if diff := cmp.Diff(wantDeny, last.Action); diff != "" || last.Resource != "*" || last.Condition != nil {
					t.Errorf("%s %s: Deny statement %+v; actions (-want +got):\n%s", svc.Prefix, level, last, diff)
				}
			} else if len(wantDeny) > 0 {
				t.Errorf("%s %s: no Deny of its escalation actions %v", svc.Prefix, level, wantDeny)
			}
			var actions []string
			for _, s := range statements {
				if s.Effect != "Allow" || s.Resource != "*" {
					t.Errorf("%s %s: statement %+v", svc.Prefix, level, s)
				}
				if s.Condition == nil {
					actions = append(actions, s.Action...)
				}
			}
			want := svc.ReadOnlyFitted()
			switch level {
			case ViewOnly:
				want = svc.ViewOnlyFitted()
			case Full:
				want = []string{svc.Prefix + ":*"}
			}
			if diff := cmp.Diff(want, actions); diff != "" {
				t.Errorf("%s %s: actions (-want +got):\n%s", svc.Prefix, level, diff)
			}
		}
	}
}

// TestViewOnlyExcludesDataReads decides, for each service, actions that read
// data: view_only must not allow them, while read_only still allows what
// AWS's ReadOnlyAccess does.
func TestViewOnlyExcludesDataReads(t *testing.T) {
	tests := []struct {
		name   string
		access Access
		action string
		want   string // "allow" or "implicit deny"
	}{
		{"s3 view_only GetObject", Access{"s3", ViewOnly}, "s3:GetObject", "implicit deny"},
		{"s3 view_only ListBucket", Access{"s3", ViewOnly}, "s3:ListBucket", "allow"},
		{"s3 read_only GetObject", Access{"s3", ReadOnly}, "s3:GetObject", "allow"},
		{"kms view_only Decrypt", Access{"kms", ViewOnly}, "kms:Decrypt", "implicit deny"},
		{"kms view_only ListKeys", Access{"kms", ViewOnly}, "kms:ListKeys", "allow"},
		{"ec2 view_only DescribeInstances", Access{"ec2", ViewOnly}, "ec2:DescribeInstances", "allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build([]Access{tt.access}, DialectAWS)
			if err != nil {
				t.Fatal(err)
			}
			if got := granttest.Decide(t, p, tt.action); got != tt.want {
				t.Errorf("%s: %s, want %s; policy %s", tt.action, got, tt.want, p)
			}
		})
	}
	t.Run("s3 read_only includes s3:Get*", func(t *testing.T) {
		p, err := Build([]Access{{"s3", ReadOnly}}, DialectAWS)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(p, `"s3:Get*"`) {
			t.Errorf("read_only policy lacks s3:Get*: %s", p)
		}
	})
	// secretsmanager is not in ViewOnlyAccess: no view_only at all, so
	// GetSecretValue cannot come in through it.
	t.Run("secretsmanager view_only refused", func(t *testing.T) {
		_, err := Build([]Access{{"secretsmanager", ViewOnly}}, DialectAWS)
		want := `service "secretsmanager" has no view_only level (AWS's ViewOnlyAccess names none of its actions): use "read_only" or "full"`
		if err == nil || err.Error() != want {
			t.Errorf("Policy error = %v, want %q", err, want)
		}
	})
}

func TestPolicyTooLarge(t *testing.T) {
	var many []Access
	for _, p := range []string{"glue", "datazone", "lightsail", "cleanrooms", "logs", "ec2"} {
		many = append(many, Access{p, ReadOnly})
	}
	_, err := Build(many, DialectAWS)
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("Build(%d big services) = %v, want *TooLargeError", len(many), err)
	}
	msg := err.Error()
	for _, want := range []string{
		"the session policy for cleanrooms, datazone, ec2, glue, lightsail, logs at read_only is ",
		" characters; STS allows 2048: split it into grants that fit, e.g. [",
		`["datazone"] and then `,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if tooLarge.Services[0] != "datazone" {
		t.Errorf("Services = %v, want the largest, datazone, first", tooLarge.Services)
	}
	checkSplit(t, many, tooLarge)
	// The same services at full are <prefix>:* each, with their escalation
	// denies: fewer characters, though still a split; lifted, they fit.
	for i := range many {
		many[i].Level = Full
	}
	_, err = Build(many, DialectAWS)
	if errors.As(err, &tooLarge) {
		checkSplit(t, many, tooLarge)
		if len(tooLarge.Groups) > 2 || len(tooLarge.Oversize) > 0 {
			t.Errorf("full level for the same services: %v, want at most two grants", err)
		}
	} else if err != nil {
		t.Errorf("full level for the same services: %v", err)
	}
	var all []string
	for _, a := range many {
		all = append(all, a.Service)
	}
	if _, err := BuildWith(many, nil, DialectAWS, all); err != nil {
		t.Errorf("full level for the same services, their denies lifted: %v", err)
	}
}

// checkSplit holds a refusal's split to what it promises: the groups and
// the oversize services are the request, each once; every group's policy
// fits; and an oversize service is over the limit alone but fits at each
// level it is told to ask for.
func checkSplit(t *testing.T, access []Access, e *TooLargeError) {
	t.Helper()
	var got []Access
	for _, g := range e.Groups {
		got = append(got, g...)
		p, err := Build(g, DialectAWS)
		if err != nil || len(p) > MaxSize {
			t.Errorf("suggested group %v does not fit: %v", g, err)
		}
		if !strings.Contains(e.Error(), e.groupText(g)) {
			t.Errorf("message %q does not name group %s", e.Error(), e.groupText(g))
		}
	}
	for _, o := range e.Oversize {
		got = append(got, o.Access)
		if _, err := Build([]Access{o.Access}, DialectAWS); err == nil {
			t.Errorf("%v is called oversize but fits alone", o.Access)
		}
		if !slices.Contains(o.Fits, Full) {
			t.Errorf("%v: Fits = %v lacks full", o.Access, o.Fits)
		}
		for _, l := range o.Fits {
			if _, err := Build([]Access{{o.Access.Service, l}}, DialectAWS); err != nil {
				t.Errorf("%s at suggested %s: %v", o.Access.Service, l, err)
			}
		}
	}
	key := func(a, b Access) int {
		return strings.Compare(a.Service+":"+string(a.Level), b.Service+":"+string(b.Level))
	}
	want := slices.Clone(access)
	slices.SortFunc(want, key)
	slices.SortFunc(got, key)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("split covers (-request +split):\n%s", diff)
	}
}

// TestPolicyTooLargeOversizeService: a service over the limit on its own is
// named with the levels that fit it, and the others still get a split.
func TestPolicyTooLargeOversizeService(t *testing.T) {
	var oversize []string
	for _, svc := range catalog.All() {
		if _, err := Build([]Access{{svc.Prefix, ReadOnly}}, DialectAWS); err != nil {
			oversize = append(oversize, svc.Prefix)
		}
	}
	if len(oversize) == 0 {
		t.Skip("every catalog service's read_only policy fits alone")
	}
	for _, name := range oversize {
		_, err := Build([]Access{{name, ReadOnly}}, DialectAWS)
		var e *TooLargeError
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v", name, err)
		}
		want := fmt.Sprintf("the read_only session policy for %s alone is %d characters; STS allows 2048: ask for level %s for it", name, e.Size, levelChoice(e.Oversize[0].Fits))
		if err.Error() != want {
			t.Errorf("%s:\n got %s\nwant %s", name, err, want)
		}
		checkSplit(t, []Access{{name, ReadOnly}}, e)
	}
	access := []Access{{oversize[0], ReadOnly}, {"glue", ReadOnly}, {"datazone", ReadOnly}, {"s3", Full}}
	_, err := Build(access, DialectAWS)
	var e *TooLargeError
	if !errors.As(err, &e) {
		t.Fatalf("%v: %v", access, err)
	}
	for _, want := range []string{oversize[0] + " alone is", "grant the others as [", `"s3:full"`, `"glue:read_only"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	checkSplit(t, access, e)
}

// TestPolicyTooLargeSplitRandom packs many random requests: every refusal's
// split must fit and cover the request.
func TestPolicyTooLargeSplitRandom(t *testing.T) {
	all := catalog.All()
	refused := 0
	for seed := range 300 {
		n := 2 + seed%12
		var access []Access
		seen := map[string]bool{}
		for i := range n {
			svc := all[(seed*7919+i*104729)%len(all)]
			if seen[svc.Prefix] {
				continue
			}
			seen[svc.Prefix] = true
			level := ReadOnly
			if (seed+i)%5 == 0 && svc.HasViewOnly() {
				level = ViewOnly
			}
			access = append(access, Access{svc.Prefix, level})
		}
		_, err := Build(access, DialectAWS)
		var e *TooLargeError
		if errors.As(err, &e) {
			refused++
			checkSplit(t, access, e)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refused < 30 {
		t.Errorf("only %d of 300 requests were refused; the test proves little", refused)
	}
}

func TestPolicyMinIODialect(t *testing.T) {
	got, err := Build([]Access{{"s3", ReadOnly}}, DialectMinIO)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`
	if got != want {
		t.Errorf("minio s3 read_only policy\n got %s\nwant %s", got, want)
	}
}
