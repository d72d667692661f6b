package granttest

import "syscall"

// minioProcAttr puts MinIO in its own process group and has the kernel
// SIGKILL it when its parent dies: a test binary killed by go test's
// -timeout, or a demo killed with SIGKILL, runs no cleanup of its own.
func minioProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
