package profiles

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCredentialProcessWindows checks Windows credential_process lines
// against botocore's own Windows splitter
// (botocore.compat.compat_shell_split(line, "win32")), called from Python:
// the AWS CLI v2 and boto3 on Windows read the line back into exactly the
// binary, the state directory and the helper's flags. Paths with % or " are
// refused.
func TestCredentialProcessWindows(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
	if err := exec.Command(python, "-c", "import botocore.compat").Run(); err != nil {
		t.Skipf("no botocore for %s: %v", python, err)
	}
	tests := []struct{ name, exe, home, refused string }{
		{"plain", `C:\tools\timebound-iam.exe`, `C:\Users\ana\.config\timebound-iam`, ""},
		{"spaces", `C:\Program Files\time bound\timebound-iam.exe`, `C:\Users\Ana Maria\timebound state`, ""},
		{"caret and ampersand", `C:\a^b&c\timebound-iam.exe`, `C:\R&D\^state`, ""},
		{"parentheses", `C:\Program Files (x86)\tb\timebound-iam.exe`, `C:\s(1)`, ""},
		{"trailing backslash", `C:\tools\timebound-iam.exe`, `C:\state dir\`, ""},
		{"two trailing backslashes", `C:\tools\timebound-iam.exe`, `C:\state\\`, ""},
		{"backslashes inside", `C:\a\\b\ c\tb.exe`, `C:\x\\ y`, ""},
		{"single quotes", `C:\it's\tb.exe`, `C:\O'Brien\state`, ""},
		{"unicode", `C:\ünï cødé\tb.exe`, `C:\données`, ""},
		{"UNC path", `\\server\share\tb.exe`, `\\server\share\state dir`, ""},
		{"percent", `C:\100%\tb.exe`, `C:\state`, `binary path "C:\\100%\\tb.exe" contains '%'`},
		{"percent variable", `C:\tools\tb.exe`, `C:\%USERPROFILE%\state`, `state directory "C:\\%USERPROFILE%\\state" contains '%'`},
		{"double quote", `C:\tools\tb.exe`, `C:\say "hi"`, `contains '"'`},
		{"relative", `tools\tb.exe`, `C:\state`, "needs absolute paths"},
	}
	expires := time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Entry{ID: "abcd2345", Expires: expires, Helper: Helper{Exe: tt.exe, Home: tt.home, Backend: "wincred"}}
			line, err := credentialProcess(e, "windows")
			if tt.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("line %q, err %v; want a refusal containing %q", line, err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(python, "-c", "import json, sys, botocore.compat as c; print(json.dumps(c.compat_shell_split(sys.argv[1], 'win32')))", line).Output()
			if err != nil {
				t.Fatalf("botocore could not split %q: %v", line, err)
			}
			var got []string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			want := []string{tt.exe, "credential-process", "--session", "abcd2345", "--home", tt.home, "--backend", "wincred", "--expires", "2026-12-02T15:04:05Z"}
			if !slices.Equal(got, want) {
				t.Errorf("line %s\nbotocore splits it into %q\nwant %q", line, got, want)
			}
			// The word is bare unless something in it needs quotes.
			if bare := !strings.ContainsAny(tt.exe, windowsSpecial); bare != !strings.HasPrefix(line, `"`) {
				t.Errorf("line %s: binary quoted = %v", line, !bare)
			}
			if exe, ok := unquoteWindowsFirst(line); !ok || exe != tt.exe {
				t.Errorf("unquoteWindowsFirst(%s) = %q, %v; want %q", line, exe, ok, tt.exe)
			}
		})
	}
}
