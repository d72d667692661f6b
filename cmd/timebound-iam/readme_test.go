//go:build unix

package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// readmeSection returns the shell blocks of the README section whose
// heading is heading, up to the next heading of the same or a higher level,
// joined in order.
func readmeSection(t *testing.T, readme, heading string) string {
	t.Helper()
	start := strings.Index(readme, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("README has no %q", heading)
	}
	level := strings.Repeat("#", strings.Count(strings.Fields(heading)[0], "#"))
	body := readme[start+len(heading)+2:]
	for i, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "#") && len(strings.Fields(line)[0]) <= len(level) && !strings.HasPrefix(line, "#!") {
			body = strings.Join(strings.Split(body, "\n")[:i], "\n")
			break
		}
	}
	var script strings.Builder
	in := false
	for _, line := range strings.Split(body, "\n") {
		switch {
		case line == "```sh":
			in = true
		case line == "```" && in:
			in = false
		case in:
			script.WriteString(line + "\n")
		}
	}
	if script.Len() == 0 {
		t.Fatalf("README section %q has no ```sh blocks", heading)
	}
	return script.String()
}

// TestReadmeMinIO runs the README's "Try it by hand on MinIO" commands as
// written, in bash from the repository's root, with only PORT and HOME
// chosen by the test, and the binary on PATH: the grant's `aws s3 ls` must
// list the object, and the MinIO it started must be gone at the end.
func TestReadmeMinIO(t *testing.T) {
	rig, err := granttest.FindRig()
	if err != nil {
		t.Skip(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := readmeSection(t, string(readme), "### Try it by hand on MinIO")
	binDir := t.TempDir()
	goBuild(t, filepath.Join(binDir, "timebound-iam"), ".")
	home := t.TempDir()
	port, err := granttest.FreePort()
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = []string{
		"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"PORT=" + strconv.Itoa(port),
		"TIMEBOUND_IAM_RIG=" + rig.Dir,
		"AWS_EC2_METADATA_DISABLED=true",
	}
	// Its own process group, so that a failing script's MinIO is stopped too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
		t.Errorf("the README's commands did not finish within 3 minutes")
	}
	if err != nil {
		t.Fatalf("the README's MinIO commands failed: %v\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", err, script, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "README.md") {
		t.Errorf("aws s3 ls did not list README.md:\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "revoked tb-") {
		t.Errorf("no revoke in the output:\n%s", out.String())
	}
	// kill "$MINIO_PID" ended it: nothing listens on its port any more.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Errorf("MinIO still listens on %d after the README's kill", port)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}
