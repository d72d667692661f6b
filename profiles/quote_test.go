package profiles

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The two readers of a credential_process line: aws-sdk-go-v2 runs it with
// sh -c, botocore (AWS CLI v2, boto3) splits it with shlex in POSIX mode.
const (
	shell  = "/bin/sh"
	python = "/usr/bin/python3"
)

var quoteInputs = []struct{ name, in string }{
	{"plain", "/usr/local/bin/timebound-iam"},
	{"empty", ""},
	{"spaces", "/opt/time bound/iam  two"},
	{"single quote", "it's"},
	{"only quotes", "''"},
	{"quotes at both ends", "'a'b'c'"},
	{"dollar HOME", "$HOME"},
	{"command substitution", "$(touch /tmp/pwned) `id`"},
	{"backslashes", `C:\dir\ \'x\`},
	{"trailing backslash", `/tmp/x\`},
	{"double quotes", `say "hi"`},
	{"unicode", "ünï cødé"},
	{"glob and tilde", "~/*.conf ?[a]"},
	{"history and ampersand", "a!b && c | d > e"},
	{"tab", "a\tb"},
	{"newline", "two\nlines"},
	{"dash first", "-n"},
	{"the test's state dir", "/tmp/it's a $HOME dir ünï"},
}

func TestQuoteShell(t *testing.T) {
	if _, err := os.Stat(shell); err != nil {
		t.Skipf("no %s: %v", shell, err)
	}
	for _, tc := range quoteInputs {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(shell, "-c", `printf "%s\n" `+Quote(tc.in)).Output()
			if err != nil {
				t.Fatalf("sh -c with %s: %v", Quote(tc.in), err)
			}
			if got := strings.TrimSuffix(string(out), "\n"); got != tc.in {
				t.Errorf("sh read back %q, want %q (quoted %s)", got, tc.in, Quote(tc.in))
			}
		})
	}
}

// shlexSplit splits line with Python's shlex.split, as botocore does.
func shlexSplit(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command(python, "-c", "import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))", line).Output()
	if err != nil {
		t.Fatalf("shlex.split(%q): %v", line, err)
	}
	var words []string
	if err := json.Unmarshal(out, &words); err != nil {
		t.Fatalf("shlex output %q: %v", out, err)
	}
	return words
}

func TestQuoteShlex(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s (botocore's shlex is checked with it): %v", python, err)
	}
	for _, tc := range quoteInputs {
		t.Run(tc.name, func(t *testing.T) {
			if got := shlexSplit(t, Quote(tc.in)); !slices.Equal(got, []string{tc.in}) {
				t.Errorf("shlex.split(%s) = %q, want [%q]", Quote(tc.in), got, tc.in)
			}
		})
	}
}

// TestCredentialProcessWords checks whole lines: both readers must get back
// the binary, the flags and the paths as separate, unchanged words.
func TestCredentialProcessWords(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
	e := active("abcd2345")
	e.Helper = Helper{Exe: "/tmp/it's a $HOME dir ünï/bin/timebound-iam", Home: `/tmp/st\ate "x" $(id) 'q'`, Backend: "file"}
	e.Status, e.Revoked = Revoked, created.Add(time.Minute)
	line, err := CredentialProcess(e)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{e.Helper.Exe, "credential-process", "--session", "abcd2345", "--home", e.Helper.Home,
		"--backend", "file", "--expires", "2026-11-25T14:30:00Z", "--revoked-at", "2026-11-25T14:01:00Z"}
	if diff := cmp.Diff(want, shlexSplit(t, line)); diff != "" {
		t.Errorf("shlex words (-want +got):\n%s", diff)
	}
	// sh -c runs the first word as the command; printf in its place shows
	// the words the shell passed.
	printf := strings.Replace(line, Quote(e.Helper.Exe), `printf "%s\n" `+Quote(e.Helper.Exe), 1)
	out, err := exec.Command(shell, "-c", printf).Output()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")); diff != "" {
		t.Errorf("sh words (-want +got):\n%s", diff)
	}
}
