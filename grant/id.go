package grant

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/timebound-iam/timebound-iam/profiles"
)

// idAlphabet has 32 lowercase letters and digits without look-alikes (0, 1, l, o).
const idAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// NewID returns 8 characters from crypto/rand: 40 bits.
func NewID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating a grant id: %w", err)
	}
	for i := range b {
		b[i] = idAlphabet[b[i]%32]
	}
	return string(b[:]), nil
}

// NormalizeID accepts "tb-<id>" or "<id>".
func NormalizeID(s string) (string, error) {
	id := strings.TrimPrefix(strings.TrimSpace(s), profiles.Prefix)
	if !profiles.ValidID(id) {
		return "", fmt.Errorf("session_id %q is not a grant id such as tb-k3f9ab2c; list_active_sessions shows them", s)
	}
	return id, nil
}
