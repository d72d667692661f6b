package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gofrs/flock"
)

// File is the dedicated AWS config file of one state directory.
// Its methods may be called from several goroutines; use it by pointer.
type File struct {
	// Path is the config file; the lock file is Path + ".lock".
	Path string
	// Home is the state directory written into credential_process lines.
	Home string

	mu    sync.Mutex
	cache map[string]parsed // by section text; see newSet
	// last is the file as this File last read or wrote it. A grant reads
	// the file twice, for its prune and under the lock, and a server's next
	// grant finds what it wrote itself: while the bytes on disk are the
	// same, a read is a view of last.
	last    *Set
	scratch []byte // see Read
	// out is the buffer Update builds the new file in, kept across
	// writes: after one, [File.last] describes the file by its chunks, and
	// nothing refers to the buffer.
	out []byte
}

// Read parses the file without locking; a missing file is an empty set.
func (f *File) Read() (*Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Read into a buffer kept across reads: most reads find what the last
	// one did, and then only the comparison needs the bytes.
	data, err := readInto(f.Path, f.scratch[:0])
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Path, err)
	}
	f.scratch = data
	if f.last == nil || !f.last.is(data) {
		f.last, f.cache = newSet(bytes.Clone(data), f.Home, f.cache)
	}
	return f.last.view(), nil
}

// readInto reads the file at path into buf, growing it as needed; a missing
// file is empty.
func readInto(path string, buf []byte) ([]byte, error) {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return buf, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := fh.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Update runs fn on the current contents under the file lock and writes the
// result atomically when fn changed anything. When fn fails nothing is
// written.
func (f *File) Update(fn func(*Set) error) error {
	lock := flock.New(f.Path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("locking %s: %w", f.Path, err)
	}
	defer lock.Unlock()
	RemoveStaleTemps(f.Path)
	s, err := f.Read()
	if err != nil {
		return err
	}
	if err := fn(s); err != nil {
		return err
	}
	if !s.changed {
		return nil
	}
	// Only Update, under the file lock, uses f.out; f.mu guards the rest.
	f.out = s.appendTo(f.out[:0])
	if s.orig != nil && bytes.Equal(f.out, s.orig) {
		return nil
	}
	if err := WriteFileAtomic(f.Path, f.out, 0o600); err != nil {
		return err
	}
	// s now describes the file exactly: its chunks are the sections render
	// wrote and the untouched text around them, cut where split would cut
	// it. TestCachedReadsMatchFreshReads holds this.
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = s.view()
	f.last.orig = nil
	return nil
}

// RemoveStaleTemps deletes the temporary files that [WriteFileAtomic] left
// for path when its process was killed before the rename. Call it holding
// the lock that serialises the writers of path: under it, any that exist are
// stale.
func RemoveStaleTemps(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+"."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			_ = os.Remove(filepath.Join(dir, e.Name())) // best effort: a leftover is only clutter
		}
	}
}

// WriteFileAtomic replaces path with data: a temporary file with mode perm in
// the same directory, fsync, rename, fsync of the directory. Readers see the
// old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; failure here loses nothing already written
		d.Close()
	}
	return nil
}
