package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/profiles"
)

func (d *demo) intro(bin string) {
	d.t.line("timebound-iam demo: the seed scenario, for real")
	d.t.line("  MinIO %s (STS and S3), ready in %v; buckets %s (holding %s), %s, %s",
		d.m.URL, d.m.Ready.Round(time.Millisecond), d.sc.Readable, d.sc.Object, d.sc.Other, d.sc.Writable)
	d.t.line("  the broker: MinIO user %q, whose own policy reads and lists %s only; its keys are the server's base credentials",
		d.sc.Broker.AccessKeyID, d.sc.Readable)
	d.t.line("  the agent: an MCP client on the official TypeScript SDK, driving %s serve", bin)
	d.t.line("  every aws below is %s, run with AWS_CONFIG_FILE=<config_file> and no other credentials,", awsCLI)
	d.t.line("  plus --endpoint-url %s --region us-east-1 (the CLI 2.9 ignores endpoint_url in profiles)", d.m.URL)
}

// grantArgs is grant_access's input, in the order a person writes it.
type grantArgs struct {
	Services []string `json:"services"`
	Level    string   `json:"level"`
	TTL      string   `json:"ttl"`
}

func (d *demo) step1() error {
	d.t.heading(1, "The agent asks for s3 read_only for 15 minutes, and lists its bucket")
	g, err := d.grant(grantArgs{[]string{"s3"}, "read_only", "15m"})
	if err != nil {
		return err
	}
	r := d.aws(g.Profile, "s3", "ls", "s3://"+d.sc.Readable)
	if r.err != nil || !strings.Contains(r.out, d.sc.Object) {
		return fmt.Errorf("listing %s: %v; want %s listed", d.sc.Readable, r.err, d.sc.Object)
	}
	d.t.why("the session policy allows s3 reads and the broker may read %s; the AWS CLI got the keys from the helper itself", d.sc.Readable)
	return nil
}

func (d *demo) step2() error {
	d.t.heading(2, "The agent asks for s3 full, and uploads audit.test to %s", d.sc.Readable)
	g, err := d.grant(grantArgs{[]string{"s3"}, "full", "15m"})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.tmp, "audit.test"), []byte("audit\n"), 0o600); err != nil {
		return err
	}
	r := d.aws(g.Profile, "s3", "cp", "audit.test", "s3://"+d.sc.Readable+"/audit.test")
	if r.err == nil || !strings.Contains(r.out, "AccessDenied") {
		return fmt.Errorf("upload to %s: %v; want AccessDenied", d.sc.Readable, r.err)
	}
	if _, err := d.m.MC("stat", "rig/"+d.sc.Readable+"/audit.test"); err == nil {
		return fmt.Errorf("audit.test is in %s after the denied upload", d.sc.Readable)
	}
	d.t.why("full allows s3:*, but a grant is its session policy AND the broker's own policy, which cannot write")
	return nil
}

func (d *demo) step3() error {
	d.t.heading(3, "The agent lists another team's bucket with the read_only grant")
	r := d.aws(d.profile(0), "s3", "ls", "s3://"+d.sc.Other)
	if r.err == nil || !strings.Contains(r.out, "AccessDenied") {
		return fmt.Errorf("listing %s: %v; want AccessDenied", d.sc.Other, r.err)
	}
	d.t.why("read_only allows s3 reads on any bucket, but the broker may list %s only", d.sc.Readable)
	return nil
}

func (d *demo) step4() error {
	d.t.heading(4, "The agent lists its active sessions")
	res, err := d.call("list_active_sessions", struct{}{})
	if err != nil {
		return err
	}
	var out struct {
		Sessions []grant.SessionOutput `json:"sessions"`
	}
	if err := json.Unmarshal(res.StructuredContent, &out); err != nil {
		return fmt.Errorf("list_active_sessions result: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range out.Sessions {
		d.t.result(fmt.Sprintf("%s  %s  expires %s (%s left)", s.Profile, levels(s.Levels), s.ExpiresAt, s.Remaining))
		seen[s.Profile] = true
	}
	if len(out.Sessions) != 2 || !seen[d.profile(0)] || !seen[d.profile(1)] {
		return fmt.Errorf("list_active_sessions listed %d sessions; want %s and %s", len(out.Sessions), d.profile(0), d.profile(1))
	}
	d.t.why("the agent can reuse a live grant instead of asking again; the list reads the profiles' metadata, not the keychain")
	return nil
}

func (d *demo) step5() error {
	p := d.profile(0)
	d.t.heading(5, "The read_only grant is revoked, and the agent tries again")
	res, err := d.call("revoke_access", map[string]string{"session_id": p})
	if err != nil {
		return err
	}
	var out mcpserver.RevokeOutput
	if err := json.Unmarshal(res.StructuredContent, &out); err != nil {
		return fmt.Errorf("revoke_access result: %w", err)
	}
	d.t.result(fmt.Sprintf("session_id=%s revoked=%v status=%s", out.SessionID, out.Revoked, out.Status))
	if !out.Revoked || out.Status != string(profiles.Revoked) {
		return fmt.Errorf("revoke_access %s: revoked=%v status=%q; want true, revoked", p, out.Revoked, out.Status)
	}
	r := d.aws(p, "s3", "ls", "s3://"+d.sc.Readable)
	if r.err == nil || !strings.Contains(r.out, "grant "+p+" was revoked at") || !strings.Contains(r.out, "call grant_access again") {
		return fmt.Errorf("aws after the revoke: %v; want the helper's revoked message", r.err)
	}
	d.t.why("the keychain item is gone; the profile stays as a tombstone so the helper can say why and what next")
	return nil
}

func (d *demo) step6() error {
	p, id := d.profile(1), strings.TrimPrefix(d.profile(1), profiles.Prefix)
	d.t.heading(6, "The full grant expires")
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	d.t.note("the demo fast-forwards the clock: it rewrites %s's keychain item and profile to expire at %s, a minute ago",
		p, past.Format(time.RFC3339))
	old, err := granttest.Backdate(d.state, d.passphrase, id, past)
	if err != nil {
		return fmt.Errorf("fast-forwarding %s: %w", p, err)
	}
	r := d.aws(p, "s3", "ls", "s3://"+d.sc.Readable)
	if r.err == nil || !strings.Contains(r.out, "grant "+p+" expired at "+past.Format(time.RFC3339)) {
		return fmt.Errorf("aws after expiry: %v; want the helper's expired message", r.err)
	}
	d.t.why("the helper checks the expiry before it prints keys, so an expired grant is refused locally")

	d.t.note("the server half: the same keys, taken from the keychain and used directly, still work at MinIO until its clock runs out")
	r = d.awsWithKeys(old, "s3", "ls", "s3://"+d.sc.Readable)
	if r.err != nil || !strings.Contains(r.out, d.sc.Object) {
		return fmt.Errorf("listing %s with the grant's keys: %v; want %s listed", d.sc.Readable, r.err, d.sc.Object)
	}
	d.t.note("MinIO's expiry clock cannot be moved and its minimum is 15 minutes; revoking the broker's STS tokens through its admin API stands in for it")
	if err := d.m.RevokeSTSTokens(d.sc.Broker.AccessKeyID); err != nil {
		return err
	}
	r = d.awsWithKeys(old, "s3", "ls", "s3://"+d.sc.Readable)
	if r.err == nil || !strings.Contains(r.out, "InvalidAccessKeyId") {
		return fmt.Errorf("listing %s with the grant's keys after MinIO expired them: %v; want InvalidAccessKeyId", d.sc.Readable, r.err)
	}
	d.t.why("the keys died with the session at the server too: nothing the agent was handed outlives the grant")
	return nil
}
