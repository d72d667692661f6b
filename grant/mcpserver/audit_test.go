package mcpserver_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/grant/policy"
)

// auditLog opens the harness's audit log.
func (h *harness) auditLog() *audit.Log {
	return audit.Open(filepath.Join(h.m.Config.Home, audit.FileName))
}

// auditEntries verifies the harness's audit log and returns its events.
func (h *harness) auditEntries() []audit.Event {
	h.t.Helper()
	l := h.auditLog()
	n, err := l.Verify()
	if err != nil {
		h.t.Fatal(err)
	}
	entries, err := l.Read()
	if err != nil {
		h.t.Fatal(err)
	}
	if len(entries) != n {
		h.t.Fatalf("Read() = %d entries; Verify() counted %d", len(entries), n)
	}
	out := make([]audit.Event, len(entries))
	for i, e := range entries {
		out[i] = e.Event
	}
	return out
}

// TestAuditManagerEvents grants, refuses, revokes and prunes over MCP and
// checks the entries the Manager writes for each, in order, chained.
func TestAuditManagerEvents(t *testing.T) {
	h := newHarness(t)
	a := h.grant([]string{"s3", "logs"}, "read_only", "30m")
	h.toolErr("grant_access", map[string]any{"services": []string{"nosuchservice"}, "level": "read_only"})
	var rev mcpserver.RevokeOutput
	h.ok("revoke_access", map[string]any{"session_id": a.Profile}, &rev)
	b := h.grant([]string{"ec2"}, "full", "15m")
	h.clock.Add(16 * time.Minute)
	h.sessions() // prunes b

	issued := h.sts.Secrets()
	// The MCP front-end records each request; the harness's approval =
	// never makes the config ("policy") the approver.
	readOnly := map[string]string{"s3": "read_only", "logs": "read_only"}
	want := []audit.Event{
		{Time: granttest.T0, Event: audit.Requested, Services: []string{"s3", "logs"}, Levels: readOnly, TTL: "30m", Client: clientName},
		{Time: granttest.T0, Event: audit.Granted, Session: a.Profile, Services: []string{"s3", "logs"},
			Levels: readOnly, TTL: "30m", Client: clientName, Approver: grant.ApproverPolicy,
			AccessKey: grant.MaskKey(issued[0].AccessKeyID)},
		{Time: granttest.T0, Event: audit.Requested, Services: []string{"nosuchservice"}, Levels: map[string]string{"nosuchservice": "read_only"},
			TTL: "1h", Client: clientName},
		{Time: granttest.T0, Event: audit.Refused, Services: []string{"nosuchservice"}, Levels: map[string]string{"nosuchservice": "read_only"},
			TTL: "1h", Client: clientName, Detail: `services[0] "nosuchservice" is not an AWS service prefix in the catalog`},
		{Time: granttest.T0, Event: audit.Revoked, Session: a.Profile, Services: []string{"s3", "logs"}, Levels: readOnly},
		{Time: granttest.T0, Event: audit.Requested, Services: []string{"ec2"}, Levels: map[string]string{"ec2": "full"}, TTL: "15m", Client: clientName},
		{Time: granttest.T0, Event: audit.Granted, Session: b.Profile, Services: []string{"ec2"}, Levels: map[string]string{"ec2": "full"},
			TTL: "15m", Client: clientName, Approver: grant.ApproverPolicy, AccessKey: grant.MaskKey(issued[1].AccessKeyID)},
		{Time: granttest.T0.Add(16 * time.Minute), Event: audit.Pruned, Session: b.Profile, Services: []string{"ec2"}, Levels: map[string]string{"ec2": "full"}},
	}
	got := h.auditEntries()
	// The refusal's detail is the whole error; its start says enough.
	detail := cmp.Comparer(func(x, y string) bool { return strings.HasPrefix(x, y) || strings.HasPrefix(y, x) })
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Detail" }, detail)); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	for _, e := range got {
		if e.AccessKey != "" && !strings.HasPrefix(e.AccessKey, "****") || len(e.AccessKey) > 8 {
			t.Errorf("access key %q is not masked to its last 4 characters", e.AccessKey)
		}
	}
	// The harness's secret scan, at cleanup, also reads the audit log for
	// every issued key id, secret key and session token.
}

// TestAuditRequestFields: a grant made straight on the Manager, as the CLI
// does, carries the reason, client and approver into its entry.
func TestAuditRequestFields(t *testing.T) {
	h := newHarness(t)
	s, err := h.m.Grant(context.Background(), grant.Request{
		Access: []policy.Access{{Service: "s3", Level: policy.ViewOnly}}, TTL: 20 * time.Minute,
		Reason: "list the release buckets", Client: "cli", Approver: "terminal",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := h.auditEntries()
	want := []audit.Event{{Time: granttest.T0, Event: audit.Granted, Session: s.Profile(), Services: []string{"s3"}, Levels: map[string]string{"s3": "view_only"},
		TTL: "20m", Reason: "list the release buckets", Client: "cli", Approver: "terminal", AccessKey: grant.MaskKey(h.sts.Secrets()[0].AccessKeyID)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	// Front-ends record their own events through Record, in the same chain.
	if err := h.m.Record(audit.Event{Event: audit.Approved, Session: s.Profile(), Approver: "terminal"}); err != nil {
		t.Fatal(err)
	}
	if got := h.auditEntries(); len(got) != 2 || got[1].Event != audit.Approved || !got[1].Time.Equal(granttest.T0) {
		t.Errorf("after Record: %+v", got)
	}
}

// breakAuditLog puts a directory where the audit log belongs: it cannot be
// opened for writing, whoever runs the test, root included.
func breakAuditLog(h *harness) {
	path := filepath.Join(h.m.Config.Home, audit.FileName)
	if err := os.RemoveAll(path); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		h.t.Fatal(err)
	}
}

// TestAuditWriteFailureRefusesGrant: a grant whose "granted" entry cannot be
// written is refused and rolled back: no profile, no keychain item, no
// pending marker.
func TestAuditWriteFailureRefusesGrant(t *testing.T) {
	// A log that cannot take the request's entry stops the grant before
	// STS; one that takes it but not the grant's rolls the grant back.
	tests := []struct {
		name  string
		setup func(h *harness)
		want  string
		calls int
	}{
		{"audit.log is a directory", breakAuditLog, "the audit log could not record the request, so no grant was made", 0},
		{"append fails (read-only file system)", func(h *harness) {
			h.m.Audit = failingAuditor{}
		}, "the audit log could not record the request, so no grant was made", 0},
		{"only the granted entry fails", func(h *harness) {
			h.m.Audit = failingAuditor{only: audit.Granted, next: h.m.Audit}
		}, "the audit log could not record the grant, so it was not made", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.setup)
			msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"})
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, audit.FileName) {
				t.Errorf("tool error %q does not say %q and where", msg, tt.want)
			}
			if n := len(h.sts.Calls()); n != tt.calls {
				t.Errorf("%d AssumeRole calls; want %d", n, tt.calls)
			}
			h.checkNothingLeft()
			if markers, _ := os.ReadDir(h.m.Profiles.Path + ".pending"); len(markers) != 0 {
				t.Errorf("pending markers left: %v", markers)
			}
			if got := h.sessions(); len(got) != 0 {
				t.Errorf("live sessions after a refused grant: %v", got)
			}
		})
	}
}

// failingAuditor refuses every append, as a full disk or read-only mount;
// with only set, just the events of that kind, passing the others to next.
type failingAuditor struct {
	only string
	next grant.Auditor
}

func (f failingAuditor) Append(e audit.Event) error {
	if f.only != "" && e.Event != f.only {
		return f.next.Append(e)
	}
	return fmt.Errorf("writing the audit log %s: read-only file system", audit.FileName)
}

// TestAuditWriteFailureStillRevokes: a revoke or a prune whose entry cannot
// be written still ends the grant, and says the entry is missing.
func TestAuditWriteFailureStillRevokes(t *testing.T) {
	h := newHarness(t)
	a := h.grant([]string{"s3"}, "read_only", "30m")
	b := h.grant([]string{"logs"}, "read_only", "15m")
	c := h.grant([]string{"ec2"}, "read_only", "30m")
	breakAuditLog(h)

	// The agent hears of the missing record in revoke_access's result.
	var out mcpserver.RevokeOutput
	h.ok("revoke_access", map[string]any{"session_id": c.Profile}, &out)
	if !out.Revoked || !strings.Contains(out.AuditError, "revoked "+c.Profile+", but the audit log could not record it") {
		t.Errorf("revoke_access = %+v; want revoked with audit_error", out)
	}

	res, err := h.m.Revoke(context.Background(), []string{a.Profile})
	if err != nil {
		t.Fatalf("Revoke with a broken audit log = %v; want the revoke done", err)
	}
	if len(res) != 1 || !res[0].Revoked || res[0].AuditErr == nil || !strings.Contains(res[0].AuditErr.Error(), "revoked "+a.Profile+", but the audit log could not record it") {
		t.Errorf("Revoke() = %+v; want revoked with an audit error", res)
	}
	h.clock.Add(16 * time.Minute)
	if err := h.m.Prune(context.Background()); err == nil || !strings.Contains(err.Error(), "pruned "+b.Profile+", but the audit log could not record it") {
		t.Errorf("Prune() = %v; want the missing entry reported", err)
	}
	if keys := h.keychainKeys(); len(keys) != 0 {
		t.Errorf("keychain items left: %v; a broken audit log must not keep a secret alive", keys)
	}
	if !strings.Contains(h.log.String(), "recording a revoke in the audit log failed") {
		t.Errorf("no warning logged:\n%s", h.log.String())
	}
}

// TestLimitServiceLevel: a service's maximum level passes, the level above
// it is refused naming the limit, and list_services offers only the levels
// within it.
func TestLimitServiceLevel(t *testing.T) {
	h := newHarness(t, func(h *harness) {
		cfg, err := config.Load(h.m.Config.Home, func(string) string { return "" },
			map[string]string{"role_arn": granttest.Role, "services": "s3:read_only, logs, ec2:view_only, lambda:full", "approval": "never"})
		if err != nil {
			h.t.Fatal(err)
		}
		h.m.Config = cfg
	})
	for _, ok := range []struct{ service, level string }{
		{"s3", "view_only"}, {"s3", "read_only"}, {"ec2", "view_only"}, {"logs", "full"}, {"lambda", "full"},
	} {
		h.grant([]string{ok.service}, ok.level, "15m")
	}
	for _, bad := range []struct {
		services []string
		level    string
		want     string
	}{
		{[]string{"s3"}, "full", `services[0] "s3" at full is over this config's limit: s3 is allowed up to read_only (services, from a flag)`},
		{[]string{"logs", "ec2"}, "read_only", `services[1] "ec2" at read_only is over this config's limit: ec2 is allowed up to view_only`},
		{[]string{"ec2"}, "full", `ec2 is allowed up to view_only`},
		{[]string{"iam"}, "read_only", `services[0] "iam" is not allowed here; allowed: s3:read_only, logs, ec2:view_only, lambda:full`},
	} {
		msg := h.toolErr("grant_access", map[string]any{"services": bad.services, "level": bad.level, "ttl": "15m"})
		if !strings.Contains(msg, bad.want) {
			t.Errorf("%v at %s: tool error %q lacks %q", bad.services, bad.level, msg, bad.want)
		}
	}
	var out grant.ServicesOutput
	h.ok("list_services", map[string]any{}, &out)
	got := map[string][]string{}
	for _, s := range out.Services {
		got[s.Name] = s.Levels
	}
	want := map[string][]string{"s3": {"view_only", "read_only"}, "logs": {"view_only", "read_only", "full"}, "ec2": {"view_only"}, "lambda": {"view_only", "read_only", "full"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list_services levels (-want +got):\n%s", diff)
	}
}

// TestLimitMaxGrants: the N-th grant passes, the N+1-th is refused naming
// max_grants, and a revoke or an expiry makes room again.
func TestLimitMaxGrants(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.m.Config.MaxGrants = 3 })
	a := h.grant([]string{"s3"}, "read_only", "30m")
	h.grant([]string{"s3"}, "read_only", "15m")
	h.grant([]string{"logs"}, "read_only", "30m")
	want := "max_grants is 3 and 3 grants are live; revoke one (revoke_access, or timebound-iam revoke) or wait for one to expire"
	if msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"}); msg != want {
		t.Errorf("4th grant: %q; want %q", msg, want)
	}
	if n := len(h.sts.Calls()); n != 3 {
		t.Errorf("%d AssumeRole calls; want 3: a grant over max_grants is refused before STS", n)
	}
	var rev mcpserver.RevokeOutput
	h.ok("revoke_access", map[string]any{"session_id": a.Profile}, &rev)
	h.grant([]string{"s3"}, "read_only", "15m")
	h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"})
	h.clock.Add(15 * time.Minute) // two 15m grants expire
	h.grant([]string{"s3"}, "read_only", "15m")
	h.grant([]string{"s3"}, "read_only", "15m")
	h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"})
	if n := len(h.sessions()); n != 3 {
		t.Errorf("%d live sessions; want 3", n)
	}
	refused := 0
	for _, e := range h.auditEntries() {
		if e.Event == audit.Refused && strings.HasPrefix(e.Detail, "max_grants is 3") {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d refusals for max_grants in the audit log; want 3", refused)
	}
}

// TestLimitMaxGrantsUnderLock: the count is checked again under the profiles
// lock, so grants that all passed the early check cannot exceed it.
func TestLimitMaxGrantsUnderLock(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.m.Config.MaxGrants = 2 })
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := h.m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: 15 * time.Minute})
			errs <- err
		}()
	}
	ok := 0
	for range n {
		if err := <-errs; err == nil {
			ok++
		} else if !strings.Contains(err.Error(), "max_grants is 2") {
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 2 {
		t.Errorf("%d grants made; want max_grants = 2", ok)
	}
	if keys := h.keychainKeys(); len(keys) != 2 {
		t.Errorf("keychain items %v; want 2", keys)
	}
}

// TestLimitMaxTTL: a ttl at max_ttl passes; a second over it is refused
// naming max_ttl and its value.
func TestLimitMaxTTL(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.m.Config.MaxTTL = 2 * time.Hour })
	h.grant([]string{"s3"}, "read_only", "2h")
	for _, ttl := range []string{"2h0m1s", "3h"} {
		msg := h.toolErr("grant_access", map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": ttl})
		if !strings.Contains(msg, "max_ttl is 2h") {
			t.Errorf("ttl %s: tool error %q does not name max_ttl and its value", ttl, msg)
		}
	}
	s, err := h.m.Grant(context.Background(), grant.Request{Access: []policy.Access{{Service: "s3", Level: policy.ReadOnly}}, TTL: 2*time.Hour + time.Second})
	if err == nil || !strings.Contains(err.Error(), "max_ttl is 2h") {
		t.Errorf("Grant over max_ttl = %v, %v; want a refusal naming max_ttl", s, err)
	}
	// Never silently shrunk: the one grant made has the ttl asked for.
	for _, c := range h.sts.Calls() {
		if got := *c.DurationSeconds; got != 7200 {
			t.Errorf("AssumeRole DurationSeconds %d; want 7200", got)
		}
	}
}

// TestAuditRefusalBounded: a refused request is the requester's unchecked
// input; its entry is bounded, not a copy of whatever was sent.
func TestAuditRefusalBounded(t *testing.T) {
	h := newHarness(t)
	var access []policy.Access
	for i := range 200 {
		access = append(access, policy.Access{Service: fmt.Sprintf("svc%d%s", i, strings.Repeat("x", 300)), Level: policy.ReadOnly})
	}
	_, err := h.m.Grant(context.Background(), grant.Request{Access: access, TTL: time.Hour, Reason: strings.Repeat("why ", 10000), Client: strings.Repeat("c", 5000)})
	if err == nil {
		t.Fatal("Grant of 200 unknown services succeeded")
	}
	got := h.auditEntries()
	if len(got) != 1 || got[0].Event != audit.Refused {
		t.Fatalf("audit events %+v; want one refusal", got)
	}
	e := got[0]
	if len(e.Services) != 51 || e.Services[50] != "...(150 more)" || len(e.Levels) != 50 {
		t.Errorf("%d services (last %q), %d levels; want 50 and a count of the rest", len(e.Services), e.Services[len(e.Services)-1], len(e.Levels))
	}
	if len(e.Reason) > grant.MaxReason || len(e.Client) > 1000 || len(e.Detail) > 1000 || len(e.Services[0]) > 100 {
		t.Errorf("unbounded fields: reason %d, client %d, detail %d, service %d characters", len(e.Reason), len(e.Client), len(e.Detail), len(e.Services[0]))
	}
	data, _ := os.ReadFile(h.auditLog().Path)
	if len(data) > 20000 {
		t.Errorf("one refusal wrote %d bytes to the audit log", len(data))
	}
}
