// Command demo replays the seed scenario of issue 3 with the real
// timebound-iam binary, a real MinIO as STS and S3, the real AWS CLI v2 and
// an MCP client on the official TypeScript SDK, and prints what happens as a
// terminal transcript. `make demo` installs the rig and runs it:
//
//	go run ./cmd/timebound-iam/internal/demo -bin bin/timebound-iam
//
// It is also a check: it exits 1 when a step does not behave as the
// transcript says, or when a secret would reach its output. MinIO and the
// MCP client are stopped on every exit path, SIGINT, SIGTERM and SIGHUP
// included; on Linux a SIGKILL of the demo takes MinIO with it too.
package main

import (
	// dbusguard must initialise before keyring dials D-Bus in its init; see
	// its package doc.
	"github.com/timebound-iam/timebound-iam/grant/mcpserver"
	_ "github.com/timebound-iam/timebound-iam/keychain/dbusguard"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/timebound-iam/timebound-iam/grant"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// awsCLI is the Debian package's AWS CLI v2; the `aws` first on PATH may be
// a pip AWS CLI v1.
const awsCLI = "/usr/bin/aws"

func main() {
	bin := flag.String("bin", "bin/timebound-iam", "the timebound-iam `binary` to demonstrate")
	flag.Parse()
	var st stopper
	sigs := make(chan os.Signal, 1)
	// SIGHUP: a closed terminal or ssh session. SIGPIPE: a closed stdout
	// (make demo | head). Either would otherwise kill the demo without
	// stopping MinIO.
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "demo: %v: stopping MinIO and the MCP client\n", s)
		st.interrupt(128 + int(s.(syscall.Signal)))
		os.Exit(st.code())
	}()
	if err := run(*bin, &st); err != nil {
		if st.interrupted() {
			// The step failed because the handler stopped everything;
			// stop waits for it to finish.
			st.stop()
			os.Exit(st.code())
		}
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// stopper runs the cleanups of what the demo started, once, in reverse
// order, from main or from the signal handler, whichever comes first.
type stopper struct {
	mu      sync.Mutex
	stopped bool
	exit    atomic.Int32 // set by a signal: the exit status
	fns     []func()
}

// interrupt stops everything on a signal; the demo then exits with code.
func (s *stopper) interrupt(code int) {
	s.exit.Store(int32(code))
	s.stop()
}

// interrupted reports whether a signal has stopped the demo.
func (s *stopper) interrupted() bool { return s.exit.Load() != 0 }

func (s *stopper) code() int { return int(s.exit.Load()) }

// start runs fn, which starts something and returns how to stop it, under
// the lock: a signal arriving meanwhile waits for the cleanup to be known,
// so nothing started escapes it (MinIO runs in its own process group, where
// a terminal's ^C does not reach).
func (s *stopper) start(fn func() (func(), error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("interrupted")
	}
	stop, err := fn()
	if stop != nil {
		s.fns = append(s.fns, stop)
	}
	return err
}

func (s *stopper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for i := len(s.fns) - 1; i >= 0; i-- {
		s.fns[i]()
	}
	s.fns = nil
}

// demo is the world the steps share.
type demo struct {
	ctx        context.Context // cancelled on stop: ends a running aws
	t          *transcript
	m          *granttest.MinIO
	sc         granttest.Scenario
	grants     []grant.GrantOutput // in the order granted
	mcp        *granttest.MCPClient
	serverLog  *syncBuffer
	tmp        string
	state      string // TIMEBOUND_IAM_HOME
	awsEnv     []string
	passphrase string
}

func run(bin string, st *stopper) error {
	defer st.stop()
	began := time.Now()
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%v; build it with make build", err)
	}
	if _, err := os.Stat(awsCLI); err != nil {
		return fmt.Errorf("the AWS CLI v2 is missing at %s: run sh .ci/rig", awsCLI)
	}
	rig, err := granttest.FindRig()
	if err != nil {
		return err
	}
	d := &demo{t: &transcript{w: os.Stdout}, serverLog: &syncBuffer{}}
	err = st.start(func() (func(), error) {
		tmp, err := os.MkdirTemp("", "timebound-iam-demo-")
		d.tmp = tmp
		return func() { removeAll(tmp) }, err
	})
	if err != nil {
		return err
	}
	err = st.start(func() (func(), error) {
		dir := filepath.Join(d.tmp, "minio")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		m, err := rig.StartMinIO(dir)
		if err != nil {
			return nil, err
		}
		d.m = m
		return func() { m.Close() }, nil
	})
	if err != nil {
		return err
	}
	if d.sc, err = granttest.SeedScenario(d.m); err != nil {
		return fmt.Errorf("seeding MinIO: %w", err)
	}
	d.t.secret(d.m.RootPassword, d.sc.Broker.SecretAccessKey, d.sc.WriterBroker.SecretAccessKey)

	home := filepath.Join(d.tmp, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	env := d.m.Env(home, d.sc.Broker)
	d.state = envValue(env, "TIMEBOUND_IAM_HOME")
	d.passphrase = envValue(env, "TIMEBOUND_IAM_FILE_PASSPHRASE")
	d.t.secret(d.passphrase)
	err = st.start(func() (func(), error) {
		// The user at the MCP client approves what the server asks about.
		c, err := rig.StartMCPClient(d.tmp, "timebound-iam-demo", append(env, "MCPCLIENT_ELICIT=accept"), d.serverLog, bin, "serve")
		if err != nil {
			return nil, err
		}
		d.mcp = c
		return func() {
			if err := c.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "demo: stopping the MCP client: %v\n", err)
			}
		}, nil
	})
	if err != nil {
		return err
	}

	err = st.start(func() (func(), error) {
		ctx, cancel := context.WithCancel(context.Background())
		d.ctx = ctx
		return cancel, nil
	})
	if err != nil {
		return err
	}

	d.intro(bin)
	for i, step := range []func() error{d.step1, d.step2, d.step3, d.step4, d.step5, d.step6} {
		if err := step(); err != nil {
			if log := strings.TrimSpace(d.serverLog.String()); log != "" && !st.interrupted() {
				fmt.Fprintf(os.Stderr, "demo: timebound-iam serve's log:\n%s\n", log)
			}
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	if d.t.leaks(d.serverLog.String()) {
		return errors.New("a secret reached timebound-iam serve's log")
	}
	if d.t.err != nil {
		return d.t.err
	}
	d.t.line("")
	d.t.line("== Done: every step behaved as shown, in %v. MinIO and the MCP client are stopped on exit.", time.Since(began).Round(100*time.Millisecond))
	return nil
}

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

// grant calls grant_access and remembers the grant's secrets, so that the
// transcript can refuse to print them.
func (d *demo) grant(args grantArgs) (grant.GrantOutput, error) {
	var g grant.GrantOutput
	res, err := d.call("grant_access", args)
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(res.StructuredContent, &g); err != nil {
		return g, fmt.Errorf("grant_access result: %w", err)
	}
	keys, err := d.keys()
	if err != nil {
		return g, err
	}
	c, err := keys.Get(g.SessionID)
	if err != nil {
		return g, fmt.Errorf("reading %s from the keychain: %w", g.Profile, err)
	}
	d.t.secret(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	if d.t.leaks(res.Raw) {
		return g, errors.New("grant_access's result holds the grant's keys")
	}
	d.grants = append(d.grants, g)
	d.t.result(fmt.Sprintf("session_id=%s profile=%s %s expires_at=%s", g.SessionID, g.Profile, levels(g.Levels), g.ExpiresAt))
	d.t.note("no keys in the result; the keychain holds them, access key %s", grant.MaskKey(c.AccessKeyID))
	d.awsEnv = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(d.tmp, "home"),
		"AWS_CONFIG_FILE=" + g.ConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE=",
		"AWS_EC2_METADATA_DISABLED=true",
		"TIMEBOUND_IAM_FILE_PASSPHRASE=" + d.passphrase,
	}
	return g, nil
}

// call calls an MCP tool, shows the call, and fails on a tool error.
func (d *demo) call(tool string, args any) (granttest.CallResult, error) {
	b, _ := json.Marshal(args)
	if string(b) == "{}" {
		d.t.line("→ %s", tool)
	} else {
		d.t.line("→ %s %s", tool, b)
	}
	res, err := d.mcp.Call(tool, args)
	if err != nil {
		return res, fmt.Errorf("%s: %w", tool, err)
	}
	for _, e := range res.Elicitations {
		d.t.note("the MCP client asked the user to approve it, and the user accepted:")
		for _, line := range strings.Split(strings.TrimSpace(e.Message), "\n") {
			d.t.line("    | %s", line)
		}
	}
	if res.IsError {
		return res, fmt.Errorf("%s failed: %s", tool, res.Text())
	}
	if d.t.leaks(res.Raw) {
		return res, fmt.Errorf("%s's result holds a secret", tool)
	}
	return res, nil
}

// profile returns the profile of the i-th grant, in the order granted.
func (d *demo) profile(i int) string { return d.grants[i].Profile }

func (d *demo) keys() (*keychain.Store, error) {
	return keychain.Open(keychain.Options{Backend: keychain.File, Dir: d.state, Passphrase: d.passphrase})
}

type awsResult struct {
	out string // stdout and stderr
	err error
}

// aws runs the AWS CLI with profile, as the agent would, and shows it.
func (d *demo) aws(profile string, args ...string) awsResult {
	d.t.line("$ aws --profile %s %s", profile, strings.Join(args, " "))
	return d.runAWS(d.awsEnv, append([]string{"--profile", profile}, args...))
}

// awsWithKeys runs the AWS CLI with c in the environment instead of a
// profile, and shows it with the keys masked.
func (d *demo) awsWithKeys(c aws.Credentials, args ...string) awsResult {
	d.t.line("$ AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=<hidden> AWS_SESSION_TOKEN=<hidden> aws %s",
		grant.MaskKey(c.AccessKeyID), strings.Join(args, " "))
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(d.tmp, "home"),
		"AWS_CONFIG_FILE=" + filepath.Join(d.tmp, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + c.SessionToken,
	}
	return d.runAWS(env, args)
}

func (d *demo) runAWS(env, args []string) awsResult {
	cmd := exec.CommandContext(d.ctx, awsCLI, append(args, "--endpoint-url", d.m.URL, "--region", "us-east-1")...)
	cmd.Env = env
	cmd.Dir = d.tmp
	out, err := cmd.CombinedOutput()
	r := awsResult{out: string(out), err: err}
	d.t.result(r.out)
	if err != nil {
		d.t.result(fmt.Sprintf("(exit status %d)", cmd.ProcessState.ExitCode()))
	}
	return r
}

// transcript prints the demo's stdout. It refuses to print any secret it
// was told about: a leak fails the demo.
type transcript struct {
	w       io.Writer
	secrets []string
	err     error
}

func (t *transcript) secret(s ...string) {
	for _, v := range s {
		if v != "" {
			t.secrets = append(t.secrets, v)
		}
	}
}

// leaks reports whether s holds a secret t was told about.
func (t *transcript) leaks(s string) bool {
	return slices.ContainsFunc(t.secrets, func(v string) bool { return strings.Contains(s, v) })
}

func (t *transcript) line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	for _, v := range t.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "<SECRET>")
			if t.err == nil {
				t.err = errors.New("a secret reached the transcript (replaced by <SECRET>)")
			}
		}
	}
	fmt.Fprintln(t.w, s)
}

func (t *transcript) heading(n int, format string, args ...any) {
	t.line("")
	t.line("== %d. %s", n, fmt.Sprintf(format, args...))
}

// result shows output indented, without blank lines.
func (t *transcript) result(out string) {
	for l := range strings.Lines(out) {
		if l = strings.TrimRight(l, " \r\n"); strings.TrimSpace(l) != "" {
			t.line("  %s", l)
		}
	}
}

func (t *transcript) why(format string, args ...any) { t.line("why: "+format, args...) }

func (t *transcript) note(format string, args ...any) { t.line("("+format+")", args...) }

// levels renders {"s3":"read_only"} as "s3:read_only".
func levels(m map[string]string) string {
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, s+":"+m[s])
	}
	return strings.Join(parts, ",")
}

// removeAll removes dir, again when something recreated it: on a signal, a
// child that was just killed or told to stop (the MCP server after its
// client, an mc, an aws) may still be writing into it for a moment.
func removeAll(dir string) {
	var err error
	for range 5 {
		err = os.RemoveAll(dir)
		time.Sleep(100 * time.Millisecond)
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "demo: could not remove %s: %v\n", dir, err)
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// syncBuffer collects the server's stderr, written by exec's copying
// goroutine and read on failure.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
