package keychain

import (
	"strings"
	"syscall"
)

// isQuota reports a keyctl refusal for lack of quota. keyring formats the
// kernel's errno with %v rather than wrapping it, so only its text is left.
func isQuota(err error) bool {
	return err != nil && strings.Contains(err.Error(), syscall.EDQUOT.Error())
}
