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

func TestHeaderID(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"[profile tb-abcd2345]\n", "abcd2345"},
		{"  [ profile \t tb-abcd2345 ]  \r\n", "abcd2345"},
		{"[profile tb-abcd2345]", "abcd2345"},
		{"[profile tb-ABCD2345]\n", ""},
		{"[profile tb-abc]\n", ""},
		{"[profile tb-abcd2345 x]\n", ""},
		{"[profiletb-abcd2345]\n", ""},
		{"[tb-abcd2345]\n", ""},
		{"[profile other]\n", ""},
		{"[profile tb-abcd2345] # note\n", ""},
		{"[profile tb-]\n", ""},
	}
	for _, tt := range tests {
		got, ok := headerID([]byte(tt.line))
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("headerID(%q) = %q, %v; want %q", tt.line, got, ok, tt.want)
		}
	}
}
