package config

import (
	"fmt"
	"strings"
)

// checkSyntax, once ini.v1 has refused the config file at path, reports the
// first line that is not INI as [Load] reads it, by its line number:
// ini's own errors quote the text but not where it is. Blank lines, # and ; comments, [section]
// headers and key = value (or key: value) lines pass; a value opened with
// """ may run over several lines until the closing """.
func checkSyntax(path string, data []byte) error {
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		n, line := i+1, strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		switch {
		case line == "", line[0] == '#', line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.Contains(line, "]") {
				return fmt.Errorf("%s:%d: section header %q has no closing ]: fix the line, or remove it (this config needs no sections)", path, n, line)
			}
			continue
		}
		at := strings.IndexAny(line, "=:")
		if at < 0 {
			return fmt.Errorf("%s:%d: %q is not a key = value line: write it as key = value, or comment it out with #", path, n, line)
		}
		if strings.TrimSpace(line[:at]) == "" {
			return fmt.Errorf("%s:%d: %q has no key before its %q: write it as key = value, or comment it out with #", path, n, line, line[at])
		}
		value := strings.TrimSpace(line[at+1:])
		if rest, ok := strings.CutPrefix(value, `"""`); ok && !strings.Contains(rest, `"""`) {
			closed := false
			for i++; i < len(lines); i++ {
				if strings.Contains(lines[i], `"""`) {
					closed = true
					break
				}
			}
			if !closed {
				return fmt.Errorf("%s:%d: the value of %q opens with \"\"\" and never closes: end it with \"\"\"", path, n, strings.TrimSpace(line[:at]))
			}
		}
	}
	return nil
}
