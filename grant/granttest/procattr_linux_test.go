package granttest_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// TestMinIODiesWithItsParent kills, with SIGKILL, a process that started
// MinIO, so that no cleanup of its own runs, and checks that MinIO is gone
// soon after: what a test binary killed by go test's -timeout leaves behind.
// MinIO runs in its own process group, so only the parent-death signal can
// reach it.
func TestMinIODiesWithItsParent(t *testing.T) {
	if _, err := granttest.FindRig(); err != nil {
		t.Skip(err)
	}
	parent := exec.Command(os.Args[0], "-test.run=^TestMinIOParentProcess$")
	parent.Env = append(os.Environ(), "GRANTTEST_MINIO_PARENT_DIR="+t.TempDir())
	var stderr bytes.Buffer
	parent.Stderr = &stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "minio pid "))
	if err != nil || perr != nil {
		_ = parent.Process.Kill()
		_ = parent.Wait()
		t.Fatalf("the parent process did not report MinIO's pid (%q, %v):\n%s", line, err, &stderr)
	}
	// Should the signal not come, the test still stops what it started.
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
	if !alive(pid) {
		t.Fatalf("MinIO (pid %d) is not running while its parent is", pid)
	}

	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	killed := time.Now()
	for alive(pid) {
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("MinIO (pid %d) still runs 5s after its parent was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("MinIO (pid %d) gone %v after its parent was killed", pid, time.Since(killed).Round(time.Millisecond))
}

// TestMinIOParentProcess is the parent that TestMinIODiesWithItsParent
// kills: it starts MinIO, prints its pid and waits to be killed.
func TestMinIOParentProcess(t *testing.T) {
	dir := os.Getenv("GRANTTEST_MINIO_PARENT_DIR")
	if dir == "" {
		t.Skip("run by TestMinIODiesWithItsParent")
	}
	rig, err := granttest.FindRig()
	if err != nil {
		t.Fatal(err)
	}
	m, err := rig.StartMinIO(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close() // only if the 30s below run out
	fmt.Printf("minio pid %d\n", m.PID())
	time.Sleep(30 * time.Second)
}

// alive reports whether pid runs: it exists and is not a zombie, which an
// init that does not reap (a container's) would leave behind.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return err != nil || i < 0 || !bytes.HasPrefix(stat[i+1:], []byte(" Z"))
}
