package policy

import (
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"view_only": ViewOnly, "VO": ViewOnly, "read_only": ReadOnly, "ro": ReadOnly, "FULL": Full, " full ": Full} {
		if got, err := ParseLevel("level", in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "admin", "readonly", "write"} {
		_, err := ParseLevel("level", in)
		if err == nil || !strings.Contains(err.Error(), `level "`+in+`" is not allowed: use "view_only", "read_only" or "full"`) {
			t.Errorf("ParseLevel(%q) err = %v", in, err)
		}
	}
}
