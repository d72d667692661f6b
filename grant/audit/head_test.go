package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestHeadRewrittenInPlace: the head is a fixed-size record, rewritten in
// place; a longer one (written by hand) is cut to size by the next append.
func TestHeadRewrittenInPlace(t *testing.T) {
	l := Open(filepath.Join(t.TempDir(), FileName))
	if err := l.Append(Event{Event: Requested}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(l.HeadPath())
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != headSize || data[headSize-1] != '\n' {
		t.Fatalf("head is %d bytes %q; want %d ending in a newline", len(data), data, headSize)
	}
	if err := os.WriteFile(l.HeadPath(), append(bytes.TrimRight(data, " \n"), bytes.Repeat([]byte(" \n"), 300)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(Event{Event: Granted}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(l.HeadPath()); err != nil || st.Size() != headSize {
		t.Fatalf("head after a long one: %v, %v; want %d bytes", st, err, headSize)
	}
	if n, err := l.Verify(); err != nil || n != 2 {
		t.Fatalf("Verify() = %d, %v; want 2 entries intact", n, err)
	}
}
