package main

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/profiles"
	"github.com/urfave/cli/v2"
)

// TestQuickCredentialProcess: the quick parse takes the lines profiles
// writes, live and revoked, and gives exactly what urfave/cli's parse of the
// same words gives; whatever it declines (help, an unknown or repeated flag,
// a bad time, a missing value) goes to urfave/cli, as before.
func TestQuickCredentialProcess(t *testing.T) {
	expires := time.Date(2026, 12, 3, 19, 24, 20, 0, time.UTC)
	var written []string
	for _, e := range []profiles.Entry{
		{ID: "k3f9ab2c", Expires: expires, Helper: profiles.Helper{Exe: "/usr/local/bin/timebound-iam", Home: "/home/dev/.config/timebound-iam", Backend: "keyctl"}},
		{ID: "k3f9ab2c", Expires: expires, Status: profiles.Revoked, Revoked: expires.Add(-time.Hour),
			Helper: profiles.Helper{Exe: "/opt/my tools/timebound-iam", Home: "/home/dev/state dir's", Backend: "file"}},
	} {
		line, err := profiles.CredentialProcess(e)
		if err != nil {
			t.Fatal(err)
		}
		// The words as a POSIX shell splits the line.
		words, err := exec.Command("sh", "-c", `printf '%s\0' `+line).Output()
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, strings.TrimSuffix(string(words), "\x00"))
	}
	tests := []struct {
		args  string // words separated by NUL
		quick bool
	}{
		{written[0], true},
		{written[1], true},
		{"tb\x00credential-process\x00--session=tb-k3f9ab2c\x00--home=/h", true},
		{"tb\x00credential-process\x00--home\x00/h\x00--session\x00k3f9ab2c", true},
		{"tb\x00credential-process", true},
		{"tb\x00credential-process\x00--session\x00", true},
		{"tb\x00credential-process\x00--help", false},
		{"tb\x00credential-process\x00-h", false},
		{"tb\x00credential-process\x00-session\x00k3f9ab2c\x00--home\x00/h", false},
		{"tb\x00credential-process\x00--session\x00a\x00--session\x00b\x00--home\x00/h", false},
		{"tb\x00credential-process\x00--session", false},
		{"tb\x00credential-process\x00--session\x00k3f9ab2c\x00--expires\x00tomorrow", false},
		{"tb\x00credential-process\x00--session\x00k3f9ab2c\x00--bogus\x00x", false},
		{"tb\x00credential-process\x00--\x00--session\x00k3f9ab2c", false},
		{"tb\x00credential-process\x00k3f9ab2c", false},
		{"tb\x00credential-process\x00--generate-bash-completion", false},
		{"tb\x00grant\x00--session\x00k3f9ab2c", false},
	}
	for _, tt := range tests {
		args := strings.Split(tt.args, "\x00")
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			quick, ok := quickCredentialProcess(args)
			if ok != tt.quick {
				t.Fatalf("quick parse took it: %v, want %v", ok, tt.quick)
			}
			if !ok {
				return
			}
			var slow cpArgs
			cmd := credentialProcessCommand()
			cmd.Action = func(c *cli.Context) error {
				slow = cpArgs{session: c.String("session"), home: c.String("home"), backend: c.String("backend"),
					expires: c.Timestamp("expires"), revokedAt: c.Timestamp("revoked-at")}
				return nil
			}
			app := &cli.App{Name: prog, Writer: io.Discard, ErrWriter: io.Discard, Commands: []*cli.Command{cmd}}
			if err := app.RunContext(context.Background(), args); err != nil {
				t.Fatalf("urfave/cli refuses what the quick parse took: %v", err)
			}
			if !sameArgs(quick, slow) {
				t.Errorf("quick parse %+v, urfave/cli %+v", show(quick), show(slow))
			}
		})
	}
}

func sameArgs(a, b cpArgs) bool {
	same := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.session == b.session && a.home == b.home && a.backend == b.backend && same(a.expires, b.expires) && same(a.revokedAt, b.revokedAt)
}

func show(a cpArgs) []string {
	t := func(x *time.Time) string {
		if x == nil {
			return "nil"
		}
		return x.Format(time.RFC3339)
	}
	return []string{a.session, a.home, a.backend, t(a.expires), t(a.revokedAt)}
}
