package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// world is one end-to-end test's real peers and files: a MinIO server seeded
// with the scenario, the real binary, and the directories every process
// shares. Its secret scan knows the secrets of every grant made and every
// output captured, and reads every file under root.
//
//	root/minio   MinIO's data, log and mc config (the server side, like AWS)
//	root/bin     the timebound-iam binary
//	root/home    HOME of every process; home/state is TIMEBOUND_IAM_HOME
//	root/work    what the test writes: uploads, wrappers, counters, logs
//	root/tmp     TMPDIR of every process but MinIO, so that the secret scan
//	             sees what they leave in temporary files
type world struct {
	rig   granttest.Rig
	m     *granttest.MinIO
	s     granttest.Scenario
	base  granttest.User // the base credentials: the broker
	bin   string
	root  string
	minio string
	home  string
	state string
	work  string
	tmp   string
	// env is timebound-iam's environment, with the broker's base keys.
	env []string
	// consumer is the AWS CLI's and boto3's environment: the config file and
	// the file keyring's passphrase, and no base credentials.
	consumer   []string
	passphrase string
	configFile string

	scan *granttest.SecretScan
}

// newWorld skips under -short or without the rig; otherwise it builds the
// binary, starts MinIO (stopped by PID when t ends), seeds the scenario, and
// makes the user that broker picks from it the base credentials.
func newWorld(t *testing.T, broker func(granttest.Scenario) granttest.User) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test against MinIO, the AWS CLI and boto3; skipped with -short")
	}
	rig, err := granttest.FindRig()
	if err != nil {
		t.Skip(err)
	}
	start := time.Now()
	t.Cleanup(func() { t.Logf("wall time %v", time.Since(start).Round(time.Millisecond)) })

	w := layOut(t)
	w.rig = rig
	w.bin = goBuild(t, filepath.Join(w.root, "bin", "timebound-iam"), ".")

	if w.m, err = rig.StartMinIO(w.minio); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.m.Close() })
	t.Logf("MinIO (pid %d) ready in %v at %s", w.m.PID(), w.m.Ready.Round(time.Millisecond), w.m.URL)
	if w.s, err = granttest.SeedScenario(w.m); err != nil {
		t.Fatal(err)
	}

	w.base = broker(w.s)
	w.env = append(w.m.Env(w.home, w.base), "TMPDIR="+w.tmp)
	w.state = envValue(t, w.env, "TIMEBOUND_IAM_HOME")
	w.passphrase = envValue(t, w.env, "TIMEBOUND_IAM_FILE_PASSPHRASE")
	w.configFile = filepath.Join(w.state, "aws-config")
	// These tests are about the grants, not their approval (see
	// approve_test.go and approval_mcp_test.go): full grants need none.
	if err := os.MkdirAll(w.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.state, config.FileName), []byte("approval = never\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyCreds := filepath.Join(w.work, "empty-credentials")
	if err := os.WriteFile(emptyCreds, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w.consumer = []string{
		"PATH=/usr/bin:/bin", // does not lead to the binary: the line names it
		"HOME=" + w.home,
		"AWS_CONFIG_FILE=" + w.configFile,
		"AWS_SHARED_CREDENTIALS_FILE=" + emptyCreds,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + w.passphrase,
		"TMPDIR=" + w.tmp,
	}
	return w
}

// layOut makes the world's directories under a new t.TempDir.
func layOut(t *testing.T) *world {
	t.Helper()
	root := t.TempDir()
	w := &world{root: root, minio: filepath.Join(root, "minio"), home: filepath.Join(root, "home"),
		work: filepath.Join(root, "work"), tmp: filepath.Join(root, "tmp"), scan: granttest.NewSecretScan()}
	// MinIO's directory is the server that issued the keys, AWS's side of
	// the line.
	w.scan.Dir(root)
	w.scan.Skip(w.minio)
	for _, d := range []string{w.minio, w.home, w.work, w.tmp, filepath.Join(root, "bin")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func envValue(t *testing.T, env []string, key string) string {
	t.Helper()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	t.Fatalf("environment lacks %s", key)
	return ""
}

// capture records data for the secret scan.
func (w *world) capture(where string, data []byte) { w.scan.Capture(where, data) }

// run runs a command to completion and captures its stdout and stderr.
func (w *world) run(env []string, name string, args ...string) result {
	r := runEnv(env, name, args...)
	what := filepath.Base(name) + " " + strings.Join(args, " ")
	w.capture("stdout of "+what, r.stdout)
	w.capture("stderr of "+what, r.stderr)
	return r
}

// tb runs the binary with the broker's environment.
func (w *world) tb(args ...string) result { return w.run(w.env, w.bin, args...) }

// tbWatched runs the binary like tb while sampling ps, for the secret scan:
// a command line of grant or revoke must not carry a secret either. It is
// not repeated until a sample shows the command, as awsWatched is, since
// repeating a grant or a revoke changes the world.
func (w *world) tbWatched(t *testing.T, args ...string) result {
	t.Helper()
	var r result
	snaps := w.psWhile(func() { r = w.tb(args...) })
	t.Logf("ps: %d samples during %s; %d show it", len(snaps), args[0], countPS(snaps, w.bin+" "+args[0]))
	return r
}

// aws runs the AWS CLI v2 with profile against MinIO. It ignores endpoint_url
// in profiles, so the endpoint goes on the command line.
func (w *world) aws(profile string, args ...string) result {
	return w.awsEnv(w.consumer, profile, args...)
}

func (w *world) awsEnv(env []string, profile string, args ...string) result {
	return w.run(env, awsCLI, append([]string{"--profile", profile, "--endpoint-url", w.m.URL, "--region", "us-east-1"}, args...)...)
}

// psWhile runs fn while another goroutine snapshots `ps` output as fast as
// it can, and captures every snapshot for the secret scan. -ww keeps long
// command lines whole instead of cutting them at the terminal width.
func (w *world) psWhile(fn func()) (snapshots []string) {
	var mu sync.Mutex
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			out, _ := exec.Command("ps", "-ww", "-eo", "pid,args").Output()
			mu.Lock()
			snapshots = append(snapshots, string(out))
			mu.Unlock()
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	for i, s := range snapshots {
		w.capture(fmt.Sprintf("ps snapshot %d", i), []byte(s))
	}
	return snapshots
}

// awsWatched runs the AWS CLI with grant g's profile while sampling ps. The
// helper lives a few milliseconds, so a run's samples may all miss it: the
// command is repeated, up to five runs, until one sample shows the helper's
// command line. Every run must succeed; it returns all the samples.
func (w *world) awsWatched(t *testing.T, g grant.GrantOutput, args ...string) []string {
	t.Helper()
	var all []string
	helper := "credential-process --session " + g.SessionID + " "
	for run := 1; run <= 5; run++ {
		var r result
		all = append(all, w.psWhile(func() { r = w.aws(g.Profile, args...) })...)
		mustSucceed(t, r)
		if n := countPS(all, helper); n > 0 || run == 5 {
			t.Logf("ps: %d samples over %d runs of aws %s; %d show the helper", len(all), run, strings.Join(args, " "), n)
			break
		}
	}
	return all
}

// countPS counts the snapshots holding a process whose command line contains
// all of words.
func countPS(snapshots []string, words ...string) int {
	n := 0
	for _, s := range snapshots {
		if slices.ContainsFunc(strings.Split(s, "\n"), func(line string) bool {
			for _, w := range words {
				if !strings.Contains(line, w) {
					return false
				}
			}
			return true
		}) {
			n++
		}
	}
	return n
}

// keys opens the file keyring the binary writes.
func (w *world) keys(t *testing.T) *keychain.Store {
	t.Helper()
	k, err := keychain.Open(keychain.Options{Backend: keychain.File, Dir: w.state, Passphrase: w.passphrase})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// remember reads grant id's credentials from the keychain right after the
// grant, so the scan knows them even once a revoke or prune has deleted them.
func (w *world) remember(t *testing.T, id string) aws.Credentials {
	t.Helper()
	c, err := w.keys(t).Get(id)
	if err != nil {
		t.Fatalf("keychain item of fresh grant tb-%s: %v", id, err)
	}
	if c.SecretAccessKey == "" || c.SessionToken == "" {
		t.Fatalf("keychain item of tb-%s lacks a secret or a token", id)
	}
	w.scan.Add(granttest.CredentialSecrets("tb-"+id, c.SecretAccessKey, c.SessionToken)...)
	return c
}

// grantCLI runs `grant ARGS --json` and remembers the grant's secrets.
func (w *world) grantCLI(t *testing.T, args ...string) grant.GrantOutput {
	t.Helper()
	r := w.tbWatched(t, append(append([]string{"grant"}, args...), "--json")...)
	if r.err != nil {
		t.Fatalf("grant %v: %v\nstdout: %s\nstderr: %s", args, r.err, r.stdout, r.stderr)
	}
	var g grant.GrantOutput
	if err := json.Unmarshal(r.stdout, &g); err != nil {
		t.Fatalf("grant --json output: %v\n%s", err, r.stdout)
	}
	w.checkGrant(t, g)
	w.remember(t, g.SessionID)
	return g
}

func (w *world) checkGrant(t *testing.T, g grant.GrantOutput) {
	t.Helper()
	if g.Profile != profiles.Prefix+g.SessionID || g.ConfigFile != w.configFile {
		t.Fatalf("grant = %+v; want profile tb-<session_id> in %s", g, w.configFile)
	}
}

// call calls an MCP tool, captures the whole result line, and decodes its
// structured content into out. A tool error fails the test.
func (w *world) call(t *testing.T, c *granttest.MCPClient, tool string, args, out any) {
	t.Helper()
	res, err := c.Call(tool, args)
	w.capture("MCP result of "+tool, []byte(res.Raw))
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError {
		t.Fatalf("%s: tool error: %s", tool, res.Text())
	}
	if err := json.Unmarshal(res.StructuredContent, out); err != nil {
		t.Fatalf("%s: structured content %s: %v", tool, res.StructuredContent, err)
	}
}

// grantMCP calls grant_access and remembers the grant's secrets.
func (w *world) grantMCP(t *testing.T, c *granttest.MCPClient, args map[string]any) grant.GrantOutput {
	t.Helper()
	var g grant.GrantOutput
	w.call(t, c, "grant_access", args, &g)
	w.checkGrant(t, g)
	w.remember(t, g.SessionID)
	return g
}

// s3Client is aws-sdk-go-v2's S3 client against MinIO.
func (w *world) s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(w.m.URL)
		o.UsePathStyle = true
	})
}

// listKeys lists bucket's keys, or returns the error.
func listKeys(ctx context.Context, c *s3.Client, bucket string) ([]string, error) {
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys, nil
}

// sdkList loads profile the way an agent's Go program would (see
// sdkConfig) and lists bucket with it. It returns the keys and the access key
// id the SDK got from the helper.
func (w *world) sdkList(t *testing.T, profile, bucket string) ([]string, string) {
	t.Helper()
	ctx := context.Background()
	cfg := sdkConfig(t, w.configFile, filepath.Join(w.work, "empty-credentials"), w.passphrase, profile)
	keys, err := listKeys(ctx, w.s3Client(cfg), bucket)
	if err != nil {
		t.Fatalf("aws-sdk-go-v2 ListObjectsV2 %s with %s: %v", bucket, profile, err)
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return keys, c.AccessKeyID
}

// boto3List lists bucket with boto3, which reads profile from the config file.
func (w *world) boto3List(profile, bucket string) result {
	const script = `import boto3, sys
from botocore.config import Config
s3 = boto3.Session(profile_name=sys.argv[1]).client("s3", endpoint_url=sys.argv[2], config=Config(s3={"addressing_style": "path"}))
for o in s3.list_objects_v2(Bucket=sys.argv[3]).get("Contents", []):
    print(o["Key"])`
	return w.run(w.consumer, python3, "-c", script, profile, w.m.URL, bucket)
}

// mustFail asserts that the AWS CLI failed with code in its error text, and
// returns that text.
func mustFail(t *testing.T, r result, code string) string {
	t.Helper()
	got := strings.TrimSpace(string(r.stderr))
	if r.err == nil {
		t.Fatalf("succeeded, want %s\nstdout: %s\nstderr: %s", code, r.stdout, got)
	}
	if !strings.Contains(got, code) {
		t.Fatalf("stderr = %q, want %s", got, code)
	}
	return got
}

// mustSucceed asserts that r succeeded and returns its stdout.
func mustSucceed(t *testing.T, r result) string {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
	return string(r.stdout)
}

// scanSecrets asserts that no SecretAccessKey or SessionToken of any grant
// made in the run appears outside the keychain (see findLeaks).
func (w *world) scanSecrets(t *testing.T) {
	t.Helper()
	n := len(w.scan.Secrets())
	if n == 0 {
		t.Error("secret scan: no grant's secrets were collected; nothing to look for")
		return
	}
	leaks, files, err := w.findLeaks()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Error(l)
	}
	if rel, _ := filepath.Rel(w.root, w.configFile); !slices.Contains(files, rel) {
		t.Errorf("secret scan: %s was not scanned", w.configFile)
	}
	t.Logf("secret scan: %d secrets of %d grants, in %d files: %s", n, n/2, len(files), strings.Join(files, ", "))
}

// findLeaks says where each secret of the scan appears: in any captured
// output (MCP results, the binary's, the AWS CLI's and boto3's stdout and
// stderr, the serve process's stderr, ps snapshots) or in any file under the
// root (the state directory but its keyring/, the dedicated aws-config,
// HOME, TMPDIR, the test's own files) but MinIO's directory. It returns the
// leaks and the files read, relative to the root.
func (w *world) findLeaks() (leaks, files []string, err error) {
	leaks, err = w.scan.Findings()
	for _, f := range w.scan.Files() {
		rel, _ := filepath.Rel(w.root, f)
		files = append(files, rel)
	}
	return leaks, files, err
}
