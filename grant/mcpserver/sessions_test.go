package mcpserver_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/jsonschema-go/jsonschema"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/catalog"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

func TestMCPListActiveSessions(t *testing.T) {
	h := newHarness(t)
	if got := h.sessions(); len(got) != 0 {
		t.Fatalf("sessions before any grant: %v", got)
	}
	long := h.grant([]string{"s3", "lambda"}, "full", "30m")
	short := h.grant([]string{"logs"}, "read_only", "15m")

	want := func(g grant.GrantOutput, remaining string) grant.SessionOutput {
		return grant.SessionOutput{
			SessionID: g.SessionID, Profile: g.Profile, Services: g.Services, Level: g.Level,
			Levels: g.Levels, ExpiresAt: g.ExpiresAt, Remaining: remaining,
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    []grant.SessionOutput
		keys    []string          // keychain items afterwards
		status  map[string]string // profile -> tb_status; absent: no section
	}{
		{"soonest expiry first", 0,
			[]grant.SessionOutput{want(short, "15m0s"), want(long, "30m0s")},
			[]string{long.Profile, short.Profile},
			map[string]string{long.Profile: "active", short.Profile: "active"}},
		{"remaining follows the clock", 5*time.Minute + 30*time.Second,
			[]grant.SessionOutput{want(short, "9m30s"), want(long, "24m30s")},
			[]string{long.Profile, short.Profile},
			map[string]string{long.Profile: "active", short.Profile: "active"}},
		{"at expiry the grant is gone", 9*time.Minute + 30*time.Second, // granttest.T0+15m exactly
			[]grant.SessionOutput{want(long, "15m0s")},
			[]string{long.Profile},
			map[string]string{long.Profile: "active", short.Profile: "expired"}},
		{"tombstone kept within 24h", 24 * time.Hour, // granttest.T0+24h15m: short ended 24h ago, long 23h45m ago
			nil,
			nil,
			map[string]string{long.Profile: "expired", short.Profile: "expired"}},
		{"tombstone removed after 24h", time.Second, // short ended 24h0m1s ago
			nil,
			nil,
			map[string]string{long.Profile: "expired"}},
		{"all tombstones removed", 15 * time.Minute,
			nil,
			nil,
			map[string]string{}},
	}
	// The steps share one server and clock, so they run in order.
	for _, st := range steps {
		h.clock.Add(st.advance)
		got := h.sessions()
		if diff := cmp.Diff(st.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: sessions (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.keys, h.keychainKeys(), cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("%s: keychain items (-want +got):\n%s", st.name, diff)
		}
		status := map[string]string{}
		for _, g := range []grant.GrantOutput{long, short} {
			if e, ok := h.entry(g.SessionID); ok {
				status[g.Profile] = string(e.Status)
			}
		}
		if diff := cmp.Diff(st.status, status); diff != "" {
			t.Errorf("%s: profile status (-want +got):\n%s", st.name, diff)
		}
	}
	if !strings.Contains(h.log.String(), "msg=pruned session="+short.Profile) {
		t.Errorf("no prune logged for %s:\n%s", short.Profile, h.log.String())
	}
}

// TestMCPListActiveSessionsContract checks what list_active_sessions's own
// marshalling must keep: arguments are refused, and the result validates
// against the output schema the tool advertises.
func TestMCPListActiveSessionsContract(t *testing.T) {
	h := newHarness(t)
	h.grant([]string{"s3", "logs"}, "read_only", "30m")
	if msg := h.toolErr("list_active_sessions", map[string]any{"all": true}); !strings.Contains(msg, "takes no arguments") {
		t.Errorf("tool error %q does not say the tool takes no arguments", msg)
	}
	tools, err := h.cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out *jsonschema.Schema
	for _, tool := range tools.Tools {
		if tool.Name == "list_active_sessions" {
			raw, err := json.Marshal(tool.OutputSchema)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	resolved, err := out.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := h.call("list_active_sessions", map[string]any{})
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if err := resolved.Validate(v); err != nil {
		t.Errorf("structured content %s does not match the output schema: %v", raw, err)
	}
	if !jsonEqual(text(res), string(raw)) {
		t.Errorf("text content %s differs from structured content %s", text(res), raw)
	}
}

// TestMCPListReadsNoKeychain lists 1,000 live grants, and a prune that ends
// some of them, without one keychain read: a locked or slow keychain must
// never stall a listing.
func TestMCPListReadsNoKeychain(t *testing.T) {
	ring := &granttest.CountingRing{}
	h := newHarness(t, func(h *harness) { ring.Keyring = h.ring; h.ring = ring })
	const n = 1000
	for i := range n {
		ttl := "30m"
		if i%10 == 0 {
			ttl = "15m"
		}
		h.grant([]string{"s3"}, "read_only", ttl)
	}
	if got := ring.Reads(); got != 0 {
		t.Fatalf("%d keychain reads while granting; want 0", got)
	}
	if got := len(h.sessions()); got != n {
		t.Errorf("list_active_sessions lists %d grants, want %d", got, n)
	}
	h.clock.Add(20 * time.Minute) // the 15m grants expire and are pruned
	if got := len(h.sessions()); got != n-n/10 {
		t.Errorf("after expiry, list_active_sessions lists %d grants, want %d", got, n-n/10)
	}
	if got := len(h.keychainKeys()); got != n-n/10 {
		t.Errorf("%d keychain items after the prune, want %d", got, n-n/10)
	}
	if got := ring.Reads(); got != 0 { // keychainKeys reads the array beneath
		t.Errorf("%d keychain reads while listing and pruning; want 0", got)
	}
}

func TestMCPListServices(t *testing.T) {
	tests := []struct {
		name      string
		allow     []string
		wantNames []string // nil: the whole catalog
	}{
		{"whole catalog", nil, nil},
		{"allow-list", []string{"s3", "lambda"}, []string{"lambda", "s3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(h *harness) { h.m.Config.Services = tt.allow })
			var out grant.ServicesOutput
			h.ok("list_services", map[string]any{}, &out)
			var names []string
			byName := map[string]grant.ServiceOutput{}
			for _, s := range out.Services {
				names = append(names, s.Name)
				byName[s.Name] = s
			}
			want := tt.wantNames
			if want == nil {
				for _, s := range catalog.All() {
					want = append(want, s.Prefix)
				}
			}
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("service names (-want +got):\n%s", diff)
			}
			s3 := byName["s3"]
			if s3.Title != "Amazon S3" || s3.Description == "" {
				t.Errorf("s3: title %q, description %q; want \"Amazon S3\" and a description", s3.Title, s3.Description)
			}
			if diff := cmp.Diff([]string{"view_only", "read_only", "full"}, s3.Levels); diff != "" {
				t.Errorf("s3 levels (-want +got):\n%s", diff)
			}
			// ViewOnlyAccess names no secretsmanager action.
			if sm, ok := byName["secretsmanager"]; ok {
				if diff := cmp.Diff([]string{"read_only", "full"}, sm.Levels); diff != "" {
					t.Errorf("secretsmanager levels (-want +got):\n%s", diff)
				}
			}
			// A level is offered only when a grant of it can succeed.
			for _, svc := range out.Services {
				for _, level := range []string{"view_only", "read_only", "full"} {
					_, err := policy.Build([]policy.Access{{Service: svc.Name, Level: policy.Level(level)}}, policy.DialectAWS)
					if offered := slices.Contains(svc.Levels, level); offered != (err == nil) {
						t.Errorf("%s: %s offered = %v, but its policy gives %v", svc.Name, level, offered, err)
					}
				}
			}
		})
	}
}
