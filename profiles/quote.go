package profiles

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Quote returns s as one POSIX shell word in single quotes, with each ' written
// as '\”. botocore splits credential_process with shlex (POSIX mode) and
// aws-sdk-go-v2 hands it to sh -c; both read this form back as s.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// checkLineValue refuses what no quoting can carry through an INI reader:
// line breaks and NUL end the value, and INI readers disagree on '#', ';' and
// '`' (ini.v1 wraps such values in backquotes, some readers strip comments).
// botocore reads the file as UTF-8 and fails on the whole file at the first
// invalid byte, so every other grant's profile would break too.
func checkLineValue(what, s string) error {
	if i := strings.IndexAny(s, "\r\n\x00#;`"); i >= 0 {
		return fmt.Errorf("%s %q contains %q, which an AWS config file cannot carry; move it to a path without line breaks, '#', ';' or '`'", what, s, s[i])
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8, which the AWS CLI needs to read its config file; move it to a path with a UTF-8 name", what, s)
	}
	return nil
}

// unquoteFirst reads back the first word of a line that starts with a
// [Quote]d word: the binary path of a credential_process line we wrote.
func unquoteFirst(line string) (string, bool) {
	var b strings.Builder
	i := 0
	for {
		if i >= len(line) || line[i] != '\'' {
			return "", false
		}
		j := strings.IndexByte(line[i+1:], '\'')
		if j < 0 {
			return "", false
		}
		b.WriteString(line[i+1 : i+1+j])
		i += j + 2
		if strings.HasPrefix(line[i:], `\'`) {
			b.WriteByte('\'')
			i += 2
			continue
		}
		if i == len(line) || line[i] == ' ' {
			return b.String(), true
		}
		return "", false
	}
}
