package profiles

import (
	"fmt"
	"strings"
)

// On Windows the two readers of a credential_process line differ from the
// POSIX ones. botocore (AWS CLI v2, boto3) splits it with its own Windows
// splitter (botocore.compat.compat_shell_split(s, "win32")): only double
// quotes quote, and backslashes are literal except in a run that ends at a
// double quote. aws-sdk-go-v2 runs it as `cmd.exe /C <line>`, where & | < >
// ^ ( ) are special outside double quotes, and %NAME% is expanded even
// inside them. So a word is written bare when it holds none of those
// characters nor a space, else in double quotes with its trailing
// backslashes doubled; a word holding % or " cannot be carried (and no
// Windows path holds ").

// windowsSpecial are the characters that make a word need double quotes on
// Windows: the splitter's delimiters and cmd.exe's operators.
const windowsSpecial = " \t&|<>^()"

// QuoteWindows returns s as one word of a Windows credential_process line,
// as botocore's Windows splitter and cmd.exe both read it back; see the
// package comment above. A word with % or " is an error naming what.
func QuoteWindows(what, s string) (string, error) {
	if i := strings.IndexAny(s, `%"`); i >= 0 {
		return "", fmt.Errorf("%s %q contains %q, which a credential_process line on Windows cannot carry (cmd.exe expands %%NAME%% even in quotes); move it to a path without %% or \"", what, s, s[i])
	}
	if s != "" && !strings.ContainsAny(s, windowsSpecial) {
		return s, nil
	}
	trail := len(s) - len(strings.TrimRight(s, `\`))
	return `"` + s + strings.Repeat(`\`, trail) + `"`, nil
}

// unquoteWindowsFirst reads back the first word of a line written with
// [QuoteWindows]: bare up to the first space, or in double quotes.
func unquoteWindowsFirst(line string) (string, bool) {
	if !strings.HasPrefix(line, `"`) {
		word, _, _ := strings.Cut(line, " ")
		return word, word != "" && !strings.Contains(word, `"`)
	}
	end := strings.IndexByte(line[1:], '"')
	if end < 0 {
		return "", false
	}
	word, rest := line[1:1+end], line[2+end:]
	if rest != "" && rest[0] != ' ' {
		return "", false
	}
	// QuoteWindows doubled the trailing backslashes.
	trail := len(word) - len(strings.TrimRight(word, `\`))
	return word[:len(word)-trail/2], true
}

// windowsAbs reports whether s is an absolute Windows path, C:\... or
// \\server\share\..., on any platform.
func windowsAbs(s string) bool {
	if strings.HasPrefix(s, `\\`) {
		return true
	}
	return len(s) >= 3 && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z') && s[1] == ':' && (s[2] == '\\' || s[2] == '/')
}
