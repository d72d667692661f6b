package profiles

import (
	"fmt"
	"strings"
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
func checkLineValue(what, s string) error {
	if i := strings.IndexAny(s, "\r\n\x00#;`"); i >= 0 {
		return fmt.Errorf("%s %q contains %q, which an AWS config file cannot carry; move it to a path without line breaks, '#', ';' or '`'", what, s, s[i])
	}
	return nil
}
