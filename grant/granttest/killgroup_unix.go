//go:build unix

package granttest

import (
	"os"
	"syscall"
)

// killGroup kills p and its process group, which [minioProcAttr] made: a
// server's own children go with it.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
