package granttest

import (
	"os"
	"syscall"
)

// minioProcAttr asks nothing of Windows, which has no process groups to
// signal; the test peers run on Linux and macOS.
func minioProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// killGroup kills p; its children are left to the job that started it.
func killGroup(p *os.Process) { _ = p.Kill() }
