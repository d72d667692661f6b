package granttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// Secret is one generated value that must never leave the keychain: a
// SecretAccessKey or a SessionToken, or a planted stand-in for one.
type Secret struct {
	// What names it in a finding, e.g. "the SessionToken of tb-k3f9ab2c".
	What  string
	Value string
}

// CredentialSecrets returns the secret parts of one set of credentials, the
// SecretAccessKey and the SessionToken, named after whose they are.
func CredentialSecrets(whose, secretAccessKey, sessionToken string) []Secret {
	return []Secret{
		{"the SecretAccessKey of " + whose, secretAccessKey},
		{"the SessionToken of " + whose, sessionToken},
	}
}

// Secrets returns the secrets of every set of credentials the stand-in has
// handed out, for [SecretScan.From].
func (s *STS) Secrets() []Secret {
	var out []Secret
	for i, is := range s.Issued() {
		out = append(out, CredentialSecrets(fmt.Sprintf("STS answer %d (%s)", i+1, is.Form.Get("RoleSessionName")), is.SecretAccessKey, is.SessionToken)...)
	}
	return out
}

// KeyIDs returns the full access key id of every set of credentials the
// stand-in has handed out, for [SecretScan.From] where only the masked form
// (****WXYZ) may appear: MCP results, logs, the profiles file.
func (s *STS) KeyIDs() []Secret {
	var out []Secret
	for i, is := range s.Issued() {
		out = append(out, Secret{fmt.Sprintf("the AccessKeyId of STS answer %d (%s)", i+1, is.Form.Get("RoleSessionName")), is.AccessKeyID})
	}
	return out
}

// SecretScan is one test's search for leaked secrets. It knows the secrets
// the test generated (registered with [SecretScan.Add], or read from a
// source such as the STS stand-in with [SecretScan.From]) and the places a
// secret must never reach: captured stdout and stderr (credential-process's
// stdout is the one channel allowed to carry them, so it is never
// captured), MCP results, log lines, and every file under the directories
// given to [SecretScan.Dir] but the keychain's.
//
// [ScanSecrets] makes one that fails its test at cleanup; [NewSecretScan]
// one whose [SecretScan.Findings] the caller reads, for tests of the scan
// itself.
type SecretScan struct {
	mu      sync.Mutex
	secrets []Secret
	sources []func() []Secret
	outputs []scanned
	dirs    []scanDir
	skip    []string
	files   []string
}

type scanned struct {
	where string
	data  []byte
}

type scanDir struct {
	root string
	skip []string
}

// KeyringDirName is the name of the file backend's directory inside a state
// directory. The scan never reads a directory of that name: the keychain is
// where the secrets belong, encrypted.
const KeyringDirName = "keyring"

// NewSecretScan returns an empty scan.
func NewSecretScan() *SecretScan { return &SecretScan{} }

// ScanSecrets returns a scan that, when t ends, reports every finding as an
// error of t.
//
// Cleanups run last in, first out, so the scan runs after every cleanup
// registered after this call (servers and processes stopped, their logs
// complete) and before those registered earlier. It anchors t.TempDir
// first, so that every temporary directory of t is still there to scan; a
// directory removed by a cleanup of its own must have that cleanup
// registered before this call.
//
// It scans every file under t's temporary directories (the parent of all
// t.TempDir results) with no more said; add others with [SecretScan.Dir].
func ScanSecrets(t testing.TB) *SecretScan {
	t.Helper()
	s := NewSecretScan()
	s.Dir(filepath.Dir(t.TempDir()))
	t.Cleanup(func() { s.Check(t) })
	return s
}

// Skip leaves the directories paths out of every directory scan: those of
// the server side, such as MinIO's data, which issued the secrets.
func (s *SecretScan) Skip(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skip = append(s.skip, paths...)
}

// Add registers secrets to look for.
func (s *SecretScan) Add(secrets ...Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range secrets {
		// An empty value is in everything.
		if sec.Value != "" {
			s.secrets = append(s.secrets, sec)
		}
	}
}

// From registers a source of secrets read at scan time, such as
// [STS.Secrets]: the secrets handed out after this call are found too.
func (s *SecretScan) From(source func() []Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources = append(s.sources, source)
}

// Capture records output to scan; where names it in a finding.
func (s *SecretScan) Capture(where string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outputs = append(s.outputs, scanned{where, bytes.Clone(data)})
}

// Writer returns a writer that passes everything to w (which may be nil)
// and captures it as where, for a process's stderr or a log.
func (s *SecretScan) Writer(where string, w io.Writer) io.Writer {
	return &scanWriter{s: s, where: where, w: w}
}

type scanWriter struct {
	s     *SecretScan
	where string
	w     io.Writer
}

func (sw *scanWriter) Write(p []byte) (int, error) {
	sw.s.Capture(sw.where, p)
	if sw.w == nil {
		return len(p), nil
	}
	return sw.w.Write(p)
}

// Result captures an MCP result (any value that marshals to JSON, such as
// *mcp.CallToolResult, or the raw JSON as []byte or string) as where.
func (s *SecretScan) Result(where string, result any) {
	var data []byte
	switch r := result.(type) {
	case []byte:
		data = r
	case string:
		data = []byte(r)
	default:
		var err error
		if data, err = json.Marshal(result); err != nil {
			data = fmt.Appendf(nil, "%+v", result)
		}
	}
	s.Capture(where, data)
}

// Handler wraps next so that every record, at every level, is also
// rendered as a text line and captured as where. A nil next captures only.
func (s *SecretScan) Handler(where string, next slog.Handler) slog.Handler {
	if next == nil {
		next = slog.DiscardHandler
	}
	return &scanHandler{next: next, tee: slog.NewTextHandler(s.Writer(where, nil), &slog.HandlerOptions{Level: slog.LevelDebug - 100})}
}

type scanHandler struct{ next, tee slog.Handler }

func (h *scanHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *scanHandler) Handle(ctx context.Context, r slog.Record) error {
	if err := h.tee.Handle(ctx, r.Clone()); err != nil {
		return err
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *scanHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &scanHandler{next: h.next.WithAttrs(attrs), tee: h.tee.WithAttrs(attrs)}
}

func (h *scanHandler) WithGroup(name string) slog.Handler {
	return &scanHandler{next: h.next.WithGroup(name), tee: h.tee.WithGroup(name)}
}

// Dir adds every file under root to the scan, read when it runs, except
// under directories named [KeyringDirName] and under the directories skip
// (see [SecretScan.Skip]).
func (s *SecretScan) Dir(root string, skip ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirs = append(s.dirs, scanDir{root, skip})
}

// Findings scans now and returns one line per secret found, saying which
// secret and where, in the order outputs were captured and files walked.
// A directory that does not exist (yet) holds nothing; a file that cannot
// be read is an error.
func (s *SecretScan) Findings() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	secrets := s.secretsLocked()
	var found []string
	check := func(where string, data []byte) {
		for _, sec := range secrets {
			if bytes.Contains(data, []byte(sec.Value)) {
				found = append(found, sec.What+" appears in "+where)
			}
		}
	}
	for _, o := range s.outputs {
		check(o.where, o.data)
	}
	s.files = s.files[:0]
	read := map[string]bool{}
	for _, d := range s.dirs {
		err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				// Processes under test create and remove temporary files.
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if e.IsDir() {
				if e.Name() == KeyringDirName || slices.Contains(d.skip, path) || slices.Contains(s.skip, path) {
					return filepath.SkipDir
				}
				return nil
			}
			if !e.Type().IsRegular() || read[path] {
				return nil
			}
			read[path] = true
			data, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil {
				return err
			}
			s.files = append(s.files, path)
			check(path, data)
			return nil
		})
		if err != nil {
			return found, fmt.Errorf("secret scan of %s: %w", d.root, err)
		}
	}
	return found, nil
}

// Secrets returns every secret the scan looks for, sources included.
func (s *SecretScan) Secrets() []Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secretsLocked()
}

func (s *SecretScan) secretsLocked() []Secret {
	all := slices.Clone(s.secrets)
	for _, src := range s.sources {
		for _, sec := range src() {
			if sec.Value != "" {
				all = append(all, sec)
			}
		}
	}
	return all
}

// Files returns the files the last [SecretScan.Findings] read.
func (s *SecretScan) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.files)
}

// Check scans now and reports each finding, and a failed scan, as an error
// of t; it logs what was scanned.
func (s *SecretScan) Check(t testing.TB) {
	t.Helper()
	found, err := s.Findings()
	for _, f := range found {
		t.Errorf("secret scan: %s", f)
	}
	if err != nil {
		t.Error(err)
	}
	s.mu.Lock()
	n, outputs, files := len(s.secretsLocked()), len(s.outputs), len(s.files)
	s.mu.Unlock()
	t.Logf("secret scan: %d secrets, %d outputs, %d files", n, outputs, files)
}
