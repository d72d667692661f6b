package main

// End-to-end tests against software nobody here wrote: MinIO as STS and S3,
// the AWS CLI v2, boto3, aws-sdk-go-v2 and the TypeScript MCP SDK's client.
// They replay the seed scenario of issue 3: a broker that may only read and
// list one bucket, and an agent that asks for access through timebound-iam.
// Each top-level test starts one MinIO (stopped by PID when it ends) and ends
// with a scan for the secrets of every grant it made.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	"github.com/timebound-iam/timebound-iam/profiles"
)

func broker(s granttest.Scenario) granttest.User       { return s.Broker }
func writerBroker(s granttest.Scenario) granttest.User { return s.WriterBroker }

// TestE2EScenarioMCP drives the whole scenario through `timebound-iam serve`
// with the TypeScript SDK's client, in one MCP session, the broker's keys as
// base credentials; the AWS CLI, boto3 and aws-sdk-go-v2 use the profiles.
func TestE2EScenarioMCP(t *testing.T) {
	w := newWorld(t, broker)
	s := w.s
	serveLog := filepath.Join(w.work, "serve-stderr.log")
	logf, err := os.Create(serveLog)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	c, err := w.rig.StartMCPClient(w.work, "e2e-agent", w.env, logf, w.bin, "serve")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Ending the session stops serve; only then is its stderr complete.
		if err := c.Close(); err != nil {
			t.Errorf("closing the MCP session: %v", err)
		}
		log, err := os.ReadFile(serveLog)
		if err != nil {
			t.Error(err)
		}
		w.capture("serve's stderr", log)
		if !strings.Contains(string(log), "client=e2e-agent") {
			t.Errorf("serve's stderr does not log the grants by client e2e-agent:\n%s", log)
		}
		w.scanSecrets(t)
	}()

	var ro, full grant.GrantOutput
	if !t.Run("1 read_only grant lists the bucket", func(t *testing.T) {
		ro = w.grantMCP(t, c, map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"})
		if ro.Level != "read_only" || !slices.Equal(ro.Services, []string{"s3"}) {
			t.Fatalf("grant_access = %+v, want s3 read_only", ro)
		}
		t.Run("aws s3 ls", func(t *testing.T) {
			if out := mustSucceed(t, w.aws(ro.Profile, "s3", "ls", "s3://"+s.Readable)); !strings.Contains(out, s.Object) {
				t.Errorf("aws s3 ls s3://%s = %q, want %s", s.Readable, out, s.Object)
			}
			// ps is sampled while serve and a helper-invoking AWS CLI run.
			if snaps := w.awsWatched(t, ro, "s3", "ls", "s3://"+s.Readable); countPS(snaps, w.bin+" serve") != len(snaps) {
				t.Errorf("%d of %d ps samples show %s serve running", countPS(snaps, w.bin+" serve"), len(snaps), w.bin)
			}
		})
		t.Run("aws s3 cp to stdout", func(t *testing.T) {
			want, err := w.m.MC("cat", "rig/"+s.Readable+"/"+s.Object)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustSucceed(t, w.aws(ro.Profile, "s3", "cp", "s3://"+s.Readable+"/"+s.Object, "-")); got != string(want) {
				t.Errorf("aws s3 cp - printed %q, want %q", got, want)
			}
		})
		t.Run("aws s3api list-buckets", func(t *testing.T) {
			out := mustSucceed(t, w.aws(ro.Profile, "s3api", "list-buckets", "--output", "json"))
			var lb struct{ Buckets []struct{ Name string } }
			if err := json.Unmarshal([]byte(out), &lb); err != nil {
				t.Fatalf("list-buckets output %q: %v", out, err)
			}
			if !slices.ContainsFunc(lb.Buckets, func(b struct{ Name string }) bool { return b.Name == s.Readable }) {
				t.Errorf("list-buckets = %s, want %s among them", out, s.Readable)
			}
		})
		t.Run("boto3", func(t *testing.T) {
			if out := mustSucceed(t, w.boto3List(ro.Profile, s.Readable)); strings.TrimSpace(out) != s.Object {
				t.Errorf("boto3 list_objects_v2 = %q, want %s", out, s.Object)
			}
		})
		t.Run("aws-sdk-go-v2", func(t *testing.T) {
			keys, id := w.sdkList(t, ro.Profile, s.Readable)
			if !slices.Equal(keys, []string{s.Object}) {
				t.Errorf("ListObjectsV2 = %q, want [%s]", keys, s.Object)
			}
			if want, _ := w.keys(t).Get(ro.SessionID); id != want.AccessKeyID {
				t.Errorf("the SDK used access key %s, not the grant's %s", grant.MaskKey(id), grant.MaskKey(want.AccessKeyID))
			}
		})
	}) {
		return
	}

	t.Run("2 full grant cannot upload: the broker cannot write", func(t *testing.T) {
		full = w.grantMCP(t, c, map[string]any{"services": []string{"s3"}, "level": "full", "ttl": "15m"})
		if full.Level != "full" {
			t.Fatalf("grant_access = %+v, want s3 full", full)
		}
		upload := writeUpload(t, w)
		line := mustFail(t, w.aws(full.Profile, "s3", "cp", upload, "s3://"+s.Readable+"/audit.test"), "AccessDenied")
		t.Logf("aws s3 cp with full on %s: %s", s.Readable, line)
		if out, _ := w.m.MC("ls", "rig/"+s.Readable); strings.Contains(string(out), "audit.test") {
			t.Errorf("audit.test was written to %s:\n%s", s.Readable, out)
		}
	})

	t.Run("3 another bucket is denied", func(t *testing.T) {
		line := mustFail(t, w.aws(ro.Profile, "s3", "ls", "s3://"+s.Other), "AccessDenied")
		t.Logf("aws s3 ls s3://%s with read_only: %s", s.Other, line)
	})

	t.Run("4 list_active_sessions", func(t *testing.T) {
		var live grant.SessionsOutput
		w.call(t, c, "list_active_sessions", map[string]any{}, &live)
		checkSessions(t, live, ro, full)
	})

	t.Run("5 revoked grant: the AWS CLI shows the helper's line", func(t *testing.T) {
		var rv mcpserver.RevokeOutput
		w.call(t, c, "revoke_access", map[string]any{"session_id": ro.Profile}, &rv)
		if rv != (mcpserver.RevokeOutput{SessionID: ro.SessionID, Profile: ro.Profile, Revoked: true, Status: "revoked"}) {
			t.Errorf("revoke_access = %+v", rv)
		}
		r := w.aws(ro.Profile, "s3", "ls", "s3://"+s.Readable)
		t.Logf("aws s3 ls after revoke_access: %s", strings.TrimSpace(string(r.stderr)))
		checkRefusal(t, r, "", "grant tb-"+ro.SessionID+" was revoked at "+stampRE+"; ")
		var live grant.SessionsOutput
		w.call(t, c, "list_active_sessions", map[string]any{}, &live)
		if slices.ContainsFunc(live.Sessions, func(x grant.SessionOutput) bool { return x.SessionID == ro.SessionID }) {
			t.Errorf("list_active_sessions after revoke still lists %s: %+v", ro.Profile, live.Sessions)
		}
	})

	t.Run("6 expiry", func(t *testing.T) {
		w.checkExpiry(t, w.grantMCP(t, c, map[string]any{"services": []string{"s3"}, "level": "read_only", "ttl": "15m"}))
	})
}

// checkExpiry is the scenario's step 6 for g, a fresh s3 read_only grant on
// the base broker, whether the MCP client or the CLI made it. It revokes
// every STS session of that broker at MinIO, so it comes last.
func (w *world) checkExpiry(t *testing.T, g grant.GrantOutput) {
	t.Helper()
	s := w.s
	mustSucceed(t, w.aws(g.Profile, "s3", "ls", "s3://"+s.Readable))

	// (a) The helper half. Waiting 15 minutes is too long for every run,
	// so the grant is moved to where time would take it: its keychain
	// item and its profile say it expired a minute ago. This proves that
	// credential-process refuses a grant whose time has passed, reading
	// the real clock, and that the AWS CLI hands its line to the agent.
	// Backdate returns the keys the grant had, read before the rewrite.
	past := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	keys, err := granttest.Backdate(w.state, w.passphrase, g.SessionID, past)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a helper refuses an expired grant", func(t *testing.T) {
		r := w.aws(g.Profile, "s3", "ls", "s3://"+s.Readable)
		t.Logf("aws s3 ls after expiry: %s", strings.TrimSpace(string(r.stderr)))
		checkRefusal(t, r, "", "grant tb-"+g.SessionID+" expired at "+regexp.QuoteMeta(past.Format(time.RFC3339))+"; ")
	})

	// (b) The server half. The helper's refusal does not recall keys it
	// already handed out (STS keys cannot be recalled; the README says
	// so): until their session ends they still work at MinIO. This
	// proves that MinIO enforces the end of a session's keys: once its
	// admin API has revoked the broker's STS sessions, MinIO refuses
	// these keys with InvalidAccessKeyId, the code it gives expired ones
	// (DESIGN.md); an AccessDenied would be a policy refusal instead.
	// MinIO's real expiry clock is not waited for (its shortest session
	// is 900 s), so this does not show MinIO counting DurationSeconds
	// down itself.
	t.Run("b MinIO refuses the keys of an ended session", func(t *testing.T) {
		ctx := context.Background()
		raw := w.s3Client(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, keys.SessionToken)})
		if got, err := listKeys(ctx, raw, s.Readable); err != nil || !slices.Equal(got, []string{s.Object}) {
			t.Fatalf("ListObjectsV2 with the grant's raw keys before the revoke = %q, %v; want [%s]", got, err, s.Object)
		}
		if err := w.m.RevokeSTSTokens(w.base.AccessKeyID); err != nil {
			t.Fatal(err)
		}
		_, err := listKeys(ctx, raw, s.Readable)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidAccessKeyId" {
			t.Fatalf("ListObjectsV2 with revoked session keys: %v; want InvalidAccessKeyId", err)
		}
		t.Logf("MinIO after the broker's STS sessions were revoked: %s: %s", ae.ErrorCode(), ae.ErrorMessage())
	})
}

// TestE2EScenarioCLI runs the scenario's steps 1-6 through the CLI, with the
// AWS CLI consuming the profiles.
func TestE2EScenarioCLI(t *testing.T) {
	w := newWorld(t, broker)
	s := w.s
	defer w.scanSecrets(t)

	var ro, full grant.GrantOutput
	if !t.Run("1 read_only grant lists the bucket", func(t *testing.T) {
		ro = w.grantCLI(t, "-s", "s3", "-t", "15m")
		if ro.Level != "read_only" {
			t.Fatalf("grant = %+v, want s3 read_only", ro)
		}
		if out := mustSucceed(t, w.aws(ro.Profile, "s3", "ls", "s3://"+s.Readable)); !strings.Contains(out, s.Object) {
			t.Errorf("aws s3 ls s3://%s = %q, want %s", s.Readable, out, s.Object)
		}
		w.awsWatched(t, ro, "s3", "ls", "s3://"+s.Readable)
		want, err := w.m.MC("cat", "rig/"+s.Readable+"/"+s.Object)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustSucceed(t, w.aws(ro.Profile, "s3", "cp", "s3://"+s.Readable+"/"+s.Object, "-")); got != string(want) {
			t.Errorf("aws s3 cp - printed %q, want %q", got, want)
		}
		if out := mustSucceed(t, w.aws(ro.Profile, "s3api", "list-buckets", "--output", "json")); !strings.Contains(out, `"`+s.Readable+`"`) {
			t.Errorf("list-buckets = %s, want %s among them", out, s.Readable)
		}
	}) {
		return
	}

	t.Run("2 full grant cannot upload: the broker cannot write", func(t *testing.T) {
		full = w.grantCLI(t, "-s", "s3:full", "-t", "15m")
		if full.Level != "full" {
			t.Fatalf("grant = %+v, want s3 full", full)
		}
		line := mustFail(t, w.aws(full.Profile, "s3", "cp", writeUpload(t, w), "s3://"+s.Readable+"/audit.test"), "AccessDenied")
		t.Logf("aws s3 cp with full on %s: %s", s.Readable, line)
	})

	t.Run("3 another bucket is denied", func(t *testing.T) {
		line := mustFail(t, w.aws(ro.Profile, "s3", "ls", "s3://"+s.Other), "AccessDenied")
		t.Logf("aws s3 ls s3://%s with read_only: %s", s.Other, line)
	})

	t.Run("4 sessions", func(t *testing.T) {
		var live grant.SessionsOutput
		if err := json.Unmarshal([]byte(mustSucceed(t, w.tb("sessions", "--json"))), &live); err != nil {
			t.Fatal(err)
		}
		checkSessions(t, live, ro, full)
	})

	t.Run("5 revoked grant: the AWS CLI shows the helper's line", func(t *testing.T) {
		if out := mustSucceed(t, w.tbWatched(t, "revoke", ro.SessionID)); out != "revoked "+ro.Profile+"\n" {
			t.Errorf("revoke printed %q, want %q", out, "revoked "+ro.Profile+"\n")
		}
		r := w.aws(ro.Profile, "s3", "ls", "s3://"+s.Readable)
		t.Logf("aws s3 ls after revoke: %s", strings.TrimSpace(string(r.stderr)))
		checkRefusal(t, r, "", "grant tb-"+ro.SessionID+" was revoked at "+stampRE+"; ")
	})

	t.Run("6 expiry", func(t *testing.T) {
		w.checkExpiry(t, w.grantCLI(t, "-s", "s3", "-t", "15m"))
	})
}

// TestE2EFullGrantWrites shows that the read_only denial comes from the
// session policy: with a broker that may write to a bucket, a read_only
// grant still cannot upload there, and a full grant can.
func TestE2EFullGrantWrites(t *testing.T) {
	w := newWorld(t, writerBroker)
	s := w.s
	defer w.scanSecrets(t)
	upload := writeUpload(t, w)
	dest := "s3://" + s.Writable + "/audit.test"
	inBucket := func(t *testing.T) bool {
		out, err := w.m.MC("ls", "rig/"+s.Writable)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(out), "audit.test")
	}

	t.Run("read_only cannot upload", func(t *testing.T) {
		ro := w.grantCLI(t, "-s", "s3", "-t", "15m")
		// The keys work on the bucket: the denial is about writing.
		w.awsWatched(t, ro, "s3", "ls", "s3://"+s.Writable)
		line := mustFail(t, w.aws(ro.Profile, "s3", "cp", upload, dest), "AccessDenied")
		t.Logf("aws s3 cp with read_only on %s: %s", s.Writable, line)
		if inBucket(t) {
			t.Errorf("audit.test is in %s after a denied upload", s.Writable)
		}
	})

	t.Run("full uploads", func(t *testing.T) {
		full := w.grantCLI(t, "-s", "s3:full", "-t", "15m")
		mustSucceed(t, w.aws(full.Profile, "s3", "cp", upload, dest))
		if !inBucket(t) {
			t.Errorf("mc ls rig/%s does not show audit.test after the full grant's upload", s.Writable)
		}
	})
}

// TestE2EHelperRuns counts how often the AWS CLI runs the helper for one
// `aws s3 ls`: with more than 15 minutes left (a 30m grant), and with less
// (a 15m grant, once a second has passed), when DESIGN.md says the CLI
// fetches credentials again before every API call. It proves that the
// helper's hot path is taken more than once per command inside that window,
// which is why it must stay fast and never prompt.
// A copy of each profile points credential_process at a wrapper that appends
// a line to a counter file and then execs the profile's own line.
func TestE2EHelperRuns(t *testing.T) {
	w := newWorld(t, broker)
	s := w.s
	defer w.scanSecrets(t)

	g30 := w.grantCLI(t, "-s", "s3", "-t", "30m")
	g15 := w.grantCLI(t, "-s", "s3", "-t", "15m")
	issued := time.Now() // no earlier than STS issued g15's keys
	set, err := (&profiles.File{Path: w.configFile, Home: w.state}).Read()
	if err != nil {
		t.Fatal(err)
	}
	var config strings.Builder
	counters := map[string]string{}
	for name, g := range map[string]grant.GrantOutput{"30m": g30, "15m": g15} {
		e, ok := set.Get(g.SessionID)
		if !ok {
			t.Fatalf("no profile %s in %s", g.Profile, w.configFile)
		}
		line, err := profiles.CredentialProcess(e)
		if err != nil {
			t.Fatal(err)
		}
		counters[name] = filepath.Join(w.work, "runs-"+name)
		wrapper := filepath.Join(w.work, "helper-"+name+".sh")
		script := "#!/bin/sh\necho run >>" + profiles.Quote(counters[name]) + "\nexec " + line + "\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		config.WriteString("[profile counted-" + name + "]\ncredential_process = " + profiles.Quote(wrapper) + "\nregion = us-east-1\n\n")
	}
	counted := filepath.Join(w.work, "counted-aws-config")
	if err := os.WriteFile(counted, []byte(config.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(slices.DeleteFunc(slices.Clone(w.consumer), func(kv string) bool { return strings.HasPrefix(kv, "AWS_CONFIG_FILE=") }), "AWS_CONFIG_FILE="+counted)

	runs := func(name string) int {
		data, err := os.ReadFile(counters[name])
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Count(string(data), "run\n")
	}
	mustSucceed(t, w.awsEnv(env, "counted-30m", "s3", "ls", "s3://"+s.Readable))
	// The 15m grant's keys expire 900 s after STS issued them; one second
	// later less than 15 minutes are left.
	time.Sleep(time.Until(issued.Add(time.Second)))
	var r result
	snaps := w.psWhile(func() { r = w.awsEnv(env, "counted-15m", "s3", "ls", "s3://"+s.Readable) })
	mustSucceed(t, r)
	t.Logf("ps: %d samples during the counted aws s3 ls; %d show the helper", len(snaps), countPS(snaps, "credential-process --session "+g15.SessionID+" "))

	n30, n15 := runs("30m"), runs("15m")
	t.Logf("helper runs for one aws s3 ls: %d with more than 15 minutes left (30m grant), %d with less (15m grant)", n30, n15)
	// Without a run of the 30m wrapper the comparison below would say
	// nothing about the CLI, only that a counter is broken.
	if n30 < 1 {
		t.Errorf("with more than 15 minutes left the AWS CLI ran the helper %d times, want at least once", n30)
	}
	if n15 <= n30 {
		t.Errorf("with less than 15 minutes left the AWS CLI ran the helper %d times, want more than the %d with more left: it refreshes credentials within 15 minutes of their expiry", n15, n30)
	}
}

// writeUpload writes the file the scenario tries to upload.
func writeUpload(t *testing.T, w *world) string {
	t.Helper()
	p := filepath.Join(w.work, "audit.test")
	if err := os.WriteFile(p, []byte("written by timebound-iam's end-to-end test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkSessions asserts that live lists exactly grants, each with its expiry
// and a remaining time within its 15 minutes.
func checkSessions(t *testing.T, live grant.SessionsOutput, grants ...grant.GrantOutput) {
	t.Helper()
	if len(live.Sessions) != len(grants) {
		t.Errorf("%d live sessions, want %d: %+v", len(live.Sessions), len(grants), live.Sessions)
	}
	for _, g := range grants {
		i := slices.IndexFunc(live.Sessions, func(x grant.SessionOutput) bool { return x.SessionID == g.SessionID })
		if i < 0 {
			t.Errorf("%s is not listed: %+v", g.Profile, live.Sessions)
			continue
		}
		x := live.Sessions[i]
		left, err := time.ParseDuration(x.Remaining)
		if x.Profile != g.Profile || x.Level != g.Level || x.ExpiresAt != g.ExpiresAt || err != nil || left <= 0 || left > 15*time.Minute {
			t.Errorf("session %+v; want %s, level %s, expiring %s with 0-15m remaining", x, g.Profile, g.Level, g.ExpiresAt)
		}
		t.Logf("%s %s: %s remaining", x.Profile, x.Level, x.Remaining)
	}
}

// TestE2ESecretScanFindsPlanted checks the scan that ends every end-to-end
// test, without the rig: a fake secret planted in a captured output, in the
// state directory and in TMPDIR is reported in each of those places and
// nowhere else; planted in the keyring and in MinIO's directory, where the
// scan does not look by design, it is not. A scan that read nothing, or
// skipped TMPDIR, would fail here rather than pass every real run.
func TestE2ESecretScanFindsPlanted(t *testing.T) {
	w := layOut(t)
	w.state = filepath.Join(w.home, "state")
	w.configFile = filepath.Join(w.state, "aws-config")
	const planted = "planted/FAKE+secret0123456789abcdefEXAMPLE"
	w.scan.Add(granttest.Secret{What: "the planted secret", Value: planted})
	for path, content := range map[string]string{
		w.configFile:                                "[profile tb-x]\nregion = us-east-1\n",
		filepath.Join(w.state, "audit.log"):         "grant tb-x " + planted + "\n",
		filepath.Join(w.tmp, "aws-cli-leftover"):    "cache " + planted,
		filepath.Join(w.state, "keyring", "tb-x"):   planted,
		filepath.Join(w.minio, "data", "sts.token"): planted,
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.capture("ps snapshot 0", []byte("  PID ARGS\n    1 timebound-iam serve\n"))
	w.capture("stderr of timebound-iam grant", []byte("timebound-iam: error: "+planted+"\n"))

	leaks, files, err := w.findLeaks()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"the planted secret appears in stderr of timebound-iam grant",
		"the planted secret appears in " + filepath.Join(w.state, "audit.log"),
		"the planted secret appears in " + filepath.Join(w.tmp, "aws-cli-leftover"),
	}
	if !slices.Equal(leaks, want) {
		t.Errorf("findLeaks reported\n%s\nwant\n%s", strings.Join(leaks, "\n"), strings.Join(want, "\n"))
	}
	if want := []string{"home/state/audit.log", "home/state/aws-config", "tmp/aws-cli-leftover"}; !slices.Equal(files, want) {
		t.Errorf("findLeaks read %q, want %q", files, want)
	}
}
