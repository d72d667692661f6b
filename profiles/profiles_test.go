package profiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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
