package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestHelpFits walks every command and subcommand, and the program itself,
// and checks each help text: every line fits 100 columns, no flag is named
// twice, every value has a named placeholder, and no flag shows two defaults.
func TestHelpFits(t *testing.T) {
	var paths [][]string
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, prefix...), c.Name)
			paths = append(paths, p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, commands())
	if len(paths) < 15 {
		t.Fatalf("found %d commands; the walk is broken", len(paths))
	}
	paths = append(paths, nil)
	flagLine := regexp.MustCompile(`^   (-\S.*)$`)
	for _, p := range paths {
		name := strings.Join(append([]string{prog}, p...), " ")
		t.Run(name, func(t *testing.T) {
			for _, form := range [][]string{append(append([]string{prog}, p...), "--help"), append([]string{prog, "help"}, p...)} {
				var stdout, stderr bytes.Buffer
				if code := run(form, strings.NewReader(""), &stdout, &stderr); code != 0 || stderr.Len() > 0 {
					t.Fatalf("%q: exit %d, stderr %q", form, code, stderr.String())
				}
				text := stdout.String()
				if !strings.HasPrefix(text, "NAME:\n   "+name+" - ") {
					t.Fatalf("%q: help of another command:\n%s", form, text)
				}
				for _, line := range strings.Split(text, "\n") {
					if len(line) > helpWidth {
						t.Errorf("%d columns: %s", len(line), line)
					}
					m := flagLine.FindStringSubmatch(line)
					if m == nil {
						continue
					}
					seen := map[string]bool{}
					for _, w := range strings.Fields(strings.ReplaceAll(m[1], ",", "")) {
						if strings.HasPrefix(w, "-") && seen[w] {
							t.Errorf("flag named twice: %s", line)
						}
						seen[w] = true
						if w == "value" {
							t.Errorf("unnamed placeholder: %s", line)
						}
					}
				}
				for _, entry := range strings.Split(text, "\n   -") {
					if strings.Count(entry, "(default") > 1 {
						t.Errorf("two defaults: %s", entry)
					}
				}
			}
		})
	}
}
