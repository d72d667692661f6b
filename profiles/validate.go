package profiles

import (
	"fmt"
	"strings"
)

// The checks below are hand-written rather than regexps: this package is
// linked into the credential_process helper, where compiling patterns at
// start-up would cost every AWS CLI call.

// ValidID reports whether id has the form of a grant id, [a-z0-9]{4,32}; a
// tb- section with any other name is treated as foreign and left alone.
func ValidID(id string) bool {
	return len(id) >= 4 && len(id) <= 32 && only(id, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' })
}

// safeWord reports whether w is a plain metadata word, [a-z0-9_.-]{1,64}:
// services, levels, backends, regions.
func safeWord(w string) bool {
	return len(w) >= 1 && len(w) <= 64 && only(w, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	})
}

// SafeResource reports whether r is an ARN-like word that cannot break out
// of its line or be read as anything but a value, by ini.v1 or by the AWS
// CLI: 1-1024 of [A-Za-z0-9/:*?._+=,@-], so no whitespace, quote,
// backslash, comment character or bracket. Grant requests are checked with it
// too, so that nothing STS granted fails to be written here.
func SafeResource(r string) bool {
	return len(r) >= 1 && len(r) <= 1024 && only(r, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/:*?._+=,@-", c) >= 0
	})
}

func only(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func checkID(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("grant id %q is not of the form [a-z0-9]{4,32}", id)
	}
	return nil
}
