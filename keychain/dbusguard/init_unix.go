//go:build unix && !darwin

package dbusguard

import "syscall"

// D-Bus session buses exist on the BSDs and Linux; macOS and Windows use
// their own keychains and never dial D-Bus.
func init() {
	if addr, ok := Address(syscall.Getenv, exists, syscall.Getuid()); ok {
		_ = syscall.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	}
}

func exists(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil
}
