// Package dbusguard stops github.com/99designs/keyring from starting a
// dbus-daemon on a headless machine.
//
// # Why
//
// keyring's Secret Service and KWallet backends call dbus.SessionBus in their
// init functions. With no session bus address in the environment, godbus runs
// dbus-launch, which starts a dbus-daemon that never exits: +5 ms and one
// leaked daemon for every credential_process call.
//
// # How
//
// Import this package for its side effect, before anything that links
// keyring:
//
//	import _ "github.com/timebound-iam/timebound-iam/keychain/dbusguard"
//
// When DBUS_SESSION_BUS_ADDRESS is unset and no /run/user/$UID/bus socket
// exists, its init sets DBUS_SESSION_BUS_ADDRESS to "disabled:", an address
// godbus rejects at once. A real session bus is left alone.
//
// It imports only syscall. Go initialises packages in import-path order among
// those whose imports are ready, so this package runs before package os
// ("github.com/..." sorts before "os"), and therefore before keyring, which
// needs os.
package dbusguard

// Disabled is the address set when no session bus exists.
const Disabled = "disabled:"

// Address reports the DBUS_SESSION_BUS_ADDRESS to set, and whether to set it:
// [Disabled] when the variable is unset (or empty) and the per-user bus
// socket /run/user/<uid>/bus does not exist.
func Address(getenv func(string) (string, bool), exists func(path string) bool, uid int) (string, bool) {
	if v, ok := getenv("DBUS_SESSION_BUS_ADDRESS"); ok && v != "" {
		return "", false
	}
	if exists("/run/user/" + itoa(uid) + "/bus") {
		return "", false
	}
	return Disabled, true
}

// itoa avoids strconv, keeping this package's only import syscall.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
