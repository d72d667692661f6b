package profiles

import (
	"bytes"
	"fmt"
	"iter"
	"slices"
)

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
