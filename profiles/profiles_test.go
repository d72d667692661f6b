package profiles

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testHome is the state directory written into lines; it need not exist.
const testHome = "/home/ana/.config/timebound-iam"

var (
	created = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	expires = created.Add(30 * time.Minute)
)

func newFile(t *testing.T) *File {
	t.Helper()
	return &File{Path: filepath.Join(t.TempDir(), "aws-config"), Home: testHome}
}

// active is a well-formed live grant with id id.
func active(id string) Entry {
	return Entry{
		ID:      id,
		Region:  "us-east-1",
		Access:  []Access{{"s3", "read_only"}, {"logs", "full"}},
		Helper:  Helper{Exe: "/opt/tb/bin/timebound-iam", Home: testHome, Backend: "file"},
		Status:  Active,
		Created: created,
		Expires: expires,
	}
}

func mustUpdate(t *testing.T, f *File, fn func(*Set) error) {
	t.Helper()
	if err := f.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func put(es ...Entry) func(*Set) error {
	return func(s *Set) error {
		for _, e := range es {
			if err := s.Put(e); err != nil {
				return err
			}
		}
		return nil
	}
}

func remove(ids ...string) func(*Set) error {
	return func(s *Set) error {
		for _, id := range ids {
			s.Remove(id)
		}
		return nil
	}
}

func mustRead(t *testing.T, f *File) *Set {
	t.Helper()
	s, err := f.Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return s
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeString(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to umask
		t.Fatal(err)
	}
}

func ids(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestPutGetRoundTrip(t *testing.T) {
	revoked := active("rev0ked1")
	revoked.Status, revoked.Revoked = Revoked, created.Add(10*time.Minute)
	expired := active("exp1red2")
	expired.Status = Expired
	bare := active("bare")
	bare.Region = ""
	odd := active("oddpath9")
	odd.Helper.Exe = "/tmp/it's a $HOME dir ünï/timebound-iam"
	ini := active("inich4rs")
	ini.Helper.Exe = `/opt/a "b" c\d = e [x] 'f'/timebound-iam\`
	local := active("l0ca1t1me")
	local.Created = created.In(time.FixedZone("CET", 3600))
	local.Expires = expires.In(time.FixedZone("CET", 3600))

	for _, tc := range []struct {
		name  string
		e     Entry
		lines []string // lines the section must contain
	}{
		{"active", active("abcd2345"), []string{
			"[profile tb-abcd2345]",
			"credential_process = '/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '" + testHome + "' --backend file --expires 2026-11-25T14:30:00Z",
			"region = us-east-1",
			"tb_access = s3:read_only logs:full",
			"tb_status = active",
		}},
		{"revoked tombstone", revoked, []string{
			"credential_process = '/opt/tb/bin/timebound-iam' credential-process --session rev0ked1 --home '" + testHome + "' --backend file --expires 2026-11-25T14:30:00Z --revoked-at 2026-11-25T14:10:00Z",
			"tb_status = revoked",
			"tb_revoked = 2026-11-25T14:10:00Z",
		}},
		{"expired tombstone", expired, []string{"tb_status = expired", "tb_expires = 2026-11-25T14:30:00Z"}},
		{"no region", bare, []string{"tb_access = s3:read_only logs:full"}},
		{"binary path with quote dollar unicode", odd, []string{
			`credential_process = '/tmp/it'\''s a $HOME dir ünï/timebound-iam' credential-process --session oddpath9 `,
		}},
		{"binary path with INI-looking characters", ini, []string{
			`credential_process = '/opt/a "b" c\d = e [x] '\''f'\''/timebound-iam\' credential-process --session inich4rs `,
		}},
		{"times in another zone are written in UTC", local, []string{"tb_created = 2026-11-25T14:00:00Z", "tb_expires = 2026-11-25T14:30:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			mustUpdate(t, f, put(tc.e))
			s := mustRead(t, f)
			got, ok := s.Get(tc.e.ID)
			if !ok {
				t.Fatalf("Get(%q) found nothing in:\n%s", tc.e.ID, readString(t, f.Path))
			}
			if diff := cmp.Diff(tc.e, got); diff != "" {
				t.Errorf("Get after Put (-put +got):\n%s", diff)
			}
			if !s.Has(tc.e.ID) || len(s.Problems()) != 0 {
				t.Errorf("Has = %v, Problems = %v", s.Has(tc.e.ID), s.Problems())
			}
			text := readString(t, f.Path)
			for _, l := range tc.lines {
				if !strings.Contains(text, l) {
					t.Errorf("file lacks %q:\n%s", l, text)
				}
			}
			if tc.e.Status != Revoked && strings.Contains(text, "revoked") {
				t.Errorf("non-revoked entry mentions revoked:\n%s", text)
			}

			mustUpdate(t, f, remove(tc.e.ID))
			s = mustRead(t, f)
			if _, ok := s.Get(tc.e.ID); ok || s.Has(tc.e.ID) {
				t.Errorf("entry still there after Remove")
			}
			if got := readString(t, f.Path); got != "" {
				t.Errorf("file after removing the only section = %q, want empty", got)
			}
		})
	}
}

// TestRenderExact pins the whole section, the format other tools (and the
// scripts in cmd/timebound-iam/testdata) read.
func TestRenderExact(t *testing.T) {
	f := newFile(t)
	mustUpdate(t, f, put(active("abcd2345")))
	want := `[profile tb-abcd2345]
credential_process = '/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '/home/ana/.config/timebound-iam' --backend file --expires 2026-11-25T14:30:00Z
region = us-east-1
tb_access = s3:read_only logs:full
tb_backend = file
tb_status = active
tb_created = 2026-11-25T14:00:00Z
tb_expires = 2026-11-25T14:30:00Z

`
	if diff := cmp.Diff(want, readString(t, f.Path)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

func TestOrderAndReplaceInPlace(t *testing.T) {
	f := newFile(t)
	mustUpdate(t, f, put(active("aaaa1111"), active("bbbb2222"), active("cccc3333")))
	if got, want := ids(mustRead(t, f).Entries()), []string{"aaaa1111", "bbbb2222", "cccc3333"}; !slices.Equal(got, want) {
		t.Fatalf("Entries = %v, want %v", got, want)
	}
	before := readString(t, f.Path)
	aEnd := strings.Index(before, "[profile tb-bbbb2222]")

	// Revoking b rewrites its section where it stands.
	b := active("bbbb2222")
	b.Status, b.Revoked = Revoked, created.Add(5*time.Minute)
	mustUpdate(t, f, put(b))
	after := readString(t, f.Path)
	if got, want := ids(mustRead(t, f).Entries()), []string{"aaaa1111", "bbbb2222", "cccc3333"}; !slices.Equal(got, want) {
		t.Errorf("Entries after replace = %v, want %v", got, want)
	}
	if after[:aEnd] != before[:aEnd] {
		t.Errorf("section before the replaced one changed:\n%s", after)
	}
	cStart := strings.Index(before, "[profile tb-cccc3333]")
	if !strings.HasSuffix(after, before[cStart:]) {
		t.Errorf("section after the replaced one changed:\n%s", after)
	}
	if strings.Count(after, "[profile tb-bbbb2222]") != 1 {
		t.Errorf("replaced section appears more than once:\n%s", after)
	}
	if got, _ := mustRead(t, f).Get("bbbb2222"); got.Status != Revoked || !got.Revoked.Equal(b.Revoked) {
		t.Errorf("b after replace = %+v", got)
	}

	// Remove then Put again: the section goes to the end.
	mustUpdate(t, f, remove("bbbb2222"))
	mustUpdate(t, f, put(active("bbbb2222")))
	if got, want := ids(mustRead(t, f).Entries()), []string{"aaaa1111", "cccc3333", "bbbb2222"}; !slices.Equal(got, want) {
		t.Errorf("Entries after remove and put = %v, want %v", got, want)
	}
}

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

// snapshot is what must not change when Update writes nothing.
type snapshot struct {
	info os.FileInfo
	data string
}

func take(t *testing.T, path string) snapshot {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{info, readString(t, path)}
}

func (s snapshot) check(t *testing.T, path string) {
	t.Helper()
	now := take(t, path)
	if now.data != s.data {
		t.Errorf("file changed:\n%s", cmp.Diff(s.data, now.data))
	}
	if !os.SameFile(s.info, now.info) {
		t.Errorf("file was replaced (new inode)")
	}
	if !now.info.ModTime().Equal(s.info.ModTime()) || now.info.Mode() != s.info.Mode() {
		t.Errorf("mtime/mode %v %v, want %v %v", now.info.ModTime(), now.info.Mode(), s.info.ModTime(), s.info.Mode())
	}
}

func checkNoStrays(t *testing.T, f *File) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(f.Path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); n != filepath.Base(f.Path) && n != filepath.Base(f.Path)+".lock" {
			t.Errorf("stray file %q left in %s", n, filepath.Dir(f.Path))
		}
	}
}

func TestUpdateWritesNothing(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		fn      func(*Set) error
		wantErr error
	}{
		{"fn fails after Put", func(s *Set) error {
			if err := s.Put(active("cccc3333")); err != nil {
				return err
			}
			s.Remove("abcd2345")
			return boom
		}, boom},
		{"fn only reads", func(s *Set) error { _ = s.Entries(); return nil }, nil},
		{"Remove of an unknown id", remove("zzzz9999"), nil},
		{"Put of an identical entry", put(active("abcd2345")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			mustUpdate(t, f, put(active("abcd2345")))
			// A foreign 0644 file stays 0644 when nothing is written.
			if err := os.Chmod(f.Path, 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour).Truncate(time.Second)
			if err := os.Chtimes(f.Path, old, old); err != nil {
				t.Fatal(err)
			}
			before := take(t, f.Path)
			if err := f.Update(tc.fn); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update = %v, want %v", err, tc.wantErr)
			}
			before.check(t, f.Path)
			checkNoStrays(t, f)
		})
	}

	t.Run("missing file stays missing", func(t *testing.T) {
		f := newFile(t)
		mustUpdate(t, f, remove("abcd2345"))
		if _, err := os.Stat(f.Path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Stat after a no-op Update: %v, want not exist", err)
		}
	})
}

func TestUpdateMode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing string // "" for no file
		mode     os.FileMode
	}{
		{"new file", "", 0},
		{"existing 0644", "[default]\nregion = eu-west-1\n", 0o644},
		{"existing 0666", "[default]\n", 0o666},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			if tc.mode != 0 {
				writeString(t, f.Path, tc.existing, tc.mode)
			}
			mustUpdate(t, f, put(active("abcd2345")))
			for _, p := range []string{f.Path, f.Path + ".lock"} {
				info, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := info.Mode().Perm(); got != 0o600 {
					t.Errorf("%s mode = %v, want 0600", filepath.Base(p), got)
				}
			}
			if !strings.HasPrefix(readString(t, f.Path), tc.existing) {
				t.Errorf("existing content lost")
			}
			checkNoStrays(t, f)
		})
	}
}

func TestUpdateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aws-config")
	writeString(t, path, "# shared\n[default]\nregion = eu-west-1\n", 0o600)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("conc%04d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := &File{Path: path, Home: testHome} // a File of its own, as separate commands have
			errs <- f.Update(put(active(want[i])))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	f := &File{Path: path, Home: testHome}
	s := mustRead(t, f)
	got := ids(s.Entries())
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries after concurrent Puts (-want +got):\n%s", diff)
	}
	if p := s.Problems(); len(p) != 0 {
		t.Errorf("Problems = %v", p)
	}
	if !strings.HasPrefix(readString(t, path), "# shared\n[default]\nregion = eu-west-1\n") {
		t.Errorf("foreign preamble lost")
	}
	checkNoStrays(t, f)
}

func TestPutRefusesINIInjection(t *testing.T) {
	with := func(change func(*Entry)) Entry {
		e := active("bbbb2222")
		change(&e)
		return e
	}
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"region with newline and header", with(func(e *Entry) { e.Region = "us-east-1\n[profile evil]" })},
		{"region with CR", with(func(e *Entry) { e.Region = "us-east-1\rx" })},
		{"region with =", with(func(e *Entry) { e.Region = "us-east-1 = x" })},
		{"service with =", with(func(e *Entry) { e.Access = []Access{{"s3=x", "read_only"}} })},
		{"service with newline", with(func(e *Entry) { e.Access = []Access{{"s3\n[profile evil]\ncredential_process = /bin/sh", "read_only"}} })},
		{"service with colon", with(func(e *Entry) { e.Access = []Access{{"s3:full", "read_only"}} })},
		{"level with space", with(func(e *Entry) { e.Access = []Access{{"s3", "read_only full"}} })},
		{"level with newline", with(func(e *Entry) { e.Access = []Access{{"s3", "full\nregion = evil"}} })},
		{"backend with newline", with(func(e *Entry) { e.Helper.Backend = "file\n[profile evil]" })},
		{"backend with shell", with(func(e *Entry) { e.Helper.Backend = "file;id" })},
		{"empty backend", with(func(e *Entry) { e.Helper.Backend = "" })},
		{"status with newline", with(func(e *Entry) { e.Status = "active\nx = y" })},
		{"invalid id", with(func(e *Entry) { e.ID = "abcd]\n[profile evil" })},
		{"upper-case id", with(func(e *Entry) { e.ID = "ABCD2345" })},
		{"exe with newline", with(func(e *Entry) { e.Helper.Exe = "/opt/tb\n[profile evil]/tb" })},
		{"exe relative", with(func(e *Entry) { e.Helper.Exe = "timebound-iam" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFile(t)
			writeString(t, f.Path, "[default]\nregion = eu-west-1\n", 0o600)
			mustUpdate(t, f, put(active("abcd2345")))
			before := take(t, f.Path)
			err := f.Update(put(tc.e))
			if err == nil {
				t.Fatalf("Put(%+v) succeeded:\n%s", tc.e, readString(t, f.Path))
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has a raw line break: %q", err)
			}
			before.check(t, f.Path)
			checkNoStrays(t, f)
		})
	}
}

func TestCredentialProcess(t *testing.T) {
	e := active("abcd2345")
	revoked := e
	revoked.Status, revoked.Revoked = Revoked, time.Date(2026, 11, 25, 15, 10, 0, 0, time.FixedZone("CET", 3600))
	odd := e
	odd.Helper = Helper{Exe: "/tmp/it's a $HOME dir ünï/timebound-iam", Home: `/tmp/st\ate "dir" $(id)`, Backend: "keyctl"}
	for _, tc := range []struct {
		name string
		e    Entry
		want string
	}{
		{"active", e, "'/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '/home/ana/.config/timebound-iam' --backend file --expires 2026-11-25T14:30:00Z"},
		{"revoked", revoked, "'/opt/tb/bin/timebound-iam' credential-process --session abcd2345 --home '/home/ana/.config/timebound-iam' --backend file --expires 2026-11-25T14:30:00Z --revoked-at 2026-11-25T14:10:00Z"},
		{"odd paths", odd, `'/tmp/it'\''s a $HOME dir ünï/timebound-iam' credential-process --session abcd2345 --home '/tmp/st\ate "dir" $(id)' --backend keyctl --expires 2026-11-25T14:30:00Z`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CredentialProcess(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("CredentialProcess =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}

	refused := map[string]func(*Entry){
		"relative exe":       func(e *Entry) { e.Helper.Exe = "bin/timebound-iam" },
		"bare exe":           func(e *Entry) { e.Helper.Exe = "timebound-iam" },
		"empty exe":          func(e *Entry) { e.Helper.Exe = "" },
		"relative home":      func(e *Entry) { e.Helper.Home = "state" },
		"dot-relative home":  func(e *Entry) { e.Helper.Home = "./state" },
		"invalid id":         func(e *Entry) { e.ID = "abcd2345; touch /tmp/pwned" },
		"empty id":           func(e *Entry) { e.ID = "" },
		"backend with shell": func(e *Entry) { e.Helper.Backend = "file $(touch /tmp/pwned)" },
		"empty backend":      func(e *Entry) { e.Helper.Backend = "" },
	}
	for _, bad := range []string{"\n", "\r", "\x00", "#", ";", "`"} {
		refused[fmt.Sprintf("exe with %q", bad)] = func(e *Entry) { e.Helper.Exe = "/opt/t" + bad + "b/timebound-iam" }
		refused[fmt.Sprintf("home with %q", bad)] = func(e *Entry) { e.Helper.Home = "/home/a" + bad + "na/state" }
	}
	for name, change := range refused {
		t.Run("refuses "+name, func(t *testing.T) {
			e := active("abcd2345")
			change(&e)
			if line, err := CredentialProcess(e); err == nil {
				t.Errorf("CredentialProcess(%+v) = %q, want an error", e.Helper, line)
			}
		})
	}
}

// TestCachedReadsMatchFreshReads runs random changes through one File, which
// answers reads from what it last read or wrote, and through a new File for
// every step, which parses the file afresh. Both must write the same bytes
// and read back the same sections, whatever foreign text sits around ours.
func TestCachedReadsMatchFreshReads(t *testing.T) {
	foreign := "# my profiles\n[default]\nregion = eu-west-1\n\n; about the next one\n[profile other]\nregion = us-west-2\n# trailing comment"
	malformed := "[profile tb-broken1]\ntb_status = paused\n\n"
	for seed := range int64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 1))
			dir := t.TempDir()
			cachedPath, freshPath := filepath.Join(dir, "cached"), filepath.Join(dir, "fresh")
			for _, p := range []string{cachedPath, freshPath} {
				writeString(t, p, malformed+foreign, 0o600)
			}
			cached := &File{Path: cachedPath, Home: testHome}
			var live []string
			for step := range 40 {
				var fn func(*Set) error
				fail := false
				switch op := rng.IntN(6); {
				case op == 0 || len(live) == 0:
					e := active(fmt.Sprintf("g%03d%03d", seed, step))
					live = append(live, e.ID)
					fn = put(e)
				case op == 1:
					e := active(live[rng.IntN(len(live))])
					e.Status, e.Revoked = Revoked, created.Add(time.Duration(step)*time.Minute)
					fn = put(e)
				case op == 2:
					i := rng.IntN(len(live))
					fn = remove(live[i], "nosuch99")
					live = slices.Delete(live, i, i+1)
				case op == 3:
					fn = remove("broken1")
				case op == 4:
					// A change that fails writes nothing, and must not show
					// in the cached File's later reads either.
					fail = true
					fn = func(s *Set) error {
						s.Remove(live[0])
						if err := s.Put(active("failed12")); err != nil {
							return err
						}
						return errors.New("refused")
					}
				default:
					fn = func(*Set) error { return nil }
				}
				if fail {
					if cached.Update(fn) == nil || (&File{Path: freshPath, Home: testHome}).Update(fn) == nil {
						t.Fatalf("step %d: a failing change succeeded", step)
					}
				} else {
					mustUpdate(t, cached, fn)
					mustUpdate(t, &File{Path: freshPath, Home: testHome}, fn)
				}
				if got, want := readString(t, cachedPath), readString(t, freshPath); got != want {
					t.Fatalf("step %d: the cached File wrote\n%s\nwant\n%s", step, got, want)
				}
				c, f := mustRead(t, cached), mustRead(t, &File{Path: cachedPath, Home: testHome})
				if diff := cmp.Diff(f.Entries(), c.Entries()); diff != "" {
					t.Fatalf("step %d: entries (-fresh +cached):\n%s", step, diff)
				}
				if diff := cmp.Diff(fmt.Sprint(f.Problems()), fmt.Sprint(c.Problems())); diff != "" {
					t.Fatalf("step %d: problems (-fresh +cached):\n%s", step, diff)
				}
			}
		})
	}
}

// TestUpdateRemovesStaleTemps shows that the temporary file of a write killed
// before its rename is cleaned up by the next update, and nothing else is.
func TestUpdateRemovesStaleTemps(t *testing.T) {
	f := newFile(t)
	dir := filepath.Dir(f.Path)
	writeString(t, f.Path, "[default]\nregion = eu-west-1\n", 0o600)
	stale := filepath.Join(dir, "."+filepath.Base(f.Path)+".123456")
	writeString(t, stale, "[profile tb-half", 0o600)
	other := filepath.Join(dir, ".other.123456")
	writeString(t, other, "not ours", 0o600)
	mustUpdate(t, f, put(active("abcd2345")))
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file's temporary file was removed: %v", err)
	}
	if got := readString(t, f.Path); !strings.HasPrefix(got, "[default]\nregion = eu-west-1\n") {
		t.Errorf("user content changed:\n%s", got)
	}
}
