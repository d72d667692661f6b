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
