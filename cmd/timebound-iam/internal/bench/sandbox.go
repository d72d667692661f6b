package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/granttest"
)

// sandboxRounds is fewer than [s3Rounds]: every run inside the sandbox also
// pays for srt's own start-up (Node, its proxy, bubblewrap), which is longer
// than the AWS CLI's whole command, and there are three profiles to time.
const sandboxRounds = 30

// srtAloneRuns is how often srt is timed running nothing, for the reference
// row that says how much of each sandboxed run is srt's.
const srtAloneRuns = 10

// inSandbox times the same three `aws s3 ls` commands inside an agent's
// sandbox: Anthropic's sandbox runtime (srt, the one under Claude Code's
// sandbox) from the rig, with the settings an agent would run under. The
// tb profile's helper reads the grant from the kernel keyring (keyctl, the
// Linux default), which from inside the sandbox's user namespace it finds
// by serial. Both sides run inside srt, so its start-up is paid by both.
// home is the commands' home directory, whose .aws the sandbox hides; work
// is its writable working directory; state, the grant's state directory, is
// denied to writes as an agent's settings deny it.
func (lc lsCommand) inSandbox(home, work, state string) ([]row, error) {
	rig, err := granttest.FindRig()
	if err != nil {
		return nil, err
	}
	srt := filepath.Join(rig.NodeModules(), ".bin", "srt")
	if _, err := os.Stat(srt); err != nil {
		return nil, fmt.Errorf("srt is not installed (%s is missing): run sh .ci/rig", srt)
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		return nil, errors.New("srt needs bubblewrap: run sh .ci/rig")
	}
	// A real ~/.aws to hide, so that srt places the mount it would place for
	// an agent.
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	settings, err := json.Marshal(map[string]any{
		"filesystem": map[string]any{
			"denyRead":   []string{filepath.Join(home, ".aws")},
			"allowWrite": []string{work},
			"denyWrite":  []string{state},
		},
		// MinIO listens on the host's 127.0.0.1, which from inside the
		// sandbox's own network namespace only srt's proxy reaches.
		"network": map[string]any{"allowedDomains": []string{"127.0.0.1", "localhost"}, "deniedDomains": []string{}},
	})
	if err != nil {
		return nil, err
	}
	settingsFile := filepath.Join(filepath.Dir(work), "srt-settings.json")
	if err := os.WriteFile(settingsFile, settings, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cpuFile := filepath.Join(work, "cpu")
	// inside runs argv inside the sandbox, through this program as
	// [cpuChild], and returns the wall time of the whole srt command and
	// the CPU time of argv and its children as cpuChild saw it.
	inside := func(argv []string) (wall, cpu time.Duration, err error) {
		// srt sets no_proxy to loopback, which inside the sandbox is its
		// own: unset it so that the CLI goes through the proxy to MinIO.
		cmd := exec.Command(srt, append([]string{"--settings", settingsFile, "--", "env", "-u", "no_proxy", "-u", "NO_PROXY", self}, argv...)...)
		cmd.Dir = work
		cmd.Env = append(slices.Clone(lc.environ), cpuFileEnv+"="+cpuFile)
		if wall, _, err = timeCmd(cmd); err != nil {
			return wall, 0, err
		}
		b, err := os.ReadFile(cpuFile)
		if err != nil {
			return wall, 0, err
		}
		ns, err := strconv.ParseInt(string(b), 10, 64)
		return wall, time.Duration(ns), errors.Join(err, os.Remove(cpuFile))
	}

	var alone []time.Duration
	for i := 0; i < srtAloneRuns; i++ {
		wall, _, err := inside([]string{"true"})
		if err != nil {
			return nil, err
		}
		alone = append(alone, wall)
	}
	rows, err := lc.compare(sandboxRounds, " in srt", inside, "≤ 1.05x", 1.05)
	if err != nil {
		return nil, err
	}
	return append(rows, row{measure: "  srt start-up alone (running true), wall", median: median(alone), target: "(reference)", info: true}), nil
}

// cpuFileEnv makes this program, started inside the sandbox, run the
// command in its arguments as [cpuChild] instead of the bench.
const cpuFileEnv = "TIMEBOUND_IAM_BENCH_CPU_FILE"

// cpuChild runs argv, and writes the CPU time it and the children it waited
// for took, in nanoseconds, to file. Outside the sandbox the bench reads
// that from the process it started, but srt's CPU time leaves out what runs
// inside bubblewrap: a second of CPU spent inside adds nothing to it.
func cpuChild(file string, argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if werr := os.WriteFile(file, []byte(strconv.FormatInt(int64(cpu), 10)), 0o600); werr != nil {
		fmt.Fprintln(os.Stderr, "bench:", werr)
		return 2
	}
	return cmd.ProcessState.ExitCode()
}
