package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timebound-iam/timebound-iam/grant/audit"
)

// writerEnv makes the test binary a writer process for
// TestConcurrentProcesses: "PATH|NAME|COUNT" appends COUNT events to PATH,
// with sessions NAME-0, NAME-1, ...
const writerEnv = "TIMEBOUND_IAM_AUDIT_TEST_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		os.Exit(writer(spec))
	}
	os.Exit(m.Run())
}

func writer(spec string) int {
	parts := strings.Split(spec, "|")
	n, _ := strconv.Atoi(parts[2])
	l := audit.Open(parts[0])
	for i := range n {
		if err := l.Append(event(fmt.Sprintf("%s-%d", parts[1], i))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func event(session string) audit.Event {
	return audit.Event{
		Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Event: audit.Granted, Session: session,
		Services: []string{"s3", "logs"}, Levels: map[string]string{"s3": "read_only", "logs": "full"},
		TTL: "1h", Reason: "check the build bucket", Client: "cli", Approver: "terminal", AccessKey: "****WXYZ",
	}
}

// newLog appends n events to a fresh log.
func newLog(t *testing.T, n int) *audit.Log {
	t.Helper()
	l := audit.Open(filepath.Join(t.TempDir(), audit.FileName))
	for i := range n {
		if err := l.Append(event(fmt.Sprintf("tb-%08d", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func lines(t *testing.T, l *audit.Log) [][]byte {
	t.Helper()
	data, err := os.ReadFile(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(data, []byte("\n"))[:bytes.Count(data, []byte("\n"))]
}

func write(t *testing.T, l *audit.Log, ls [][]byte) {
	t.Helper()
	if err := os.WriteFile(l.Path, bytes.Join(ls, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyIntact(t *testing.T) {
	l := newLog(t, 10)
	n, err := l.Verify()
	if err != nil || n != 10 {
		t.Fatalf("Verify() = %d, %v; want 10, nil", n, err)
	}
	entries, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if e.Seq != int64(i+1) || e.Session != fmt.Sprintf("tb-%08d", i+1) || e.Event.Event != audit.Granted {
			t.Errorf("entry %d = %+v", i+1, e)
		}
	}
	if entries[0].Prev != audit.Genesis {
		t.Errorf("first prev = %q; want the genesis value", entries[0].Prev)
	}
	ls := lines(t, l)
	if got, want := entries[1].Prev, audit.Hash(bytes.TrimSuffix(ls[0], []byte("\n"))); got != want {
		t.Errorf("second prev = %s; want the hash of the first line, %s", got, want)
	}
	for _, path := range []string{l.Path, l.HeadPath()} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o; want 0600", path, info.Mode().Perm())
		}
	}
}

func TestVerifyEmpty(t *testing.T) {
	l := audit.Open(filepath.Join(t.TempDir(), audit.FileName))
	if n, err := l.Verify(); err != nil || n != 0 {
		t.Fatalf("Verify() of a missing log = %d, %v; want 0, nil", n, err)
	}
}

// TestVerifyTamper changes a 10-entry log in each way the log must show,
// and checks that Verify names the first broken entry.
func TestVerifyTamper(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, l *audit.Log)
		line   int
		want   string
	}{
		{"edit a field of a middle line", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			ls[4] = bytes.Replace(ls[4], []byte(`"full"`), []byte(`"read_only"`), 1)
			write(t, l, ls)
		}, 5, "entry seq 5 was changed"},
		{"edit the reason of the last line", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			ls[9] = bytes.Replace(ls[9], []byte("build"), []byte("blind"), 1)
			write(t, l, ls)
		}, 10, "entry seq 10 was changed after it was written: the head's hash"},
		{"edit the first line", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			ls[0] = bytes.Replace(ls[0], []byte(`"cli"`), []byte(`"kiro"`), 1)
			write(t, l, ls)
		}, 1, "entry seq 1 was changed"},
		{"add a field to a middle line", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			ls[2] = bytes.Replace(ls[2], []byte(`{`), []byte(`{"note":"ok",`), 1)
			write(t, l, ls)
		}, 3, "not an audit entry"},
		{"delete a middle line", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			write(t, l, append(ls[:4:4], ls[5:]...))
		}, 5, "entry seq 6 where seq 5 belongs"},
		{"delete the first line", func(t *testing.T, l *audit.Log) {
			write(t, l, lines(t, l)[1:])
		}, 1, "entry seq 2 where seq 1 belongs"},
		{"delete a line and renumber", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			ls = append(ls[:4:4], ls[5:]...)
			for i := 4; i < len(ls); i++ {
				ls[i] = bytes.Replace(ls[i], []byte(fmt.Sprintf(`{"seq":%d,`, i+2)), []byte(fmt.Sprintf(`{"seq":%d,`, i+1)), 1)
			}
			write(t, l, ls)
		}, 4, "entry seq 4 was changed"},
		{"reorder two middle lines", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			ls[3], ls[4] = ls[4], ls[3]
			write(t, l, ls)
		}, 4, "entry seq 5 where seq 4 belongs"},
		{"truncate mid-line", func(t *testing.T, l *audit.Log) {
			info, _ := os.Stat(l.Path)
			if err := os.Truncate(l.Path, info.Size()-20); err != nil {
				t.Fatal(err)
			}
		}, 10, "cut short"},
		{"truncate in the middle of the file", func(t *testing.T, l *audit.Log) {
			ls := lines(t, l)
			n := len(bytes.Join(ls[:6], nil)) + 7
			if err := os.Truncate(l.Path, int64(n)); err != nil {
				t.Fatal(err)
			}
		}, 7, "cut short"},
		{"drop the last line", func(t *testing.T, l *audit.Log) {
			write(t, l, lines(t, l)[:9])
		}, 10, "the log ends after 9 entries but 10 were written: the last 1 were removed"},
		{"drop the last three lines", func(t *testing.T, l *audit.Log) {
			write(t, l, lines(t, l)[:7])
		}, 8, "the last 3 were removed"},
		{"truncate to nothing", func(t *testing.T, l *audit.Log) {
			write(t, l, nil)
		}, 1, "the log ends after 0 entries but 10 were written"},
		{"remove the file", func(t *testing.T, l *audit.Log) {
			if err := os.Remove(l.Path); err != nil {
				t.Fatal(err)
			}
		}, 1, "the log ends after 0 entries but 10 were written"},
		{"remove the head", func(t *testing.T, l *audit.Log) {
			if err := os.Remove(l.HeadPath()); err != nil {
				t.Fatal(err)
			}
		}, 11, "head record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog(t, 10)
			tt.tamper(t, l)
			_, err := l.Verify()
			var ve *audit.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify() = %v; want a *VerifyError", err)
			}
			if ve.Line != tt.line || !strings.Contains(ve.Problem, tt.want) {
				t.Errorf("Verify() = line %d: %s\nwant line %d: ...%s...", ve.Line, ve.Problem, tt.line, tt.want)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d:", tt.line)) || !strings.Contains(err.Error(), l.Path) {
				t.Errorf("error %q does not name the path and line %d", err, tt.line)
			}
		})
	}
}

// TestAppendKeepsTamperingVisible: entries written after the end was cut
// off chain to the head, not to the shortened file, so the cut stays found.
func TestAppendKeepsTamperingVisible(t *testing.T) {
	l := newLog(t, 10)
	write(t, l, lines(t, l)[:8])
	if err := l.Append(event("tb-after")); err != nil {
		t.Fatal(err)
	}
	_, err := l.Verify()
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Line != 9 {
		t.Fatalf("Verify() after an append to a cut log = %v; want line 9 broken", err)
	}
}

// TestAppendAfterTornLine: an entry written after the file was cut
// mid-line goes on a line of its own, leaving the torn one as evidence.
func TestAppendAfterTornLine(t *testing.T) {
	l := newLog(t, 4)
	info, _ := os.Stat(l.Path)
	if err := os.Truncate(l.Path, info.Size()-10); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(event("tb-after")); err != nil {
		t.Fatal(err)
	}
	ls := lines(t, l)
	if len(ls) != 5 || !bytes.HasPrefix(ls[4], []byte(`{"seq":5,`)) {
		t.Fatalf("lines after the append:\n%s", bytes.Join(ls, nil))
	}
	_, err := l.Verify()
	var ve *audit.VerifyError
	if !errors.As(err, &ve) || ve.Line != 4 {
		t.Fatalf("Verify() = %v; want line 4, the torn one, broken", err)
	}
}

// TestAppendAfterKilledWriter: a writer killed between its line and the head
// leaves the head one entry behind; the next writer chains to that line.
func TestAppendAfterKilledWriter(t *testing.T) {
	l := newLog(t, 3)
	old, err := os.ReadFile(l.HeadPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(event("tb-killed")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.HeadPath(), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Verify(); err == nil {
		t.Fatal("Verify() with the head one entry behind passed; want it to say so")
	}
	if err := l.Append(event("tb-next")); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Verify(); err != nil || n != 5 {
		t.Fatalf("Verify() = %d, %v; want 5, nil", n, err)
	}
}

// TestAppendLongLines: lines longer than the tail reader's first chunk
// still chain.
func TestAppendLongLines(t *testing.T) {
	l := audit.Open(filepath.Join(t.TempDir(), audit.FileName))
	for i := range 5 {
		e := event(fmt.Sprint(i))
		e.Reason = strings.Repeat("r", 3000*(i+1))
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(l.HeadPath()); err != nil { // forces the tail read
			t.Fatal(err)
		}
	}
	if err := l.Append(event("last")); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Verify(); err != nil || n != 6 {
		t.Fatalf("Verify() = %d, %v; want 6, nil", n, err)
	}
}

func TestAppendFailure(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file belongs stops root too.
	path := filepath.Join(dir, audit.FileName)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	err := audit.Open(path).Append(event("tb-x"))
	if err == nil || !strings.Contains(err.Error(), "opening the audit log") {
		t.Fatalf("Append() into a directory = %v; want an error opening the audit log", err)
	}
}

// TestConcurrentProcesses runs writers in separate processes, each appending
// many entries, plus goroutines in this one: the chain must verify and hold
// every entry exactly once.
func TestConcurrentProcesses(t *testing.T) {
	const procs, per, goroutines = 4, 100, 2
	path := filepath.Join(t.TempDir(), audit.FileName)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, procs+goroutines)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|p%d|%d", writerEnv, path, p, per))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("writer p%d: %v: %s", p, err, out)
			}
		}()
	}
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := audit.Open(path)
			for i := range per {
				if err := l.Append(event(fmt.Sprintf("g%d-%d", g, i))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	l := audit.Open(path)
	n, err := l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	want := (procs + goroutines) * per
	if n != want {
		t.Fatalf("Verify() = %d entries; want %d", n, want)
	}
	entries, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.Session]++
	}
	for name, k := range seen {
		if k != 1 {
			t.Errorf("session %s appears %d times", name, k)
		}
	}
	if len(seen) != want {
		t.Errorf("%d distinct entries; want %d", len(seen), want)
	}
	t.Logf("%d entries from %d processes and %d goroutines in %v", n, procs, goroutines, time.Since(start))
}
