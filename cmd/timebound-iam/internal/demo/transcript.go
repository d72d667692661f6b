package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// transcript prints the demo's stdout. It refuses to print any secret it
// was told about: a leak fails the demo.
type transcript struct {
	w       io.Writer
	secrets []string
	err     error
}

func (t *transcript) secret(s ...string) {
	for _, v := range s {
		if v != "" {
			t.secrets = append(t.secrets, v)
		}
	}
}

// leaks reports whether s holds a secret t was told about.
func (t *transcript) leaks(s string) bool {
	return slices.ContainsFunc(t.secrets, func(v string) bool { return strings.Contains(s, v) })
}

func (t *transcript) line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	for _, v := range t.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "<SECRET>")
			if t.err == nil {
				t.err = errors.New("a secret reached the transcript (replaced by <SECRET>)")
			}
		}
	}
	fmt.Fprintln(t.w, s)
}

func (t *transcript) heading(n int, format string, args ...any) {
	t.line("")
	t.line("== %d. %s", n, fmt.Sprintf(format, args...))
}

// result shows output indented, without blank lines.
func (t *transcript) result(out string) {
	for l := range strings.Lines(out) {
		if l = strings.TrimRight(l, " \r\n"); strings.TrimSpace(l) != "" {
			t.line("  %s", l)
		}
	}
}

func (t *transcript) why(format string, args ...any) { t.line("why: "+format, args...) }

func (t *transcript) note(format string, args ...any) { t.line("("+format+")", args...) }

// levels renders {"s3":"read_only"} as "s3:read_only".
func levels(m map[string]string) string {
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, s+":"+m[s])
	}
	return strings.Join(parts, ",")
}
