package keychain

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// itemPerm is the permission mask of every keyctl item: possessor and user
// may view, read, write, search, link and set attributes; group and others
// nothing. The user's read bit is what lets [readOutside] find an item from
// inside an agent's sandbox.
const itemPerm = 0x3f3f0000

// readOutside finds the keyctl item name where keyring's own search cannot:
// from inside a new user namespace, such as an agent's sandbox (bubblewrap,
// and so Claude Code's and Anthropic's sandbox runtime). There the user
// keyring is a new, empty one, and the keyring holding the grants is not
// reachable by search. The kernel still lists it, and the items in it, in
// /proc/keys, and lets their owner read them by serial number, because each
// item grants its user read ([itemPerm]); keys that grant only their
// possessor, as keyctl's defaults do, stay unreadable. Only user keys named
// name, owned by this user and carrying exactly [itemPerm], are tried.
// ok is false when none could be read.
func readOutside(name string) (data []byte, ok bool) {
	for _, serial := range items(name) {
		if data, err := keyctlRead(serial); err == nil {
			return data, true
		}
	}
	return nil, false
}

// invalidate makes every keyctl item named name unreadable at once, in any
// keyring and any user namespace: a key that is only unlinked stays readable
// by serial until the kernel's garbage collector runs.
func invalidate(name string) {
	for _, serial := range items(name) {
		_, _ = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, serial, 0, 0, 0)
	}
}

// items lists the serial numbers of the user keys named name that this user
// owns with exactly [itemPerm], as /proc/keys shows them.
func items(name string) []int {
	f, err := os.Open("/proc/keys")
	if err != nil {
		return nil
	}
	defer f.Close()
	uid := strconv.Itoa(os.Geteuid())
	perm := strconv.FormatUint(itemPerm, 16)
	want := []byte(" " + name + ":")
	var serials []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// serial flags usage timeout perm uid gid type description: summary
		line := sc.Bytes()
		if !bytes.Contains(line, want) {
			continue
		}
		fields := strings.Fields(string(line))
		if len(fields) < 9 || fields[4] != perm || fields[5] != uid || fields[7] != "user" || fields[8] != name+":" {
			continue
		}
		if serial, err := strconv.ParseInt(fields[0], 16, 32); err == nil {
			serials = append(serials, int(serial))
		}
	}
	return serials
}

// expireAt gives every keyctl item named name a kernel timeout at t, at
// least one second from now.
func expireAt(name string, t time.Time) error {
	secs := int(math.Ceil(time.Until(t).Seconds()))
	if secs < 1 {
		secs = 1
	}
	serials := items(name)
	if len(serials) == 0 {
		return fmt.Errorf("%s is not in /proc/keys", name)
	}
	for _, serial := range serials {
		if _, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, serial, secs, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// gone reports a keyctl error for a key that is invalidated, revoked or
// expired but not yet collected: as good as deleted.
func gone(err error) bool {
	return errors.Is(err, unix.EKEYREVOKED) || errors.Is(err, unix.EKEYEXPIRED)
}

// keyctlRead reads a key's payload by serial number.
func keyctlRead(serial int) ([]byte, error) {
	buf := make([]byte, 4096)
	for {
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, serial, buf, 0)
		if err != nil {
			return nil, err
		}
		if n <= len(buf) {
			return buf[:n], nil
		}
		buf = make([]byte, n)
	}
}

// ringExists reports whether the user keyring holds this tool's keyring
// name, which keyring.Open then finds by search rather than creates.
func ringExists(name string) bool {
	_, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", name, 0)
	return err == nil
}
