package mcpserver_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
)

// TestMCPGrantAccessViewOnly grants s3 at view_only (by its alias) and checks
// that STS gets exactly the catalog's view-only slice: listing, no reads.
func TestMCPGrantAccessViewOnly(t *testing.T) {
	h := newHarness(t)
	var out grant.GrantOutput
	h.ok("grant_access", map[string]any{"services": []string{"s3"}, "level": "vo", "ttl": "15m"}, &out)
	if out.Level != "view_only" || !cmp.Equal(out.Levels, map[string]string{"s3": "view_only"}) {
		t.Errorf("level %q, levels %v; want view_only", out.Level, out.Levels)
	}
	calls := h.sts.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:ListBucket","s3:ListMultiRegionAccessPoints"],"Resource":"*"}]}`
	if got := aws.ToString(calls[0].Policy); got != policy {
		t.Errorf("session policy\n%s\nwant\n%s", got, policy)
	}
	if diff := cmp.Diff(tags("tb-"+out.SessionID, "view_only", clientName), calls[0].Tags, cmpopts.IgnoreUnexported(types.Tag{})); diff != "" {
		t.Errorf("session tags (-want +got):\n%s", diff)
	}
	s3, _ := catalog.Lookup("s3")
	if !strings.Contains(policy, strings.Join(s3.ViewOnly, `","`)) {
		t.Errorf("the literal above is not the catalog's s3 view-only slice %v", s3.ViewOnly)
	}
}

// TestMCPGrantAccessLevelDefault: an agent that leaves level out, or sends
// it empty, gets the least privilege, read_only.
func TestMCPGrantAccessLevelDefault(t *testing.T) {
	for name, args := range map[string]map[string]any{
		"missing": {"services": []string{"s3"}},
		"empty":   {"services": []string{"s3"}, "level": ""},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			var out grant.GrantOutput
			h.ok("grant_access", args, &out)
			if out.Level != "read_only" {
				t.Errorf("level = %q, want read_only", out.Level)
			}
			calls := h.sts.Calls()
			if len(calls) != 1 || strings.Contains(*calls[0].Policy, "s3:*") {
				t.Errorf("STS calls %d; policy must be read-only", len(calls))
			}
		})
	}
}

// TestMCPGrantAccessOversizeService asks for read_only on a service whose
// read-only slice alone is over STS's limit; list_services offers it only
// full, and the refusal says so.
func TestMCPGrantAccessOversizeService(t *testing.T) {
	h := newHarness(t)
	var out grant.ServicesOutput
	h.ok("list_services", map[string]any{}, &out)
	var oversize []string
	for _, s := range out.Services {
		if !slices.Contains(s.Levels, "read_only") {
			oversize = append(oversize, s.Name)
		}
	}
	if len(oversize) == 0 {
		t.Skip("every catalog service's read-only slice fits in one policy")
	}
	msg := h.toolErr("grant_access", map[string]any{"services": []string{oversize[0]}, "level": "read_only", "ttl": "15m"})
	for _, want := range []string{oversize[0] + " alone is", "STS allows 2048", `ask for level "full"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
	h.checkNothingLeft()
	h.grant([]string{oversize[0]}, "full", "15m")
}

// TestMCPGrantAccessTakenID gives a new grant the id of a live one. The
// grant is refused, and the live grant's keychain item is untouched: storing
// the new credentials under that id would have replaced it.
func TestMCPGrantAccessTakenID(t *testing.T) {
	ids := []string{"taken234", "taken234", "fresh567"}
	h := newHarness(t, func(h *harness) {
		h.m.NewID = func() (string, error) {
			id := ids[0]
			ids = ids[1:]
			return id, nil
		}
	})
	first := h.grant([]string{"s3"}, "read_only", "30m")
	before, err := h.m.Keys.Get(first.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "30m"})
	if !strings.Contains(msg, "grant id taken234 is already in") || !strings.Contains(msg, "try again") {
		t.Errorf("refusal %q does not name the taken id and the next step", msg)
	}
	after, err := h.m.Keys.Get(first.SessionID)
	if err != nil || after.AccessKeyID != before.AccessKeyID || after.SessionToken != before.SessionToken {
		t.Errorf("the live grant's keychain item changed (err %v)", err)
	}
	if diff := cmp.Diff([]string{"tb-taken234"}, h.keychainKeys()); diff != "" {
		t.Errorf("keychain items after the refusal (-want +got):\n%s", diff)
	}
	second := h.grant([]string{"s3"}, "full", "30m")
	if second.SessionID != "fresh567" {
		t.Errorf("the next grant's id = %q, want fresh567", second.SessionID)
	}
	if got := len(h.sessions()); got != 2 {
		t.Errorf("%d live sessions, want 2", got)
	}
}

// TestMCPGrantResources: grant_access's resources narrow the session policy
// STS gets, and show in the result, the listing and the profile; a bad one
// is refused by index before STS is called.
func TestMCPGrantResources(t *testing.T) {
	h := newHarness(t)
	var out grant.GrantOutput
	h.ok("grant_access", map[string]any{"services": []string{"s3"}, "ttl": "30m", "resources": []string{"agent-data", "arn:aws:s3:::logs-*/2026/*"}}, &out)
	want := []string{"arn:aws:s3:::agent-data", "arn:aws:s3:::agent-data/*", "arn:aws:s3:::logs-*/2026/*"}
	if !slices.Equal(out.Resources, want) {
		t.Errorf("result resources = %q, want %q", out.Resources, want)
	}
	calls := h.sts.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	var doc struct {
		Statement []struct {
			Effect   string
			Resource any
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(calls[0].Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 || !cmp.Equal(doc.Statement[0].Resource, []any{want[0], want[1], want[2]}) {
		t.Errorf("session policy %s is not narrowed to %q", aws.ToString(calls[0].Policy), want)
	}
	if got := h.sessions(); len(got) != 1 || !slices.Equal(got[0].Resources, want) {
		t.Errorf("list_active_sessions = %+v, want resources %q", got, want)
	}
	if !strings.Contains(h.profilesText(), "\ntb_resources = "+strings.Join(want, " ")+"\n") {
		t.Errorf("profile has no tb_resources line:\n%s", h.profilesText())
	}

	// Without resources, no resources key anywhere.
	plain := h.grant([]string{"s3"}, "read_only", "30m")
	if plain.Resources != nil {
		t.Errorf("unscoped grant reports resources %q", plain.Resources)
	}

	for _, tc := range []struct {
		name      string
		services  []string
		resources []string
		want      string
	}{
		{"bad arn", []string{"s3"}, []string{"agent-data", "arn:aws:s3:::ok", "arn:aws:s3:::x\n[profile evil]"}, `resources[2] "arn:aws:s3:::x\n[profile evil]" is not an ARN`},
		{"wrong service", []string{"s3"}, []string{"arn:aws:logs:us-east-1:123456789012:log-group:x"}, `resources[0] "arn:aws:logs:us-east-1:123456789012:log-group:x" is a resource of service "logs", which the grant does not include`},
		{"bad bucket", []string{"s3"}, []string{"My_Bucket"}, `resources[0] "My_Bucket" is not an ARN`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.in(t)
			msg := h.toolErr("grant_access", map[string]any{"services": tc.services, "resources": tc.resources})
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want %q", msg, tc.want)
			}
		})
	}
	if n := len(h.sts.Calls()); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2: refused grants must not reach STS", n)
	}
}
