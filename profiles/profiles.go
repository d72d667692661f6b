// Package profiles reads and writes the dedicated AWS config file that holds
// one [profile tb-<id>] section per grant.
//
// # The file
//
// Each section carries the credential_process line that runs this binary, the
// region, and non-secret metadata (tb_* keys, which the AWS CLI and SDKs
// ignore) so that listing grants never reads the keychain. Sections that are
// not ours, comments and blank lines are kept byte for byte: writes splice
// text, they never re-serialise the whole file.
//
// # Writes
//
// [File.Update] holds an exclusive lock (path + ".lock") across read, change
// and write, and writes atomically: a 0600 temporary file in the same
// directory, fsync, rename. Readers need no lock.
package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"gopkg.in/ini.v1"
)

// Prefix starts every profile name this package owns.
const Prefix = "tb-"

// Status is where a grant stands.
type Status string

// The states of a grant. Revoked and expired sections stay as tombstones so
// the helper can explain why it refuses.
const (
	Active  Status = "active"
	Revoked Status = "revoked"
	Expired Status = "expired"
)

// Access is one service at one level, e.g. {"s3", "read_only"}.
type Access struct {
	Service string
	Level   string
}

// Helper is what credential_process runs: this binary, the state directory
// and the keychain backend that holds the grant's item.
type Helper struct {
	Exe     string // absolute path of the binary
	Home    string // state directory
	Backend string // keychain backend name
}

// Entry is one grant's section.
type Entry struct {
	ID      string
	Region  string
	Access  []Access
	Helper  Helper
	Status  Status
	Created time.Time
	Expires time.Time
	Revoked time.Time // zero unless Status is Revoked
	// Resources are the ARNs the grant is narrowed to, each a
	// [SafeResource]; none means every resource.
	Resources []string
	// Role is the ARN of the broker role the grant assumed, a
	// [SafeResource]; empty in sections written before it was recorded.
	Role string
}

// Name is the profile name, "tb-<id>".
func (e Entry) Name() string { return Prefix + e.ID }

// Ended reports when a tombstone's grant stopped working: the revoke time or
// the expiry.
func (e Entry) Ended() time.Time {
	if e.Status == Revoked {
		return e.Revoked
	}
	return e.Expires
}

// Live reports whether the grant is usable at now.
func (e Entry) Live(now time.Time) bool {
	return e.Status == Active && now.Before(e.Expires)
}

// The checks below are hand-written rather than regexps: this package is
// linked into the credential_process helper, where compiling patterns at
// start-up would cost every AWS CLI call.

// ValidID reports whether id has the form of a grant id, [a-z0-9]{4,32}; a
// tb- section with any other name is treated as foreign and left alone.
func ValidID(id string) bool {
	return len(id) >= 4 && len(id) <= 32 && only(id, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' })
}

// safeWord reports whether w is a plain metadata word, [a-z0-9_.-]{1,64}:
// services, levels, backends, regions.
func safeWord(w string) bool {
	return len(w) >= 1 && len(w) <= 64 && only(w, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	})
}

// SafeResource reports whether r is an ARN-like word that cannot break out
// of its line or be read as anything but a value, by ini.v1 or by the AWS
// CLI: 1-1024 of [A-Za-z0-9/:*?._+=,@-], so no whitespace, quote,
// backslash, comment character or bracket. Grant requests are checked with it
// too, so that nothing STS granted fails to be written here.
func SafeResource(r string) bool {
	return len(r) >= 1 && len(r) <= 1024 && only(r, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/:*?._+=,@-", c) >= 0
	})
}

func only(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func checkID(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("grant id %q is not of the form [a-z0-9]{4,32}", id)
	}
	return nil
}

// CredentialProcess returns the credential_process line for e. It carries
// everything the helper needs from an empty environment and no secret.
func CredentialProcess(e Entry) (string, error) {
	h := e.Helper
	// The id and the backend go into the line unquoted.
	if err := checkID(e.ID); err != nil {
		return "", err
	}
	if !safeWord(h.Backend) {
		return "", fmt.Errorf("keychain backend %q is not a plain word [a-z0-9_.-]", h.Backend)
	}
	if !filepath.IsAbs(h.Exe) || !filepath.IsAbs(h.Home) {
		return "", fmt.Errorf("credential_process needs absolute paths, got binary %q and state directory %q", h.Exe, h.Home)
	}
	if err := checkLineValue("binary path", h.Exe); err != nil {
		return "", err
	}
	if err := checkLineValue("state directory", h.Home); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s credential-process --session %s --home %s --backend %s --expires %s",
		Quote(h.Exe), e.ID, Quote(h.Home), h.Backend, e.Expires.UTC().Format(time.RFC3339))
	if e.Status == Revoked {
		fmt.Fprintf(&b, " --revoked-at %s", e.Revoked.UTC().Format(time.RFC3339))
	}
	return b.String(), nil
}

// render writes e as a section, ending with a blank line.
func render(e Entry) ([]byte, error) {
	if err := checkID(e.ID); err != nil {
		return nil, err
	}
	if len(e.Access) == 0 {
		return nil, fmt.Errorf("profile %s: a grant needs at least one service", e.Name())
	}
	words := []string{e.Helper.Backend, string(e.Status)}
	if e.Region != "" {
		words = append(words, e.Region)
	}
	for _, a := range e.Access {
		words = append(words, a.Service, a.Level)
	}
	for _, w := range words {
		if !safeWord(w) {
			return nil, fmt.Errorf("profile %s: value %q is not a plain word [a-z0-9_.-]", e.Name(), w)
		}
	}
	for _, r := range e.Resources {
		if !SafeResource(r) {
			return nil, fmt.Errorf("profile %s: resource %q is not an ARN of [A-Za-z0-9/:*?._+=,@-]", e.Name(), r)
		}
	}
	if e.Role != "" && !SafeResource(e.Role) {
		return nil, fmt.Errorf("profile %s: role %q is not an ARN of [A-Za-z0-9/:*?._+=,@-]", e.Name(), e.Role)
	}
	line, err := CredentialProcess(e)
	if err != nil {
		return nil, err
	}
	access := make([]string, len(e.Access))
	for i, a := range e.Access {
		access[i] = a.Service + ":" + a.Level
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "[profile %s]\n", e.Name())
	fmt.Fprintf(&b, "credential_process = %s\n", line)
	if e.Region != "" {
		fmt.Fprintf(&b, "region = %s\n", e.Region)
	}
	fmt.Fprintf(&b, "tb_access = %s\n", strings.Join(access, " "))
	if len(e.Resources) > 0 {
		fmt.Fprintf(&b, "tb_resources = %s\n", strings.Join(e.Resources, " "))
	}
	if e.Role != "" {
		fmt.Fprintf(&b, "tb_role = %s\n", e.Role)
	}
	fmt.Fprintf(&b, "tb_backend = %s\n", e.Helper.Backend)
	fmt.Fprintf(&b, "tb_status = %s\n", e.Status)
	fmt.Fprintf(&b, "tb_created = %s\n", e.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "tb_expires = %s\n", e.Expires.UTC().Format(time.RFC3339))
	if e.Status == Revoked {
		fmt.Fprintf(&b, "tb_revoked = %s\n", e.Revoked.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// parse reads one of our sections back with ini.v1.
func parse(id string, text []byte, home string) (Entry, error) {
	f, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true, Insensitive: false}, text)
	if err != nil {
		return Entry{}, err
	}
	s, err := f.GetSection("profile " + Prefix + id)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{ID: id, Region: s.Key("region").String(), Status: Status(s.Key("tb_status").String())}
	e.Helper = Helper{Home: home, Backend: s.Key("tb_backend").String()}
	// Keep the binary the grant was written with; a later revoke or prune
	// rewrites the line and must not swap in whichever binary runs it.
	e.Helper.Exe, _ = unquoteFirst(s.Key("credential_process").String())
	for _, w := range strings.Fields(s.Key("tb_access").String()) {
		svc, lvl, ok := strings.Cut(w, ":")
		if !ok {
			return Entry{}, fmt.Errorf("tb_access word %q is not service:level", w)
		}
		e.Access = append(e.Access, Access{svc, lvl})
	}
	// Read back only what render would write again: a section a prune or a
	// revoke could not rewrite is better kept as it is, as a problem.
	if res := strings.Fields(s.Key("tb_resources").String()); len(res) > 0 {
		for _, r := range res {
			if !SafeResource(r) {
				return Entry{}, fmt.Errorf("tb_resources word %q is not an ARN", r)
			}
		}
		e.Resources = res
	}
	if e.Role = s.Key("tb_role").String(); e.Role != "" && !SafeResource(e.Role) {
		return Entry{}, fmt.Errorf("tb_role %q is not an ARN", e.Role)
	}
	for key, dst := range map[string]*time.Time{"tb_created": &e.Created, "tb_expires": &e.Expires, "tb_revoked": &e.Revoked} {
		v := s.Key(key).String()
		if v == "" {
			continue
		}
		if *dst, err = time.Parse(time.RFC3339, v); err != nil {
			return Entry{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	switch e.Status {
	case Active, Expired, Revoked:
	default:
		return Entry{}, fmt.Errorf("tb_status %q is not active, revoked or expired", e.Status)
	}
	if e.Expires.IsZero() {
		return Entry{}, errors.New("tb_expires is missing")
	}
	if len(e.Access) == 0 {
		return Entry{}, errors.New("tb_access is missing or empty")
	}
	return e, nil
}

// chunk is one run of the file's text: the preamble before the first section,
// or a section header and its body up to the next header.
type chunk struct {
	text []byte
	id   string // grant id when the section is ours, else ""
	// e is the section's parse when it is ours and well-formed, else nil;
	// err says why one of ours is not. Both are shared with [File]'s
	// cache: never changed in place.
	e   *Entry
	err error
}

// headerID returns the grant id of a "[profile tb-<id>]" header line, as
// botocore reads section names: blanks around the name and between "profile"
// and the profile name do not matter.
func headerID(line []byte) (string, bool) {
	t := strings.TrimSpace(string(line))
	if len(t) < 2 || t[0] != '[' || t[len(t)-1] != ']' {
		return "", false
	}
	name := strings.TrimSpace(t[1 : len(t)-1])
	rest, ok := strings.CutPrefix(name, "profile")
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return "", false
	}
	id, ok := strings.CutPrefix(strings.TrimSpace(rest), Prefix)
	if !ok || !ValidID(id) {
		return "", false
	}
	return id, true
}

// split cuts data into chunks without copying: each chunk's text is a
// capacity-limited slice of data, so appending to one reallocates instead of
// overwriting the next.
func split(data []byte) []chunk {
	var chunks []chunk
	start, id := 0, ""
	flush := func(end int) {
		text := data[start:end:end]
		if id == "" {
			if len(text) > 0 {
				chunks = append(chunks, chunk{text: text})
			}
			return
		}
		own, rest := splitTail(text)
		chunks = append(chunks, chunk{text: own, id: id})
		if len(rest) > 0 {
			chunks = append(chunks, chunk{text: rest})
		}
	}
	for i := 0; i < len(data); {
		n := lineLen(data[i:])
		line := data[i : i+n]
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '[' {
			flush(i)
			start, id = i, ""
			if hid, ok := headerID(line); ok {
				id = hid
			}
		}
		i += n
	}
	flush(len(data))
	return chunks
}

// lineLen is the length of data's first line, its newline included.
func lineLen(data []byte) int {
	if n := bytes.IndexByte(data, '\n') + 1; n > 0 {
		return n
	}
	return len(data)
}

// splitTail cuts one of our sections after its last setting and the one blank
// line render ends a section with. Comments and blank lines past that are
// someone else's (a comment above the next section, say) and must survive a
// replace or remove of ours.
func splitTail(text []byte) (own, rest []byte) {
	end := 0
	for i := 0; i < len(text); {
		n := lineLen(text[i:])
		if t := bytes.TrimSpace(text[i : i+n]); len(t) > 0 && t[0] != '#' && t[0] != ';' {
			end = i + n
		}
		i += n
	}
	if n := lineLen(text[end:]); n > 0 && len(bytes.TrimSpace(text[end:end+n])) == 0 {
		end += n
	}
	return text[:end:end], text[end:]
}

// Set is the parsed file, changed in memory inside [File.Update].
//
// Each section's parse sits in its chunk, not in a map by id: a grant's
// prune walks every section, and a file of a thousand grants is then one
// walk over one slice. Lookups by id walk it too, for the few ids a revoke
// names.
type Set struct {
	home string
	// orig is the file as read, to skip writes that change nothing; nil
	// once the set is what this process wrote, when the chunks alone are
	// the file's bytes.
	orig    []byte
	chunks  []chunk
	changed bool
	// shared marks chunks as shared with [File]'s copy of the last read;
	// the first change copies them.
	shared bool
}

// parsed is one section's parse, remembered by [File] across reads.
type parsed struct {
	e   *Entry
	err error
}

// newSet parses data. cache maps a section's exact text to its parse from an
// earlier read, so that a long-running server parses each section once rather
// than on every grant; nil parses everything. It returns the parses of this
// data's sections, to become the next cache.
func newSet(data []byte, home string, cache map[string]parsed) (*Set, map[string]parsed) {
	s := &Set{home: home, orig: data, chunks: split(data)}
	next := make(map[string]parsed, len(cache))
	for i := range s.chunks {
		c := &s.chunks[i]
		if c.id == "" {
			continue
		}
		p, ok := cache[string(c.text)]
		if !ok {
			e, err := parse(c.id, c.text, home)
			p = parsed{e: &e, err: err}
		}
		next[string(c.text)] = p
		if p.err != nil {
			c.err = fmt.Errorf("profile %s%s: %w", Prefix, c.id, p.err)
			continue
		}
		c.e = p.e
	}
	return s, next
}

// view returns a copy of s that shares its contents until either changes.
func (s *Set) view() *Set {
	s.shared = true
	v := *s
	v.changed = false
	return &v
}

// own makes s's chunk list its own before a change. Chunk texts and parses
// stay shared: a change replaces them, never edits them.
func (s *Set) own() {
	if s.shared {
		s.chunks, s.shared = slices.Clone(s.chunks), false
	}
}

// Entries returns our well-formed sections in file order.
func (s *Set) Entries() []Entry {
	out := make([]Entry, 0, len(s.chunks))
	for _, c := range s.chunks {
		if c.e != nil {
			out = append(out, c.e.copy())
		}
	}
	return out
}

// All yields our well-formed sections in file order without copying them,
// for scans over many grants. The entries share their Access with the set:
// read it, never change it; [Set.Entries] gives copies to keep.
func (s *Set) All() iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		for _, c := range s.chunks {
			if c.e != nil && !yield(*c.e) {
				return
			}
		}
	}
}

// Problems returns one error per tb- section that could not be read; such
// sections are kept as they are.
func (s *Set) Problems() []error {
	var errs []error
	for _, c := range s.chunks {
		if c.err != nil {
			errs = append(errs, c.err)
		}
	}
	return errs
}

// Get returns the section of grant id, if it is well-formed.
func (s *Set) Get(id string) (Entry, bool) {
	i := s.index(id)
	if i < 0 || s.chunks[i].e == nil {
		return Entry{}, false
	}
	return s.chunks[i].e.copy(), true
}

// index returns the position of the first section named tb-<id>, or -1.
func (s *Set) index(id string) int {
	return slices.IndexFunc(s.chunks, func(c chunk) bool { return c.id == id })
}

// copy returns *e with its own Access, which the caller may change.
func (e *Entry) copy() Entry {
	c := *e
	c.Access = slices.Clone(e.Access)
	c.Resources = slices.Clone(e.Resources)
	return c
}

// Has reports whether any section, well-formed or not, is named tb-<id>.
func (s *Set) Has(id string) bool { return s.index(id) >= 0 }

// Put adds e as a new section at the end, or replaces its section in place.
func (s *Set) Put(e Entry) error {
	e.Helper.Home = s.home
	text, err := render(e)
	if err != nil {
		return err
	}
	i := s.index(e.ID)
	if i >= 0 && bytes.Equal(s.chunks[i].text, text) {
		return nil
	}
	s.own()
	s.changed = true
	e.Access = slices.Clone(e.Access)
	e.Resources = slices.Clone(e.Resources)
	c := chunk{text: text, id: e.ID, e: &e}
	if i >= 0 {
		s.chunks[i] = c
		return nil
	}
	if n := len(s.chunks); n > 0 {
		last := s.chunks[n-1].text
		if !bytes.HasSuffix(last, []byte("\n")) {
			s.chunks[n-1].text = append(last, '\n')
		}
	}
	s.chunks = append(s.chunks, c)
	return nil
}

// Remove deletes the section of grant id, if any.
func (s *Set) Remove(id string) {
	if !s.Has(id) {
		return
	}
	s.own()
	s.chunks = slices.DeleteFunc(s.chunks, func(c chunk) bool {
		if c.id == id {
			s.changed = true
			return true
		}
		return false
	})
}

// appendTo appends the file's text to b.
func (s *Set) appendTo(b []byte) []byte {
	for _, c := range s.chunks {
		b = append(b, c.text...)
	}
	return b
}

// is reports whether data is the file's text, without building it.
func (s *Set) is(data []byte) bool {
	if s.orig != nil {
		return bytes.Equal(data, s.orig)
	}
	for _, c := range s.chunks {
		if !bytes.HasPrefix(data, c.text) {
			return false
		}
		data = data[len(c.text):]
	}
	return len(data) == 0
}

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
