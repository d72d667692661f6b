package audit

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAppend is one durable append: the line and the head on disk.
func BenchmarkAppend(b *testing.B) {
	l := Open(filepath.Join(b.TempDir(), FileName))
	e := Event{Time: time.Now(), Event: Granted, Session: "tb-abcdefgh", Services: []string{"s3"}, Levels: map[string]string{"s3": "read_only"}, TTL: "1h", Client: "bench"}
	for b.Loop() {
		if err := l.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}
