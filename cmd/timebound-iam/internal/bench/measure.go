package main

import (
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// timeRun runs argv once and returns its wall time.
func timeRun(environ []string, argv ...string) (time.Duration, error) {
	wall, _, err := timeRunCPU(environ, argv...)
	return wall, err
}

// timeRunCPU also returns the CPU time of the process and of the children
// it waited for (the AWS CLI's credential_process helper among them): a
// figure load on the machine shifts far less than wall time.
func timeRunCPU(environ []string, argv ...string) (wall, cpu time.Duration, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = environ
	return timeCmd(cmd)
}

// timeCmd runs cmd, which has no output set yet, and returns its wall and
// CPU time as [timeRunCPU] does.
func timeCmd(cmd *exec.Cmd) (wall, cpu time.Duration, err error) {
	argv := cmd.Args
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return wall, cpu, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
	}
	return wall, cpu, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// interleave runs every named command once per round, in turn, and returns
// each one's durations.
func interleave(rounds int, cmds map[string]func() (time.Duration, error)) (map[string][]time.Duration, error) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	out := map[string][]time.Duration{}
	for name, f := range cmds { // warm caches once
		if _, err := f(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for i := 0; i < rounds; i++ {
		for _, n := range names {
			d, err := cmds[n]()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			out[n] = append(out[n], d)
		}
	}
	return out, nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
