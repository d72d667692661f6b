package policy

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

const escalationData = "internal/escgen/data"

// escalationMethod is one method of a dataset, read here independently of
// the generator.
type escalationMethod struct {
	id       string
	required []string
}

// loadEscalationMethods reads every escalation method of the datasets the
// denies are derived from: pathfinding.cloud's paths and Cloudsplaining's
// methods.
func loadEscalationMethods(t *testing.T) []escalationMethod {
	t.Helper()
	var pf struct {
		Paths []struct {
			ID       string   `json:"id"`
			Required []string `json:"required"`
		} `json:"paths"`
	}
	var cs struct {
		Methods map[string][]string `json:"privilege_escalation_methods"`
	}
	for name, v := range map[string]any{"pathfinding.json": &pf, "cloudsplaining.json": &cs} {
		raw, err := os.ReadFile(filepath.Join(escalationData, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var out []escalationMethod
	for _, p := range pf.Paths {
		out = append(out, escalationMethod{"pathfinding.cloud " + p.ID, p.Required})
	}
	for name, req := range cs.Methods {
		out = append(out, escalationMethod{"Cloudsplaining " + name, req})
	}
	if len(out) != escalationMethods {
		t.Errorf("the data holds %d methods, the generated denies were made from %d: run go generate ./grant/policy", len(out), escalationMethods)
	}
	return out
}

// loadAccessLevels reads the access level of every action the data knows,
// keyed by lowercase action.
func loadAccessLevels(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(escalationData, "access-levels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	levels := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			action, level, _ := strings.Cut(line, "\t")
			levels[strings.ToLower(action)] = level
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return levels
}

func prefixOf(action string) string {
	p, _, _ := strings.Cut(action, ":")
	return strings.ToLower(p)
}

// TestEscalationMethodsBlocked is the dataset's own check: for every
// escalation method, a grant that names all its services at full has at
// least one action the method requires denied, and so has every grant
// that names the service of that action at full, whatever else it names, so
// that the method cannot be completed across grants either. A method the
// datasets add that no deny blocks fails here until the denies are
// regenerated. Opting its services in lifts the block.
func TestEscalationMethodsBlocked(t *testing.T) {
	blocked, unreachable := 0, 0
	for _, m := range loadEscalationMethods(t) {
		var access []Access
		var services []string
		reachable := true
		for _, a := range m.required {
			p := prefixOf(a)
			if _, ok := catalog.Lookup(p); !ok {
				reachable = false
			}
			if !slices.Contains(services, p) {
				services = append(services, p)
				access = append(access, Access{p, Full})
			}
		}
		if !reachable {
			unreachable++ // no grant can name the service, so none can complete it
			continue
		}
		t.Run(m.id, func(t *testing.T) {
			denied := func(p, action string) bool { return granttest.Decide(t, p, action) == "deny" }
			var by []string
			for _, a := range m.required {
				alone, err := Build([]Access{{prefixOf(a), Full}}, DialectAWS)
				if err != nil {
					t.Fatal(err)
				}
				if denied(alone, a) {
					by = append(by, a)
				}
			}
			if len(by) == 0 {
				t.Fatalf("none of %v is denied at full: the policies do not block this method", m.required)
			}
			together, err := Build(access, DialectAWS)
			if err == nil && !slices.ContainsFunc(by, func(a string) bool { return denied(together, a) }) {
				t.Errorf("%v together: none of %v denied; policy %s", access, by, together)
			}
			lifted, err := BuildWith(access, nil, DialectAWS, services)
			if err == nil && slices.ContainsFunc(m.required, func(a string) bool { return denied(lifted, a) }) {
				t.Errorf("allow_escalation %v still denies some of %v; policy %s", services, m.required, lifted)
			}
			blocked++
		})
	}
	t.Logf("%d methods blocked; %d need a service outside the catalog", blocked, unreachable)
	if blocked < 100 {
		t.Errorf("only %d methods blocked: the data was not read", blocked)
	}
}

// TestEscalationDeniesAreClasses holds every deny to the three classes as
// the datasets define them, read here independently of the generator: each
// action a full deny matches is at the access level "Permissions
// management", is an IAM "Write" action, is one Cloudsplaining says returns
// credentials, or is required by an escalation method. And every action of
// the first three classes is denied at full: none is left out.
func TestEscalationDeniesAreClasses(t *testing.T) {
	levels := loadAccessLevels(t)
	var cs struct {
		Credentials []string `json:"actions_that_return_credentials"`
	}
	raw, err := os.ReadFile(filepath.Join(escalationData, "cloudsplaining.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatal(err)
	}
	required := map[string]bool{}
	for _, m := range loadEscalationMethods(t) {
		for _, a := range m.required {
			required[strings.ToLower(a)] = true
		}
	}
	byPrefix := map[string][]string{}
	for a := range levels {
		byPrefix[prefixOf(a)] = append(byPrefix[prefixOf(a)], a)
	}
	// timebound-iam's supplement: actions no dataset classes, each entry
	// with AWS's documentation (data/supplement.json).
	var sup struct {
		Entries []struct {
			Actions []string `json:"actions"`
		} `json:"entries"`
	}
	raw, err = os.ReadFile(filepath.Join(escalationData, "supplement.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sup); err != nil {
		t.Fatal(err)
	}
	supplemented := map[string]bool{}
	for _, e := range sup.Entries {
		for _, p := range e.Actions {
			for _, a := range byPrefix[prefixOf(p)] {
				if granttest.ActionCovers(p, a) {
					supplemented[a] = true
				}
			}
		}
	}
	isClass := func(a string) bool {
		l := levels[a]
		return l == "Permissions management" || prefixOf(a) == "iam" && l == "Write" || slices.Contains(cs.Credentials, a) || supplemented[a]
	}
	for _, svc := range catalog.All() {
		deny := EscalationDenied(Access{svc.Prefix, Full}, DialectAWS)
		for _, p := range deny {
			if !strings.HasPrefix(p, svc.Prefix+":") {
				t.Errorf("%s: deny %s of another service", svc.Prefix, p)
			}
			n := 0
			for _, a := range byPrefix[svc.Prefix] {
				if granttest.ActionCovers(p, a) {
					n++
					if !isClass(a) && !required[a] {
						t.Errorf("%s full: %s denies %s (%s), in no class", svc.Prefix, p, a, levels[a])
					}
				}
			}
			if n == 0 {
				t.Errorf("%s full: %s matches no action AWS lists", svc.Prefix, p)
			}
		}
		for _, a := range byPrefix[svc.Prefix] {
			if isClass(a) && !slices.ContainsFunc(deny, func(p string) bool { return granttest.ActionCovers(p, a) }) {
				t.Errorf("%s full: %s (%s) is not denied", svc.Prefix, a, levels[a])
			}
		}
		// Below full: the class actions the slice allows, and only those.
		for _, l := range []Level{ReadOnly, ViewOnly} {
			for _, a := range EscalationDenied(Access{svc.Prefix, l}, DialectAWS) {
				if strings.ContainsAny(a, "*?") || !slices.ContainsFunc(deny, func(p string) bool { return granttest.ActionCovers(p, a) }) {
					t.Errorf("%s %s: denies %s, not an action denied at full", svc.Prefix, l, a)
				}
			}
		}
	}
}

// TestEscalationIssueExamples: the ways out of full that issue #16 found,
// each denied by default and each lifted by opting its service in; the
// controls show what full still allows, and the supplement's actions are
// denied too. lambda:CreateFunctionUrlConfig is
// in none of the datasets' classes (AWS files it under Write): it stays
// allowed, as the README says, until a dataset counts it.
func TestEscalationIssueExamples(t *testing.T) {
	denied := []string{
		"lambda:UpdateFunctionCode", "glue:UpdateDevEndpoint", "ssm:SendCommand", "ssm:StartSession",
		"ec2:ModifyInstanceAttribute", "ec2:CreateLaunchTemplateVersion", "cloudformation:UpdateStack",
		"cloudformation:CreateChangeSet", "codebuild:StartBuild", "sagemaker:CreatePresignedNotebookInstanceUrl",
		"s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl", "lambda:AddPermission",
		"iam:UpdateUser", "iam:DeactivateMFADevice", "iam:DeletePolicyVersion", "iam:UpdateRole", "iam:PassRole",
		"iam:CreateAccessKey", "iam:AttachRolePolicy", "sts:AssumeRole", "ecr:GetAuthorizationToken",
		// From timebound-iam's supplement (data/supplement.json).
		"iam:TagRole", "sts:AssumeRoot", "organizations:AttachPolicy", "account:StartPrimaryEmailUpdate",
		"identitystore:CreateGroupMembership", "rolesanywhere:CreateTrustAnchor", "ds:ResetUserPassword",
	}
	allowed := []string{
		"lambda:InvokeFunction", "lambda:CreateFunction", "lambda:CreateFunctionUrlConfig", "ec2:RunInstances", "ec2:StopInstances",
		"ssm:GetParameter", "ssm:PutParameter", "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "iam:GetRole", "iam:ListRoles",
		"cloudformation:CreateStack", "cloudformation:DescribeStacks", "codebuild:CreateProject", "glue:CreateDatabase",
		"sts:GetCallerIdentity", "ecr:BatchGetImage",
	}
	for _, a := range denied {
		service := prefixOf(a)
		p, err := Build([]Access{{service, Full}}, DialectAWS)
		if err != nil {
			t.Fatal(err)
		}
		if got := granttest.Decide(t, p, a); got != "deny" {
			t.Errorf("%s full: %s is %s, want deny", service, a, got)
		}
		lifted, err := BuildWith([]Access{{service, Full}}, nil, DialectAWS, []string{service})
		if err != nil {
			t.Fatal(err)
		}
		if got := granttest.Decide(t, lifted, a); got != "allow" {
			t.Errorf("%s full, allow_escalation %s: %s is %s, want allow", service, service, a, got)
		}
	}
	for _, a := range allowed {
		p, err := Build([]Access{{prefixOf(a), Full}}, DialectAWS)
		if err != nil {
			t.Fatal(err)
		}
		if got := granttest.Decide(t, p, a); got != "allow" {
			t.Errorf("%s full: %s is %s, want allow: the Deny is wider than its classes", prefixOf(a), a, got)
		}
	}
	// Below full only credentials AWS files under Read are denied.
	p, err := Build([]Access{{"ecr", ReadOnly}, {"ec2", ReadOnly}}, DialectAWS)
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]string{"ecr:GetAuthorizationToken": "deny", "ec2:GetPasswordData": "deny", "ecr:BatchGetImage": "allow", "ec2:DescribeInstances": "allow"} {
		if got := granttest.Decide(t, p, a); got != want {
			t.Errorf("ecr, ec2 read_only: %s is %s, want %s", a, got, want)
		}
	}
}

// TestEscalationMinIO: MinIO's parser refuses a whole policy over one
// action it does not know, so under the MinIO dialect s3 full denies only
// the class actions MinIO implements; MinIO checks s3:PutBucketPolicy for
// PutBucketAcl too, so the one deny covers both.
func TestEscalationMinIO(t *testing.T) {
	got := EscalationDenied(Access{"s3", Full}, DialectMinIO)
	if !slices.Contains(got, "s3:PutBucketPolicy") || !slices.Contains(got, "s3:DeleteBucketPolicy") {
		t.Errorf("minio s3 full denies %v, want s3:PutBucketPolicy and s3:DeleteBucketPolicy", got)
	}
	raw, err := os.ReadFile(filepath.Join(escalationData, "minio-s3-actions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if !slices.Contains(strings.Split(string(raw), "\n"), a) {
			t.Errorf("minio s3 full denies %s, which MinIO does not know", a)
		}
	}
	if got := EscalationDenied(Access{"s3", ReadOnly}, DialectMinIO); len(got) != 0 {
		t.Errorf("minio s3 read_only denies %v", got)
	}
}

// TestEscalationText: what the approval form says for ssm full.
func TestEscalationText(t *testing.T) {
	got := EscalationText(Access{"ssm", Full})
	for _, want := range []string{"ssm full can run code as the roles its existing resources run as", "ssm:SendCommand", "ssm:StartSession"} {
		if !strings.Contains(got, want) {
			t.Errorf("EscalationText(ssm full) = %q, want it to say %q", got, want)
		}
	}
	if got := EscalationText(Access{"ssm", ReadOnly}); got != "" {
		t.Errorf("EscalationText(ssm read_only) = %q, want nothing: read_only denies nothing of ssm", got)
	}
	if got := EscalationText(Access{"ecr", ReadOnly}); !strings.Contains(got, "credentials") || !strings.Contains(got, "ecr:GetAuthorizationToken") {
		t.Errorf("EscalationText(ecr read_only) = %q", got)
	}
}

// TestEscalationGenerated: escalation_gen.go is what the generator makes of
// the data now.
func TestEscalationGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	out := filepath.Join(t.TempDir(), "escalation_gen.go")
	cmd := exec.Command("go", "run", "./internal/escgen", "-data", escalationData, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("escgen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("escalation_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("escalation_gen.go is stale: run go generate ./grant/policy")
	}
}
