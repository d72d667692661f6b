//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timebound-iam/timebound-iam/grant/audit"
	"github.com/timebound-iam/timebound-iam/grant/config"
	"github.com/urfave/cli/v2"
)

// TestAuditReadOnlyLogAsUser: as a user whom file modes bind (root ignores
// them), an audit log that cannot be written refuses the grant and rolls
// it back: no new profile, keychain item or pending marker.
func TestAuditReadOnlyLogAsUser(t *testing.T) {
	alice := throwawayUser(t, "a")
	r := newUserRig(t)
	state := filepath.Join(r.work, "alice-state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	alice.chown(t, state)
	if _, stderr, err := r.run(alice, state, "grant", "-s", "s3", "-t", "15m", "--json"); err != nil {
		t.Fatalf("first grant: %v\n%s", err, stderr)
	}
	log := filepath.Join(state, audit.FileName)
	for _, p := range []string{log, log + ".head"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o; want 0600", p, st.Mode().Perm())
		}
	}
	before := snapshot(t, state)
	if err := os.Chmod(log, 0o400); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := r.run(alice, state, "grant", "-s", "logs", "-t", "15m")
	if err == nil {
		t.Fatalf("grant with a read-only audit log succeeded:\n%s", stdout)
	}
	want := "timebound-iam: error: the audit log could not record the request, so no grant was made: opening the audit log: open " + log + ": permission denied"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q; want nothing", stdout)
	}
	if after := snapshot(t, state); after != before {
		t.Errorf("state changed by a refused grant:\nbefore %s\nafter  %s", before, after)
	}
	// Neither its request nor its refusal could be recorded, so the log is as
	// the first grant left it: its request and its grant.
	if err := os.Chmod(log, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := r.run(alice, state, "audit", "--verify"); err != nil || !strings.Contains(stderr, "intact: 2 entries") {
		t.Errorf("audit --verify: %v\n%s", err, stderr)
	}
}

// snapshot describes what a grant leaves: the profiles file, the keyring
// items and the pending markers.
func snapshot(t *testing.T, state string) string {
	t.Helper()
	profilesText, err := os.ReadFile(filepath.Join(state, config.AWSConfigName))
	if err != nil {
		t.Fatal(err)
	}
	items, _ := filepath.Glob(filepath.Join(state, "keyring", "*"))
	markers, _ := filepath.Glob(filepath.Join(state, config.AWSConfigName+".pending", "*"))
	return strings.Join([]string{string(profilesText), strings.Join(items, ","), strings.Join(markers, ",")}, " | ")
}

// TestAuditTableQuotesUnprintable: requester-chosen text with a line break
// or a terminal escape is shown quoted, on its own row, so it cannot pose as
// another entry.
func TestAuditTableQuotesUnprintable(t *testing.T) {
	home := t.TempDir()
	log := audit.Open(filepath.Join(home, audit.FileName))
	evil := "agent\n9 2026-12-01T00:00:00Z declined"
	if err := log.Append(audit.Event{Event: audit.Refused, Services: []string{"s3\x1b[2K"}, Client: evil, Detail: "bad\tinput"}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	app := &cli.App{Name: prog, Writer: &out, ErrWriter: &errOut, ExitErrHandler: func(*cli.Context, error) {}, Commands: []*cli.Command{auditCommand()}}
	if err := app.Run([]string{prog, "audit", "--home", home}); err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("audit printed %d lines, want a header and one row:\n%s", len(lines), out.String())
	}
	for _, want := range []string{`"agent\n9 2026-12-01T00:00:00Z declined"`, `"s3\x1b[2K"`, `"bad\tinput"`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %s", lines[1], want)
		}
	}
}
