//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExecChildEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin:/bin",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=base-token",
		"AWS_SECURITY_TOKEN=base-token",
		"AWS_ACCESS_KEY=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00Z",
		"AWS_PROFILE=base",
		"AWS_DEFAULT_PROFILE=base",
		"AWS_CONFIG_FILE=/home/me/.aws/config",
		"AWS_SDK_LOAD_CONFIG=0",
		"AWS_ROLE_ARN=arn:aws:iam::123456789012:role/web",
		"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/token",
		"AWS_ROLE_SESSION_NAME=web",
		"aws_secret_access_key=lowercase", // Windows reads it as the upper-case name
		"AWS_REGION=eu-west-1",
		"AWS_SHARED_CREDENTIALS_FILE=/home/me/.aws/credentials",
		"TIMEBOUND_IAM_HOME=/home/me/.config/timebound-iam",
		"NO_VALUE",
		"AWS_PROFILE_X=kept",
	}
	got := childEnv(environ, "/state/aws-config", "tb-k3f9ab2c")
	want := []string{
		"PATH=/usr/bin:/bin",
		"AWS_REGION=eu-west-1",
		"AWS_SHARED_CREDENTIALS_FILE=/home/me/.aws/credentials",
		"TIMEBOUND_IAM_HOME=/home/me/.config/timebound-iam",
		"NO_VALUE",
		"AWS_PROFILE_X=kept",
		"AWS_CONFIG_FILE=/state/aws-config",
		"AWS_PROFILE=tb-k3f9ab2c",
		"AWS_SDK_LOAD_CONFIG=1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("childEnv (-want +got):\n%s", diff)
	}
}

// TestExecForwardsSignals runs exec as a subprocess (the copy of this test
// binary that testscript puts on PATH as timebound-iam) with the harness's
// environment, and sends each forwarded signal to exec alone, never to its
// process group: only forwarding can bring it to the command. A command that
// traps the signal records it and exits 3, and exec exits 3; one that dies
// of SIGTERM makes exec exit 143. Either way the grant is revoked.
func TestExecForwardsSignals(t *testing.T) {
	doctorEnv(t)
	bin, err := exec.LookPath(prog)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		trap string // the signal's name for sh's trap; "" leaves its default action
		code int
	}{
		{"SIGTERM trapped", syscall.SIGTERM, "TERM", 3},
		{"SIGINT trapped", syscall.SIGINT, "INT", 3},
		{"SIGHUP trapped", syscall.SIGHUP, "HUP", 3},
		{"SIGQUIT trapped", syscall.SIGQUIT, "QUIT", 3},
		{"SIGTERM kills", syscall.SIGTERM, "", 128 + int(syscall.SIGTERM)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ready, got := filepath.Join(dir, "ready"), filepath.Join(dir, "got")
			// The command writes its profile to ready once its trap is set.
			announce := `printf %s "$AWS_PROFILE" >"$1.tmp" && mv "$1.tmp" "$1"`
			script := announce + ` && exec sleep 60`
			if tc.trap != "" {
				script = `trap 'echo ` + tc.trap + ` >"$2"; exit 3' ` + tc.trap + "\n" + announce + "\nwhile :; do sleep 0.05; done"
			}
			cmd := exec.Command(bin, "exec", "-s", "s3", "-t", "15m", "--", "sh", "-c", script, "sh", ready, got)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			// A group of its own lets the cleanup end the command too.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var werr error
			exited := make(chan struct{})
			go func() { werr = cmd.Wait(); close(exited) }()
			t.Cleanup(func() {
				select {
				case <-exited:
				default:
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-exited
				}
			})

			profile := waitForFile(t, ready, exited, &stderr)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("exec has not exited 30s after %v", tc.sig)
			}
			var exit *exec.ExitError
			if code := cmd.ProcessState.ExitCode(); !errors.As(werr, &exit) || code != tc.code {
				t.Errorf("exec exited with %v (code %d), want code %d", werr, code, tc.code)
			}
			if stdout.Len() != 0 || stderr.Len() != 0 {
				t.Errorf("exec printed\nstdout: %s\nstderr: %s\nwant nothing", stdout.String(), stderr.String())
			}
			if tc.trap != "" {
				if b, err := os.ReadFile(got); err != nil || strings.TrimSpace(string(b)) != tc.trap {
					t.Errorf("the command recorded %q, %v; want %s", b, err, tc.trap)
				}
			}
			out, errOut, code := runCLI(t, "revoke", profile)
			if want := profile + " had already ended (revoked)\n"; code != 0 || out != want {
				t.Errorf("revoke %s after exec = %q, %q, %d; want %q", profile, out, errOut, code, want)
			}
		})
	}
}

// waitForFile waits until path exists and returns its content. It fails the
// test if exec exits first (then stderr is complete) or 30 seconds pass.
func waitForFile(t *testing.T, path string, exited <-chan struct{}, stderr *bytes.Buffer) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil {
			return string(b)
		}
		select {
		case <-exited:
			t.Fatalf("exec exited before its command was ready\nstderr: %s", stderr.String())
		case <-deadline:
			t.Fatalf("%s did not appear within 30s", path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
