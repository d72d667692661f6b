package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant"
)

// TestE2EExec runs the AWS CLI v2 under `timebound-iam exec` against MinIO.
// exec's own environment holds the base keys of the writer broker, which may
// upload to its bucket: a read_only upload that fails there shows that the
// AWS CLI used the grant, through AWS_PROFILE and the dedicated config file,
// and not the base keys exec was started with.
func TestE2EExec(t *testing.T) {
	w := newWorld(t, writerBroker)
	s := w.s
	defer w.scanSecrets(t)
	upload := writeUpload(t, w)
	if _, err := w.m.MC("cp", upload, "rig/"+s.Writable+"/"+s.Object); err != nil {
		t.Fatal(err)
	}
	awsArgs := func(args ...string) []string { return append([]string{awsCLI, "--endpoint-url", w.m.URL}, args...) }
	inBucket := func(t *testing.T, key string) bool {
		out, err := w.m.MC("ls", "rig/"+s.Writable)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(out), key)
	}

	t.Run("1 aws s3 ls lists the bucket", func(t *testing.T) {
		r, g := w.execGated(t, []string{"-s", "s3", "-t", "15m"}, awsArgs("s3", "ls", "s3://"+s.Writable)...)
		if out := mustSucceed(t, r); !strings.Contains(out, s.Object) {
			t.Errorf("exec -- aws s3 ls s3://%s printed %q, want %s", s.Writable, out, s.Object)
		}
		if len(r.stderr) != 0 {
			t.Errorf("exec's stderr = %q, want nothing", r.stderr)
		}
		if g.Level != "read_only" || !slices.Equal(g.Services, []string{"s3"}) {
			t.Errorf("the grant exec made = %+v, want s3 read_only", g)
		}
		w.checkExecRevoked(t, g)
	})

	t.Run("2 a read_only upload is denied, though the base keys may upload", func(t *testing.T) {
		// The same upload in exec's own environment, with the base keys.
		mustSucceed(t, w.run(w.env, awsCLI, "--endpoint-url", w.m.URL, "--region", "us-east-1", "s3", "cp", upload, "s3://"+s.Writable+"/base.test"))
		if !inBucket(t, "base.test") {
			t.Fatalf("the base keys' upload is not in %s", s.Writable)
		}

		r, g := w.execGated(t, []string{"-s", "s3", "-t", "15m"}, awsArgs("s3", "cp", upload, "s3://"+s.Writable+"/exec.test")...)
		t.Logf("exec -- aws s3 cp with read_only: %s", mustFail(t, r, "AccessDenied"))
		// aws s3 cp exits 1 when a transfer fails; exec passes that on.
		var exit *exec.ExitError
		if !errors.As(r.err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("exec exited with %v, want the AWS CLI's code 1", r.err)
		}
		if inBucket(t, "exec.test") {
			t.Errorf("exec.test is in %s after a read_only upload", s.Writable)
		}
		w.checkExecRevoked(t, g)
	})
}

// execGated runs `timebound-iam exec GRANTARGS -- COMMAND...` with the
// broker's environment. COMMAND waits behind a gate, a shell that execs it,
// while the test sees the grant live and reads its secrets for the scan;
// then it runs in the environment exec gave the gate. It returns exec's
// result and the grant as sessions listed it.
func (w *world) execGated(t *testing.T, grantArgs []string, command ...string) (result, grant.SessionOutput) {
	t.Helper()
	dir, err := os.MkdirTemp(w.work, "gate-")
	if err != nil {
		t.Fatal(err)
	}
	ready, open := filepath.Join(dir, "ready"), filepath.Join(dir, "open")
	// Released on any failure, so that exec and its command end.
	t.Cleanup(func() { os.WriteFile(open, nil, 0o600) })
	const gate = `printf %s "$AWS_PROFILE" >"$0.tmp" && mv "$0.tmp" "$0" && while [ ! -e "$1" ]; do sleep 0.05; done && shift && exec "$@"`
	args := append(append([]string{"exec"}, grantArgs...), append([]string{"--", "/bin/sh", "-c", gate, ready, open}, command...)...)
	done := make(chan result, 1)
	go func() { done <- w.tb(args...) }()

	var profile string
	for deadline := time.Now().Add(time.Minute); profile == ""; {
		select {
		case r := <-done:
			t.Fatalf("exec ended before its command ran: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if b, err := os.ReadFile(ready); err == nil {
			profile = string(b)
		} else if time.Now().After(deadline) {
			t.Fatalf("exec's command did not start within a minute")
		}
	}
	var live grant.SessionsOutput
	if err := json.Unmarshal([]byte(mustSucceed(t, w.tb("sessions", "--json"))), &live); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(live.Sessions, func(x grant.SessionOutput) bool { return x.Profile == profile })
	if i < 0 {
		t.Fatalf("while exec's command runs, sessions does not list its AWS_PROFILE %q: %+v", profile, live.Sessions)
	}
	w.remember(t, live.Sessions[i].SessionID)
	if err := os.WriteFile(open, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return <-done, live.Sessions[i]
}

// checkExecRevoked asserts that exec revoked g when its command ended: it is
// no longer live, and the AWS CLI shows the helper's refusal.
func (w *world) checkExecRevoked(t *testing.T, g grant.SessionOutput) {
	t.Helper()
	var live grant.SessionsOutput
	if err := json.Unmarshal([]byte(mustSucceed(t, w.tb("sessions", "--json"))), &live); err != nil {
		t.Fatal(err)
	}
	if len(live.Sessions) != 0 {
		t.Errorf("sessions after exec = %+v, want none", live.Sessions)
	}
	checkRefusal(t, w.aws(g.Profile, "s3", "ls", "s3://"+w.s.Writable), "", "grant "+g.Profile+" was revoked at "+stampRE+"; ")
}
