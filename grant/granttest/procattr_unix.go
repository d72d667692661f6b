//go:build unix && !linux

package granttest

import "syscall"

// minioProcAttr puts MinIO in its own process group. Only the Linux build
// asks for a parent-death signal: here a parent killed before Close leaves
// MinIO running.
func minioProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
