//go:build !linux

package keychain

import "time"

// itemPerm is the permission mask of keyctl items, which exist on Linux only.
const itemPerm = 0x3f3f0000

// readOutside finds keyctl items across user namespaces; keyctl is Linux only.
func readOutside(string) ([]byte, bool) { return nil, false }

// invalidate ends keyctl items at once; keyctl is Linux only.
func invalidate(string) {}

// gone reports a keyctl error for a deleted key; keyctl is Linux only.
func gone(error) bool { return false }

// expireAt sets a keyctl item's kernel timeout; keyctl is Linux only.
func expireAt(string, time.Time) error { return nil }

// ringExists finds this tool's keyctl keyring; keyctl is Linux only.
func ringExists(string) bool { return false }
