package grant

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// MFA: with mfa_serial set, a grant that needs a person's approval assumes
// mfa_role_arn with SerialNumber and TokenCode, and that role's trust policy
// requires aws:MultiFactorAuthPresent. The person types the code into the
// approval form or prompt; [Pending.ApproveWithCode] takes it. The code is
// kept in memory, outside [Request] and every audit event, from then until
// the one AssumeRole call, and is never logged or returned.

// MFACodeDigits is the length of an MFA code: STS takes 6 digits as
// TokenCode.
const MFACodeDigits = 6

// mfaReuseWindow is how long a code, once sent, is refused here before STS:
// a TOTP code is valid for 30 s, and AWS accepts one a step either side.
const mfaReuseWindow = 90 * time.Second

// ErrMFACode marks an approval refused for its MFA code, missing or
// malformed, before any STS call: the person can answer again with the
// right one.
var ErrMFACode = errors.New("mfa_code")

// CheckMFACode refuses a code that is not exactly [MFACodeDigits] digits,
// naming mfa_code; the error is [ErrMFACode]. It never holds the code.
func CheckMFACode(code string) error {
	ok := len(code) == MFACodeDigits
	for i := 0; ok && i < len(code); i++ {
		ok = code[i] >= '0' && code[i] <= '9'
	}
	if !ok {
		return fmt.Errorf("%w is not the %d digits the MFA device shows: type the code it shows now, %d digits and nothing else", ErrMFACode, MFACodeDigits, MFACodeDigits)
	}
	return nil
}

// usedCodes are the MFA codes sent to STS in the last [mfaReuseWindow], by
// device; memory only.
type usedCodes struct {
	mu   sync.Mutex
	sent map[[2]string]time.Time // {serial, code} -> when
}

// take records code of serial as sent at now, and reports false, recording
// nothing, when it was sent within the window already.
func (u *usedCodes) take(serial, code string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, at := range u.sent {
		if now.Sub(at) >= mfaReuseWindow {
			delete(u.sent, k)
		}
	}
	k := [2]string{serial, code}
	if _, ok := u.sent[k]; ok {
		return false
	}
	if u.sent == nil {
		u.sent = map[[2]string]time.Time{}
	}
	u.sent[k] = now
	return true
}
