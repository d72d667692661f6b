//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoDBusDaemon shows that keyring's init would start a dbus-daemon on a
// headless machine, and that this binary does not.
func TestNoDBusDaemon(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("D-Bus session buses are a Linux matter here")
	}
	if _, err := exec.LookPath("dbus-launch"); err != nil {
		t.Skip("dbus-launch is not installed, so no daemon could start either way (.ci/run installs dbus-x11)")
	}
	if _, err := os.Stat("/run/user/" + itoa(os.Getuid()) + "/bus"); err == nil {
		t.Skip("a session bus exists here; the guard rightly stays out of the way")
	}
	dir := t.TempDir()
	control := goBuild(t, filepath.Join(dir, "noguard"), "./testdata/noguard")
	real := goBuild(t, filepath.Join(dir, "timebound-iam"), ".")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}

	before := daemons(t)
	runQuiet(t, env, control)
	leaked := newPIDs(before, daemons(t))
	// Stop exactly the daemons this test caused, by PID.
	t.Cleanup(func() { kill(leaked) })
	if len(leaked) == 0 {
		t.Fatalf("control: keyring without the guard started no dbus-daemon; the test cannot show anything")
	}

	before = daemons(t)
	for _, args := range [][]string{
		{"version"},
		{"credential-process", "--session", "abcd2345", "--home", dir, "--backend", "keyctl"},
	} {
		runQuiet(t, env, real, args...)
	}
	if started := newPIDs(before, daemons(t)); len(started) > 0 {
		kill(started)
		t.Errorf("timebound-iam started dbus-daemon(s) %v", started)
	}
}

func runQuiet(t *testing.T, env []string, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	_ = cmd.Run() // exit status is beside the point; the daemon count is
}

// daemons lists the dbus-daemon PIDs once a just-started one has had time to
// appear.
func daemons(t *testing.T) []string {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	out, _ := exec.Command("pgrep", "-x", "dbus-daemon").Output()
	return strings.Fields(string(out))
}

func newPIDs(before, after []string) []string {
	var out []string
	for _, p := range after {
		if !slices.Contains(before, p) {
			out = append(out, p)
		}
	}
	return out
}

func kill(pids []string) {
	for _, p := range pids {
		if n, err := strconv.Atoi(p); err == nil {
			_ = syscall.Kill(n, syscall.SIGTERM)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
