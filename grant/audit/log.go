package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// FileName is the audit log's name inside the state directory.
const FileName = "audit.log"

// Genesis is the prev of the first entry: there is no line before it.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one line of the log: an [Event] with its place in the chain.
type Entry struct {
	// Seq numbers the entries from 1, one per line.
	Seq int64 `json:"seq"`
	Event
	// Prev is the SHA-256, in hex, of the previous line's bytes without its
	// line end; [Genesis] for the first entry.
	Prev string `json:"prev"`
}

// head is the record of the last entry written, kept next to the log. A
// pure chain cannot tell a log whose last lines were cut off from a shorter
// one; the head can, since a writer updates it under the lock with every
// line.
type head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Log is the append-only, hash-chained audit log at Path; its head record is
// Path.head and its lock Path.lock. Writers in any number of processes may
// share it: each append holds an exclusive file lock.
type Log struct {
	Path string
}

// Open returns the log at path. Nothing is read or created until the first
// [Log.Append].
func Open(path string) *Log { return &Log{Path: path} }

// HeadPath is the file holding the sequence number and hash of the last
// entry.
func (l *Log) HeadPath() string { return l.Path + ".head" }

// Hash returns the chain hash of one line, given without its line end.
func Hash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// Append writes e as the next entry and returns once the line and the head
// are on disk. Under the lock it chains the entry to the last one the head
// records, so that a log cut short since then stays visibly broken rather
// than being papered over by new entries.
func (l *Log) Append(e Event) error {
	lock := flock.New(l.Path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("locking the audit log %s: %w", l.Path, err)
	}
	defer lock.Unlock()
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	prev, err := l.tip(f, info.Size())
	if err != nil {
		return err
	}
	line, err := json.Marshal(Entry{Seq: prev.Seq + 1, Event: e, Prev: prev.Hash})
	if err != nil {
		return fmt.Errorf("encoding an audit entry: %w", err)
	}
	out := append(line, '\n')
	// A file cut mid-line keeps its broken line, as evidence, on a line of
	// its own; the new entry is not glued to it.
	if torn, err := endsTorn(f, info.Size()); err != nil {
		return fmt.Errorf("reading the audit log %s: %w", l.Path, err)
	} else if torn {
		out = append([]byte{'\n'}, out...)
	}
	if _, err := f.Write(out); err != nil {
		// A part of a line would break the chain for every later entry.
		_ = f.Truncate(info.Size())
		return fmt.Errorf("writing the audit log %s: %w", l.Path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing the audit log %s: %w", l.Path, err)
	}
	if err := writeHead(l.HeadPath(), head{Seq: prev.Seq + 1, Hash: Hash(line)}); err != nil {
		return fmt.Errorf("recording the audit log's head: %w", err)
	}
	return nil
}

// headSize is the head record's size on disk: JSON padded with blanks to a
// fixed length, so that each append rewrites it in place with one write of
// less than a disk sector, which a power cut leaves old or new, never
// mixed. An old head is one line behind, which the next append adopts (see
// [Log.tip]). Replacing it through a temporary file instead cost a second
// file, an fsync of the directory and most of an append's time.
const headSize = 128

// writeHead records h in the head file at path, durably.
func writeHead(path string, h head) error {
	rec, err := json.Marshal(h)
	if err != nil {
		return err
	}
	buf := bytes.Repeat([]byte{' '}, headSize)
	copy(buf, rec)
	buf[headSize-1] = '\n'
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(buf, 0); err != nil {
		return err
	}
	// A head written by hand, or by an older version, may be longer.
	if err := f.Truncate(headSize); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// A new file's name is durable once its directory is.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}

// tip returns what the next entry chains to. It is the head, except when
// the head is missing or one line behind the file, which is what a writer
// killed between appending and updating the head leaves; then the file's
// last line. A head that disagrees with the file otherwise is kept: the log
// was changed behind the writers' backs, and [Verify] must still see it.
func (l *Log) tip(f *os.File, size int64) (head, error) {
	last, err := lastLine(f, size)
	if err != nil {
		return head{}, fmt.Errorf("reading the audit log %s: %w", l.Path, err)
	}
	var fromFile head
	var lastEntry Entry
	if last != nil && json.Unmarshal(last, &lastEntry) == nil {
		fromFile = head{Seq: lastEntry.Seq, Hash: Hash(last)}
	}
	h, ok, err := readHead(l.HeadPath())
	if err != nil {
		return head{}, err
	}
	switch {
	case !ok && last == nil:
		return head{Hash: Genesis}, nil
	case !ok:
		return fromFile, nil
	case fromFile.Seq == h.Seq+1 && lastEntry.Prev == h.Hash:
		return fromFile, nil
	}
	return h, nil
}

// lastLine returns the last complete line of the file's first size bytes,
// without its line end; nil when there is none. A final line without a line
// end is a torn write or an edit: the complete line before it is returned.
func lastLine(f *os.File, size int64) ([]byte, error) {
	for n := int64(4096); ; n *= 4 {
		off := max(size-n, 0)
		buf := make([]byte, size-off)
		if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		end := bytes.LastIndexByte(buf, '\n')
		if end < 0 && off == 0 {
			return nil, nil
		}
		if end < 0 {
			continue
		}
		if start := bytes.LastIndexByte(buf[:end], '\n'); start >= 0 || off == 0 {
			return buf[start+1 : end], nil
		}
	}
}

// endsTorn reports whether the file's first size bytes end inside a line.
func endsTorn(f *os.File, size int64) (bool, error) {
	if size == 0 {
		return false, nil
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		return false, err
	}
	return b[0] != '\n', nil
}

// readHead reads the head record; ok is false when there is none.
func readHead(path string) (h head, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return head{}, false, nil
	}
	if err != nil {
		return head{}, false, fmt.Errorf("reading the audit log's head: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil || h.Seq < 0 || len(h.Hash) != sha256.Size*2 {
		return head{}, false, fmt.Errorf("the audit log's head %s is not a {\"seq\",\"hash\"} record; it was changed by hand", path)
	}
	return h, true, nil
}

// Read returns the log's entries in order; a missing log has none. It only
// parses: [Verify] checks the chain.
func (l *Log) Read() ([]Entry, error) {
	var out []Entry
	err := l.scan(func(n int, line []byte, e Entry, perr error) error {
		if perr != nil {
			return fmt.Errorf("%s line %d: %w; timebound-iam audit --verify checks the whole log", l.Path, n, perr)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// scan calls fn with every line of the log, numbered from 1, and its entry
// or the reason it is not one.
func (l *Log) scan(fn func(n int, line []byte, e Entry, perr error) error) error {
	f, err := os.Open(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the audit log: %w", err)
		}
		var perr error
		var e Entry
		if !bytes.HasSuffix(line, []byte("\n")) {
			perr = errors.New("the line is cut short (no line end): the file was truncated")
		} else {
			line = line[:len(line)-1]
			perr = parse(line, &e)
		}
		if err := fn(n, line, e, perr); err != nil {
			return err
		}
	}
}

// parse decodes one line strictly: a field nobody writes is an edit.
func parse(line []byte, e *Entry) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(e); err != nil {
		return fmt.Errorf("not an audit entry (%v)", err)
	}
	if dec.More() {
		return errors.New("not an audit entry (text after the JSON object)")
	}
	return nil
}

// VerifyError names the first entry where the log is not as written.
type VerifyError struct {
	Path string
	// Line is the 1-based line number of the first broken entry; one past
	// the last line when entries are missing from the end.
	Line int
	// Problem says what is wrong there.
	Problem string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("audit log %s is broken at line %d: %s", e.Path, e.Line, e.Problem)
}

// Verify checks the whole chain and the head: each line is an entry, the
// sequence numbers run 1, 2, 3 without a gap, each entry's prev is the hash
// of the line before it, and the last line is the one the head records. It
// returns the number of entries, or a [*VerifyError] naming the first
// broken entry when a line was edited, removed, reordered or cut short, or
// the file truncated.
func (l *Log) Verify() (int, error) {
	// A shared lock: a writer between its line and its head would otherwise
	// look like a removed or added entry. A copy of the log where no lock
	// file can be made (read-only media) is checked without one.
	lock := flock.New(l.Path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := lock.RLock(); err == nil {
		defer lock.Unlock()
	}
	count, prevHash := 0, Genesis
	broken := func(n int, format string, args ...any) error {
		return &VerifyError{Path: l.Path, Line: n, Problem: fmt.Sprintf(format, args...)}
	}
	err := l.scan(func(n int, line []byte, e Entry, perr error) error {
		if perr != nil {
			return broken(n, "%v", perr)
		}
		if e.Seq != int64(n) {
			return broken(n, "entry seq %d where seq %d belongs: an entry before it was removed, or entries were reordered", e.Seq, n)
		}
		if e.Prev != prevHash {
			if n == 1 {
				return broken(n, "the first entry's prev is %q, not the genesis value: entries before it were removed", e.Prev)
			}
			return broken(n-1, "entry seq %d was changed after it was written: the next entry's prev hash does not match it", n-1)
		}
		count, prevHash = n, Hash(line)
		return nil
	})
	if err != nil {
		return count, err
	}
	h, ok, err := readHead(l.HeadPath())
	if err != nil {
		return count, err
	}
	switch {
	case !ok && count == 0:
		return 0, nil
	case !ok:
		return count, broken(count+1, "the head record %s is missing, so removed entries at the end cannot be ruled out", l.HeadPath())
	case h.Seq > int64(count):
		return count, broken(count+1, "the log ends after %d entries but %d were written: the last %d were removed or the file truncated", count, h.Seq, h.Seq-int64(count))
	case h.Seq < int64(count):
		return count, broken(int(h.Seq)+1, "the head records %d entries but the log holds %d: entries were added behind the writers' backs, or a writer was killed before recording the head (the next entry written repairs that)", h.Seq, count)
	case h.Hash != prevHash:
		return count, broken(count, "entry seq %d was changed after it was written: the head's hash does not match it", count)
	}
	return count, nil
}
