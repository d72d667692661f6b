package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadConfigSyntaxLine: a config line that is not INI is reported with
// the file, its line number and what to do; what ini takes passes.
func TestLoadConfigSyntaxLine(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"words", "region = eu-west-1\n\njust words\n", `config:3: "just words" is not a key = value line: write it as key = value, or comment it out with #`},
		{"unclosed section", "# c\n[broken\n", `config:2: section header "[broken" has no closing ]`},
		{"no key", "region = eu-west-1\n  = us-east-1\n", `config:2: "= us-east-1" has no key before its '='`},
		{"unclosed triple quote", "region = eu-west-1\nrole_arn = \"\"\"arn\n\n", `config:2: the value of "role_arn" opens with """ and never closes`},
		{"crlf", "region = eu-west-1\r\noops\r\n", `config:2: "oops" is not a key = value line`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeConfig(t, home, tt.file)
			_, err := Load(home, env(nil), nil)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(home, tt.want)) {
				t.Errorf("err = %v\nwant it to contain %q", err, filepath.Join(home, tt.want))
			}
		})
	}
	for _, ok := range []string{
		"; comment\n# comment\n\nregion = eu-west-1\nsts_timeout: 20s\n",
		"role_arn = \"\"\"arn:aws:iam::123456789012:role/broker\"\"\"\n",
		"region = \"\"\"eu-west-1\n\"\"\"\n",
	} {
		home := t.TempDir()
		writeConfig(t, home, ok)
		if _, err := Load(home, env(nil), nil); err != nil {
			t.Errorf("Load(%q): %v", ok, err)
		}
	}
}
