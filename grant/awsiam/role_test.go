package awsiam

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func TestTrustPrincipal(t *testing.T) {
	withPath := func(name string) (string, error) {
		return "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/" + name, nil
	}
	noLookup := func(string) (string, error) { return "", errors.New("denied") }
	tests := []struct {
		name, arn   string
		lookup      func(string) (string, error)
		want        string
		wantChained bool
		wantErr     string
	}{
		{"user", "arn:aws:iam::123456789012:user/dev/alice", nil, "arn:aws:iam::123456789012:user/dev/alice", false, ""},
		{"user reported under sts", "arn:aws:sts::123456789012:user/moto", nil, "arn:aws:iam::123456789012:user/moto", false, ""},
		{"sso session with path lookup", "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_abc/alice@example.com", withPath, "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_abc", true, ""},
		{"role session, lookup denied", "arn:aws:sts::123456789012:assumed-role/ci/run-42", noLookup, "arn:aws:iam::123456789012:role/ci", true, ""},
		{"gov partition", "arn:aws-us-gov:sts::123456789012:assumed-role/ci/x", nil, "arn:aws-us-gov:iam::123456789012:role/ci", true, ""},
		{"root", "arn:aws:iam::123456789012:root", nil, "", false, "root user"},
		{"federated user", "arn:aws:sts::123456789012:federated-user/bob", nil, "", false, "neither an IAM user nor a role session"},
		{"garbage", "alice", nil, "", false, "is not an ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, chained, err := TrustPrincipal(tt.arn, tt.lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || chained != tt.wantChained {
				t.Errorf("TrustPrincipal = %q, %v, %v; want %q, %v", got, chained, err, tt.want, tt.wantChained)
			}
		})
	}
}

func TestPermissionPolicy(t *testing.T) {
	p, err := PermissionPolicy([]policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "lambda", Level: policy.Full}, {Service: "iam", Level: policy.Full}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"s3:DescribeJob"`, `"s3:Get*"`, `"lambda:*"`} {
		if !strings.Contains(p, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
	// The ceiling denies the escalation denies of its services at their
	// levels, as every session policy does: the deny holds whatever else is
	// attached to the role.
	var doc struct{ Statement []roleStatement }
	if err := json.Unmarshal([]byte(p), &doc); err != nil {
		t.Fatal(err)
	}
	deny := doc.Statement[len(doc.Statement)-1]
	want := policy.Denied([]policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "s3", Level: policy.ViewOnly}, {Service: "lambda", Level: policy.Full}, {Service: "iam", Level: policy.Full}}, policy.DialectAWS, nil)
	if deny.Sid != "TimeboundIamNoEscalation" || deny.Effect != "Deny" || deny.Resource != "*" || !slices.Equal(deny.Action, want) {
		t.Errorf("last statement %+v, want Sid TimeboundIamNoEscalation denying %v", deny, want)
	}
	for _, a := range []string{"iam:CreateAccessKey", "iam:PassRole", "lambda:UpdateFunctionCode", "lambda:AddPermission"} {
		if got := granttest.Decide(t, p, a); got != "deny" {
			t.Errorf("ceiling: %s is %s, want deny", a, got)
		}
	}
	// allow_escalation lifts a service's denies from the ceiling too, or no
	// grant could have them lifted.
	lifted, err := PermissionPolicy([]policy.Access{{Service: "lambda", Level: policy.Full}, {Service: "iam", Level: policy.Full}}, []string{"lambda"})
	if err != nil {
		t.Fatal(err)
	}
	if got := granttest.Decide(t, lifted, "lambda:UpdateFunctionCode"); got != "allow" {
		t.Errorf("ceiling with allow_escalation lambda: lambda:UpdateFunctionCode is %s, want allow", got)
	}
	if got := granttest.Decide(t, lifted, "iam:PassRole"); got != "deny" {
		t.Errorf("ceiling with allow_escalation lambda: iam:PassRole is %s, want deny", got)
	}
	// A ceiling with nothing to deny has no Deny statement.
	if p, err := PermissionPolicy([]policy.Access{{Service: "s3", Level: policy.ReadOnly}}, nil); err != nil || strings.Contains(p, `"Deny"`) {
		t.Errorf("s3 read_only ceiling: %v\n%s", err, p)
	}
	var all []policy.Access
	for _, s := range catalog.All() {
		all = append(all, policy.Access{Service: s.Prefix, Level: policy.ReadOnly})
	}
	if _, err := PermissionPolicy(all, nil); err == nil || !strings.Contains(err.Error(), "IAM allows 10240") {
		t.Errorf("read_only ceiling for the whole catalog: err = %v, want the size limit", err)
	}
	if _, err := PermissionPolicy([]policy.Access{{Service: "nope", Level: policy.ReadOnly}}, nil); err == nil || !strings.Contains(err.Error(), `"nope" is not an AWS service prefix`) {
		t.Errorf("unknown service: err = %v", err)
	}
}

func TestRoleARN(t *testing.T) {
	got, err := RoleARN("arn:aws:iam::123456789012:user/alice", "timebound-iam-broker")
	if err != nil || got != "arn:aws:iam::123456789012:role/timebound-iam-broker" {
		t.Errorf("RoleARN = %q, %v", got, err)
	}
}

// TestCeilingCoversSessionPolicy: effective permissions are the role's
// policies AND the session policy, so an action a grant sends that the
// ceiling leaves out is one the grant asks for and never gets. For every
// catalog service at every level, each action of each Allow statement of the
// session policy must match a pattern of a ceiling Allow statement under the
// same condition.
func TestCeilingCoversSessionPolicy(t *testing.T) {
	type stmt struct {
		Effect    string
		Action    []string
		Condition json.RawMessage
	}
	parse := func(t *testing.T, doc string) []stmt {
		t.Helper()
		var d struct{ Statement []stmt }
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, doc)
		}
		return d.Statement
	}
	sameCondition := func(a, b json.RawMessage) bool {
		if len(a) == 0 || len(b) == 0 {
			return len(a) == len(b)
		}
		return sameJSON(string(a), string(b))
	}
	for _, svc := range catalog.All() {
		for _, level := range policy.ServiceLevels(svc) {
			t.Run(svc.Prefix+"/"+string(level), func(t *testing.T) {
				access := []policy.Access{{Service: svc.Prefix, Level: level}}
				session, err := policy.Build(access, policy.DialectAWS)
				var tooLarge *policy.TooLargeError
				if errors.As(err, &tooLarge) {
					t.Skipf("no grant can send it: %v", err)
				}
				if err != nil {
					t.Fatal(err)
				}
				// Setup's ceilings are read_only or full; a view_only grant
				// runs under a read_only one.
				ceilingLevel := level
				if level == policy.ViewOnly {
					ceilingLevel = policy.ReadOnly
				}
				ceilingDoc, err := PermissionPolicy([]policy.Access{{Service: svc.Prefix, Level: ceilingLevel}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				ceiling := parse(t, ceilingDoc)
				for _, s := range parse(t, session) {
					if s.Effect != "Allow" {
						continue
					}
					for _, action := range s.Action {
						if !slices.ContainsFunc(ceiling, func(c stmt) bool {
							return c.Effect == "Allow" && sameCondition(c.Condition, s.Condition) &&
								slices.ContainsFunc(c.Action, func(p string) bool { return granttest.ActionCovers(p, action) })
						}) {
							t.Errorf("session policy allows %q (condition %s), the ceiling does not", action, s.Condition)
						}
					}
				}
			})
		}
	}
}

func TestCheckRoleName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"timebound-iam-broker", true},
		{"a", true},
		{"A_b+c=d,e.f@g-h", true},
		{strings.Repeat("r", 64), true},
		{strings.Repeat("r", 65), false},
		{"", false},
		{"my broker", false},
		{"team/broker", false},
		{"brøker", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRoleName(tt.name)
			if (err == nil) != tt.ok {
				t.Errorf("CheckRoleName(%q) = %v, want ok %v", tt.name, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "1 to 64 letters, digits and + = , . @ _ -") {
				t.Errorf("error does not say what is allowed: %v", err)
			}
		})
	}
}

func TestRoleNameOf(t *testing.T) {
	tests := map[string]string{
		"arn:aws:iam::123456789012:role/timebound-iam-broker": "timebound-iam-broker",
		"arn:aws:iam::123456789012:role/team/agents/broker":   "broker",
		"arn:aws-cn:iam::123456789012:role/b":                 "b",
		"arn:aws:iam::123456789012:user/alice":                "",
		"broker":                                              "",
		"":                                                    "",
	}
	for arn, want := range tests {
		if got := RoleNameOf(arn); got != want {
			t.Errorf("RoleNameOf(%q) = %q, want %q", arn, got, want)
		}
	}
}

// TestFullServicesRoundTrip: setup offers the ceiling it wrote last time, so
// reading the levels back from PermissionPolicy must give what went in.
func TestFullServicesRoundTrip(t *testing.T) {
	doc, err := PermissionPolicy([]policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "lambda", Level: policy.Full}, {Service: "s3express", Level: policy.ReadOnly}, {Service: "logs", Level: policy.Full}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := FullServices(doc)
	want := map[string]bool{"lambda": true, "logs": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FullServices = %v, want %v", got, want)
	}
	if got := FullServices("not json"); len(got) != 0 {
		t.Errorf("FullServices(garbage) = %v, want none", got)
	}
}

// fakeIAM answers for a broker that already matches spec; calls it does not
// define panic through the nil interface, which fails the test.
type fakeIAM struct {
	IAMAPI
	spec     RoleSpec
	listErr  error
	inline   []string
	attached []AttachedPolicy
}

func (f *fakeIAM) GetRole(context.Context, string) (Role, error) {
	return Role{ARN: "arn:aws:iam::123456789012:role/" + f.spec.Name, TrustPolicy: f.spec.TrustPolicy, MaxSessionDuration: f.spec.MaxSessionDuration}, nil
}

func (f *fakeIAM) GetRolePolicy(context.Context, string, string) (string, error) {
	return f.spec.PermissionPolicy, nil
}

func (f *fakeIAM) ListRolePolicies(context.Context, string) ([]string, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	return append([]string{CeilingPolicyName}, f.inline...), nil
}

func (f *fakeIAM) ListAttachedRolePolicies(context.Context, string) ([]AttachedPolicy, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	return f.attached, nil
}

// TestApplyRoleOtherPolicies: other policies are warnings, never changes; a
// refusal to list them is a note, not a failed apply.
func TestApplyRoleOtherPolicies(t *testing.T) {
	perm, err := PermissionPolicy([]policy.Access{{Service: "s3", Level: policy.ReadOnly}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := RoleSpec{Name: "broker", TrustPolicy: TrustPolicy("arn:aws:iam::123456789012:user/alice"), PermissionPolicy: perm, MaxSessionDuration: time.Hour}
	tests := []struct {
		name       string
		fake       *fakeIAM
		wantOthers []string
		wantNotes  []string
	}{
		{"only the ceiling", &fakeIAM{}, nil, nil},
		{"others", &fakeIAM{inline: []string{"legacy"}, attached: []AttachedPolicy{{Name: "ReadOnlyAccess", ARN: "arn:aws:iam::aws:policy/ReadOnlyAccess"}}},
			[]string{`inline policy "legacy"`, `managed policy "ReadOnlyAccess" attached`}, nil},
		{"listing refused", &fakeIAM{listErr: errors.New("AccessDenied")}, nil,
			[]string{`listing the inline policies of role "broker": AccessDenied`, `listing the managed policies attached to role "broker": AccessDenied`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fake.spec = spec
			r, err := ApplyRole(context.Background(), tt.fake, spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Changes) != 0 {
				t.Errorf("changes %q for a role that matches", r.Changes)
			}
			check := func(what string, got, want []string) {
				if len(got) != len(want) {
					t.Errorf("%s = %q, want %d", what, got, len(want))
					return
				}
				for i := range want {
					if !strings.Contains(got[i], want[i]) {
						t.Errorf("%s[%d] = %q, want it to contain %q", what, i, got[i], want[i])
					}
				}
			}
			check("Others", r.Others, tt.wantOthers)
			check("Notes", r.Notes, tt.wantNotes)
		})
	}
}

// TestTrustPolicies: the two trust policies, as IAM reads them. The MFA
// role's is the base role's statement with the one condition, as "Bool":
// "BoolIfExists" would let a request without MFA information through.
func TestTrustPolicies(t *testing.T) {
	const principal = "arn:aws:iam::123456789012:user/alice"
	statement := map[string]any{
		"Sid":       "TimeboundIamBaseIdentity",
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": principal},
		"Action":    []any{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"},
	}
	withMFA := map[string]any{}
	for k, v := range statement {
		withMFA[k] = v
	}
	withMFA["Sid"] = "TimeboundIamBaseIdentityWithMFA"
	withMFA["Condition"] = map[string]any{"Bool": map[string]any{"aws:MultiFactorAuthPresent": "true"}}
	tests := []struct {
		name string
		doc  string
		want map[string]any
	}{
		{"base role", TrustPolicy(principal), statement},
		{"MFA role", MFATrustPolicy(principal), withMFA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			if err := json.Unmarshal([]byte(tt.doc), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, tt.doc)
			}
			want := map[string]any{"Version": "2012-10-17", "Statement": []any{tt.want}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("trust policy:\n%s\nwant the equivalent of:\n%v", tt.doc, want)
			}
			if strings.Contains(tt.doc, "IfExists") {
				t.Errorf("trust policy uses an IfExists condition:\n%s", tt.doc)
			}
		})
	}
}

// TestBaseCeiling: with an MFA role, the base role holds no service at full.
func TestBaseCeiling(t *testing.T) {
	ceiling := []policy.Access{{Service: "s3", Level: policy.Full}, {Service: "logs", Level: policy.ReadOnly}, {Service: "lambda", Level: policy.Full}}
	got := BaseCeiling(ceiling)
	want := []policy.Access{{Service: "s3", Level: policy.ReadOnly}, {Service: "logs", Level: policy.ReadOnly}, {Service: "lambda", Level: policy.ReadOnly}}
	if !slices.Equal(got, want) {
		t.Errorf("BaseCeiling = %v, want %v", got, want)
	}
	if ceiling[0].Level != policy.Full {
		t.Error("BaseCeiling changed its argument")
	}
	base, err := PermissionPolicy(got, nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := PermissionPolicy(ceiling, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"s3:PutObject", "lambda:InvokeFunction"} {
		if d := granttest.Decide(t, base, action); d == "allow" {
			t.Errorf("base role ceiling allows %s", action)
		}
		if d := granttest.Decide(t, full, action); d != "allow" {
			t.Errorf("MFA role ceiling: %s is %s, want allow", action, d)
		}
	}
	if d := granttest.Decide(t, base, "s3:GetObject"); d != "allow" {
		t.Errorf("base role ceiling: s3:GetObject is %s, want allow", d)
	}
}
