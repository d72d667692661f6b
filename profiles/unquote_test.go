package profiles

import "testing"

func TestUnquoteFirstRoundTrip(t *testing.T) {
	for _, p := range []string{"/usr/local/bin/timebound-iam", "/tmp/it's a $HOME dir ünï/tb", "/a'b'c", "''", "/x\\y"} {
		got, ok := unquoteFirst(Quote(p) + " credential-process --session abcd2345")
		if !ok || got != p {
			t.Errorf("unquoteFirst(Quote(%q)) = %q, %v", p, got, ok)
		}
	}
	for _, line := range []string{"", "/usr/bin/tb credential-process", "'unterminated", "'a'b credential-process"} {
		if got, ok := unquoteFirst(line); ok {
			t.Errorf("unquoteFirst(%q) = %q, true; want false", line, got)
		}
	}
}
