package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/timebound-iam/timebound-iam/grant/granttest"
	"github.com/timebound-iam/timebound-iam/keychain"
	"github.com/timebound-iam/timebound-iam/profiles"
)

// failRig runs the binary as root against an STS stand-in, each run's
// stdout and stderr captured for the secret scan but credential-process's
// stdout, where the credentials belong.
type failRig struct {
	bin, work, state string
	sts              *granttest.STS
	scan             *granttest.SecretScan
	// env is every run's environment; runs may add to it.
	env []string
}

func newFailRig(t *testing.T, backend string) *failRig {
	t.Helper()
	scan := granttest.ScanSecrets(t) // and every file under t.TempDir but the keyring
	work := t.TempDir()
	bin := goBuild(t, filepath.Join(t.TempDir(), "timebound-iam"), ".")
	sts, err := granttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sts.Close() })
	scan.From(sts.Secrets)
	state := filepath.Join(work, "state")
	return &failRig{bin: bin, work: work, state: state, sts: sts, scan: scan, env: []string{
		"HOME=" + work,
		"TMPDIR=" + work,
		"TIMEBOUND_IAM_HOME=" + state,
		"TIMEBOUND_IAM_ROLE_ARN=arn:aws:iam::123456789012:role/broker",
		"TIMEBOUND_IAM_STS_ENDPOINT=" + sts.URL,
		"TIMEBOUND_IAM_KEYRING_BACKEND=" + backend,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
	}}
}

// run runs the binary with r.env and extra.
func (r *failRig) run(extra []string, args ...string) result {
	res := runEnv(append(slices.Clone(r.env), extra...), r.bin, args...)
	what := "timebound-iam " + strings.Join(args, " ")
	if args[0] != "credential-process" {
		r.scan.Capture("stdout of "+what, res.stdout)
	}
	r.scan.Capture("stderr of "+what, res.stderr)
	return res
}

// grant makes a 15m s3 grant and returns its id.
func (r *failRig) grant(t *testing.T, extra ...string) string {
	t.Helper()
	res := r.run(extra, "grant", "-s", "s3", "-t", "15m", "--json")
	if res.err != nil {
		t.Fatalf("grant: %v\n%s", res.err, res.stderr)
	}
	var id string
	if _, rest, ok := strings.Cut(string(res.stdout), `"session_id": "`); ok {
		id, _, _ = strings.Cut(rest, `"`)
	}
	if !profiles.ValidID(id) {
		t.Fatalf("grant --json printed no session_id:\n%s", res.stdout)
	}
	return id
}

// helper runs grant id's credential_process line, with extra in the
// environment, through sh -c as aws-sdk-go-v2 does. A grant without a
// profile gets the line a profile would have.
func (r *failRig) helper(id string, extra ...string) result {
	line := ""
	data, _ := os.ReadFile(filepath.Join(r.state, "aws-config"))
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "credential_process = "); ok && strings.Contains(v, " --session "+id+" ") {
			line = v
		}
	}
	if line == "" {
		line = r.bin + " credential-process --session " + id + " --home " + r.state
		for _, kv := range r.env {
			if b, ok := strings.CutPrefix(kv, "TIMEBOUND_IAM_KEYRING_BACKEND="); ok {
				line += " --backend " + b
			}
		}
	}
	res := runEnv(append(slices.Clone(r.env), extra...), "/bin/sh", "-c", line)
	r.scan.Capture("stderr of "+line, res.stderr)
	return res
}

// wantNothingHalfWritten checks the state directory after a failed grant:
// the profiles file names exactly the grants in ids, no pending marker is
// left, no temporary file (they all start with a dot), and, for the file
// backend, the keyring holds exactly the items of ids.
func wantNothingHalfWritten(t *testing.T, state string, ids ...string) {
	t.Helper()
	set, err := (&profiles.File{Path: filepath.Join(state, "aws-config"), Home: state}).Read()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for e := range set.All() {
		got = append(got, e.ID)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, want) {
		t.Errorf("profiles %q, want %q", got, want)
	}
	if left, _ := os.ReadDir(filepath.Join(state, "aws-config.pending")); len(left) > 0 {
		t.Errorf("pending markers left: %v", left)
	}
	filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("temporary file left: %s", path)
		}
		return nil
	})
	if items, err := os.ReadDir(filepath.Join(state, "keyring")); err == nil {
		var names []string
		for _, it := range items {
			names = append(names, it.Name())
		}
		var wantItems []string
		for _, id := range want {
			wantItems = append(wantItems, profiles.Prefix+id)
		}
		if !slices.Equal(names, wantItems) {
			t.Errorf("file keyring items %q, want %q", names, wantItems)
		}
	}
}

// privateTempDir is a t.TempDir with the mode of a state directory, 0700:
// t.TempDir's own are 0755, and every command would warn about fixing it.
func privateTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantLines(t *testing.T, what string, got []byte, want ...string) {
	t.Helper()
	if w := strings.Join(want, "\n") + "\n"; string(got) != w {
		t.Errorf("%s:\n%s\nwant:\n%s", what, got, w)
	}
}

// TestFailureKeychainUnavailable: keyring_backend = secret-service on a
// machine without a D-Bus session bus (the guard sets
// DBUS_SESSION_BUS_ADDRESS=disabled:). A grant is refused before STS, saying
// which backend cannot be used, why, and which can; nothing is written. The
// helper refuses a profile naming that backend in one line.
func TestFailureKeychainUnavailable(t *testing.T) {
	r := newFailRig(t, "secret-service")
	res := r.run(nil, "grant", "-s", "s3", "-t", "15m")
	if res.err == nil {
		t.Fatalf("grant succeeded without a Secret Service:\n%s", res.stdout)
	}
	config := filepath.Join(r.state, "config")
	avail := strings.Join(keychain.Available(), ", ") // keyctl, file here; pass where installed
	noBus := fmt.Sprintf("no D-Bus session bus: none in DBUS_SESSION_BUS_ADDRESS and no /run/user/%d/bus, as on a headless machine", os.Getuid())
	wantLines(t, "grant's stderr", res.stderr,
		`timebound-iam: error: keychain backend not available: keyring_backend "secret-service" cannot be used here (`+noBus+`); backends available here: `+avail,
		"timebound-iam: hint: set keyring_backend in "+config+", or TIMEBOUND_IAM_KEYRING_BACKEND, to one of: "+avail)
	if len(res.stdout) != 0 {
		t.Errorf("stdout: %q", res.stdout)
	}
	if n := r.sts.Calls(); n != 0 {
		t.Errorf("%d STS calls; the grant should stop before STS", n)
	}
	if left, _ := os.ReadDir(r.state); len(left) != 0 {
		t.Errorf("left in the state directory: %v", left)
	}

	res = r.helper("k3f9ab2c")
	wantLines(t, "credential-process's stderr", res.stderr,
		`timebound-iam: grant tb-k3f9ab2c: cannot open the keychain: keychain backend not available: keyring_backend "secret-service" cannot be used here (`+noBus+`); backends available here: `+avail+`; call grant_access again (or run timebound-iam grant)`)
	if res.err == nil || len(res.stdout) != 0 {
		t.Errorf("credential-process: %v, stdout %q; want exit 1 and no stdout", res.err, res.stdout)
	}
}

// TestFailureFilePassphraseMissing: the file backend without
// TIMEBOUND_IAM_FILE_PASSPHRASE refuses a grant before STS, naming the
// variable, and writes nothing; serve does not start; the helper refuses.
func TestFailureFilePassphraseMissing(t *testing.T) {
	r := newFailRig(t, "file")
	const want = "the file keyring needs a passphrase and TIMEBOUND_IAM_FILE_PASSPHRASE is empty: set it in the environment of every process that runs timebound-iam (the agent's MCP server and its AWS CLI)"
	res := r.run(nil, "grant", "-s", "s3", "-t", "15m")
	if res.err == nil {
		t.Fatalf("grant succeeded without a passphrase:\n%s", res.stdout)
	}
	wantLines(t, "grant's stderr", res.stderr, "timebound-iam: error: "+want,
		"timebound-iam: hint: choose a backend with keyring_backend in "+filepath.Join(r.state, "config")+" (one of keyctl, secret-service, keychain, wincred, pass, file)")
	if n := r.sts.Calls(); n != 0 {
		t.Errorf("%d STS calls; the grant should stop before STS", n)
	}
	if left, _ := os.ReadDir(r.state); len(left) != 0 {
		t.Errorf("left in the state directory: %v", left)
	}

	res = r.run(nil, "serve")
	if res.err == nil || len(res.stdout) != 0 || !strings.Contains(string(res.stderr), "timebound-iam: error: "+want+"\n") {
		t.Errorf("serve: %v\nstdout %q\nstderr:\n%s", res.err, res.stdout, res.stderr)
	}

	res = r.helper("k3f9ab2c")
	wantLines(t, "credential-process's stderr", res.stderr,
		"timebound-iam: grant tb-k3f9ab2c: cannot open the keychain: "+want+"; call grant_access again (or run timebound-iam grant)")
	if res.err == nil || len(res.stdout) != 0 {
		t.Errorf("credential-process: %v, stdout %q", res.err, res.stdout)
	}
}

// TestFailureFilePassphraseWrong: the file keyring holds a grant stored
// with one passphrase; with another, which cannot decrypt it (the file
// backend's "locked"), a grant is refused before STS and stores nothing, so
// the keyring never holds items under two passphrases; serve does not
// start; the helper refuses with what to do; the first grant still works
// with the right passphrase. A revoke needs no decryption and ends the
// grant anyway: that is what its user wants.
func TestFailureFilePassphraseWrong(t *testing.T) {
	r := newFailRig(t, "file")
	right := []string{"TIMEBOUND_IAM_FILE_PASSPHRASE=the-right-passphrase"}
	wrong := []string{"TIMEBOUND_IAM_FILE_PASSPHRASE=a-wrong-passphrase"}
	first := r.grant(t, right...)
	calls := r.sts.Calls()
	keyring := filepath.Join(r.state, "keyring")
	locked := `keychain locked: the file keyring "` + keyring + `" cannot decrypt tb-` + first + ` with this passphrase (aes.KeyUnwrap(): integrity check failed.): set TIMEBOUND_IAM_FILE_PASSPHRASE to the passphrase the grants were stored with, or revoke them and start over`

	res := r.run(wrong, "grant", "-s", "s3", "-t", "15m")
	if res.err == nil {
		t.Fatalf("grant with a wrong passphrase succeeded:\n%s", res.stdout)
	}
	wantLines(t, "grant's stderr", res.stderr, "timebound-iam: error: "+locked)
	if n := r.sts.Calls(); n != calls {
		t.Errorf("%d STS calls after the first grant's %d; the refused grant should stop before STS", n, calls)
	}
	wantNothingHalfWritten(t, r.state, first)

	res = r.run(wrong, "serve")
	if res.err == nil || !strings.Contains(string(res.stderr), "timebound-iam: error: "+locked+"\n") {
		t.Errorf("serve with a wrong passphrase: %v\n%s", res.err, res.stderr)
	}

	res = r.helper(first, wrong...)
	wantLines(t, "credential-process's stderr", res.stderr,
		"timebound-iam: grant tb-"+first+": "+locked+"; unlock the keychain, or call grant_access again (or run timebound-iam grant)")
	if res.err == nil || len(res.stdout) != 0 {
		t.Errorf("credential-process: %v, stdout %q", res.err, res.stdout)
	}
	if res := r.helper(first, right...); res.err != nil || !strings.Contains(string(res.stdout), `"SessionToken":`) {
		t.Errorf("credential-process with the right passphrase: %v\n%s", res.err, res.stderr)
	}

	if res := r.run(wrong, "revoke", first); res.err != nil || string(res.stdout) != "revoked tb-"+first+"\n" {
		t.Errorf("revoke with a wrong passphrase: %v\nstdout %q\nstderr %s", res.err, res.stdout, res.stderr)
	}
	res = r.helper(first, right...)
	if res.err == nil || !strings.Contains(string(res.stderr), "grant tb-"+first+" was revoked at ") {
		t.Errorf("credential-process after the revoke: %v\n%s", res.err, res.stderr)
	}
	if items, _ := os.ReadDir(keyring); len(items) != 0 {
		t.Errorf("file keyring items after the revoke: %v", items)
	}
}

// TestFailureConfigSyntax: a config line that is not INI stops grant before
// STS, and serve before it answers initialize, with the file, the line and
// what to do; nothing is written. The serve case goes through the go-sdk
// client over a real subprocess, as an agent starts it.
func TestFailureConfigSyntax(t *testing.T) {
	r := newFailRig(t, "file")
	r.env = append(r.env, "TIMEBOUND_IAM_FILE_PASSPHRASE=config-test-passphrase")
	config := filepath.Join(r.state, "config")
	if err := os.MkdirAll(r.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("role_arn = arn:aws:iam::123456789012:role/broker\n# where\nregion eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const line = `:3: "region eu-west-1" is not a key = value line: write it as key = value, or comment it out with #`
	res := r.run(nil, "grant", "-s", "s3", "-t", "15m")
	wantLines(t, "grant's stderr", res.stderr, "timebound-iam: error: "+config+line)
	if res.err == nil || len(res.stdout) != 0 {
		t.Errorf("grant: %v, stdout %q", res.err, res.stdout)
	}
	if n := r.sts.Calls(); n != 0 {
		t.Errorf("%d STS calls", n)
	}
	if left, _ := os.ReadDir(r.state); len(left) != 1 {
		t.Errorf("state directory holds %v, want only the config", left)
	}

	cmd := exec.Command(r.bin, "serve")
	cmd.Env = r.env
	var stderr strings.Builder
	cmd.Stderr = r.scan.Writer("serve's stderr", &stderr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "config-test-agent", Version: "1"}, nil).
		Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err == nil {
		cs.Close()
		t.Fatalf("serve with a broken config answered initialize")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("initialize: %v; serve should exit at once", err)
	}
	cmd.Wait()
	wantLines(t, "serve's stderr", []byte(stderr.String()), "timebound-iam: error: "+config+line)
	t.Logf("the client saw: %v", err)
}

// TestServeLogsPermissionWarning: under serve, a state directory found
// readable by others is fixed and reported as a structured log line through
// serve's logger, not as the CLI's plain warning line.
func TestServeLogsPermissionWarning(t *testing.T) {
	r := newFailRig(t, "file")
	r.env = append(r.env, "TIMEBOUND_IAM_FILE_PASSPHRASE=serve-warn-passphrase")
	if err := os.MkdirAll(r.state, 0o700); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(r.state, "config")
	if err := os.WriteFile(config, []byte("region = eu-west-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.state, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = r.env
	var stderr strings.Builder
	cmd.Stderr = r.scan.Writer("serve's stderr", &stderr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "warn-test-agent", Version: "1"}, nil).
		Connect(ctx, &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "grant_access", Arguments: map[string]any{"services": []string{"s3"}, "ttl": "15m"}})
	if err != nil || res.IsError {
		t.Errorf("grant_access: %v %+v", err, res)
	}
	r.scan.Result("MCP result of grant_access", res)
	if err := cs.Close(); err != nil {
		t.Errorf("closing: %v", err)
	}
	log := stderr.String()
	for _, want := range []string{
		`level=WARN msg="state directory path was open to other users; made it private" path=` + r.state + " was=0755 now=0700\n",
		`level=WARN msg="state directory path was open to other users; made it private" path=` + config + " was=0644 now=0600\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("serve's stderr lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "timebound-iam: warning:") {
		t.Errorf("serve printed the CLI's plain warning:\n%s", log)
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("serve's stderr line is not a log record: %q", line)
		}
	}
	for _, p := range []string{r.state, config} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v %v; want it private", p, st.Mode(), err)
		}
	}
}
