package profiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/ini.v1"
)

// Running python3 or /bin/sh for every fuzz input would leave a few hundred
// inputs a minute, so the fuzz target reads lines with the two splitters
// below instead. TestSplittersMatchReaders holds them to the real readers on
// the inputs TestQuoteShell and TestQuoteShlex use, and more.

// posixShlexSplit is Python's shlex.split(s) (posix=True, comments=False,
// whitespace_split=True), the way botocore splits credential_process: a
// transcription of shlex.read_token for those settings. Python works on code
// points and Go here on bytes; that is the same, since every character
// shlex treats specially is ASCII.
func posixShlexSplit(s string) ([]string, error) {
	const whitespace = " \t\r\n"
	var words []string
	var token strings.Builder
	state, escaped := byte(' '), byte(' ') // escaped: the state a backslash returns to
	quoted := false
	emit := func() {
		if token.Len() > 0 || quoted {
			words = append(words, token.String())
		}
		token.Reset()
		quoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case ' ', 'a':
			switch {
			case strings.IndexByte(whitespace, c) >= 0:
				if state == 'a' {
					emit()
				}
				state = ' '
			case c == '\\':
				escaped, state = 'a', '\\'
			case c == '\'' || c == '"':
				state = c
			default:
				token.WriteByte(c)
				state = 'a'
			}
		case '\'', '"':
			quoted = true
			switch {
			case c == state:
				state = 'a'
			case c == '\\' && state == '"': // only double quotes escape
				escaped, state = '"', '\\'
			default:
				token.WriteByte(c)
			}
		case '\\':
			// Inside double quotes a backslash escapes only " and \.
			if escaped == '"' && c != '"' && c != '\\' {
				token.WriteByte('\\')
			}
			token.WriteByte(c)
			state = escaped
		}
	}
	switch state {
	case '\'', '"':
		return nil, errors.New("No closing quotation")
	case '\\':
		return nil, errors.New("No escaped character")
	case 'a':
		emit()
	}
	return words, nil
}

// posixShellWords is what sh -c does to s, the way aws-sdk-go-v2 runs
// credential_process, when s is one simple command of literal words: blanks
// split words, and quote removal undoes '...', "..." and backslashes. Where
// the shell would do anything else (expansions, operators, comments,
// globbing, assignments, reserved words, a second line) it returns an error
// rather than guess, so a line it accepts means the same to every POSIX sh.
// It also refuses unquoted braces, which bash, even as sh, expands.
func posixShellWords(s string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord, quotedWord := false, false
	wordStart := func() {
		if !inWord {
			inWord, quotedWord = true, false
			word.Reset()
		}
	}
	end := func() error {
		if !inWord {
			return nil
		}
		w := word.String()
		if len(words) == 0 && !quotedWord {
			if slices.Contains([]string{"!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in", "select", "then", "time", "until", "while"}, w) {
				return fmt.Errorf("reserved word %q", w)
			}
			if name, _, ok := strings.Cut(w, "="); ok && name != "" && strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == "" && (name[0] < '0' || name[0] > '9') {
				return fmt.Errorf("assignment %q", w)
			}
		}
		words = append(words, w)
		inWord = false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if err := end(); err != nil {
				return nil, err
			}
		case c == '\n':
			return nil, errors.New("unquoted newline ends the command")
		case c == '\'':
			wordStart()
			quotedWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			wordStart()
			quotedWord = true
			for i++; ; i++ {
				if i >= len(s) {
					return nil, errors.New("unterminated double quote")
				}
				c := s[i]
				if c == '"' {
					break
				}
				if c == '$' || c == '`' {
					return nil, fmt.Errorf("expansion %q inside double quotes", c)
				}
				if c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue // line continuation
					}
					c = s[i]
				}
				word.WriteByte(c)
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("backslash at the end")
			}
			i++
			if s[i] == '\n' {
				continue // line continuation
			}
			wordStart()
			quotedWord = true
			word.WriteByte(s[i])
		case strings.IndexByte("|&;<>()$`*?[{}", c) >= 0:
			return nil, fmt.Errorf("unquoted %q", c)
		case (c == '#' || c == '~') && !inWord:
			return nil, fmt.Errorf("unquoted %q starting a word", c)
		default:
			wordStart()
			word.WriteByte(c)
		}
	}
	if err := end(); err != nil {
		return nil, err
	}
	return words, nil
}

// splitterLines are lines both splitters must read as the real readers do.
var splitterLines = []string{
	"", " ", "a", "a b\tc", "  a  ", "''", `""`, "a''b", `a""b`, `'a'"b"c`, `'a b' "c d"`,
	`a\ b`, `\\`, `\'`, `"a\"b"`, `"a\\b"`, `"a\b"`, `"a\$b"`, `'\'`, `a'b'\''c'`, "'\n'", `"'"`, `'"'`,
	"'x' credential-process --session abcd2345 --home '/tmp/y' --backend file --expires 2026-11-25T14:30:00Z",
}

// TestSplittersMatchReaders anchors posixShlexSplit to Python's shlex and
// posixShellWords to /bin/sh, on the quoted forms of quoteInputs and on
// splitterLines.
func TestSplittersMatchReaders(t *testing.T) {
	lines := slices.Clone(splitterLines)
	for _, tc := range quoteInputs {
		lines = append(lines, Quote(tc.in)+" --home "+Quote(tc.in+"/x"))
	}
	t.Run("shlex", func(t *testing.T) {
		if _, err := os.Stat(python); err != nil {
			t.Skipf("no %s: %v", python, err)
		}
		for _, line := range lines {
			got, err := posixShlexSplit(line)
			if err != nil {
				t.Errorf("posixShlexSplit(%q): %v", line, err)
				continue
			}
			if want := shlexSplit(t, line); !slices.Equal(got, want) {
				t.Errorf("posixShlexSplit(%q) = %q, shlex.split = %q", line, got, want)
			}
		}
		for _, line := range []string{"'a", `"a`, `a\`, `"a\`} {
			if _, err := posixShlexSplit(line); err == nil {
				t.Errorf("posixShlexSplit(%q) succeeded; shlex raises ValueError", line)
			}
		}
	})
	t.Run("sh", func(t *testing.T) {
		if _, err := os.Stat(shell); err != nil {
			t.Skipf("no %s: %v", shell, err)
		}
		for _, line := range lines {
			got, err := posixShellWords(line)
			if err != nil {
				t.Errorf("posixShellWords(%q): %v", line, err)
				continue
			}
			// The line's words become printf's arguments, so the shell
			// itself splits them.
			out, err := exec.Command(shell, "-c", `printf '%s\001' `+line).Output()
			if err != nil {
				t.Fatalf("sh -c printf %s: %v", line, err)
			}
			want := strings.SplitAfter(string(out), "\x01")
			want = want[:len(want)-1] // after the last separator
			for i := range want {
				want[i] = strings.TrimSuffix(want[i], "\x01")
			}
			if len(got) == 0 {
				want = nil // printf with no arguments prints its format once
			}
			if !slices.Equal(got, want) {
				t.Errorf("posixShellWords(%q) = %q, sh read %q", line, got, want)
			}
		}
		for _, line := range []string{"a $HOME", "a `id`", "a; b", "a\nb", "x=1 a", "a *", "~/a", "a #b", "'a", `"$x"`} {
			if got, err := posixShellWords(line); err == nil {
				t.Errorf("posixShellWords(%q) = %q; want a refusal", line, got)
			}
		}
	})
}

// FuzzCredentialProcess checks the credential_process line for any binary
// path and state directory: CredentialProcess refuses exactly the values a
// config file cannot carry, and otherwise both readers, botocore (shlex.split)
// and aws-sdk-go-v2 (sh -c), get back the same words, the paths unchanged.
// The line also goes through a real file: ini.v1 (our own reader) and
// aws-sdk-go-v2's config loader read back exactly the line.
func FuzzCredentialProcess(f *testing.F) {
	for _, tc := range quoteInputs {
		f.Add("/opt/"+tc.in+"/timebound-iam", "/home/"+tc.in, false)
	}
	f.Add("/usr/local/bin/timebound-iam", "/home/ana/.config/timebound-iam", false)
	f.Add("/tmp/it's a $HOME dir ünï/bin/timebound-iam", `/tmp/st\ate "x" $(id) 'q'`, true)
	f.Add("/a'", "/'", false)
	f.Add(`/x\`, `/y\'`, true)
	f.Add("/opt/tb #1/timebound-iam", "/home/a;b", false)
	f.Add("/opt/tb\r/timebound-iam", "/home/a\x00b", false)
	f.Add("bin/timebound-iam", "state", false)
	f.Add("/opt/\xff\xfe/timebound-iam", "/home/\xc3", false)
	f.Add("/opt/\u2028\u0085\x7f/tb", "/home/\x1b[31m", false)
	f.Fuzz(func(t *testing.T, exe, home string, revoked bool) {
		// Quote alone must survive both readers, whatever it holds.
		for _, s := range []string{exe, home} {
			if got, err := posixShlexSplit(Quote(s)); err != nil || !slices.Equal(got, []string{s}) {
				t.Fatalf("shlex.split(%s) = %q, %v; want [%q]", Quote(s), got, err, s)
			}
			if got, err := posixShellWords(Quote(s)); err != nil || !slices.Equal(got, []string{s}) {
				t.Fatalf("sh words of %s = %q, %v; want [%q]", Quote(s), got, err, s)
			}
		}

		e := active("abcd2345")
		e.Helper.Exe, e.Helper.Home = exe, home
		if revoked {
			e.Status, e.Revoked = Revoked, created.Add(time.Minute)
		}
		line, err := CredentialProcess(e)
		var unfit []string
		for _, p := range []string{exe, home} {
			// botocore reads the config file as UTF-8 and gives up on the
			// whole file at the first invalid byte.
			if !filepath.IsAbs(p) || strings.ContainsAny(p, "\r\n\x00#;`") || !utf8.ValidString(p) {
				unfit = append(unfit, p)
			}
		}
		if err != nil {
			if len(unfit) == 0 {
				t.Fatalf("CredentialProcess refused binary %q and state directory %q: %v", exe, home, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
				t.Fatalf("error %q carries a raw line break or invalid UTF-8", msg)
			}
			return
		}
		if len(unfit) > 0 {
			t.Fatalf("CredentialProcess accepted %q, which a config file cannot carry: %s", unfit, line)
		}

		want := []string{exe, "credential-process", "--session", e.ID, "--home", home, "--backend", e.Helper.Backend, "--expires", "2026-11-25T14:30:00Z"}
		if revoked {
			want = append(want, "--revoked-at", "2026-11-25T14:01:00Z")
		}
		got, err := posixShlexSplit(line)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("shlex.split(%s) = %q, %v; want %q", line, got, err, want)
		}
		if got, err = posixShellWords(line); err != nil || !slices.Equal(got, want) {
			t.Fatalf("sh words of %s = %q, %v; want %q", line, got, err, want)
		}
		if got, ok := unquoteFirst(line); !ok || got != exe {
			t.Fatalf("unquoteFirst(%s) = %q, %v; want %q", line, got, ok, exe)
		}

		// Through a real file, read back by ini.v1 and by aws-sdk-go-v2.
		pf := &File{Path: filepath.Join(t.TempDir(), "aws-config"), Home: home}
		if err := pf.Update(put(e)); err != nil {
			t.Fatalf("Put with binary %q and state directory %q: %v", exe, home, err)
		}
		cfg, err := ini.LoadSources(ini.LoadOptions{}, pf.Path)
		if err != nil {
			t.Fatalf("ini.v1: %v", err)
		}
		if v := cfg.Section("profile " + e.Name()).Key("credential_process").String(); v != line {
			t.Fatalf("ini.v1 reads credential_process %q, want %q", v, line)
		}
		sc, err := config.LoadSharedConfigProfile(context.Background(), e.Name(), func(o *config.LoadSharedConfigOptions) {
			o.ConfigFiles, o.CredentialsFiles = []string{pf.Path}, []string{}
		})
		if err != nil {
			t.Fatalf("aws-sdk-go-v2 config: %v", err)
		}
		if diff := cmp.Diff(line, sc.CredentialProcess); diff != "" {
			t.Fatalf("aws-sdk-go-v2 reads credential_process (-want +got):\n%s", diff)
		}
	})
}
