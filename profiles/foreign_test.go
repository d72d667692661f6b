package profiles

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// withoutOurs cuts every "[profile tb-<id>]" section for ids out of text,
// from its header through the blank line render ends it with. It does not use
// split, so it checks split's idea of where our sections end.
func withoutOurs(t *testing.T, text string, ids ...string) string {
	t.Helper()
	for _, id := range ids {
		h := "[profile tb-" + id + "]\n"
		i := strings.Index(text, h)
		if i < 0 {
			t.Fatalf("no section tb-%s in:\n%s", id, text)
		}
		j := strings.Index(text[i:], "\n\n")
		if j < 0 {
			t.Fatalf("section tb-%s has no closing blank line:\n%s", id, text)
		}
		text = text[:i] + text[i+j+2:]
	}
	return text
}

// terminated is s with a final newline when it has content and lacks one:
// appending a section must end the last foreign line first, and that newline
// stays after the section is removed again.
func terminated(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

var foreignFiles = []struct{ name, text string }{
	{"empty", ""},
	{"comments default and other", "# my profiles\n; kept by hand\n\n[default]\nregion = eu-west-1\noutput = json\n\n[profile other]\nregion = us-west-2\n# trailing comment\n"},
	{"odd spacing", "   [default]   \n\tregion\t=\teu-west-1   \n\n\n  [ profile   other ]\n  output=json\n\n\n"},
	{"CRLF", "[default]\r\nregion = eu-west-1\r\n\r\n[profile other]\r\nregion = us-west-2\r\n"},
	{"no trailing newline", "[profile other]\nregion = us-west-2"},
	{"comment without trailing newline", "[profile other]\nregion = us-west-2\n# the end"},
	{"tb- sections that are not ours", "[profile tb-NOTOURS!]\nregion = us-west-2\n\n[profile tb-ab]\nregion = x\n\n[tb-abcd2345]\nregion = y\n\n[profile tb-abcd2345 extra]\nregion = z\n"},
	{"everything", "; header\r\n[default]\r\nregion = eu-west-1\r\n\r\n  [profile tb-NOTOURS!]  \n credential_process = /bin/false\n\n# last\n[profile other]\nregion=us-west-2"},
}

func TestForeignContentPreserved(t *testing.T) {
	for _, tc := range foreignFiles {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			if tc.text != "" {
				writeString(t, f.Path, tc.text, 0o600)
			}
			a, b := active("aaaa1111"), active("bbbb2222")
			mustUpdate(t, f, put(a, b))
			text := readString(t, f.Path)
			if !strings.HasPrefix(text, tc.text) {
				t.Errorf("foreign text is no longer the file's prefix:\n%q", text)
			}
			if diff := cmp.Diff(terminated(tc.text), withoutOurs(t, text, "aaaa1111", "bbbb2222")); diff != "" {
				t.Errorf("file without our sections (-original +got):\n%s", diff)
			}
			s := mustRead(t, f)
			if got, want := ids(s.Entries()), []string{"aaaa1111", "bbbb2222"}; !slices.Equal(got, want) {
				t.Errorf("Entries = %v, want %v", got, want)
			}
			if p := s.Problems(); len(p) != 0 {
				t.Errorf("Problems = %v, want none: foreign sections are not ours", p)
			}

			a.Status, a.Revoked = Revoked, created.Add(time.Minute)
			mustUpdate(t, f, put(a))
			if diff := cmp.Diff(terminated(tc.text), withoutOurs(t, readString(t, f.Path), "aaaa1111", "bbbb2222")); diff != "" {
				t.Errorf("after replace, file without our sections (-original +got):\n%s", diff)
			}

			mustUpdate(t, f, remove("aaaa1111", "bbbb2222"))
			if diff := cmp.Diff(terminated(tc.text), readString(t, f.Path)); diff != "" {
				t.Errorf("after removing our sections (-original +got):\n%s", diff)
			}
		})
	}
}

// TestForeignAroundOurSection starts from files that already hold one of our
// sections between foreign text: replacing and removing it must leave the
// text on both sides as it was, comments after our section included.
func TestForeignAroundOurSection(t *testing.T) {
	ours := "[profile tb-abcd2345]\n" +
		"credential_process = '/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '" + testHome + "' --backend file --expires 2026-11-25T14:30:00Z\n" +
		"region = us-east-1\ntb_access = s3:read_only\ntb_backend = file\ntb_status = active\n" +
		"tb_created = 2026-11-25T14:00:00Z\ntb_expires = 2026-11-25T14:30:00Z\n"
	for _, tc := range []struct{ name, before, ours, after string }{
		{"between profiles", "[default]\nregion = eu-west-1\n\n", ours + "\n", "[profile other]\nregion = us-west-2\n"},
		{"comment after blank line", "[default]\n\n", ours + "\n", "# the work account\n[profile work]\nregion = us-west-2\n"},
		{"comment right after last key", "", ours, "# the work account\n[profile work]\nregion = us-west-2\n"},
		{"extra blank lines and comment", "", ours + "\n", "\n\n; work\n\n[profile work]\n"},
		{"comment at end of file", "# top\n", ours + "\n", "# bottom\n"},
		{"CRLF around", "[default]\r\nregion = eu-west-1\r\n\r\n", ours + "\n", "\r\n# crlf comment\r\n[profile other]\r\nregion = x\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			writeString(t, f.Path, tc.before+tc.ours+tc.after, 0o600)
			e, ok := mustRead(t, f).Get("abcd2345")
			if !ok {
				t.Fatalf("our section was not read; problems: %v", mustRead(t, f).Problems())
			}

			e.Status, e.Revoked = Revoked, created.Add(time.Minute)
			mustUpdate(t, f, put(e))
			got := readString(t, f.Path)
			if !strings.HasPrefix(got, tc.before) || !strings.HasSuffix(got, tc.after) {
				t.Errorf("replacing our section changed the text around it:\nbefore %q\nafter  %q\nfile:\n%q", tc.before, tc.after, got)
			}
			if !strings.Contains(got, "--revoked-at 2026-11-25T14:01:00Z") {
				t.Errorf("section not replaced:\n%s", got)
			}

			mustUpdate(t, f, remove("abcd2345"))
			if diff := cmp.Diff(tc.before+tc.after, readString(t, f.Path)); diff != "" {
				t.Errorf("after Remove (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedSectionKept(t *testing.T) {
	line := "credential_process = '/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '/x' --backend file --expires 2026-11-25T14:30:00Z\n"
	for _, tc := range []struct{ name, section, wantErr string }{
		{"bad tb_expires", "[profile tb-abcd2345]\n" + line + "tb_access = s3:read_only\ntb_status = active\ntb_expires = tomorrow\n\n", "tb_expires"},
		{"missing tb_expires", "[profile tb-abcd2345]\n" + line + "tb_status = active\n\n", "tb_expires is missing"},
		{"bad tb_status", "[profile tb-abcd2345]\n" + line + "tb_status = paused\ntb_expires = 2026-11-25T14:30:00Z\n\n", "tb_status"},
		{"bad tb_access word", "[profile tb-abcd2345]\n" + line + "tb_access = s3\ntb_status = active\ntb_expires = 2026-11-25T14:30:00Z\n\n", "tb_access"},
		{"empty tb_access", "[profile tb-abcd2345]\n" + line + "tb_access =\ntb_status = active\ntb_expires = 2026-11-25T14:30:00Z\n\n", "tb_access is missing or empty"},
		{"missing tb_access", "[profile tb-abcd2345]\n" + line + "tb_status = active\ntb_expires = 2026-11-25T14:30:00Z\n\n", "tb_access is missing or empty"},
		{"bad tb_revoked", "[profile tb-abcd2345]\n" + line + "tb_status = revoked\ntb_expires = 2026-11-25T14:30:00Z\ntb_revoked = 14:10\n\n", "tb_revoked"},
		{"bad tb_resources word", "[profile tb-abcd2345]\n" + line + "tb_access = s3:read_only\ntb_resources = arn:aws:s3:::a\"b;c\ntb_status = active\ntb_expires = 2026-11-25T14:30:00Z\n\n", "tb_resources word"},
		{"bad tb_role", "[profile tb-abcd2345]\n" + line + "tb_access = s3:read_only\ntb_role = arn:aws:iam::1:role/a\"b\ntb_status = active\ntb_expires = 2026-11-25T14:30:00Z\n\n", "tb_role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			original := "[default]\nregion = eu-west-1\n\n" + tc.section + "[profile other]\nregion = us-west-2\n"
			writeString(t, f.Path, original, 0o600)

			s := mustRead(t, f)
			probs := s.Problems()
			if len(probs) != 1 || !strings.Contains(probs[0].Error(), "profile tb-abcd2345") || !strings.Contains(probs[0].Error(), tc.wantErr) {
				t.Fatalf("Problems = %v, want one naming profile tb-abcd2345 and %q", probs, tc.wantErr)
			}
			if _, ok := s.Get("abcd2345"); ok {
				t.Errorf("Get found the malformed section")
			}
			if !s.Has("abcd2345") {
				t.Errorf("Has = false for the malformed section")
			}
			if n := len(s.Entries()); n != 0 {
				t.Errorf("Entries has %d entries, want 0", n)
			}

			// Other writes leave it untouched.
			mustUpdate(t, f, put(active("bbbb2222")))
			mustUpdate(t, f, remove("cccc3333"))
			if diff := cmp.Diff(original, withoutOurs(t, readString(t, f.Path), "bbbb2222")); diff != "" {
				t.Errorf("file without the new section (-original +got):\n%s", diff)
			}
			if p := mustRead(t, f).Problems(); len(p) != 1 {
				t.Errorf("Problems after other writes = %v", p)
			}

			// Putting the id replaces it and clears the problem.
			mustUpdate(t, f, put(active("abcd2345")))
			s = mustRead(t, f)
			if _, ok := s.Get("abcd2345"); !ok || len(s.Problems()) != 0 {
				t.Errorf("after Put: Get ok = %v, Problems = %v", ok, s.Problems())
			}
		})
	}
}
