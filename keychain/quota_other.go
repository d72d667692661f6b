//go:build !linux

package keychain

// isQuota reports a keyctl refusal for lack of quota; keyctl is Linux only.
func isQuota(error) bool { return false }
